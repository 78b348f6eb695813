using EcgEdge.Acquisition.Replay;
using EcgEdge.Core.Signals;
using EcgEdge.Events;
using EcgEdge.Events.Alerts;
using EcgEdge.Inference;
using EcgEdge.Inference.Model;
using EcgEdge.Pipeline;
using EcgEdge.Transport.Mqtt;

namespace EcgEdge.Fleet;

/// <summary>
/// What one real recording makes the device say: the alerts and vitals the whole device pipeline (conditioning, QRS,
/// model, event engine) produced over it, in signal order. Simulated devices replay these messages instead of
/// running the pipeline each, so a thousand of them fit in one process while their traffic stays the product's own.
/// </summary>
public sealed record FleetEventStream(string Record, double SignalSeconds, IReadOnlyList<Alert> Alerts, IReadOnlyList<VitalsMessage> Vitals);

public static class FleetEventStreams
{
    /// <summary>
    /// Runs the device pipeline once over each record (as fast as it goes, one record at a time) and keeps every alert
    /// and vitals message it emitted. <paramref name="model"/> may be null (no model: rate and pause alerts only).
    /// </summary>
    public static async Task<IReadOnlyList<FleetEventStream>> BuildAsync(IEnumerable<string> records, PipelineSettings settings, EcgNatModel? model,
        int rhythmSmoothingWindows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(settings);
        var result = new List<FleetEventStream>();
        foreach (var record in records)
        {
            await using var source = new ReplaySource(new ReplayOptions { Record = record }, settings.Pipeline.SampleRateHz);
            var rate = source.Info.SampleRateHz;
            using var pipeline = new EcgPipeline(source.Info, settings.Conditioning, settings.Detection, settings.Pipeline.BlockFrames);
            var epoch = DateTimeOffset.UnixEpoch;
            var clock = new SampleClock(epoch, rate);
            var sink = new CapturingSink(clock);
            var observer = new EventStageObserver(new EventOptions(), "template", source.Info.Present, clock, settings.Pipeline.VitalsIntervalSeconds,
                model?.VersionLabel, [sink], [sink]);
            if (model is not null) pipeline.AttachInference(model, rhythmSmoothingWindows, observer.Engine, InferenceThreading.Inline, InferenceOverload.Wait);
            await pipeline.RunAsync(source, observer, cancellationToken).ConfigureAwait(false);
            result.Add(new FleetEventStream(Path.GetFileName(record), pipeline.Stats.Samples / rate, sink.Alerts, sink.Vitals));
        }
        return result;
    }

    private sealed class CapturingSink(SampleClock clock) : IAlertSink, IEventSink
    {
        public List<Alert> Alerts { get; } = [];
        public List<VitalsMessage> Vitals { get; } = [];
        public void Publish(Alert alert) => Alerts.Add(alert);
        public void Publish(EctopyTrend trend) { /* trends are hourly: not part of the simulated traffic */ }
        public void Publish(Vitals vitals) => Vitals.Add(MqttEventSink.VitalsMessageOf(vitals, "template", clock.At(vitals.EndIndex)));
        public void Publish(QualityChange change) { /* carried by vitals and lead-off alerts */ }
    }
}
