using System.Buffers;
using System.Text.Json;

namespace EcgEdge.Transport.Mqtt;

/// <summary>What the retained "online" status message says about this device.</summary>
/// <param name="StartedAt">When the service started.</param>
/// <param name="Versions">Software/model versions to publish (e.g. "ecgedge" → "0.1.0", "model" → "ecg-nat-3").</param>
/// <param name="Monitoring">Whether the device is analysing the patient's signal: <see cref="MonitoringActive"/>, or, once the
/// pipeline has ended, <see cref="MonitoringStopped"/> / <see cref="MonitoringInterrupted"/> with <paramref name="MonitoringReason"/>.</param>
public sealed record MqttStatusInfo(DateTimeOffset StartedAt, IReadOnlyDictionary<string, string> Versions,
    string Monitoring = MqttStatusInfo.MonitoringActive, string? MonitoringReason = null)
{
    public const string MonitoringActive = "active";
    public const string MonitoringStopped = "stopped";
    public const string MonitoringInterrupted = "interrupted";
}

/// <summary>
/// The retained status message on <c>{prefix}/{deviceId}/status</c> (schema docs/schemas/status.schema.json; see
/// docs/mqtt.md): online with the device's monitoring state, or offline (a clean stop, or the broker's last will when the
/// connection was lost).
/// </summary>
public static class StatusMessage
{
    /// <summary>The message's JSON, UTF-8.</summary>
    /// <param name="at">When it is written (the publisher's clock).</param>
    public static byte[] Write(bool online, string deviceId, string clientId, string? reason, DateTimeOffset at, MqttStatusInfo status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("state", online ? "online" : "offline");
            w.WriteString("deviceId", deviceId);
            w.WriteString("clientId", clientId);
            if (reason is not null) w.WriteString("reason", reason);
            w.WriteString("at", at);
            w.WriteString("startedAt", status.StartedAt);
            // What a clinician must know first: is anybody watching this patient? The last will (connection lost) cannot
            // know why the device vanished, so it says interrupted; a clean stop that was not told otherwise says stopped.
            var (monitoring, why) = (online, reason) switch
            {
                (true, _) => (status.Monitoring, status.MonitoringReason),
                (false, "connection-lost") => (MqttStatusInfo.MonitoringInterrupted, "the device lost its connection (crash, power or network loss)"),
                _ => status.Monitoring == MqttStatusInfo.MonitoringActive
                    ? (MqttStatusInfo.MonitoringStopped, "the device shut down")
                    : (status.Monitoring, status.MonitoringReason),
            };
            w.WriteString("monitoring", monitoring);
            if (why is not null) w.WriteString("monitoringReason", why);
            w.WriteStartObject("versions");
            foreach (var (k, v) in status.Versions) w.WriteString(k, v);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
