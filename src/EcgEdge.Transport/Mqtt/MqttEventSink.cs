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
    /// <summary>Alerts the outbox refused.</summary>
    public long AlertsNotStored { get; private set; }

    public void Publish(Alert alert)
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(alert, MessageJsonContext.Default.Alert);
        if (Store(alert.Id, publisher.Topics.Alerts, payload, MessagePriority.Alert, alert.Onset.Utc) is { } error)
        {
            AlertsNotStored++;
            LogAlertNotStored(error, System.Text.Encoding.UTF8.GetString(payload));
        }
    }

    public void Publish(EctopyTrend trend)
    {
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
            if (vitals.Quality[c] != SignalQuality.Absent) leads[Leads.Name(c)] = Alert.LeadStateOf(vitals.Quality[c]);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Trend not stored for delivery: {Reason}")]
    private partial void LogTrendNotStored(string reason);
}
