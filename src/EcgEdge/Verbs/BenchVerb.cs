using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using EcgEdge.Acquisition.Ads1298;
using EcgEdge.Acquisition.Replay;
using EcgEdge.Conditioning;
using EcgEdge.Core.Dsp;
using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Inference;
using EcgEdge.Inference.Execution;
using EcgEdge.Inference.Model;
using EcgEdge.Events.Alerts;
using EcgEdge.Pipeline;
using EcgEdge.Transport.Mqtt;
using EcgEdge.Transport.Outbox;
using Microsoft.Extensions.Logging.Abstractions;

namespace EcgEdge.Verbs;

/// <summary>What <c>ecgedge bench</c> measured. Stable keys; later versions only add fields.</summary>
public sealed record BenchReport(
    string Machine,
    string Records,
    double SignalSecondsPerRun,
    int Repeats,
    [property: JsonPropertyName("realtime_factor_1thread")] double RealtimeFactor1Thread,
    double RealtimeFactor,
    int Threads,
    IReadOnlyDictionary<string, double> StageUsPerSignalSecond,
    double QrsRealtimePerLead,
    [property: JsonPropertyName("ads1298_decode_frames_per_s")] double Ads1298DecodeFramesPerS,
    double AllocBytesPerSignalSecond,
    double PeakWorkingSetMb,
    double StartupS,
    IReadOnlyDictionary<string, double[]> Spread,
    InferenceBench? Inference = null,
    AlertLatencyBench? AlertLatency = null,
    IReadOnlyDictionary<string, double>? InferenceMs = null);

/// <summary>Alert latency: from the block holding the last triggering sample entering the event stage to the broker's PUBACK.</summary>
public sealed record AlertLatencyBench(string Broker, int Alerts, double MedianMs, double P90Ms, double MaxMs, double MedianStoreMs);

/// <summary>The model in the pipeline (one thread): latency per window, real-time factor, allocations per window.</summary>
public sealed record InferenceBench(
    string Model,
    string Provider,
    long Windows,
    IReadOnlyDictionary<string, LatencyJson> LatencyMs,
    [property: JsonPropertyName("realtime_factor_with_model_1thread")] double RealtimeFactorWithModel1Thread,
    double AllocBytesPerWindow,
    [property: JsonPropertyName("int8_vs_fp32_latency_ratio")] double Int8VsFp32LatencyRatio);

public sealed record LatencyJson(double Mean, double P50, double P99, double Max);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(BenchReport))]
[JsonSerializable(typeof(InferenceBench))]
[JsonSerializable(typeof(AlertLatencyBench))]
public sealed partial class BenchJsonContext : JsonSerializerContext;

/// <summary>
/// <c>ecgedge bench [--record PATH] [--repeats N] [--json FILE]</c>: times the device pipeline on a real recording
/// (replay at full speed → conditioning → quality → QRS detection, then the same with the model) and prints medians with their spread:
/// real-time factor on one thread and on all cores, cost of each stage in µs per second of 8-channel signal,
/// the QRS detector alone per lead, ADS1298 frame decoding, allocated bytes per signal-second after warm-up,
/// peak working set and start-up time to the first processed sample; with the model: latency per window (int8 and
/// fp32), real-time factor, allocated bytes per window after warm-up. Timings only: nothing here is pass/fail.
/// </summary>
public static class BenchVerb
{
    public static async Task<int> RunAsync(string[] args)
    {
        var a = new ArgReader(args, ["--record", "--repeats", "--json", "--model", "--broker"], ["--no-model"]);
        var record = AppConfiguration.ResolveRecord(a.Get("--record") ?? "Resources/mitdb/201");
        var repeats = Math.Max(1, (int)a.GetDouble("--repeats", 5));
        var settings = AppConfiguration.BindPipeline(AppConfiguration.Build(["--Conditioning:MainsHz=60"]));
        var rate = settings.Pipeline.SampleRateHz;
        var startProc = Process.GetCurrentProcess().StartTime.ToUniversalTime();

        // Start-up: process start → first block through the pipeline.
        double startup;
        {
            await using var src = new ReplaySource(new ReplayOptions { Record = record }, rate);
            var p = new EcgPipeline(src.Info, settings.Conditioning, settings.Detection, settings.Pipeline.BlockFrames);
            var block = new SampleBlock(settings.Pipeline.BlockFrames);
            await src.ReadAsync(block, CancellationToken.None).ConfigureAwait(false);
            p.ProcessBlock(block, NullObserver.Instance);
            startup = (DateTime.UtcNow - startProc).TotalSeconds;
        }

        // Whole pipeline, one thread, repeated.
        var single = new List<double>();
        double signalSeconds = 0;
        for (var r = 0; r < repeats + 1; r++)
        {
            var (sec, wall, _) = await RunOnce(record, settings).ConfigureAwait(false);
            if (r == 0) continue; // warm-up (JIT)
            signalSeconds = sec;
            single.Add(sec / wall);
        }

        // All cores: one pipeline per core on the same record.
        var threads = Environment.ProcessorCount;
        var multi = new List<double>();
        for (var r = 0; r < repeats; r++)
        {
            var sw = Stopwatch.StartNew();
            var runs = await Task.WhenAll(Enumerable.Range(0, threads).Select(_ => Task.Run(() => RunOnce(record, settings)))).ConfigureAwait(false);
            multi.Add(runs.Sum(x => x.SignalSeconds) / sw.Elapsed.TotalSeconds);
        }

        // Stages on pre-read blocks (source cost measured separately).
        var stages = await StageCosts(record, settings, repeats).ConfigureAwait(false);

        // Allocations after warm-up, one thread.
        var (_, _, alloc) = await RunOnce(record, settings, measureAlloc: true).ConfigureAwait(false);

        var decode = Enumerable.Range(0, repeats).Select(_ => Ads1298FrameDecoder.MeasureFramesPerSecond(TimeSpan.FromSeconds(0.5))).ToList();
        var qrs = await QrsPerLead(record, settings, repeats).ConfigureAwait(false);
        InferenceBench? inference = null;
        if (!a.Flag("--no-model"))
        {
            var opts = AppConfiguration.BindInference(AppConfiguration.Build(a.Get("--model") is { } mp ? [$"--Inference:Model={mp}"] : []));
            inference = await BenchInference(record, settings, opts, repeats).ConfigureAwait(false);
        }
        var report = new BenchReport(
            $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}, .NET {Environment.Version}",
            Path.GetFileName(record), Math.Round(signalSeconds, 1), repeats,
            Math.Round(Median(single), 1), Math.Round(Median(multi), 1), threads,
            stages.ToDictionary(k => k.Key, k => Math.Round(Median(k.Value), 2)),
            Math.Round(Median(qrs), 0), Math.Round(Median(decode), 0),
            Math.Round(alloc, 3),
            Math.Round(Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0, 1),
            Math.Round(startup, 3),
            new Dictionary<string, double[]>
            {
                ["realtime_factor_1thread"] = MinMax(single),
                ["realtime_factor"] = MinMax(multi),
                ["qrs_realtime_per_lead"] = MinMax(qrs),
                ["ads1298_decode_frames_per_s"] = MinMax(decode),
            },
            inference,
            await BenchAlertLatency(a.Get("--broker"), 20).ConfigureAwait(false),
            inference is null ? null : new Dictionary<string, double>
            {
                ["int8_p50"] = inference.LatencyMs["int8"].P50, ["int8_p99"] = inference.LatencyMs["int8"].P99,
                ["fp32_p50"] = inference.LatencyMs["fp32"].P50, ["fp32_p99"] = inference.LatencyMs["fp32"].P99,
            });
        Print(report);
        if (a.Get("--json") is { } json)
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(report, BenchJsonContext.Default.BenchReport)).ConfigureAwait(false);
        return 0;
    }

    private static async Task<(double SignalSeconds, double WallSeconds, double AllocPerSignalSecond)> RunOnce(string record, PipelineSettings s, bool measureAlloc = false)
    {
        await using var src = new ReplaySource(new ReplayOptions { Record = record }, s.Pipeline.SampleRateHz);
        var p = new EcgPipeline(src.Info, s.Conditioning, s.Detection, s.Pipeline.BlockFrames);
        var block = new SampleBlock(s.Pipeline.BlockFrames);
        var sw = Stopwatch.StartNew();
        long allocStart = 0, samplesAtStart = 0;
        var warm = (long)(60 * s.Pipeline.SampleRateHz);
        while (await src.ReadAsync(block, CancellationToken.None).ConfigureAwait(false))
        {
            p.ProcessBlock(block, NullObserver.Instance);
            if (measureAlloc && allocStart == 0 && p.Stats.Samples >= warm)
            {
                allocStart = GC.GetAllocatedBytesForCurrentThread();
                samplesAtStart = p.Stats.Samples;
            }
        }
        var wall = sw.Elapsed.TotalSeconds;
        var seconds = p.Stats.Samples / s.Pipeline.SampleRateHz;
        var alloc = measureAlloc && allocStart > 0
            ? (GC.GetAllocatedBytesForCurrentThread() - allocStart) / ((p.Stats.Samples - samplesAtStart) / s.Pipeline.SampleRateHz)
            : double.NaN;
        return (seconds, wall, alloc);
    }

    /// <summary>The whole pipeline with the model attached, per variant; allocations counted per window after 60 s.</summary>
    private static async Task<InferenceBench> BenchInference(string record, PipelineSettings s, InferenceOptions options, int repeats)
    {
        var latency = new Dictionary<string, LatencyJson>();
        double rtf = 0, allocPerWindow = 0;
        long windows = 0;
        string label = "", provider = "";
        foreach (var variant in new[] { ModelVariant.Int8, ModelVariant.Fp32 })
        {
            var o = options.WithVariant(variant);
            using var model = ModelLoader.Load(o.Model, o);
            model.Warmup(o.WarmupRuns);
            var factors = new List<double>();
            for (var r = 0; r < repeats; r++)
            {
                await using var src = new ReplaySource(new ReplayOptions { Record = record }, s.Pipeline.SampleRateHz);
                var p = new EcgPipeline(src.Info, s.Conditioning, s.Detection, s.Pipeline.BlockFrames);
                var stage = p.AttachInference(model, o.RhythmSmoothingWindows, NullObserver.Instance);
                var block = new SampleBlock(s.Pipeline.BlockFrames);
                long allocStart = 0, windowsAtStart = 0;
                var sw = Stopwatch.StartNew();
                while (await src.ReadAsync(block, CancellationToken.None).ConfigureAwait(false))
                {
                    p.ProcessBlock(block, NullObserver.Instance);
                    if (allocStart == 0 && p.Stats.Samples >= 60 * s.Pipeline.SampleRateHz)
                    {
                        allocStart = GC.GetAllocatedBytesForCurrentThread();
                        windowsAtStart = stage.Windows;
                    }
                }
                var allocated = GC.GetAllocatedBytesForCurrentThread() - allocStart;
                var steadyWindows = stage.Windows - windowsAtStart;
                stage.Flush();
                factors.Add(p.Stats.Samples / s.Pipeline.SampleRateHz / sw.Elapsed.TotalSeconds);
                if (variant == ModelVariant.Int8 && r == 0)
                {
                    allocPerWindow = steadyWindows > 0 ? allocated / (double)steadyWindows : double.NaN;
                    windows = stage.Windows;
                }
            }
            var l = model.Latency;
            latency[variant.ToString().ToLowerInvariant()] = new LatencyJson(Math.Round(l.MeanSeconds * 1e3, 3), Math.Round(l.Quantile(0.5) * 1e3, 3),
                Math.Round(l.Quantile(0.99) * 1e3, 3), Math.Round(l.MaxSeconds * 1e3, 3));
            if (variant == ModelVariant.Int8)
            {
                rtf = Median(factors);
                label = model.VersionLabel;
                provider = model.Selection.Provider.ToString();
            }
        }
        return new InferenceBench(label, provider, windows, latency, Math.Round(rtf, 1), Math.Round(allocPerWindow, 3),
            Math.Round(latency["int8"].Mean / latency["fp32"].Mean, 3));
    }

    /// <summary>
    /// Pauses are scripted (beats at 75 bpm, a 5-s gap every 20 s) through the event engine at full speed; each alert's
    /// latency runs from the moment the block holding its last triggering sample entered the engine to the PUBACK of
    /// the broker (embedded MQTTnet broker on loopback, or <c>--broker URL</c>). Includes the outbox write + fsync.
    /// </summary>
    private static async Task<AlertLatencyBench> BenchAlertLatency(string? brokerUrl, int alerts)
    {
        var dir = Path.Combine(Path.GetTempPath(), "ecgedge-bench-outbox-" + Guid.NewGuid().ToString("N"));
        await using var broker = brokerUrl is null ? await EmbeddedBroker.StartAsync(0).ConfigureAwait(false) : null;
        var options = new MqttTransportOptions { DeviceId = "bench", Endpoints = [brokerUrl ?? broker!.Endpoint], Outbox = new DurableOutboxOptions { Directory = dir } };
        try
        {
            using var outbox = DurableOutbox.Open(options.Outbox);
            await using var publisher = new MqttPublisher(options, outbox, new MqttStatusInfo(DateTimeOffset.UtcNow, new Dictionary<string, string>()));
            publisher.Start();
            var sent = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
            var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
            publisher.Acknowledged += id => { if (sent.TryRemove(id, out var t0)) latencies.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds); };
            const double fs = 500;
            var present = new[] { false, true, false, false, false, false, false, false };
            var mqtt = new MqttEventSink(publisher, "bench", i => DateTimeOffset.UtcNow, NullLogger<MqttEventSink>.Instance);
            var store = new List<double>();
            long blockStart = 0;
            var sink = new TimingSink(mqtt, id => sent[id] = blockStart, store);
            var engine = new EventEngine(new EventOptions(), "bench", fs, present, i => DateTimeOffset.UtcNow, null, sink);
            var block = new SampleBlock(50) { Count = 50 };
            long lastBeat = -1000;
            // Pauses recur every 20 s; the 60-s refractory period announces every third or fourth (bounded loop).
            for (long t = 0; sink.Count < 2 * alerts && t < (long)(fs * 3600 * 4); t += 50)
            {
                var inGap = t % (long)(20 * fs) >= 15 * fs;
                if (!inGap && t - lastBeat >= 0.8 * fs)
                {
                    engine.OnBeat(new DetectedBeat(t, t + 100, 0.8, 75, 1, false));
                    lastBeat = t;
                }
                block.StartIndex = t;
                blockStart = Stopwatch.GetTimestamp();
                engine.OnBlock(block);
            }
            await publisher.WaitUntilDrainedAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            var l = latencies.Order().ToArray();
            double Q(double[] x, double q) => x.Length == 0 ? double.NaN : Math.Round(x[Math.Min(x.Length - 1, (int)Math.Floor(q * x.Length))], 2);
            return new AlertLatencyBench(brokerUrl is null ? "embedded MQTTnet on loopback" : "external", l.Length, Q(l, 0.5), Q(l, 0.9), Q(l, 1), Q([.. store.Order()], 0.5));
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private sealed class TimingSink(IAlertSink inner, Action<string> onAlert, List<double> storeMs) : IAlertSink
    {
        public int Count;
        public void Publish(Alert alert)
        {
            onAlert(alert.Id);
            var t0 = Stopwatch.GetTimestamp();
            inner.Publish(alert);
            storeMs.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            Count++;
        }
        public void Publish(EctopyTrend trend) { }
    }

    private static async Task<Dictionary<string, List<double>>> StageCosts(string record, PipelineSettings s, int repeats)
    {
        var rate = s.Pipeline.SampleRateHz;
        var result = new Dictionary<string, List<double>> { ["replay_resample"] = [], ["conditioning"] = [], ["quality"] = [], ["qrs_detection"] = [] };
        // The source alone (file read, calibration, lead mapping, resampling) into one reused block.
        for (var r = 0; r < repeats + 1; r++)
        {
            await using var src = new ReplaySource(new ReplayOptions { Record = record }, rate);
            var b = new SampleBlock(s.Pipeline.BlockFrames);
            long n = 0;
            var sw = Stopwatch.StartNew();
            while (await src.ReadAsync(b, CancellationToken.None).ConfigureAwait(false)) n += b.Count;
            if (r > 0) result["replay_resample"].Add(sw.Elapsed.TotalMilliseconds * 1000 / (n / rate));
        }
        // The other stages on pre-read blocks.
        var blocks = new List<SampleBlock>();
        SourceInfo info;
        await using (var src = new ReplaySource(new ReplayOptions { Record = record }, rate))
        {
            info = src.Info;
            while (true)
            {
                var b = new SampleBlock(s.Pipeline.BlockFrames);
                if (!await src.ReadAsync(b, CancellationToken.None).ConfigureAwait(false)) break;
                blocks.Add(b);
            }
        }
        var signalSeconds = blocks.Sum(b => b.Count) / rate;
        var work = blocks.Select(_ => new SampleBlock(s.Pipeline.BlockFrames)).ToList();
        for (var r = 0; r < repeats + 1; r++)
        {
            for (var i = 0; i < blocks.Count; i++) work[i].CopyFrom(blocks[i]);
            var cond = new SignalConditioner(s.Conditioning, rate);
            var quality = new QualityMonitor(s.Conditioning.Quality, info);
            var det = new QrsDetector(s.Detection, rate, SosResponse.GroupDelaySamples(cond.Sections, 12, rate), info.Present);
            var sw = Stopwatch.StartNew();
            foreach (var b in work) quality.ObserveRaw(b);
            var tq1 = sw.Elapsed.TotalMilliseconds; sw.Restart();
            foreach (var b in work) cond.Process(b);
            var tc = sw.Elapsed.TotalMilliseconds; sw.Restart();
            foreach (var b in work) quality.ObserveConditioned(b);
            var tq2 = sw.Elapsed.TotalMilliseconds; sw.Restart();
            foreach (var b in work) det.Process(b, NullObserver.Instance);
            var td = sw.Elapsed.TotalMilliseconds;
            if (r == 0) continue;
            result["conditioning"].Add(tc * 1000 / signalSeconds);
            result["quality"].Add((tq1 + tq2) * 1000 / signalSeconds);
            result["qrs_detection"].Add(td * 1000 / signalSeconds);
        }
        return result;
    }

    /// <summary>The detector alone on one lead (II), after conditioning: signal seconds per wall second.</summary>
    private static async Task<List<double>> QrsPerLead(string record, PipelineSettings s, int repeats)
    {
        var rate = s.Pipeline.SampleRateHz;
        await using var src = new ReplaySource(new ReplayOptions { Record = record, Leads = "II" }, rate);
        var cond = new SignalConditioner(s.Conditioning, rate);
        var blocks = new List<SampleBlock>();
        while (true)
        {
            var b = new SampleBlock(s.Pipeline.BlockFrames);
            if (!await src.ReadAsync(b, CancellationToken.None).ConfigureAwait(false)) break;
            cond.Process(b);
            blocks.Add(b);
        }
        var seconds = blocks.Sum(b => b.Count) / rate;
        var list = new List<double>();
        for (var r = 0; r < repeats + 1; r++)
        {
            var det = new QrsDetector(s.Detection, rate, SosResponse.GroupDelaySamples(cond.Sections, 12, rate), src.Info.Present);
            var sw = Stopwatch.StartNew();
            foreach (var b in blocks) det.Process(b, NullObserver.Instance);
            if (r > 0) list.Add(seconds / sw.Elapsed.TotalSeconds);
        }
        return list;
    }

    private static void Print(BenchReport r)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine($"machine: {r.Machine}");
        Console.WriteLine(string.Create(inv, $"record {r.Records}: {r.SignalSecondsPerRun} s of signal per run, {r.Repeats} timed runs (median [min, max])"));
        Console.WriteLine(string.Create(inv, $"real-time factor, 1 thread      : {r.RealtimeFactor1Thread,12:F0}x  [{r.Spread["realtime_factor_1thread"][0]:F0}, {r.Spread["realtime_factor_1thread"][1]:F0}]"));
        Console.WriteLine(string.Create(inv, $"real-time factor, {r.Threads} threads     : {r.RealtimeFactor,12:F0}x  [{r.Spread["realtime_factor"][0]:F0}, {r.Spread["realtime_factor"][1]:F0}]"));
        foreach (var (k, v) in r.StageUsPerSignalSecond)
            Console.WriteLine(string.Create(inv, $"stage {k,-16}         : {v,12:F1} µs per signal-second"));
        Console.WriteLine(string.Create(inv, $"QRS detector alone, 1 lead      : {r.QrsRealtimePerLead,12:F0}x real time  [{r.Spread["qrs_realtime_per_lead"][0]:F0}, {r.Spread["qrs_realtime_per_lead"][1]:F0}]"));
        Console.WriteLine(string.Create(inv, $"ADS1298 frame decode            : {r.Ads1298DecodeFramesPerS,12:F0} frames/s  [{r.Spread["ads1298_decode_frames_per_s"][0]:F0}, {r.Spread["ads1298_decode_frames_per_s"][1]:F0}]"));
        Console.WriteLine(string.Create(inv, $"allocated after warm-up         : {r.AllocBytesPerSignalSecond,12:F3} bytes per signal-second"));
        Console.WriteLine(string.Create(inv, $"peak working set                : {r.PeakWorkingSetMb,12:F1} MB"));
        Console.WriteLine(string.Create(inv, $"start-up to first sample        : {r.StartupS,12:F3} s"));
        if (r.AlertLatency is { } al)
            Console.WriteLine(string.Create(inv, $"alert latency (last sample → PUBACK): {al.MedianMs,8:F2} ms median, p90 {al.P90Ms:F2}, max {al.MaxMs:F2} over {al.Alerts} alerts ({al.Broker}); outbox store+fsync {al.MedianStoreMs:F2} ms median"));
        if (r.Inference is not { } m) return;
        Console.WriteLine($"model {m.Model} on {m.Provider}, {m.Windows} windows per run:");
        foreach (var (k, v) in m.LatencyMs)
            Console.WriteLine(string.Create(inv, $"  latency per window, {k,-5}      : {v.Mean,12:F2} ms mean  (p50 {v.P50:F2}, p99 {v.P99:F2}, max {v.Max:F2})"));
        Console.WriteLine(string.Create(inv, $"  int8 / fp32 latency            : {m.Int8VsFp32LatencyRatio,12:F2}"));
        Console.WriteLine(string.Create(inv, $"  real-time factor with model    : {m.RealtimeFactorWithModel1Thread,12:F0}x (1 thread)"));
        Console.WriteLine(string.Create(inv, $"  allocated per window (steady)  : {m.AllocBytesPerWindow,12:F3} bytes"));
    }

    private static double Median(List<double> x)
    {
        var s = x.Order().ToArray();
        return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }

    private static double[] MinMax(List<double> x) => [Math.Round(x.Min(), 1), Math.Round(x.Max(), 1)];

    private sealed class NullObserver : IPipelineObserver, IInferenceSink
    {
        public static readonly NullObserver Instance = new();
        public void OnBeat(in DetectedBeat beat) { }
        public void OnBeatClassified(in ClassifiedBeat beat) { }
        public void OnRhythm(in RhythmDecision decision, ReadOnlySpan<float> smoothedProbabilities) { }
    }
}
