using System.Text.Json;
using EcgEdge.Acquisition.Replay;
using EcgEdge.Conditioning;
using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Inference;
using EcgEdge.Inference.Execution;
using EcgEdge.Inference.Model;
using EcgEdge.Pipeline;

namespace EcgEdge.Tests.Inference;

public class InferenceStageTests
{
    private static readonly string Manifest = Path.Combine(ModelFiles.Shipped, "ecg-nat.manifest.json");
    private static bool[] OnlyII => [false, true, false, false, false, false, false, false];

    private sealed class Recorder : IInferenceSink
    {
        public List<ClassifiedBeat> Beats { get; } = [];
        public List<RhythmDecision> Rhythm { get; } = [];
        public List<WindowInference> Windows { get; } = [];
        public void OnBeatClassified(in ClassifiedBeat beat) => Beats.Add(beat);
        public void OnRhythm(in RhythmDecision decision, ReadOnlySpan<float> p) => Rhythm.Add(decision);
        public void OnWindow(in WindowInference window, ReadOnlySpan<float> p) => Windows.Add(window);
    }

    private static SampleBlock Block(long start, int count, float[] lead, int gap = 0)
    {
        var b = new SampleBlock(count) { Count = count, StartIndex = start, GapBefore = gap };
        for (var i = 0; i < count; i++) b.Buffer((int)Lead.II)[i] = lead[(start + i) % lead.Length];
        return b;
    }

    [Fact]
    public void The_io_bound_session_reproduces_pytorch_on_the_reference_windows_one_window_at_a_time()
    {
        var refDir = Path.Combine(ModelFiles.Shipped, "reference");
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(refDir, "reference.json")));
        var tol = doc.RootElement.GetProperty("tolerance_fp32_abs").GetDouble();
        static float[] Read(string f) { var b = File.ReadAllBytes(f); var x = new float[b.Length / 4]; Buffer.BlockCopy(b, 0, x, 0, b.Length); return x; }
        var ecg = Read(Path.Combine(refDir, "ecg.bin"));
        var mask = Read(Path.Combine(refDir, "lead_mask.bin"));
        var rr = Read(Path.Combine(refDir, "beat_rr.bin"));
        var beat = Read(Path.Combine(refDir, "beat_logits_fp32.bin"));
        var rhythm = Read(Path.Combine(refDir, "rhythm_logits_fp32.bin"));
        using var model = ModelLoader.Load(Manifest, new InferenceOptions { Variant = ModelVariant.Fp32 });
        var n = mask.Length / 8;
        var ch = model.BeatRr.Length / 312;             // beat_rr channels: 4 RR (+ 3 shape)
        Assert.Equal(n * 312 * ch, rr.Length);
        Assert.True(n >= 8);
        double worst = 0;
        for (var w = 0; w < n; w++)
        {
            ecg.AsSpan(w * 8 * 2500, 8 * 2500).CopyTo(model.Signal);
            mask.AsSpan(w * 8, 8).CopyTo(model.LeadMask);
            rr.AsSpan(w * 312 * ch, 312 * ch).CopyTo(model.BeatRr);
            model.Run();
            for (var i = 0; i < 312 * 5; i++) worst = Math.Max(worst, Math.Abs(model.BeatLogits[i] - beat[w * 312 * 5 + i]));
            for (var i = 0; i < 4; i++) worst = Math.Max(worst, Math.Abs(model.RhythmLogits[i] - rhythm[w * 4 + i]));
        }
        Assert.True(worst <= tol, $"max |ORT - PyTorch| = {worst} > {tol}");
        Assert.Equal(n, model.Latency.Count);
    }

    [Fact]
    public void Every_beat_is_classified_once_in_order_and_rhythm_decisions_tile_each_run_around_a_gap()
    {
        using var model = ModelLoader.Load(Manifest, new InferenceOptions());
        var sink = new Recorder();
        var stage = new InferenceStage(model, 500, 6, OnlyII, 3, sink);
        var ecg = Synthetic.Ecg(500, 120, Synthetic.Regular(72, 120));
        var beats = new List<long>();
        // Run 1: 0 .. 61.3 s; 2 s lost; run 2: 63.3 s .. 75.3 s (12 s: one window + tail).
        void Feed(long from, long to, int gapAtStart)
        {
            var first = true;
            for (var t = from; t < to; t += 50)
            {
                for (var k = t; k < t + 50; k++)
                    if (k % 417 == 100)
                    {
                        beats.Add(k);
                        stage.OnBeat(new DetectedBeat(k, k + 200, 0.83, 72, 1, false));
                    }
                stage.Push(Block(t, 50, ecg, first ? gapAtStart : 0));
                first = false;
            }
        }
        Feed(0, 30650, 0);
        Feed(31650, 37650, 1000);
        stage.Flush();

        Assert.Equal(beats, sink.Beats.Select(b => b.Beat.SampleIndex));
        Assert.Equal(0, stage.BeatsDropped);
        Assert.All(sink.Beats, b => Assert.InRange(b.Confidence, 0.2f, 1f));
        // Run 1: model samples 0..15324, regular windows end at 2500, 3750, …, 15000 (11), plus a tail; run 2: 3000
        // model samples, one regular window (ends 2500) and a tail.
        Assert.Equal(14, sink.Windows.Count);
        Assert.Equal(2, sink.Windows.Count(w => w.IsTail));
        Assert.Equal(30650 - 5000, sink.Windows[11].StartIndex);
        Assert.Equal(37650 - 5000, sink.Windows[13].StartIndex);
        // Decisions tile [0, 30650) and [31650, 37650) without overlap or hole.
        var run1 = sink.Rhythm.Where(d => d.ToIndex <= 30650).ToList();
        var run2 = sink.Rhythm.Where(d => d.FromIndex >= 31650).ToList();
        Assert.Equal(sink.Rhythm.Count, run1.Count + run2.Count);
        foreach (var (run, from, to) in new[] { (run1, 0L, 30650L), (run2, 31650L, 37650L) })
        {
            Assert.Equal(from, run[0].FromIndex);
            Assert.Equal(to, run[^1].ToIndex);
            for (var i = 1; i < run.Count; i++) Assert.Equal(run[i - 1].ToIndex, run[i].FromIndex);
        }
        Assert.All(sink.Windows, w => Assert.InRange(w.LatencySeconds, 1e-6, 10));
    }

    /// <summary>Copies the model's RR input at every window (the stage fills it before each run).</summary>
    private sealed class RrCapture(EcgNatModel model) : IInferenceSink
    {
        public List<float[]> Inputs { get; } = [];
        public void OnBeatClassified(in ClassifiedBeat beat) { }
        public void OnRhythm(in RhythmDecision decision, ReadOnlySpan<float> p) { }
        public void OnWindow(in WindowInference window, ReadOnlySpan<float> p) => Inputs.Add(model.BeatRr.ToArray());
    }

    [Fact]
    public void The_stage_gives_the_model_the_rr_features_of_the_detected_beats_at_their_tokens()
    {
        using var model = ModelLoader.Load(Manifest, new InferenceOptions());
        Assert.True(model.HasRrInput);
        var sink = new RrCapture(model);
        const double shift = 6;
        var stage = new InferenceStage(model, 500, shift, OnlyII, 3, sink);
        // 60 bpm, with the beat due at 5.5 s coming at 5.1 s (premature, then a compensatory pause).
        var times = Synthetic.Regular(60, 10).Select(t => Math.Abs(t - 5.5) < 1e-9 ? 5.1 : t).ToList();
        var ecg = Synthetic.Ecg(500, 10, times);
        var beats = times.Select(t => (long)Math.Round(t * 500)).ToList();
        foreach (var b in beats) stage.OnBeat(new DetectedBeat(b, b + 100, 1, 60, 1, false));
        for (long t = 0; t < 5000; t += 50) stage.Push(Block(t, 50, ecg));
        stage.Flush();

        var rr = Assert.Single(sink.Inputs);
        // token = floor(floor((sample + shift) / decimation 2) / stride 8)
        int Token(long b) => (int)Math.Floor((b + shift) / 2) / 8;
        var ch = model.BeatRr.Length / 312;             // 4 RR channels (+ 3 shape, not checked here)
        float[] At(long b) => rr.AsSpan(Token(b) * ch, 4).ToArray();
        Assert.Equal(beats.Count, Enumerable.Range(0, 312).Count(t => rr[t * ch] == 1f));
        Assert.All(beats, b => Assert.Equal(1f, At(b)[0]));
        // the premature beat: pre 0.6 s, post 1.4 s, median of the 5 intervals so far (1, 1, 1, 1, 0.6) = 1 s
        var p = At(beats[5]);
        Assert.Equal(-0.4f, p[1], 3);
        Assert.Equal(0.4f, p[2], 3);
        Assert.Equal(0.2f, p[3], 3);
        // a regular beat before it: pre = post = median = 1 s
        Assert.Equal([1f, 0f, 0f, 0.2f], At(beats[3]).Select(v => MathF.Round(v, 3)).ToArray());
    }

    [Fact]
    public void A_run_of_exactly_one_window_classifies_all_its_beats()
    {
        using var model = ModelLoader.Load(Manifest, new InferenceOptions());
        var sink = new Recorder();
        var stage = new InferenceStage(model, 500, 6, OnlyII, 3, sink);
        var ecg = Synthetic.Ecg(500, 10, Synthetic.Regular(60, 10));
        var beats = Synthetic.Regular(60, 10).Select(t => (long)Math.Round(t * 500)).ToList();
        foreach (var b in beats) stage.OnBeat(new DetectedBeat(b, b + 100, 1, 60, 1, false));
        for (long t = 0; t < 5000; t += 50) stage.Push(Block(t, 50, ecg));
        stage.Flush();
        Assert.Single(sink.Windows);
        Assert.False(sink.Windows[0].IsTail);
        Assert.Equal(beats, sink.Beats.Select(b => b.Beat.SampleIndex));
        Assert.Equal((0L, 5000L), (sink.Rhythm[0].FromIndex, sink.Rhythm[^1].ToIndex));
    }

    [Fact]
    public void Without_smoothing_each_decision_is_its_window_own_class()
    {
        using var model = ModelLoader.Load(Manifest, new InferenceOptions());
        var sink = new Recorder();
        var stage = new InferenceStage(model, 500, 6, OnlyII, 1, sink);
        var ecg = Synthetic.Ecg(500, 60, Synthetic.Regular(150, 60));
        for (long t = 0; t < 30000; t += 50) stage.Push(Block(t, 50, ecg));
        stage.Flush();
        Assert.Equal(sink.Windows.Count, sink.Rhythm.Count);
        Assert.Equal(sink.Windows.Select(w => w.Class), sink.Rhythm.Select(d => d.Class));
        Assert.Equal(sink.Windows.Select(w => w.StartIndex), sink.Rhythm.Select(d => d.WindowStartIndex));
    }

    private sealed class CountingObserver : IPipelineObserver, IInferenceSink
    {
        public long Beats, Classified, Windows, Decisions;
        public void OnBeat(in DetectedBeat beat) => Beats++;
        public void OnBeatClassified(in ClassifiedBeat beat) => Classified++;
        public void OnRhythm(in RhythmDecision decision, ReadOnlySpan<float> p) => Decisions++;
        public void OnWindow(in WindowInference window, ReadOnlySpan<float> p) => Windows++;
    }

    [Fact]
    public async Task Inference_in_the_pipeline_allocates_nothing_per_window_after_warm_up()
    {
        var record = Path.Combine(TestData.RepoRoot, "src", "EcgEdge", "Resources", "mitdb", "201");
        await using var source = new ReplaySource(new ReplayOptions { Record = record }, 500);
        var pipeline = new EcgPipeline(source.Info, new ConditioningOptions { MainsHz = 60 }, new QrsDetectorOptions(), 50);
        using var model = ModelLoader.Load(Manifest, new InferenceOptions());
        model.Warmup(2);
        var observer = new CountingObserver();
        pipeline.AttachInference(model, 3, observer);
        var block = new SampleBlock(50);
        for (var i = 0; i < 600; i++) // 60 s: JIT, first windows
        {
            Assert.True(await source.ReadAsync(block, CancellationToken.None));
            pipeline.ProcessBlock(block, observer);
        }
        // Up to 3 stretches of 5 minutes (the record has 30): the smallest must be 0 (Allocations.SmallestPerPass).
        // Checked after the measurement (an assertion inside it may allocate): every stretch read its 5 minutes, ran one
        // window per 5 s hop (2500 samples at 500 Hz) and classified real beats.
        var (stretches, allRead, windowsPerHop, fewestClassified) = (0, true, true, long.MaxValue);
        var allocated = await Allocations.SmallestPerPassAsync(async () =>
        {
            var (windows, classified, samples) = (observer.Windows, observer.Classified, pipeline.Stats.Samples);
            for (var i = 0; i < 3000; i++)
            {
                allRead &= await source.ReadAsync(block, CancellationToken.None);
                pipeline.ProcessBlock(block, observer);
            }
            var hops = (pipeline.Stats.Samples - samples) / 2500;
            windowsPerHop &= Math.Abs(observer.Windows - windows - hops) <= 1;
            fewestClassified = Math.Min(fewestClassified, observer.Classified - classified);
            stretches++;
        }, warmups: 0, attempts: 3);
        Assert.True(allRead);
        Assert.True(windowsPerHop);
        Assert.InRange(stretches, 1, 3);
        Assert.True(fewestClassified > 250, $"{fewestClassified} beats classified in a 5-minute stretch");
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void A_model_swap_takes_effect_at_a_window_boundary_without_losing_or_repeating_a_window()
    {
        using var first = ModelLoader.Load(Manifest, new InferenceOptions());
        using var second = ModelLoader.Load(Manifest, new InferenceOptions { Variant = ModelVariant.Fp32 });
        var sink = new Recorder();
        var stage = new InferenceStage(first, 500, 6, OnlyII, 3, sink);
        var swaps = new List<(EcgNatModel Old, EcgNatModel New, int AtWindow)>();
        stage.ModelSwapped += (o, n) => swaps.Add((o, n, sink.Windows.Count));
        var ecg = Synthetic.Ecg(500, 120, Synthetic.Regular(70, 120));
        for (long t = 0; t < 60000; t += 50)
        {
            if (t == 20000) stage.RequestModelSwap(second); // mid-stream, between windows
            stage.Push(Block(t, 50, ecg));
        }
        stage.Flush();
        var (old, @new, at) = Assert.Single(swaps);
        Assert.Same(first, old);
        Assert.Same(second, @new);
        Assert.Same(second, stage.Model);
        Assert.InRange(at, 5, 7); // the first window after 40 s of signal (windows end 1 s before they are analysed)
        var starts = sink.Windows.Where(w => !w.IsTail).Select(w => w.StartIndex).ToList();
        Assert.Equal(Enumerable.Range(0, starts.Count).Select(k => 2500L * k), starts); // every hop once, no gap
    }

    [Fact]
    public async Task The_watcher_swaps_in_a_new_valid_model_and_refuses_a_tampered_one_while_the_old_keeps_running()
    {
        using var f = new ModelFiles(withReference: true);
        var options = new InferenceOptions();
        var initial = ModelLoader.Load(f.Manifest, options);
        var sink = new Recorder();
        var stage = new InferenceStage(initial, 500, 6, OnlyII, 3, sink);
        var swapped = new List<string>();
        stage.ModelSwapped += (o, n) => { swapped.Add(n.Manifest.Version); o.Dispose(); };
        var watcher = new ModelWatcher(f.Manifest, options, stage, TimeSpan.FromMilliseconds(50));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var run = watcher.RunAsync(cts.Token);
        var ecg = Synthetic.Ecg(500, 60, Synthetic.Regular(70, 60));
        long t = 0;
        async Task Until(Func<bool> done)
        {
            while (!done() && !cts.IsCancellationRequested)
            {
                for (var k = 0; k < 60; k++, t += 50) stage.Push(Block(t, 50, ecg)); // 6 s of signal per step
                await Task.Delay(30);
            }
        }

        // A new model version is dropped in (same weights, new manifest version): validated, self-checked, swapped in.
        f.EditManifest(m => m["version"] = "0.1.1-field-update");
        await Until(() => swapped.Count == 1);
        Assert.Equal("0.1.1-field-update", stage.Model.Manifest.Version);
        Assert.Equal(1, watcher.Swaps);
        Assert.True(stage.Model.SelfCheck!.Passed);

        // A tampered model file: refused, the running model stays.
        var bytes = File.ReadAllBytes(f.Int8);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(f.Int8, bytes);
        await Until(() => watcher.Refusals == 1);
        Assert.Contains("sha256", watcher.LastRefusal);
        var windowsBefore = sink.Windows.Count;
        await Until(() => sink.Windows.Count > windowsBefore + 2);
        Assert.Equal("0.1.1-field-update", stage.Model.Manifest.Version); // still analysing with the accepted model
        Assert.Single(swapped);
        await cts.CancelAsync();
        await run;
        stage.Model.Dispose();
    }

    [Fact]
    public async Task The_watcher_refuses_unsigned_or_mis_signed_models_while_the_old_keeps_running_and_swaps_in_a_signed_one()
    {
        using var f = new ModelFiles(withReference: true);
        var options = new InferenceOptions();
        var initial = ModelLoader.Load(f.Manifest, options);
        var initialLabel = initial.VersionLabel;
        var sink = new Recorder();
        var stage = new InferenceStage(initial, 500, 6, OnlyII, 3, sink);
        var swapped = new List<string>();
        stage.ModelSwapped += (o, n) => { swapped.Add(n.VersionLabel); o.Dispose(); };
        var watcher = new ModelWatcher(f.Manifest, options, stage, TimeSpan.FromMilliseconds(50));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var run = watcher.RunAsync(cts.Token);
        var ecg = Synthetic.Ecg(500, 60, Synthetic.Regular(70, 60));
        long t = 0;
        async Task Until(Func<bool> done)
        {
            while (!done() && !cts.IsCancellationRequested)
            {
                for (var k = 0; k < 60; k++, t += 50) stage.Push(Block(t, 50, ecg)); // 6 s of signal per step
                await Task.Delay(30);
            }
        }
        async Task StillRunningTheInitialModel()
        {
            var windows = sink.Windows.Count;
            await Until(() => sink.Windows.Count > windows + 2);
            Assert.True(sink.Windows.Count > windows + 2, "the stage stopped analysing");
            Assert.Same(initial, stage.Model);
            Assert.Equal(initialLabel, stage.Model.VersionLabel);
            Assert.Empty(swapped);
        }
        var originalManifest = File.ReadAllBytes(f.Manifest);
        var originalInt8 = File.ReadAllBytes(f.Int8);

        // Issue 29: one bit flipped in the running model file, its new sha256 and size written into the manifest by someone
        // without the signing key. Before signatures this was swapped in with an unchanged label.
        var bytes = (byte[])originalInt8.Clone();
        bytes[bytes.Length / 2] ^= 0x01;
        f.ReplaceInt8(bytes, updateManifest: true, sign: false);
        await Until(() => watcher.Refusals == 1);
        Assert.Equal(1, watcher.Refusals);
        Assert.Contains("does not verify", watcher.LastRefusal);
        await StillRunningTheInitialModel();

        // The same files signed with a key the device does not trust.
        using (var stranger = TestKeys.Fresh()) f.SignWith(stranger);
        await Until(() => watcher.Refusals == 2);
        Assert.Contains("not in Inference:TrustedKeys", watcher.LastRefusal);
        await StillRunningTheInitialModel();

        // No signature at all.
        File.Delete(f.Signature);
        await Until(() => watcher.Refusals == 3);
        Assert.Contains("not signed", watcher.LastRefusal);
        await StillRunningTheInitialModel();

        // A real update: the original model file, a new manifest version, signed with the trusted (test) key.
        File.WriteAllBytes(f.Int8, originalInt8);
        File.WriteAllBytes(f.Manifest, originalManifest);
        f.EditManifest(m => m["version"] = "0.3.1-field-update");
        await Until(() => swapped.Count == 1); // accepted by the watcher, taken over by the stage at the next window
        Assert.Equal(1, watcher.Swaps);
        Assert.Equal("0.3.1-field-update", stage.Model.Manifest.Version);
        Assert.True(stage.Model.Signature.Verified);
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f.Manifest)));
        Assert.Equal($"ecg-nat 0.3.1-field-update+sha256:{hash[..12]} (ecg-nat-int8.onnx)", Assert.Single(swapped));
        Assert.Equal(3, watcher.Refusals);
        await cts.CancelAsync();
        await run;
        stage.Model.Dispose();
    }
}
