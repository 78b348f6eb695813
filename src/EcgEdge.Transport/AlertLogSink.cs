using System.Text.Json;
using EcgEdge.Events.Alerts;

namespace EcgEdge.Transport;

/// <summary>
/// A local audit trail of alerts: one JSON line per alert message, appended and flushed to the OS at once (it survives
/// a crash of the worker; fsync is the outbox's job). Optional (<c>Events:AlertLogFile</c>). Placed after the MQTT sink,
/// whose <see cref="Mqtt.MqttEventSink.LastAlertStorage"/> says where the alert went: every line is the alert with a
/// leading <c>"storage"</c> property — <c>outbox</c>, <c>outbox_without_strip</c>, <c>held_in_memory</c> (an alert a crash
/// would lose; a second line with <c>outbox_late</c> follows if the outbox takes it later) or <c>not_stored</c>; without
/// MQTT there is no such property. Until 2026-12-07 every line read as stored, also for an alert held in memory only.
/// Alerts carry patient ECG strips: the file is 0600 and a folder created for it 0700 (<see cref="PrivateFiles"/>).
/// </summary>
public sealed class AlertLogSink : IAlertSink, IDisposable
{
    private readonly FileStream _file;
    private readonly Mqtt.MqttEventSink? _mqtt;
    private readonly Dictionary<string, byte[]> _held = new(StringComparer.Ordinal);
    private static readonly byte[] NewLine = [(byte)'\n'];

    public AlertLogSink(string path, Mqtt.MqttEventSink? mqtt = null)
    {
        _file = PrivateFiles.OpenAppend(path);
        _mqtt = mqtt;
        if (mqtt is not null) mqtt.HeldAlertStored += OnHeldStored;
    }

    public void Publish(Alert alert)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(alert, MessageJsonContext.Default.Alert);
        if (_mqtt is null)
        {
            Write(json, null);
            return;
        }
        var storage = _mqtt.LastAlertStorage.Id == alert.Id ? _mqtt.LastAlertStorage.Storage : Mqtt.AlertStorage.None;
        if (storage == Mqtt.AlertStorage.HeldInMemory) _held[alert.Id] = json;
        Write(json, Name(storage));
    }

    private void OnHeldStored(string id)
    {
        if (_held.Remove(id, out var json)) Write(json, "outbox_late");
    }

    private static string? Name(Mqtt.AlertStorage s) => s switch
    {
        Mqtt.AlertStorage.Outbox => "outbox",
        Mqtt.AlertStorage.OutboxWithoutStrip => "outbox_without_strip",
        Mqtt.AlertStorage.HeldInMemory => "held_in_memory",
        Mqtt.AlertStorage.NotStored => "not_stored",
        _ => null,
    };

    /// <summary>The alert object with "storage" as its first property (the rest is the alert's own JSON).</summary>
    private void Write(byte[] alertJson, string? storage)
    {
        if (storage is null) _file.Write(alertJson);
        else
        {
            _file.Write("{\"storage\":\""u8);
            _file.Write(System.Text.Encoding.UTF8.GetBytes(storage));
            _file.Write("\","u8);
            _file.Write(alertJson.AsSpan(1));
        }
        _file.Write(NewLine);
        _file.Flush();
    }

    public void Publish(EctopyTrend trend) { }

    public void Dispose()
    {
        if (_mqtt is not null) _mqtt.HeldAlertStored -= OnHeldStored;
        _file.Dispose();
    }
}
