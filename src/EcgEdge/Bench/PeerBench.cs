using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using EcgEdge.Conditioning;
using EcgEdge.Core.Signals;
using EcgEdge.Inference.Execution;
using EcgEdge.Inference.Model;
using EcgEdge.Pipeline;
using EcgEdge.Verbs;

namespace EcgEdge.Bench;

/// <summary>Per-window latency of one model variant over the given windows (exact order statistics, ms).</summary>
public sealed record PeerLatency(int Runs, double Mean, double P50, double P99, double Min, double Max);

/// <summary>What <c>bench inference</c> measured.</summary>
public sealed record PeerInferenceReport(string Windows, int WindowCount, int Threads, int Runs, string Provider, PeerLatency Int8, PeerLatency Fp32);

/// <summary>What <c>bench conditioning</c> measured.</summary>
public sealed record PeerConditioningReport(string Record, int Channels, long SamplesPerChannel, double Fs, int Repeats, int BlockFrames,
    double UsPerSignalSecond, double[] Spread);

/// <summary>
/// Single components on fixed inputs, for the side-by-side comparison with the researchers' stack
/// (tools/bench/compare.sh runs PyTorch and SciPy on the very same inputs):
/// <list type="bullet">
/// <item><c>bench inference --windows DIR [--runs N] [--intra-op-threads T] [--json FILE] [--logits-out DIR]</c>: the
/// int8 and fp32 models on the windows of DIR (<c>ecg.bin</c> float32 [n, 8, 2500], <c>lead_mask.bin</c> [n, 8],
/// <c>beat_rr.bin</c> [n, 312, C] for a model with the RR input (C = its beat_rr channels: 4 RR, + 3 shape since 0.2.0); the
/// model's reference windows by default), cycled for N timed runs each after warm-up; writes each window's logits.</item>
/// <item><c>bench conditioning [--record PATH] [--repeats R] [--json FILE] [--dump DIR]</c>: our streaming conditioner
/// (50-frame blocks, 8 channels at 500 Hz) over a whole record; dumps its input, output and the SOS design.</item>
/// </list>
/// </summary>
public static class PeerBench
{
    /// <summary>bench inference's options.</summary>
    private sealed class InferenceOptionsCli
    {
        public Option<string?> Windows { get; } = VerbOptions.Windows();
        public Option<int> Runs { get; } = VerbOptions.Runs(200, "timed runs per model variant (the windows in turn)");
        public Option<int> IntraOpThreads { get; } = new("--intra-op-threads") { Description = "ONNX Runtime intra-op threads", HelpName = "T", DefaultValueFactory = _ => 1 };
        public Option<string?> Json { get; } = VerbOptions.JsonFile();
        public Option<string?> LogitsOut { get; } = new("--logits-out") { Description = "write every window's beat and rhythm logits (float32) to DIR", HelpName = "DIR" };
        public Option<string?> Model { get; } = VerbOptions.Model();
        public Option<string?> Profile { get; } = new("--profile") { Description = "ONNX Runtime operator profile files with this prefix", HelpName = "PREFIX" };

        public Option[] All => [Windows, Runs, IntraOpThreads, Json, LogitsOut, Model, Profile];
    }

    /// <summary><c>ecgedge bench inference</c>'s command line.</summary>
    public static Command InferenceCommand()
    {
        var o = new InferenceOptionsCli();
        var command = new Command("inference", "time the int8 and fp32 models on given windows, for the peer comparison (tools/bench/compare.sh)");
        foreach (var option in o.All) command.Options.Add(option);
        command.SetVerbAction(p => InferenceAsync(p, o));
        return command;
    }

    private static async Task<int> InferenceAsync(ParseResult p, InferenceOptionsCli o)
    {
        var options = AppConfiguration.BindInference(AppConfiguration.Build(p.GetValue(o.Model) is { } mp ? [$"--Inference:Model={mp}"] : []));
        options.IntraOpThreads = p.GetValue(o.IntraOpThreads);
        options.ProfilePrefix = p.GetValue(o.Profile);
        var dir = p.GetValue(o.Windows) ?? Path.Combine(Path.GetDirectoryName(AppConfiguration.ResolveFile(options.Model))!, "reference");
        var runs = Math.Max(1, p.GetValue(o.Runs));
        float[] ecg, mask, rr;
        try
        {
            ecg = ReadFloats(Path.Combine(dir, "ecg.bin"));
            mask = ReadFloats(Path.Combine(dir, "lead_mask.bin"));
            var rrPath = Path.Combine(dir, "beat_rr.bin");
            rr = File.Exists(rrPath) ? ReadFloats(rrPath) : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            Console.Error.WriteLine($"ecgedge bench inference: cannot read the windows ({e.Message}); pass --windows DIR holding ecg.bin and lead_mask.bin (e.g. models/reference)");
            return 1;
        }
        var report = new Dictionary<ModelVariant, PeerLatency>();
        string provider = "";
        int n = 0;
        foreach (var variant in new[] { ModelVariant.Int8, ModelVariant.Fp32 })
        {
            using var model = ModelLoader.Load(options.Model, options.WithVariant(variant));
            var w = model.Signal.Length;
            var l = model.LeadMask.Length;
            var k = model.BeatRr.Length;
            if (ecg.Length == 0 || ecg.Length % w != 0 || mask.Length != ecg.Length / w * l || rr.Length != ecg.Length / w * k)
            {
                Console.Error.WriteLine($"ecgedge bench inference: {dir}: ecg.bin holds {ecg.Length} values, lead_mask.bin {mask.Length} and beat_rr.bin {rr.Length}; expected n×{w}, n×{l} and n×{k}");
                return 1;
            }
            n = ecg.Length / w;
            provider = model.Selection.Provider.ToString();
            // Logits of every window once (also the warm-up), then the timed runs.
            var beat = new float[n * model.BeatLogits.Length];
            var rhythm = new float[n * model.RhythmLogits.Length];
            for (var i = 0; i < n; i++)
            {
                Load(model, ecg, mask, rr, i);
                model.Run();
                model.BeatLogits.CopyTo(beat.AsSpan(i * model.BeatLogits.Length));
                model.RhythmLogits.CopyTo(rhythm.AsSpan(i * model.RhythmLogits.Length));
            }
            var times = new double[runs];
            for (var r = 0; r < runs; r++)
            {
                Load(model, ecg, mask, rr, r % n);
                times[r] = model.Run() * 1e3;
            }
            if (options.ProfilePrefix is not null) Console.WriteLine($"operator profile ({variant}): {model.EndProfiling()}");
            Array.Sort(times);
            report[variant] = new PeerLatency(runs, Math.Round(times.Average(), 4), Math.Round(Quantile(times, 0.5), 4), Math.Round(Quantile(times, 0.99), 4),
                Math.Round(times[0], 4), Math.Round(times[^1], 4));
            if (p.GetValue(o.LogitsOut) is { } outDir)
            {
                Directory.CreateDirectory(outDir);
                var name = variant.ToString().ToLowerInvariant();
                await File.WriteAllBytesAsync(Path.Combine(outDir, $"{name}_beat_logits.bin"), MemoryMarshal.AsBytes(beat.AsSpan()).ToArray()).ConfigureAwait(false);
                await File.WriteAllBytesAsync(Path.Combine(outDir, $"{name}_rhythm_logits.bin"), MemoryMarshal.AsBytes(rhythm.AsSpan()).ToArray()).ConfigureAwait(false);
            }
        }
        var result = new PeerInferenceReport(dir, n, options.IntraOpThreads, runs, provider, report[ModelVariant.Int8], report[ModelVariant.Fp32]);
        var inv = CultureInfo.InvariantCulture;
        foreach (var (k, v) in new[] { ("int8", result.Int8), ("fp32", result.Fp32) })
            Console.WriteLine(string.Create(inv, $"ONNX Runtime {k} ({provider}, {result.Threads} intra-op thread(s)), {n} windows × {runs} runs: p50 {v.P50:F3} ms, p99 {v.P99:F3}, mean {v.Mean:F3}, [{v.Min:F3}, {v.Max:F3}]"));
        if (p.GetValue(o.Json) is { } json)
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(result, BenchJsonContext.Default.PeerInferenceReport)).ConfigureAwait(false);
        return 0;
    }

    /// <summary>
    /// <c>bench graph --onnx A.onnx[,B.onnx...] [--windows DIR] [--runs N] [--rounds R] [--config k=v;...]</c>: times arbitrary ONNX graphs
    /// (ONNX Runtime CPU, 1 intra-op thread, all graph optimisations, as the product's session) on the first reference
    /// window, for cost breakdowns of the model (e.g. its prefixes cut by tools/bench/experiments/prefix_models.py).
    /// Inputs are matched by name to <c>DIR/&lt;name&gt;.bin</c> (float32). The graphs take turns in R rounds of N/R
    /// consecutive runs each (one run each per turn would time them with cold caches). Prints min and p50 per graph.
    /// <c>--config</c> adds ONNX Runtime session config entries to every session, to time session options.
    /// </summary>
    public static Command GraphCommand()
    {
        var onnx = new Option<string>("--onnx") { Description = "the ONNX graphs to time, comma-separated", HelpName = "A.onnx,B.onnx,...", Required = true };
        var windows = VerbOptions.Windows("inputs by name: DIR/<input>.bin, float32 (default: the model's reference windows)");
        var runs = VerbOptions.Runs(1000, "timed runs per graph (at least 10)");
        var rounds = new Option<int>("--rounds") { Description = "the graphs take turns in R rounds of N/R consecutive runs", HelpName = "R", DefaultValueFactory = _ => 10 };
        var config = new Option<string?>("--config") { Description = "ONNX Runtime session config entries for every graph", HelpName = "k=v;..." };
        var command = new Command("graph", "time arbitrary ONNX graphs on one window (model cost breakdowns)") { onnx, windows, runs, rounds, config };
        command.SetVerbAction(p => Task.FromResult(Graph(p.GetValue(onnx)!, p.GetValue(windows), p.GetValue(runs), p.GetValue(rounds), p.GetValue(config))));
        return command;
    }

    private static int Graph(string onnx, string? windows, int runsWanted, int roundsWanted, string? configEntries)
    {
        var files = onnx.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // --config key=value[;key=value]: ONNX Runtime session config entries for every graph (to time session options)
        var config = (configEntries ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(e => e.Split('=', 2)).Select(kv => kv.Length == 2 ? (kv[0], kv[1]) : throw new UsageException($"--config: '{string.Join('=', kv)}' is not key=value")).ToArray();
        var dir = windows ?? Path.Combine(Path.GetDirectoryName(AppConfiguration.ResolveFile("models/ecg-nat.manifest.json"))!, "reference");
        var runs = Math.Max(10, runsWanted);
        var sessions = new List<(string File, Microsoft.ML.OnnxRuntime.InferenceSession Session, List<Microsoft.ML.OnnxRuntime.OrtValue> Inputs, string[] Names, string[] Outputs)>();
        try
        {
            foreach (var f in files)
            {
                using var so = new Microsoft.ML.OnnxRuntime.SessionOptions
                {
                    IntraOpNumThreads = 1, InterOpNumThreads = 1, ExecutionMode = Microsoft.ML.OnnxRuntime.ExecutionMode.ORT_SEQUENTIAL,
                    GraphOptimizationLevel = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_ALL,
                };
                foreach (var (key, value) in config) so.AddSessionConfigEntry(key, value);
                var session = new Microsoft.ML.OnnxRuntime.InferenceSession(f, so);
                var inputs = new List<Microsoft.ML.OnnxRuntime.OrtValue>();
                foreach (var (name, meta) in session.InputMetadata)
                {
                    var shape = meta.Dimensions.Select(d => (long)(d < 0 ? 1 : d)).ToArray();
                    var n = (int)shape.Aggregate(1L, (x, y) => x * y);
                    var path = Path.Combine(dir, name + ".bin");
                    if (!File.Exists(path)) throw new UsageException($"{f}: input '{name}' has no {path}");
                    var data = ReadFloats(path);
                    if (data.Length < n) throw new UsageException($"{path}: {data.Length} values, input '{name}' needs {n}");
                    inputs.Add(Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(data.AsSpan(0, n).ToArray(), shape));
                }
                sessions.Add((f, session, inputs, [.. session.InputMetadata.Keys], [.. session.OutputMetadata.Keys]));
            }
            // Rounds: each graph runs a block of consecutive runs (after 20 untimed ones) in turn, so its weights stay
            // in cache as in the product, while host noise still spreads over all graphs.
            var rounds = Math.Clamp(roundsWanted, 1, runs);
            var times = sessions.Select(_ => new double[runs]).ToArray();
            using var runOptions = new Microsoft.ML.OnnxRuntime.RunOptions();
            var done = new int[sessions.Count];
            for (var round = 0; round < rounds; round++)
                for (var i = 0; i < sessions.Count; i++)
                {
                    var (_, session, inputs, names, outputs) = sessions[i];
                    var block = (round + 1) * runs / rounds - round * runs / rounds;
                    for (var r = -20; r < block; r++)
                    {
                        var t0 = Stopwatch.GetTimestamp();
                        using (var o = session.Run(runOptions, names, inputs, outputs)) { }
                        if (r >= 0) times[i][done[i]++] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                    }
                }
            var inv = CultureInfo.InvariantCulture;
            for (var i = 0; i < sessions.Count; i++)
            {
                Array.Sort(times[i]);
                Console.WriteLine(string.Create(inv, $"{sessions[i].File}: min {times[i][0]:F3} ms, p50 {Quantile(times[i], 0.5):F3} ms ({runs} runs, 1 intra-op thread)"));
            }
            return 0;
        }
        finally
        {
            foreach (var (_, session, inputs, _, _) in sessions)
            {
                foreach (var v in inputs) v.Dispose();
                session.Dispose();
            }
        }
    }

    public static Command ConditioningCommand()
    {
        var record = VerbOptions.Record("the record (default: the bundled MIT-BIH 201)");
        var repeats = VerbOptions.Repeats();
        var json = VerbOptions.JsonFile();
        var dump = new Option<string?>("--dump") { Description = "write the conditioner's input, output and SOS design to DIR", HelpName = "DIR" };
        var command = new Command("conditioning", "time the streaming conditioner over a whole record, for the peer comparison (tools/bench/compare.sh)")
        {
            record, repeats, json, dump,
        };
        command.SetVerbAction(p => ConditioningAsync(p.GetValue(record), p.GetValue(repeats), p.GetValue(json), p.GetValue(dump)));
        return command;
    }

    private static async Task<int> ConditioningAsync(string? recordPath, int repeatsWanted, string? jsonPath, string? dumpDir)
    {
        var record = AppConfiguration.ResolveRecord(recordPath ?? "Resources/mitdb/201");
        var repeats = Math.Max(1, repeatsWanted);
        var settings = AppConfiguration.BindPipeline(AppConfiguration.Build(["--Conditioning:MainsHz=60"]));
        var rate = settings.Pipeline.SampleRateHz;
        var (blocks, _) = await BenchVerb.PreRead(record, settings).ConfigureAwait(false);
        var samples = blocks.Sum(b => (long)b.Count);
        var work = blocks.Select(_ => new SampleBlock(settings.Pipeline.BlockFrames)).ToList();
        var perSecond = new List<double>();
        SignalConditioner? cond = null;
        // Warm-up by wall time, then a pause: the runtime promotes hot methods to optimised code on a background thread
        // ~100 ms after their first calls; one pass over the record takes less than that, and on a single pinned CPU the
        // promotion waits for the CPU.
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed < TimeSpan.FromSeconds(1.5)) Pass(blocks, work, settings, rate);
        Thread.Sleep(300);
        for (var r = 0; r < repeats; r++)
        {
            var (c, us) = Pass(blocks, work, settings, rate);
            cond = c;
            perSecond.Add(us / (samples / rate));
        }
        if (dumpDir is { } dump)
        {
            Directory.CreateDirectory(dump);
            await WritePlanar(Path.Combine(dump, "input.f32"), blocks, samples).ConfigureAwait(false);
            await WritePlanar(Path.Combine(dump, "output.f32"), work, samples).ConfigureAwait(false);
            var sos = cond!.Sections.Select(q => new[] { q.B0, q.B1, q.B2, 1.0, q.A1, q.A2 }).ToArray();
            await File.WriteAllTextAsync(Path.Combine(dump, "sos.json"),
                JsonSerializer.Serialize(new Dictionary<string, object> { ["fs"] = rate, ["sos"] = sos }, SosJsonContext.Default.DictionaryStringObject)).ConfigureAwait(false);
        }
        var result = new PeerConditioningReport(Path.GetFileName(record), Leads.Count, samples, rate, repeats, settings.Pipeline.BlockFrames,
            Math.Round(BenchVerb.Median(perSecond), 3), BenchVerb.MinMax(perSecond, 3));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"our conditioning ({cond!.Sections.Length} sections, {Leads.Count} channels, {settings.Pipeline.BlockFrames}-frame blocks): {result.UsPerSignalSecond:F2} µs per signal-second [{result.Spread[0]:F2}, {result.Spread[1]:F2}]"));
        if (jsonPath is { } json)
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(result, BenchJsonContext.Default.PeerConditioningReport)).ConfigureAwait(false);
        return 0;
    }

    /// <summary>One timed pass of a fresh conditioner over copies of the blocks; returns it and the µs it took.</summary>
    private static (SignalConditioner Conditioner, double Microseconds) Pass(List<SampleBlock> blocks, List<SampleBlock> work, PipelineSettings settings, double rate)
    {
        for (var i = 0; i < blocks.Count; i++) work[i].CopyFrom(blocks[i]);
        var cond = new SignalConditioner(settings.Conditioning, rate);
        var t0 = Stopwatch.GetTimestamp();
        foreach (var b in work) cond.Process(b);
        return (cond, Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
    }

    private static void Load(EcgNatModel model, float[] ecg, float[] mask, float[] rr, int i)
    {
        ecg.AsSpan(i * model.Signal.Length, model.Signal.Length).CopyTo(model.Signal);
        mask.AsSpan(i * model.LeadMask.Length, model.LeadMask.Length).CopyTo(model.LeadMask);
        rr.AsSpan(i * model.BeatRr.Length, model.BeatRr.Length).CopyTo(model.BeatRr);
    }

    private static double Quantile(double[] sorted, double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static float[] ReadFloats(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length % 4 != 0) throw new InvalidDataException($"{path}: {bytes.Length} bytes is not a whole number of float32 values");
        return MemoryMarshal.Cast<byte, float>(bytes).ToArray();
    }

    /// <summary>Channel-major float32 [8, samples] (little-endian on every platform we run on).</summary>
    private static async Task WritePlanar(string path, List<SampleBlock> blocks, long samples)
    {
        await using var f = File.Create(path);
        var row = new float[samples];
        for (var c = 0; c < Leads.Count; c++)
        {
            long k = 0;
            foreach (var b in blocks)
            {
                b.Channel(c).CopyTo(row.AsSpan((int)k));
                k += b.Count;
            }
            await f.WriteAsync(MemoryMarshal.AsBytes(row.AsSpan()).ToArray()).ConfigureAwait(false);
        }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, object>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(double[][]))]
[System.Text.Json.Serialization.JsonSerializable(typeof(double))]
internal sealed partial class SosJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
