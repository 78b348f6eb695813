using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.Json.Serialization;
using EcgEdge.Events;
using EcgEdge.Events.Alerts;
using EcgEdge.Transport.Mqtt;

namespace EcgEdge.Hosting;

/// <summary>What <c>ecgedge health</c> reads: written atomically by the worker every few seconds.</summary>
public sealed record HealthSnapshot(
    DateTimeOffset At, DateTimeOffset StartedAt, long Samples, double SamplesPerSecond, long Gaps, long GapSamples,
    long Beats, long Windows, double? InferenceMsMean, string? Model, long Alerts, string Broker, int OutboxPending, string Status);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(HealthSnapshot))]
public sealed partial class HealthJsonContext : JsonSerializerContext;

/// <summary>
/// The worker's metrics (System.Diagnostics.Metrics, meter "EcgEdge": samples, frames lost, beats, windows, alerts by
/// type, inference latency, outbox depth, broker connection — for `dotnet-counters` or an OpenTelemetry exporter) and a
/// health file for scripts and supervisors (<c>ecgedge health</c>), replaced atomically every <c>period</c>.
/// </summary>
public sealed class WorkerHealth : IStageCounters, IAlertSink, IDisposable
{
    public const string MeterName = "EcgEdge";
    private readonly Meter _meter;
    private readonly Counter<long> _samples, _gaps, _beats, _windows, _alerts;
    private readonly Histogram<double> _latency;
    private long _sampleCount, _gapCount, _gapSamples, _beatCount, _windowCount, _alertCount;
    private double _latencySum;

    /// <param name="meterName">
    /// The meter's name. Listeners subscribe by name, so every instance with the same name feeds the same exporter:
    /// the worker uses <see cref="MeterName"/>; a second worker or a test in the same process passes its own.
    /// </param>
    public WorkerHealth(string meterName = MeterName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(meterName);
        _meter = new Meter(meterName);
        _samples = _meter.CreateCounter<long>("ecgedge.samples", "{sample}", "Samples processed by the pipeline");
        _gaps = _meter.CreateCounter<long>("ecgedge.frames_lost", "{frame}", "Frames lost at the source (gaps)");
        _beats = _meter.CreateCounter<long>("ecgedge.beats", "{beat}", "Beats detected");
        _windows = _meter.CreateCounter<long>("ecgedge.inference.windows", "{window}", "Windows analysed by the model");
        _alerts = _meter.CreateCounter<long>("ecgedge.alerts", "{alert}", "Alert messages by type and phase");
        _latency = _meter.CreateHistogram<double>("ecgedge.inference.latency", "ms", "Model latency per window");
        _meter.CreateObservableGauge("ecgedge.outbox.pending", () => OutboxPending?.Invoke() ?? 0, "{message}", "Alerts waiting for PUBACK");
        _meter.CreateObservableGauge("ecgedge.broker.connected", () => BrokerState?.Invoke() == MqttConnectionState.Connected ? 1 : 0, null, "1 when connected to a broker");
    }

    public Func<int>? OutboxPending { get; set; }
    public Func<MqttConnectionState>? BrokerState { get; set; }

    /// <summary>The samples the systemd watchdog sees flowing (advanced with <see cref="Samples"/>), or null.</summary>
    public PipelineProgress? Progress { get; init; }

    public void Samples(int n, int gapBefore)
    {
        Progress?.Add(n);
        _samples.Add(n);
        Interlocked.Add(ref _sampleCount, n);
        if (gapBefore > 0)
        {
            _gaps.Add(gapBefore);
            Interlocked.Increment(ref _gapCount);
            Interlocked.Add(ref _gapSamples, gapBefore);
        }
    }

    public void Beat() { _beats.Add(1); Interlocked.Increment(ref _beatCount); }

    public void Window(double latencySeconds)
    {
        _windows.Add(1);
        _latency.Record(latencySeconds * 1e3);
        Interlocked.Increment(ref _windowCount);
        lock (_meter) _latencySum += latencySeconds * 1e3;
    }

    /// <summary>The alert counter, by type and phase: one of the event engine's alert sinks (the worker's first).</summary>
    public void Publish(Alert a)
    {
        _alerts.Add(1, new KeyValuePair<string, object?>("type", a.Type.ToString()), new KeyValuePair<string, object?>("phase", a.Phase.ToString()));
        Interlocked.Increment(ref _alertCount);
    }

    /// <summary>Trends are not alerts: not counted.</summary>
    public void Publish(EctopyTrend trend) { }

    /// <summary>A snapshot of the counters; <paramref name="rate"/> = samples per second since <paramref name="previous"/>.</summary>
    public HealthSnapshot Snapshot(DateTimeOffset now, DateTimeOffset startedAt, HealthSnapshot? previous, string? model)
    {
        var samples = Interlocked.Read(ref _sampleCount);
        var rate = previous is null ? 0 : (samples - previous.Samples) / Math.Max(1e-3, (now - previous.At).TotalSeconds);
        var windows = Interlocked.Read(ref _windowCount);
        double sum;
        lock (_meter) sum = _latencySum;
        var state = BrokerState?.Invoke();
        var status = previous is not null && samples == previous.Samples ? "stalled" : "running";
        return new HealthSnapshot(now, startedAt, samples, Math.Round(rate, 1), Interlocked.Read(ref _gapCount), Interlocked.Read(ref _gapSamples),
            Interlocked.Read(ref _beatCount), windows, windows > 0 ? Math.Round(sum / windows, 3) : null, model, Interlocked.Read(ref _alertCount),
            state?.ToString() ?? "off", OutboxPending?.Invoke() ?? 0, status);
    }

    /// <summary>Writes <paramref name="snapshot"/> to <paramref name="path"/> atomically (temp file + rename), mode 0600
    /// (a folder created for it 0700): <c>ecgedge health</c> runs as the worker's user or root.</summary>
    public static void Write(string path, HealthSnapshot snapshot)
    {
        var tmp = path + ".tmp";
        EcgEdge.Transport.PrivateFiles.WriteAllBytes(tmp, JsonSerializer.SerializeToUtf8Bytes(snapshot, HealthJsonContext.Default.HealthSnapshot));
        File.Move(tmp, path, overwrite: true);
    }

    public void Dispose() => _meter.Dispose();
}
