using EcgEdge.Acquisition.Ads1298;
using EcgEdge.Acquisition.Replay;
using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Events.Alerts;
using EcgEdge.Inference;
using EcgEdge.Inference.Execution;
using EcgEdge.Inference.Model;
using EcgEdge.Inference.Rhythm;
using EcgEdge.Pipeline;
using EcgEdge.Verbs;

namespace EcgEdge.Evaluation;

/// <summary>Everything the pipeline produced for one record, with times mapped back to record samples.</summary>
public sealed class RecordRun
{
    public required string Name { get; init; }
    /// <summary>The record's identity (<see cref="EcgEdge.Wfdb.WfdbHeader.Signature"/>), matched against a manifest's training records.</summary>
    public string Signature { get; init; } = "";
    public required double RecordRateHz { get; init; }
    /// <summary>Samples of the record (header), or what was read when the header does not say.</summary>
    public required long RecordLength { get; init; }
    /// <summary>Seconds of signal that went through the pipeline.</summary>
    public required double DurationS { get; init; }
    public required IReadOnlyList<string> Leads { get; init; }
    /// <summary>Detected beats in record samples, sorted.</summary>
    public required long[] Beats { get; init; }
    /// <summary>The model's class per beat (Q for a beat the model did not reach); null without a model.</summary>
    public BeatClass[]? Classes { get; init; }
    /// <summary>The detector's heart rate estimate at each beat (NaN while learning).</summary>
    public required double[] HeartRate { get; init; }
    /// <summary>Rhythm decisions in record samples (from, to), in order; empty without a model.</summary>
    public required IReadOnlyList<(long From, long To, RhythmClass Class)> Rhythm { get; init; }
    /// <summary>Raw per-window results in record samples; empty without a model.</summary>
    public required IReadOnlyList<(long From, long To, RhythmClass Class, double LatencyS)> Windows { get; init; }
    public long BeatsClassified { get; init; }
    /// <summary>Per-window rhythm evidence (<see cref="RhythmFeatures"/>) in record samples; empty without a model.</summary>
    public IReadOnlyList<WindowEvidence> Evidence { get; init; } = [];
    /// <summary>Header problems the record was read despite (initial value or checksum mismatches), as WFDB reads them.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
    /// <summary>
    /// The alerts the event stage raised (when asked for): each with the record sample at which it was raised (its onset
    /// may lie earlier: criteria look back), times in record samples. Monitoring ends with the record (offsets marked so).
    /// </summary>
    public IReadOnlyList<(Alert Alert, long RaisedAt)> Alerts { get; init; } = [];
    /// <summary>Per classified beat (when the model runs): its R peak in record samples, its beat-decision inputs
    /// (<see cref="BeatFusion.InputNames"/>) and the class it got.</summary>
    public IReadOnlyList<(long RecordSample, float[] Inputs, BeatClass Decided)> BeatEvidence { get; init; } = [];
    /// <summary>Per-beat atrial measures (when asked for): the beat's R peak in record samples and the measure.</summary>
    public IReadOnlyList<(long RecordSample, AtrialMeasure Measure)> Atrial { get; init; } = [];

    /// <summary>The record's first analysed sample (<c>--from</c>; 0: its beginning).</summary>
    public long FirstSample { get; init; }

    /// <summary>Record samples analysed (pipeline samples mapped back to the record's rate).</summary>
    public long AnalysedSamples { get; init; }

    /// <summary>Every change of the per-lead signal quality, at record samples, in the pipeline's lead order (Core.Signals.Leads).</summary>
    public IReadOnlyList<(long RecordSample, SignalQuality[] Quality)> QualityChanges { get; init; } = [];

    /// <summary>The header's comment lines (age, sex, diagnoses, medication as the database wrote them) and its base date and time.</summary>
    public IReadOnlyList<string> HeaderComments { get; init; } = [];

    /// <summary>The header's base date and time as written ("25/12/2020 10:30:00"), or null.</summary>
    public string? HeaderStart { get; init; }

    /// <summary>Which of the pipeline's leads the record feeds (Core.Signals.Leads order).</summary>
    public IReadOnlyList<bool> Present { get; init; } = [];
}

/// <summary>One analysed window's rhythm evidence: its features, its rhythm posteriors after fusion, the fusion's P(AF) (NaN without one).</summary>
public sealed record WindowEvidence(long From, long To, float[] Features, float[] ShortFeatures, double StreamSeconds, float[] NetworkProbabilities,
    float[] Probabilities, double FusedAf);

/// <summary>
/// Replays one WFDB record at full speed through the device pipeline (<see cref="EcgPipeline"/>, optionally with the
/// model) and collects its output — the common part of <c>eval</c> and <c>analyze</c>. With
/// <see cref="SourceKind.Emulator"/> the record feeds the ADS1298 emulator and the real driver delivers the frames.
/// </summary>
/// <summary>Which part of a record a run analyses.</summary>
/// <param name="FromSeconds">Start, seconds from the record's first sample.</param>
/// <param name="ToSeconds">End (null: the record's end); with <paramref name="Loop"/>, the end of every pass.</param>
/// <param name="Loop">Replay the segment again and again (a gap between passes), until <paramref name="MaxSeconds"/>.</param>
/// <param name="MaxSeconds">Stop after this much signal (null: at the segment's end; required with a loop).</param>
public sealed record ReplaySegment(double FromSeconds = 0, double? ToSeconds = null, bool Loop = false, double? MaxSeconds = null);

public static class RecordRunner
{
    public static async Task<RecordRun> RunAsync(string recordPath, string? leads, PipelineSettings settings, InferenceOptions? inference,
        ProgressReporter? progress, CancellationToken ct, SourceKind sourceKind = SourceKind.Replay, Ads1298Options? ads = null,
        bool atrial = false, EcgNatModel? sharedModel = null, EventOptions? events = null, ReplaySegment? segment = null)
    {
        if (segment is { Loop: true, MaxSeconds: null }) throw new ArgumentException("a looped run needs MaxSeconds", nameof(segment));
        var options = new ReplayOptions
        {
            Record = recordPath, Leads = leads, RealTime = false, Loop = segment?.Loop ?? false,
            FromSeconds = segment?.FromSeconds ?? 0, ToSeconds = segment?.ToSeconds,
        };
        var rate = settings.Pipeline.SampleRateHz;
        // The replay source also gives the record's header and the index mapping back to record samples.
        await using var replay = new ReplaySource(options, rate);
        await using var source = sourceKind == SourceKind.Replay
            ? null
            : SourceFactory.Open(sourceKind, options, ads ?? new Ads1298Options(), rate, TimeProvider.System);
        ISampleSource input = (ISampleSource?)source ?? replay;
        if (segment?.MaxSeconds is { } most) input = new LimitedSource(input, (long)Math.Round(most * rate));
        var pipeline = new EcgPipeline(input.Info, settings.Conditioning, settings.Detection, settings.Pipeline.BlockFrames);
        var name = replay.Header.RecordName;
        var expected = segment?.MaxSeconds is { } cap ? cap * rate
            : replay.PassRecordSamples is long n && n > 0 ? n * rate / replay.RecordRateHz : 0;
        var collector = new Collector(progress, name, expected);
        // A model shared by the caller (one ONNX session for many short runs) is borrowed, not disposed here.
        using var owned = sharedModel is null && inference is not null ? ModelLoader.Load(inference.Model, inference) : null;
        var model = sharedModel ?? owned;
        var atrialBeats = new List<(double Position, AtrialMeasure Measure)>();
        if (model is not null)
        {
            if (owned is not null) owned.Warmup(inference!.WarmupRuns);
            var stage = pipeline.AttachInference(model, inference?.RhythmSmoothingWindows ?? 3, collector);
            stage.SupraventricularRuleEnabled = inference?.SupraventricularRule ?? true;
            stage.DominantBeatVetoEnabled = inference?.DominantBeatVeto ?? false;
            if (atrial) stage.Evidence.Measured = (pos, m) => atrialBeats.Add((pos - stage.BeatShiftSamples, m));
        }
        var raised = new AlertCollector();
        if (events is not null)
        {
            // The event stage as the worker builds it, with the alerts kept instead of published (no vitals sinks).
            collector.Stage = new EventStageObserver(events, "eval", input.Info.Present, new SampleClock(DateTimeOffset.UnixEpoch, input.Info.SampleRateHz),
                settings.Pipeline.VitalsIntervalSeconds, model?.VersionLabel, [], [raised]);
            raised.Engine = collector.Stage.Engine;
        }
        await pipeline.RunAsync(input, collector, ct).ConfigureAwait(false);
        collector.Stage?.Engine.EndMonitoring(collector.Stage.Engine.Now, interrupted: false, "end of the recording");

        var order = Enumerable.Range(0, collector.Beats.Count).OrderBy(i => collector.Beats[i].SampleIndex).ToArray();
        var leadNames = new List<string>();
        for (var c = 0; c < EcgEdge.Core.Signals.Leads.Count; c++)
            if (input.Info.Present[c]) leadNames.Add($"{EcgEdge.Core.Signals.Leads.Name(c)}={input.Info.SourceLabels[c]}");
        return new RecordRun
        {
            Name = name,
            Signature = replay.Header.Signature,
            Warnings = replay.Warnings.ToList(),
            RecordRateHz = replay.RecordRateHz,
            RecordLength = replay.Header.SampleCount is long len && len > 0 ? len : replay.ToRecordSample(pipeline.Stats.Samples),
            DurationS = pipeline.Stats.Samples / rate,
            Leads = leadNames,
            Beats = order.Select(i => replay.ToRecordSample(collector.Beats[i].SampleIndex)).ToArray(),
            HeartRate = order.Select(i => collector.Beats[i].HeartRateBpm).ToArray(),
            Classes = model is null ? null
                : order.Select(i => collector.Classes.TryGetValue(collector.Beats[i].SampleIndex, out var k) ? k : BeatClass.Q).ToArray(),
            Rhythm = collector.Rhythm.Select(d => (replay.ToRecordSample(d.FromIndex), replay.ToRecordSample(d.ToIndex), d.Class)).ToList(),
            Windows = collector.Windows.Select(w => (replay.ToRecordSample(w.StartIndex), replay.ToRecordSample(w.EndIndex), w.Class, w.LatencySeconds)).ToList(),
            BeatsClassified = collector.ClassifiedCount,
            Evidence = collector.Evidence.Select(e => e with { From = replay.ToRecordSample(e.From), To = replay.ToRecordSample(e.To) }).ToList(),
            Alerts = raised.Alerts.Select(a => (ToRecord(a.Alert, replay), replay.ToRecordSample(a.At))).ToList(),
            BeatEvidence = collector.BeatEvidence.Select(b => (replay.ToRecordSample(b.Index), b.Inputs, b.Decided)).ToList(),
            Atrial = atrialBeats.Select(b => (replay.ToRecordSample((long)Math.Round(b.Position)), b.Measure)).ToList(),
            FirstSample = replay.FirstRecordSample,
            AnalysedSamples = (long)Math.Round(pipeline.Stats.Samples * replay.RecordRateHz / rate),
            QualityChanges = collector.QualityChanges.Select(q => (replay.ToRecordSample(q.Index), q.Quality)).ToList(),
            Present = input.Info.Present.ToArray(),
            HeaderComments = replay.Header.Comments,
            HeaderStart = string.Join(" ", new[] { replay.Header.BaseDate, replay.Header.BaseTime }.Where(x => !string.IsNullOrWhiteSpace(x))) is { Length: > 0 } t ? t : null,
        };
    }

    /// <summary>The alert with its onset and offset sample indices mapped to the record's samples.</summary>
    private static Alert ToRecord(Alert a, ReplaySource replay) => a with
    {
        Onset = a.Onset with { SampleIndex = replay.ToRecordSample(a.Onset.SampleIndex) },
        Offset = a.Offset is { } o ? o with { SampleIndex = replay.ToRecordSample(o.SampleIndex) } : null,
    };

    /// <summary>Ends a source after <paramref name="samples"/> samples (a looped replay of a fixed length).</summary>
    private sealed class LimitedSource(ISampleSource inner, long samples) : ISampleSource
    {
        private long _delivered;
        public SourceInfo Info => inner.Info;

        public async ValueTask<bool> ReadAsync(SampleBlock block, CancellationToken cancellationToken)
        {
            if (_delivered >= samples) { block.Count = 0; return false; }
            if (!await inner.ReadAsync(block, cancellationToken).ConfigureAwait(false)) return false;
            if (_delivered + block.Count > samples) block.Count = (int)(samples - _delivered);
            _delivered += block.Count;
            return block.Count > 0;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask; // the caller owns the inner source
    }

    /// <summary>Keeps every alert with the pipeline index at which it was raised.</summary>
    private sealed class AlertCollector : IAlertSink
    {
        public EventEngine? Engine;
        public List<(Alert Alert, long At)> Alerts { get; } = [];
        public void Publish(Alert alert) => Alerts.Add((alert, Engine?.Now ?? 0));
        public void Publish(EctopyTrend trend) { }
    }

    private sealed class Collector(ProgressReporter? progress, string name, double expectedSamples) : IPipelineObserver, IInferenceSink, IRhythmEvidenceSink,
        IBeatEvidenceSink
    {
        /// <summary>The event stage, when the run raises alerts.</summary>
        public EventStageObserver? Stage;

        public List<(long Index, float[] Inputs, BeatClass Decided)> BeatEvidence { get; } = [];

        public void OnBeatEvidence(in DetectedBeat beat, ReadOnlySpan<float> inputs, BeatClass decided) =>
            BeatEvidence.Add((beat.SampleIndex, inputs.ToArray(), decided));

        public List<WindowEvidence> Evidence { get; } = [];

        public void OnEvidence(long windowStart, long windowEnd, ReadOnlySpan<float> features, ReadOnlySpan<float> shortFeatures, double streamSeconds,
            ReadOnlySpan<float> networkProbabilities, ReadOnlySpan<float> rhythmProbabilities, double fusedAf) =>
            Evidence.Add(new WindowEvidence(windowStart, windowEnd, features.ToArray(), shortFeatures.ToArray(), streamSeconds,
                networkProbabilities.ToArray(), rhythmProbabilities.ToArray(), fusedAf));

        public List<DetectedBeat> Beats { get; } = new(4096);
        public Dictionary<long, BeatClass> Classes { get; } = new(4096);
        public List<RhythmDecision> Rhythm { get; } = [];
        public List<WindowInference> Windows { get; } = [];
        public long ClassifiedCount { get; private set; }

        public void OnBeat(in DetectedBeat beat)
        {
            Beats.Add(beat);
            Stage?.OnBeat(beat);
        }

        public void OnBeatClassified(in ClassifiedBeat beat)
        {
            Classes[beat.Beat.SampleIndex] = beat.Class;
            ClassifiedCount++;
            Stage?.Engine.OnBeatClassified(beat);
        }

        public List<(long Index, SignalQuality[] Quality)> QualityChanges { get; } = [];

        public void OnQualityChanged(long sampleIndex, ReadOnlySpan<SignalQuality> quality)
        {
            QualityChanges.Add((sampleIndex, quality.ToArray()));
            Stage?.OnQualityChanged(sampleIndex, quality);
        }

        public void OnRhythm(in RhythmDecision decision, ReadOnlySpan<float> smoothedProbabilities)
        {
            Rhythm.Add(decision);
            Stage?.Engine.OnRhythm(decision, smoothedProbabilities);
        }

        public void OnWindow(in WindowInference window, ReadOnlySpan<float> rhythmProbabilities) => Windows.Add(window);

        public void OnBlockProcessed(SampleBlock conditioned)
        {
            Stage?.OnBlockProcessed(conditioned);
            if (progress is not null && expectedSamples > 0)
                progress.Update(name, (conditioned.StartIndex + conditioned.Count) / expectedSamples);
        }
    }
}
