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
/// logged at Critical with its full JSON and counted — never dropped silently. The open episodes, derived from the
/// alerts (<see cref="ActiveEpisodes"/>), go to <c>…/active</c> (QoS 1, retained, durable) after every alert that
/// changes them, so a clinician page opened mid-episode sees the episode.
/// </summary>
public sealed partial class MqttEventSink(MqttPublisher publisher, string deviceId, SampleClock clock,
    ILogger<MqttEventSink> logger, TimeProvider? time = null) : IAlertSink, IEventSink
{
    /// <summary>Bytes of alert payloads held in memory while the outbox refuses them (then alerts are given up, loudly).</summary>
    public const long MaxHeldBytes = 64L * 1024 * 1024;

    private readonly DurableOutbox _outbox = publisher.Outbox;
    private readonly Queue<(string Id, byte[] Payload, DateTimeOffset CreatedAt)> _held = new();
    private long _heldBytes;
    private readonly ActiveEpisodes _active = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private bool _activeDirty;
    private bool _activeDeferred;

    /// <summary>Episodes open now, as published on <c>…/active</c>.</summary>
    public int ActiveEpisodes => _active.Count;

    /// <summary>True while a change of the open episodes waits to be stored (the outbox refused it, or alerts are held).</summary>
    public bool ActiveStatePending => _activeDirty;

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
        if (_active.Apply(alert)) _activeDirty = true;
        if (_held.Count > 0)
        {
            Hold(alert.Id, payload, alert.Onset.Utc, "earlier alerts are still waiting for the outbox");
        }
        else if (Store(alert.Id, publisher.Topics.Alerts, payload, MessagePriority.Alert, alert.Onset.Utc) is { } error)
        {
            // The strip is most of an alert's bytes (8 leads x 10 s); the alarm itself matters more than its picture. An
            // alert the outbox cannot take whole is stored without its strip (criteria say so) before it is held in memory,
            // where a crash would lose it.
            if (alert.Strip is not null && StripLess(alert) is var bare
                && Store(bare.Id, publisher.Topics.Alerts, bare.Payload, MessagePriority.Alert, alert.Onset.Utc) is null)
            {
                LogStoredWithoutStrip(alert.Id, error);
                LastAlertStorage = (alert.Id, AlertStorage.OutboxWithoutStrip);
            }
            else Hold(alert.Id, payload, alert.Onset.Utc, error);
        }
        else LastAlertStorage = (alert.Id, AlertStorage.Outbox);
        StoreActive();
    }

    /// <summary>Where the last alert published went (for the audit log, which writes it beside the alert).</summary>
    public (string Id, AlertStorage Storage) LastAlertStorage { get; private set; }

    /// <summary>Raised when an alert held in memory reaches the outbox at last.</summary>
    public event Action<string>? HeldAlertStored;

    private static (string Id, byte[] Payload) StripLess(Alert alert)
    {
        var bare = alert with { Strip = null, Criteria = alert.Criteria + " [strip left out: the outbox was full]" };
        return (bare.Id, JsonSerializer.SerializeToUtf8Bytes(bare, MessageJsonContext.Default.Alert));
    }

    /// <summary>
    /// Publishes the list of open episodes now. The worker calls it once at start: the broker may still retain the list of
    /// an earlier run, whose episodes this run knows nothing of (it announces them again if they go on), so the retained
    /// list starts empty rather than showing an episode that may have ended while the worker was down.
    /// </summary>
    public void PublishActiveState()
    {
        _activeDirty = true;
        StoreActive();
    }

    /// <summary>
    /// Stores the open-episode list in the outbox when it changed, always behind the alerts it reflects (not while alerts
    /// are held): a page then never sees an episode listed before its onset alert was stored. Only the latest list
    /// matters, so a refused one is not queued: the next message retries with the list as it is then.
    /// </summary>
    private void StoreActive()
    {
        if (!_activeDirty || _held.Count > 0) return;
        var now = _time.GetUtcNow();
        var message = _active.Snapshot(TransportMessage.NewId(_time), deviceId, now);
        var payload = JsonSerializer.SerializeToUtf8Bytes(message, ActiveJsonContext.Default.ActiveMessage);
        if (Store(message.Id, publisher.Topics.Active, payload, MessagePriority.Alert, now, retain: true) is { } error)
        {
            if (!_activeDeferred) LogActiveDeferred(error);
            _activeDeferred = true;
            return;
        }
        if (_activeDeferred) LogActiveStored(message.Episodes.Count);
        _activeDirty = _activeDeferred = false;
    }

    private void Hold(string id, byte[] payload, DateTimeOffset createdAt, string why)
    {
        if (_heldBytes + payload.Length > MaxHeldBytes)
        {
            AlertsNotStored++;
            LastAlertStorage = (id, AlertStorage.NotStored);
            LogAlertNotStored(why + "; the in-memory hold is full too", System.Text.Encoding.UTF8.GetString(payload));
            return;
        }
        _held.Enqueue((id, payload, createdAt));
        _heldBytes += payload.Length;
        LastAlertStorage = (id, AlertStorage.HeldInMemory);
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
            HeldAlertStored?.Invoke(h.Id);
        }
        if (stored > 0) LogHeldStored(stored, _held.Count);
    }

    /// <summary>The worker is stopping: a last attempt, then every alert still held is logged at Critical and counted; then
    /// a last attempt to store the open-episode list if it changed.</summary>
    public void GiveUpHeld()
    {
        RetryHeld();
        while (_held.TryDequeue(out var h))
        {
            AlertsNotStored++;
            LogAlertNotStored("the outbox still refused it when the worker stopped", System.Text.Encoding.UTF8.GetString(h.Payload));
        }
        _heldBytes = 0;
        StoreActive(); // a last attempt for the open-episode list too (logged by StoreActive when refused)
    }

    public void Publish(EctopyTrend trend)
    {
        RetryHeld();
        StoreActive();
        var payload = JsonSerializer.SerializeToUtf8Bytes(trend, MessageJsonContext.Default.EctopyTrend);
        if (Store(trend.Id, publisher.Topics.Events, payload, MessagePriority.Trend, trend.To.Utc) is { } error) LogTrendNotStored(error);
    }

    /// <summary>A QoS-1 message into the outbox; returns why it could not be stored, or null.</summary>
    private string? Store(string id, string topic, byte[] payload, MessagePriority priority, DateTimeOffset createdAt, bool retain = false)
    {
        try
        {
            // Straight into the publisher's outbox (validated, framed, appended, fsync'd), as MqttPublisher.Publish does for
            // QoS 1: the sender loop is woken by the outbox, so going through the publisher would only add a hand-over.
            _outbox.Enqueue(new TransportMessage
            {
                Id = id, Topic = topic, Payload = payload, Qos = MessageQos.AtLeastOnce, Priority = priority, CreatedAt = createdAt, Retain = retain,
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
        StoreActive(); // nothing to do (and nothing allocated) unless the list changed and could not be stored then
        var at = clock.At(vitals.EndIndex);
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

    [LoggerMessage(Level = LogLevel.Error, Message = "Alert {Id} stored WITHOUT its strip ({Reason})")]
    private partial void LogStoredWithoutStrip(string id, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "ALERT NOT STORED for delivery ({Reason}); alert: {Json}")]
    private partial void LogAlertNotStored(string reason, string json);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Alert {Id} held in memory only ({Reason}); {Held} alert(s) held, retried at every message")]
    private partial void LogAlertHeld(string id, string reason, int held);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Stored} held alert(s) stored in the outbox; {Held} still held")]
    private partial void LogHeldStored(int stored, int held);

    [LoggerMessage(Level = LogLevel.Warning, Message = "List of open episodes not stored for delivery yet ({Reason}); retried at every message")]
    private partial void LogActiveDeferred(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "List of open episodes stored for delivery again ({Episodes} open)")]
    private partial void LogActiveStored(int episodes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Trend not stored for delivery: {Reason}")]
    private partial void LogTrendNotStored(string reason);
}

/// <summary>Where an alert went when it was published (written into the audit log beside it).</summary>
public enum AlertStorage
{
    /// <summary>Not published through the MQTT sink (MQTT off).</summary>
    None,
    /// <summary>In the outbox, fsync'd.</summary>
    Outbox,
    /// <summary>In the outbox without its strip (the outbox could not take it whole).</summary>
    OutboxWithoutStrip,
    /// <summary>Held in memory: lost if the worker dies before the outbox takes it.</summary>
    HeldInMemory,
    /// <summary>Given up (logged at Critical with its JSON).</summary>
    NotStored,
}
