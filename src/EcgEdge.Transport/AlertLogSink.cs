using System.Text.Json;
using EcgEdge.Events.Alerts;

namespace EcgEdge.Transport;

/// <summary>
/// A local audit trail of alerts: one JSON line per alert message, appended and flushed to the OS at once (it survives
/// a crash of the worker; fsync is the outbox's job). Optional (<c>Events:AlertLogFile</c>); placed after the MQTT
/// sink, so every line names an alert that is already in the outbox. Alerts carry patient ECG strips: the file is
/// 0600 and a folder created for it 0700 (<see cref="PrivateFiles"/>).
/// </summary>
public sealed class AlertLogSink : IAlertSink, IDisposable
{
    private readonly FileStream _file;
    private static readonly byte[] NewLine = [(byte)'\n'];

    public AlertLogSink(string path)
    {
        _file = PrivateFiles.OpenAppend(path);
    }

    public void Publish(Alert alert)
    {
        _file.Write(JsonSerializer.SerializeToUtf8Bytes(alert, MessageJsonContext.Default.Alert));
        _file.Write(NewLine);
        _file.Flush();
    }

    public void Publish(EctopyTrend trend) { }

    public void Dispose() => _file.Dispose();
}
