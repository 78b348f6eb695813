using EcgEdge.Acquisition.Replay;
using EcgEdge.Conditioning;
using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Events.Alerts;
using EcgEdge.Evaluation;
using EcgEdge.Inference;
using EcgEdge.Inference.Execution;
using EcgEdge.Inference.Model;
using EcgEdge.Pipeline;
using EcgEdge.Wfdb;

namespace EcgEdge.Tests.Events;

/// <summary>The event engine on real recordings through the device pipeline and the shipped model.</summary>
public class EventEngineRecordTests
{
    private sealed class Observer(EventEngine engine) : IPipelineObserver, IInferenceSink
    {
        public void OnBeat(in DetectedBeat beat) => engine.OnBeat(beat);
        public void OnQualityChanged(long sampleIndex, ReadOnlySpan<SignalQuality> quality) => engine.OnQualityChanged(sampleIndex, quality);
        public void OnBlockProcessed(SampleBlock conditioned) => engine.OnBlock(conditioned);
        public void OnBeatClassified(in ClassifiedBeat beat) => engine.OnBeatClassified(beat);
        public void OnRhythm(in RhythmDecision decision, ReadOnlySpan<float> p) => engine.OnRhythm(decision, p);
    }

    internal static async Task<(List<Alert> Alerts, ReplaySource Replay)> RunAsync(string record, EventOptions? options = null)
    {
        var replay = new ReplaySource(new ReplayOptions { Record = record }, 500);
        var pipeline = new EcgPipeline(replay.Info, new ConditioningOptions { MainsHz = 60 }, new QrsDetectorOptions(), 50);
        using var model = ModelLoader.Load(Path.Combine(TestData.RepoRoot, "models", "ecg-nat.manifest.json"), new InferenceOptions());
        var sink = new CollectingAlertSink();
        var t0 = new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);
        var engine = new EventEngine(options ?? new EventOptions(), "test-device", 500, replay.Info.Present, new SampleClock(t0, 500.0), model.VersionLabel, sink);
        var observer = new Observer(engine);
        pipeline.AttachInference(model, 3, observer);
        await pipeline.RunAsync(replay, observer, CancellationToken.None);
        return (sink.Alerts, replay);
    }

    [SkippableFact]
    public async Task Af_alerts_of_mit_bih_201_match_the_reference_af_episodes()
    {
        var db = TestData.Require("mitdb");
        var (alerts, replay) = await RunAsync(Path.Combine(db, "201"));
        await using var _ = replay;
        var reference = AnnotationReader.Read(Path.Combine(db, "201.atr"));
        var refAf = RhythmScoring.ReferenceIntervals(reference, replay.Header.SampleCount!.Value, RhythmScoring.IsAf)
            .Select(i => (From: i.From / 360.0, To: i.To / 360.0)).ToList();
        var af = alerts.Where(a => a.Type == AlertType.AtrialFibrillation).ToList();
        var onsets = af.Where(a => a.Phase == AlertPhase.Onset).ToList();
        var offsets = af.Where(a => a.Phase == AlertPhase.Offset).ToList();
        var report = string.Join("; ", af.Select(a => $"{a.Phase} {a.Onset.SampleIndex / 500.0:F1}-{a.Offset?.SampleIndex / 500.0:F1}")) +
            " | reference " + string.Join(", ", refAf.Select(r => $"{r.From:F1}-{r.To:F1}"));
        // Every reference AF episode of at least the onset criterion (30 s) has an onset within 20 s of its start (one
        // rhythm decision = 5 s, centred smoothing over 3 windows, and the rhythm evidence of an older stream mixes the
        // last 30 s of beats with the last 10 s: at an onset the irregular beats must first fill part of that context),
        // and every alerted episode overlaps one.
        foreach (var r in refAf.Where(r => r.To - r.From >= 30))
            Assert.True(onsets.Any(a => Math.Abs(a.Onset.SampleIndex / 500.0 - r.From) <= 20), $"no onset near {r.From:F1} s: {report}");
        foreach (var a in onsets)
            Assert.True(refAf.Any(r => a.Onset.SampleIndex / 500.0 < r.To && a.Onset.SampleIndex / 500.0 >= r.From - 15), $"onset {a.Onset.SampleIndex / 500.0:F1} s outside reference AF: {report}");
        foreach (var o in offsets)
            Assert.True(refAf.Any(r => Math.Abs(o.Offset!.SampleIndex / 500.0 - r.To) <= 15), $"offset {o.Offset!.SampleIndex / 500.0:F1} s not near a reference end: {report}");
        Assert.Equal(refAf.Count(r => r.To - r.From >= 30), onsets.Count);
        Assert.All(onsets, a => Assert.NotNull(a.Strip));
        Assert.All(af, a => Assert.Equal(onsets.Single(o => o.EpisodeId == a.EpisodeId).Onset, a.Onset));
    }
}
