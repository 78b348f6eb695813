using System.Diagnostics;
using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Events;
using EcgEdge.Events.Alerts;
using EcgEdge.Inference;

namespace EcgEdge.Pipeline;

/// <summary>The event stage as <c>run</c> wires it (vitals + event engine), with the time spent in it summed.</summary>
public sealed class EventStageObserver(VitalsAggregator vitals, EventEngine engine) : IPipelineObserver, IInferenceSink
{
    private long _ticks;
    public Action<WindowInference>? Window;
    public double Seconds => _ticks / (double)Stopwatch.Frequency;

    public void OnBeat(in DetectedBeat beat)
    {
        var t = Stopwatch.GetTimestamp();
        vitals.OnBeat(beat);
        engine.OnBeat(beat);
        _ticks += Stopwatch.GetTimestamp() - t;
    }

    public void OnQualityChanged(long sampleIndex, ReadOnlySpan<SignalQuality> quality)
    {
        var t = Stopwatch.GetTimestamp();
        vitals.OnQualityChanged(sampleIndex, quality);
        engine.OnQualityChanged(sampleIndex, quality);
        _ticks += Stopwatch.GetTimestamp() - t;
    }

    public void OnBlockProcessed(SampleBlock conditioned)
    {
        var t = Stopwatch.GetTimestamp();
        vitals.Advance(conditioned.StartIndex + conditioned.Count);
        engine.OnBlock(conditioned);
        _ticks += Stopwatch.GetTimestamp() - t;
    }

    public void OnBeatClassified(in ClassifiedBeat beat)
    {
        var t = Stopwatch.GetTimestamp();
        vitals.OnBeatClassified(beat);
        engine.OnBeatClassified(beat);
        _ticks += Stopwatch.GetTimestamp() - t;
    }

    public void OnRhythm(in RhythmDecision decision, ReadOnlySpan<float> smoothedProbabilities)
    {
        var t = Stopwatch.GetTimestamp();
        vitals.OnRhythm(decision, smoothedProbabilities);
        engine.OnRhythm(decision, smoothedProbabilities);
        _ticks += Stopwatch.GetTimestamp() - t;
    }

    public void OnWindow(in WindowInference window, ReadOnlySpan<float> rhythmProbabilities) => Window?.Invoke(window);
}
