using System.Text.Json;
using EcgEdge.Core.Signals;
using EcgEdge.Events;
using EcgEdge.Events.Alerts;
using EcgEdge.Transport.Outbox;
using Microsoft.Extensions.Logging;

namespace EcgEdge.Transport.Mqtt;

/// <summary>
/// Publishes the event stage's output over MQTT: alerts → <c>…/alerts</c> (QoS 1, durable: written to the outbox and
/// fsync'd before <see cref="Publish(Alert)"/> returns, removed on PUBACK); ectopy trends → <c>…/events</c> (QoS 1,
/// durable, evictable); vitals → <c>…/vitals</c> (QoS 0 with expiry). The MQTT message id is the alert id, so
/// receivers de-duplicate on it. When the outbox refuses an alert (disk full of undelivered alerts) the alert is
/// logged at Critical with its full JSON and counted — never dropped silently.
/// </summary>
public sealed partial class MqttEventSink(MqttPublisher publisher, string deviceId, Func<long, DateTimeOffset> clock,
    ILogger<MqttEventSink> logger) : IAlertSink, IEventSink
{
    /// <summary>Bytes of alert payloads held in memory while the outbox refuses them (then alerts are given up, loudly).</summary>
    public const long MaxHeldBytes = 64L * 1024 * 1024;

    private readonly Queue<(string Id, byte[] Payload, DateTimeOffset CreatedAt)> _held = new();
    private long _heldBytes;

    /// <summary>Alerts given up: refused by the outbox and not even held in memory (memory bound reached, or held at exit).</summary>
    public long AlertsNotStored { get; private set; }

    /// <summary>Alerts held in memory, in order, until the outbox takes them again (disk full, outbox at its size limit).</summary>
    public int AlertsHeld => _held.Count;

    /// <summary>
    /// Stores the alert in the outbox (fsync'd) for delivery. When the outbox refuses it (the disk is full, or the outbox
    /// is at its size limit with undelivered alerts), the alert is held in memory — in order, behind any alert already
    /// held — and retried at every later message (vitals come every few seconds of signal), so a disk that frees up
    /// loses nothing. Only past <see cref="MaxHeldBytes"/>, or when the worker stops with alerts still held
    /// (<see cref="GiveUpHeld"/>), is an alert given up: logged at Critical with its full JSON and counted.
    /// </summary>
    public void Publish(Alert alert)
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(alert, MessageJsonContext.Default.Alert);
        RetryHeld();
        if (_held.Count > 0) { Hold(alert.Id, payload, alert.Onset.Utc, "earlier alerts are still waiting for the outbox"); return; }
        if (Store(alert.Id, publisher.Topics.Alerts, payload, MessagePriority.Alert, alert.Onset.Utc) is { } error)
            Hold(alert.Id, payload, alert.Onset.Utc, error);
    }

    private void Hold(string id, byte[] payload, DateTimeOffset createdAt, string why)
    {
        if (_heldBytes + payload.Length > MaxHeldBytes)
        {
            AlertsNotStored++;
            LogAlertNotStored(why + "; the in-memory hold is full too", System.Text.Encoding.UTF8.GetString(payload));
            return;
        }
        _held.Enqueue((id, payload, createdAt));
        _heldBytes += payload.Length;
        LogAlertHeld(id, why, _held.Count);
    }

    /// <summary>Moves held alerts into the outbox, oldest first, until it refuses again.</summary>
    private void RetryHeld()
    {
        var stored = 0;
        while (_held.TryPeek(out var h))
        {
            if (Store(h.Id, publisher.Topics.Alerts, h.Payload, MessagePriority.Alert, h.CreatedAt) is not null) break;
            _held.Dequeue();
            _heldBytes -= h.Payload.Length;
            stored++;
        }
        if (stored > 0) LogHeldStored(stored, _held.Count);
    }

    /// <summary>The worker is stopping: a last attempt, then every alert still held is logged at Critical and counted.</summary>
    public void GiveUpHeld()
    {
        RetryHeld();
        while (_held.TryDequeue(out var h))
        {
            AlertsNotStored++;
            LogAlertNotStored("the outbox still refused it when the worker stopped", System.Text.Encoding.UTF8.GetString(h.Payload));
        }
        _heldBytes = 0;
    }

    public void Publish(EctopyTrend trend)
    {
        RetryHeld();
        var payload = JsonSerializer.SerializeToUtf8Bytes(trend, MessageJsonContext.Default.EctopyTrend);
        if (Store(trend.Id, publisher.Topics.Events, payload, MessagePriority.Trend, trend.To.Utc) is { } error) LogTrendNotStored(error);
    }

    /// <summary>A QoS-1 message into the outbox; returns why it could not be stored, or null.</summary>
    private string? Store(string id, string topic, byte[] payload, MessagePriority priority, DateTimeOffset createdAt)
    {
        try
        {
            publisher.Publish(new TransportMessage
            {
                Id = id, Topic = topic, Payload = payload, Qos = MessageQos.AtLeastOnce, Priority = priority, CreatedAt = createdAt,
            });
            return null;
        }
        catch (Exception e) when (e is OutboxFullException or IOException)
        {
            return e.Message;
        }
    }

    public void Publish(Vitals vitals)
    {
        RetryHeld();
        var at = clock(vitals.EndIndex);
        var message = VitalsMessageOf(vitals, deviceId, at);
        publisher.Publish(new TransportMessage
        {
            Id = message.Id, Topic = publisher.Topics.Vitals, Payload = JsonSerializer.SerializeToUtf8Bytes(message, MessageJsonContext.Default.VitalsMessage),
            Qos = MessageQos.AtMostOnce, Priority = MessagePriority.Trend, CreatedAt = at,
        });
    }

    /// <summary>The vitals message (schema <see cref="VitalsMessage.SchemaId"/>) of one vitals period ending at <paramref name="at"/>.</summary>
    public static VitalsMessage VitalsMessageOf(Vitals vitals, string deviceId, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(vitals);
        var leads = new Dictionary<string, string>();
        for (var c = 0; c < vitals.Quality.Count; c++)
            leads[Leads.Name(c)] = Alert.LeadStateOf(vitals.Quality[c]);
        return new VitalsMessage(VitalsMessage.SchemaId, Guid.CreateVersion7(at).ToString("N"), deviceId, new TimePoint(at, vitals.EndIndex),
            vitals.PeriodSeconds, double.IsNaN(vitals.HeartRateBpm) ? null : Math.Round(vitals.HeartRateBpm, 1), vitals.Beats,
            vitals.Veb, vitals.Sveb, vitals.Rhythm, leads);
    }

    public void Publish(QualityChange change)
    {
        // Quality changes are carried by the lead-off / signal-quality alerts and the vitals' lead state.
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "ALERT NOT STORED for delivery ({Reason}); alert: {Json}")]
    private partial void LogAlertNotStored(string reason, string json);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Alert {Id} held in memory only ({Reason}); {Held} alert(s) held, retried at every message")]
    private partial void LogAlertHeld(string id, string reason, int held);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Stored} held alert(s) stored in the outbox; {Held} still held")]
    private partial void LogHeldStored(int stored, int held);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Trend not stored for delivery: {Reason}")]
    private partial void LogTrendNotStored(string reason);
}
