using System.Diagnostics;
using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Events;
using EcgEdge.Events.Alerts;
using Microsoft.Extensions.Logging;

namespace EcgEdge.Pipeline;

/// <summary>
/// The event stage as every verb builds it: an <see cref="EventEngine"/> that feeds a <see cref="VitalsAggregator"/>,
/// counts in the health counters and publishes to the sinks given here, in their order (the lists are copied: what a
/// verb wires is fixed once the stage exists). This type is the pipeline's <see cref="IPipelineObserver"/> (beats,
/// blocks, quality changes go on to the engine); the model's results do not pass through it: attach the inference with
/// <see cref="Engine"/> as its sink, so that the model's output reaches the engine, and the engine's alerts the
/// transport, without a hand-over in between.
/// </summary>
public sealed partial class EventStageObserver : IPipelineObserver
{
    private readonly ILogger? _logger;
    private bool _started;

    /// <param name="options">The event engine's options.</param>
    /// <param name="deviceId">Written into every alert (the MQTT device id).</param>
    /// <param name="present">The channels the source delivers (<see cref="Lead"/> order).</param>
    /// <param name="clock">Maps sample indices to UTC; its rate is the pipeline's.</param>
    /// <param name="vitalsIntervalSeconds">The vitals summary period.</param>
    /// <param name="modelVersion">The model's version label, written into alerts (null without a model).</param>
    /// <param name="eventSinks">Where vitals and quality changes go, in this order.</param>
    /// <param name="alertSinks">Where alerts and ectopy trends go, in this order: the worker gives its health counter first
    /// (an alert is counted before anything else sees it), then the durable MQTT sink (stored before it is shown).</param>
    /// <param name="counters">The worker's health counters (samples, beats, model runs), or null.</param>
    /// <param name="logger">The first sample (here); rhythm changes, beats and beat classes (the engine); null logs nothing.</param>
    public EventStageObserver(EventOptions options, string deviceId, IReadOnlyList<bool> present, SampleClock clock, double vitalsIntervalSeconds,
        string? modelVersion, IEnumerable<IEventSink> eventSinks, IEnumerable<IAlertSink> alertSinks, IStageCounters? counters = null,
        ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(eventSinks);
        ArgumentNullException.ThrowIfNull(alertSinks);
        _logger = logger;
        var fs = clock.SampleRateHz;
        Engine = new EventEngine(options, deviceId, fs, present, clock, modelVersion, alertSinks,
            new VitalsAggregator(fs, vitalsIntervalSeconds, eventSinks), counters, logger);
    }

    /// <summary>
    /// The event engine: the sink to give <see cref="EcgPipeline.AttachInference"/>; also model swaps, end of monitoring,
    /// counters.
    /// </summary>
    public EventEngine Engine { get; }

    public void OnBeat(in DetectedBeat beat) => Engine.OnBeat(beat);

    public void OnQualityChanged(long sampleIndex, ReadOnlySpan<SignalQuality> quality) => Engine.OnQualityChanged(sampleIndex, quality);

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
        Engine.OnBlock(conditioned);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "First sample processed {Seconds:F3} s after process start")]
    private static partial void LogFirstSample(ILogger logger, double seconds);
}
