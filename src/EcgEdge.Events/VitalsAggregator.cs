using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Inference;

namespace EcgEdge.Events;

/// <summary>
/// Turns the beat stream into periodic <see cref="Vitals"/> (every <c>period</c> seconds of signal) and quality changes
/// into <see cref="QualityChange"/> events, each given to every sink in order (the same object to all). The per-beat path
/// allocates nothing; one event object per period. In the worker it is fed by the <see cref="Alerts.EventEngine"/>.
/// </summary>
public sealed class VitalsAggregator : IBeatSink, IInferenceSink
{
    private readonly double _fs;
    private readonly IEventSink[] _sinks;

    public VitalsAggregator(double sampleRateHz, double periodSeconds, IEventSink sink) : this(sampleRateHz, periodSeconds, [sink])
    {
    }

    /// <param name="sinks">Where vitals and quality changes go, in this order (copied: fixed once the aggregator exists).</param>
    public VitalsAggregator(double sampleRateHz, double periodSeconds, IEnumerable<IEventSink> sinks)
    {
        ArgumentNullException.ThrowIfNull(sinks);
        _fs = sampleRateHz;
        _sinks = [.. sinks];
        _period = Math.Max(1, (long)Math.Round(periodSeconds * sampleRateHz));
        _nextEnd = _period;
    }

    private long _veb, _sveb;
    private bool _model;
    private RhythmClass? _rhythm;

    /// <summary>Counts ventricular and supraventricular ectopic beats (in the interval in which the model classified them).</summary>
    public void OnBeatClassified(in ClassifiedBeat beat)
    {
        _model = true;
        if (beat.Class == BeatClass.V) _veb++;
        else if (beat.Class == BeatClass.S) _sveb++;
    }

    /// <summary>Keeps the latest rhythm decision for the next vitals message.</summary>
    public void OnRhythm(in RhythmDecision decision, ReadOnlySpan<float> smoothedProbabilities)
    {
        _model = true;
        _rhythm = decision.Class;
    }

    private readonly long _period;
    private long _nextEnd;
    private long _beats;
    private double _hr = double.NaN;
    // Until the pipeline announces its verdicts nothing is known: no lead is reported "ok" before it has been judged.
    private readonly SignalQuality[] _quality = Enumerable.Repeat(SignalQuality.Unassessed, Leads.Count).ToArray();

    public void OnBeat(in DetectedBeat beat)
    {
        _beats++;
        if (!double.IsNaN(beat.HeartRateBpm)) _hr = beat.HeartRateBpm;
    }

    /// <summary>Signal quality changed.</summary>
    public void OnQualityChanged(long sampleIndex, ReadOnlySpan<SignalQuality> quality)
    {
        quality.CopyTo(_quality);
        var change = new QualityChange(sampleIndex, quality.ToArray());
        foreach (var sink in _sinks) sink.Publish(change);
    }

    /// <summary>The stream reached <paramref name="endIndex"/> (exclusive); publishes the periods that completed.</summary>
    public void Advance(long endIndex)
    {
        while (endIndex >= _nextEnd)
        {
            var vitals = new Vitals(_nextEnd, _period / _fs, _hr, _beats, _quality.ToArray(),
                _model ? _veb : null, _model ? _sveb : null, _rhythm is { } r ? ClassNames.Of(r) : null);
            foreach (var sink in _sinks) sink.Publish(vitals);
            _beats = 0;
            _veb = 0;
            _sveb = 0;
            _nextEnd += _period;
        }
    }
}
