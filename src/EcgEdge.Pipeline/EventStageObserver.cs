using System.Diagnostics;
using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Events;
using EcgEdge.Events.Alerts;
using EcgEdge.Inference;
using Microsoft.Extensions.Logging;

namespace EcgEdge.Pipeline;

/// <summary>
/// The event stage: owns the <see cref="VitalsAggregator"/> and the <see cref="EventEngine"/>, takes the pipeline's beats,
/// blocks and quality changes (<see cref="IPipelineObserver"/>) and the model's beat classes and rhythm decisions
/// (<see cref="IInferenceSink"/>) directly, updates the worker's health counters, and hands what the stage emits to the
/// event and alert sinks given at construction, in their order. The lists are copied: what a verb wires is fixed once
/// the stage exists. The time spent in the stage is summed (<see cref="Seconds"/>, for <c>bench</c>).
/// </summary>
public sealed partial class EventStageObserver : IPipelineObserver, IInferenceSink, IEventSink, IAlertSink
{
    private readonly VitalsAggregator _vitals;
    private readonly IEventSink[] _eventSinks;
    private readonly IAlertSink[] _alertSinks;
    private readonly IStageCounters? _counters;
    private readonly ILogger? _logger;
    private readonly double _fs;
    private long _ticks;
    private RhythmClass? _rhythm;
    private bool _started;

    /// <param name="options">The event engine's options.</param>
    /// <param name="deviceId">Written into every alert (the MQTT device id).</param>
    /// <param name="present">The channels the source delivers (<see cref="Lead"/> order).</param>
    /// <param name="clock">Maps sample indices to UTC; its rate is the pipeline's.</param>
    /// <param name="vitalsIntervalSeconds">The vitals summary period.</param>
    /// <param name="modelVersion">The model's version label, written into alerts (null without a model).</param>
    /// <param name="eventSinks">Where vitals and quality changes go, in this order.</param>
    /// <param name="alertSinks">Where alerts and ectopy trends go, in this order (a durable sink first: the alert is stored before it is shown).</param>
    /// <param name="counters">The worker's health counters, or null.</param>
    /// <param name="logger">Rhythm changes (Information), beats and beat classes (Debug), the first sample; null logs nothing.</param>
    public EventStageObserver(EventOptions options, string deviceId, IReadOnlyList<bool> present, SampleClock clock, double vitalsIntervalSeconds,
        string? modelVersion, IEnumerable<IEventSink> eventSinks, IEnumerable<IAlertSink> alertSinks, IStageCounters? counters = null,
        ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(eventSinks);
        ArgumentNullException.ThrowIfNull(alertSinks);
        _fs = clock.SampleRateHz;
        _eventSinks = [.. eventSinks];
        _alertSinks = [.. alertSinks];
        _counters = counters;
        _logger = logger;
        _vitals = new VitalsAggregator(_fs, vitalsIntervalSeconds, this);
        Engine = new EventEngine(options, deviceId, _fs, present, clock, modelVersion, this);
    }

    /// <summary>The event engine (model swaps, end of monitoring, counters).</summary>
    public EventEngine Engine { get; }

    /// <summary>Seconds spent in the stage (vitals and event engine) on the pipeline and inference callbacks.</summary>
    public double Seconds => _ticks / (double)Stopwatch.Frequency;

    public void OnBeat(in DetectedBeat beat)
    {
        var t = Stopwatch.GetTimestamp();
        _vitals.OnBeat(beat);
        Engine.OnBeat(beat);
        _ticks += Stopwatch.GetTimestamp() - t;
        _counters?.Beat();
        if (_logger?.IsEnabled(LogLevel.Debug) == true) LogBeat(_logger, beat.SampleIndex / _fs, beat.RrSeconds * 1000, beat.HeartRateBpm);
    }

    public void OnQualityChanged(long sampleIndex, ReadOnlySpan<SignalQuality> quality)
    {
        var t = Stopwatch.GetTimestamp();
        _vitals.OnQualityChanged(sampleIndex, quality);
        Engine.OnQualityChanged(sampleIndex, quality);
        _ticks += Stopwatch.GetTimestamp() - t;
    }

    public void OnBlockProcessed(SampleBlock conditioned)
    {
        if (!_started)
        {
            _started = true;
            if (_logger is not null)
            {
                using var self = Process.GetCurrentProcess();
                LogFirstSample(_logger, (DateTime.Now - self.StartTime).TotalSeconds);
            }
        }
        _counters?.Samples(conditioned.Count, conditioned.GapBefore);
        var t = Stopwatch.GetTimestamp();
        _vitals.Advance(conditioned.StartIndex + conditioned.Count);
        Engine.OnBlock(conditioned);
        _ticks += Stopwatch.GetTimestamp() - t;
    }

    public void OnBeatClassified(in ClassifiedBeat beat)
    {
        var t = Stopwatch.GetTimestamp();
        _vitals.OnBeatClassified(beat);
        Engine.OnBeatClassified(beat);
        _ticks += Stopwatch.GetTimestamp() - t;
        if (_logger?.IsEnabled(LogLevel.Debug) == true) LogBeatClass(_logger, beat.Beat.SampleIndex / _fs, ClassNames.Of(beat.Class), beat.Confidence);
    }

    public void OnRhythm(in RhythmDecision decision, ReadOnlySpan<float> smoothedProbabilities)
    {
        var t = Stopwatch.GetTimestamp();
        _vitals.OnRhythm(decision, smoothedProbabilities);
        Engine.OnRhythm(decision, smoothedProbabilities);
        _ticks += Stopwatch.GetTimestamp() - t;
        if (decision.Class == _rhythm) return;
        _rhythm = decision.Class;
        if (_logger is not null) LogRhythm(_logger, decision.FromIndex / _fs, ClassNames.Of(decision.Class), decision.Confidence);
    }

    public void OnWindow(in WindowInference window, ReadOnlySpan<float> rhythmProbabilities) => _counters?.Window(window.LatencySeconds);

    // What the vitals aggregator and the engine emit: counted, then to every sink in the order the verb gave. Explicit,
    // so that nothing else publishes through the stage.
    void IEventSink.Publish(Vitals vitals) { foreach (var s in _eventSinks) s.Publish(vitals); }
    void IEventSink.Publish(QualityChange change) { foreach (var s in _eventSinks) s.Publish(change); }

    void IAlertSink.Publish(Alert alert)
    {
        _counters?.Alert(alert);
        foreach (var s in _alertSinks) s.Publish(alert);
    }

    void IAlertSink.Publish(EctopyTrend trend) { foreach (var s in _alertSinks) s.Publish(trend); }

    [LoggerMessage(Level = LogLevel.Information, Message = "t={T:F1}s rhythm {Rhythm} (p={P:F2})")]
    private static partial void LogRhythm(ILogger logger, double t, string rhythm, float p);

    [LoggerMessage(Level = LogLevel.Debug, Message = "beat t={T:F3}s class {Class} (p={P:F2})")]
    private static partial void LogBeatClass(ILogger logger, double t, string @class, float p);

    [LoggerMessage(Level = LogLevel.Debug, Message = "beat t={T:F3}s RR={Rr:F0}ms HR={Hr:F0}")]
    private static partial void LogBeat(ILogger logger, double t, double rr, double hr);

    [LoggerMessage(Level = LogLevel.Information, Message = "First sample processed {Seconds:F3} s after process start")]
    private static partial void LogFirstSample(ILogger logger, double seconds);
}
