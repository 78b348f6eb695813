using System.Buffers;
using System.CommandLine;
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
using EcgEdge.Events;
using EcgEdge.Events.Alerts;
using EcgEdge.Inference;
using EcgEdge.Inference.Execution;
using EcgEdge.Inference.Model;
using EcgEdge.Pipeline;
using EcgEdge.Transport.Mqtt;
using EcgEdge.Transport.Outbox;
using EcgEdge.Verbs;
using Microsoft.Extensions.Logging.Abstractions;

namespace EcgEdge.Bench;

/// <summary>What <c>ecgedge bench</c> measured. Stable keys; later versions only add fields.</summary>
public sealed record BenchReport(
    string Machine,
    string Records,
    double SignalSecondsPerRun,
    int Channels,
    int Repeats,
    [property: JsonPropertyName("realtime_factor_1thread")] double RealtimeFactor1Thread,
    double RealtimeFactor,
    string RealtimeFactorThreading,
    [property: JsonPropertyName("realtime_factor_no_model_1thread")] double RealtimeFactorNoModel1Thread,
    IReadOnlyDictionary<string, double> StageUsPerSignalSecond,
    IReadOnlyDictionary<string, double>? InferenceMs,
    double QrsRealtimePerLead,
    [property: JsonPropertyName("ads1298_decode_frames_per_s")] double Ads1298DecodeFramesPerS,
    double AllocBytesPerSignalSecond,
    double AllocBytesPerEmittedMessage,
    long MessagesEmitted,
    double PeakWorkingSetMb,
    double StartupS,
    double BenchPeakWorkingSetMb,
    IReadOnlyDictionary<string, double[]> Spread,
    InferenceBench? Inference = null,
    AlertLatencyBench? AlertLatency = null,
    WorkerProcessBench? Worker = null);

/// <summary>Alert latency: from the block holding the last triggering sample entering the event stage to the broker's PUBACK.</summary>
public sealed record AlertLatencyBench(string Broker, int Alerts, double MedianMs, double P90Ms, double MaxMs, double MedianStoreMs);

/// <summary>The model in the full pipeline (one thread): latency per window, real-time factor, allocations per window.</summary>
public sealed record InferenceBench(
    string Model,
    string Provider,
    long Windows,
    IReadOnlyDictionary<string, LatencyJson> LatencyMs,
    [property: JsonPropertyName("realtime_factor_with_model_1thread")] double RealtimeFactorWithModel1Thread,
    double AllocBytesPerWindow,
    [property: JsonPropertyName("int8_vs_fp32_latency_ratio")] double Int8VsFp32LatencyRatio,
    long InferenceWaits);

public sealed record LatencyJson(double Mean, double P50, double P99, double Max);

/// <summary><c>ecgedge run</c> as its own process (full speed, once through the record, embedded broker): start-up and peak working set.</summary>
public sealed record WorkerProcessBench(string Command, int Runs, double StartupMedianS, double[] StartupSpread, double PeakWorkingSetMedianMb,
    double[] PeakWorkingSetSpread, double WallMedianS);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(BenchReport))]
[JsonSerializable(typeof(InferenceBench))]
[JsonSerializable(typeof(AlertLatencyBench))]
[JsonSerializable(typeof(WorkerProcessBench))]
[JsonSerializable(typeof(PeerInferenceReport))]
[JsonSerializable(typeof(PeerConditioningReport))]
public sealed partial class BenchJsonContext : JsonSerializerContext;

/// <summary>
/// <c>ecgedge bench [--record PATH] [--repeats N] [--json FILE] [--no-model] [--model PATH] [--broker URL]</c>: times the
/// whole device pipeline on a real recording presented as 8 channels at 500 Hz (replay at full speed → conditioning →
/// quality → QRS detection → int8 model → event engine and vitals → serialised messages to a null transport), once on
/// one thread (model inline) and once as <c>run</c> does it (model on its dedicated thread), and prints medians with
/// their spread: real-time factors, the cost of each stage in µs per second of 8-channel signal, model latency per
/// window (int8 and fp32), the QRS detector alone per lead, ADS1298 frame decoding, allocated bytes per signal-second
/// after warm-up (blocks that emitted a message are counted apart), alert latency to PUBACK, and — from
/// <c>ecgedge run</c> started as its own process — start-up to the first processed sample and peak working set.
/// <para><c>bench inference</c> and <c>bench conditioning</c> time single components on given inputs for the peer
/// comparison (tools/bench/compare.sh); <c>bench graph</c> times arbitrary ONNX graphs (model cost breakdowns). Timings only: nothing here is pass/fail.</para>
/// </summary>
public static class BenchVerb
{
    /// <summary>bench's options.</summary>
    private sealed class Options
    {
        public Option<string?> Record { get; } = VerbOptions.Record("the record (default: the bundled MIT-BIH 201)");
        public Option<int> Repeats { get; } = VerbOptions.Repeats();
        public Option<string?> Json { get; } = VerbOptions.JsonFile();
        public Option<string?> Model { get; } = VerbOptions.Model();
        public Option<string?> Broker { get; } = VerbOptions.Broker("time alert delivery to PUBACK through this broker (default: an embedded one)");
        public Option<bool> NoModel { get; } = VerbOptions.NoModel("time the pipeline without the model");
        public Option<bool> NoWorker { get; } = new("--no-worker") { Description = "skip the start-up and working-set measurement of ecgedge run (child process)" };

        public Option[] All => [Record, Repeats, Json, Model, Broker, NoModel, NoWorker];
    }

    /// <summary><c>ecgedge bench</c>'s command line, with inference, conditioning and graph.</summary>
    public static Command CreateCommand()
    {
        var o = new Options();
        var command = new Command("bench",
            "time the whole pipeline (8 channels, model, events, serialisation) on a real record: real-time factor (1 thread; " +
            "default threads), µs per signal-second per stage, model latency p50/p99 (int8, fp32), QRS detector per lead, " +
            "allocations, and ecgedge run's start-up and peak working set (child process)")
        {
            PeerBench.InferenceCommand(), PeerBench.ConditioningCommand(), PeerBench.GraphCommand(),
        };
        foreach (var option in o.All) command.Options.Add(option);
        command.SetVerbAction(p => RunAsync(p, o));
        return command;
    }

    /// <summary>Runs bench with the command line <paramref name="args"/> (as <c>ecgedge bench ARGS</c>).</summary>
    public static Task<int> RunAsync(string[] args) => Cli.RunAsync(CreateCommand(), args);

    private static async Task<int> RunAsync(ParseResult p, Options o)
    {
        var record = AppConfiguration.ResolveRecord(p.GetValue(o.Record) ?? "Resources/mitdb/201");
        var repeats = Math.Max(1, p.GetValue(o.Repeats));
        var settings = AppConfiguration.BindPipeline(AppConfiguration.Build(["--Conditioning:MainsHz=60"]));
        var options = AppConfiguration.BindInference(AppConfiguration.Build(p.GetValue(o.Model) is { } mp ? [$"--Inference:Model={mp}"] : []));

        using var int8 = p.GetValue(o.NoModel) ? null : LoadWarm(options.WithVariant(ModelVariant.Int8));
        using var fp32 = p.GetValue(o.NoModel) ? null : LoadWarm(options.WithVariant(ModelVariant.Fp32));

        // The full pipeline: warm-up run (JIT, first windows), then timed runs on one thread and with the dedicated
        // inference thread; fp32 on one thread for its latency.
        await RunFull(record, settings, int8, options.RhythmSmoothingWindows, InferenceThreading.Inline).ConfigureAwait(false);
        var inline = new List<FullRun>();
        var dedicated = new List<FullRun>();
        var inlineFp32 = new List<FullRun>();
        var noModel = new List<FullRun>();
        for (var r = 0; r < repeats; r++)
        {
            inline.Add(await RunFull(record, settings, int8, options.RhythmSmoothingWindows, InferenceThreading.Inline).ConfigureAwait(false));
            dedicated.Add(await RunFull(record, settings, int8, options.RhythmSmoothingWindows, InferenceThreading.Dedicated).ConfigureAwait(false));
            if (fp32 is not null) inlineFp32.Add(await RunFull(record, settings, fp32, options.RhythmSmoothingWindows, InferenceThreading.Inline).ConfigureAwait(false));
            noModel.Add(await RunFull(record, settings, null, options.RhythmSmoothingWindows, InferenceThreading.Inline).ConfigureAwait(false));
        }
        var int8Latency = Latency(inline.SelectMany(x => x.WindowSeconds));
        var fp32Latency = Latency(inlineFp32.SelectMany(x => x.WindowSeconds));

        var stages = await StageCosts(record, settings, repeats).ConfigureAwait(false);
        stages["inference"] = [.. inline.Select(x => x.ModelSeconds * 1e6 / x.SignalSeconds)];
        stages["events"] = [.. inline.Select(x => x.EventSeconds * 1e6 / x.SignalSeconds)];
        var decode = Enumerable.Range(0, repeats).Select(_ => Ads1298FrameDecoder.MeasureFramesPerSecond(TimeSpan.FromSeconds(0.5))).ToList();
        var qrs = await QrsPerLead(record, settings, repeats).ConfigureAwait(false);
        var worker = p.GetValue(o.NoWorker) ? null : await WorkerProcess(Math.Min(repeats, 3)).ConfigureAwait(false);

        var first = inline[0];
        var rt1 = inline.Select(x => x.SignalSeconds / x.WallSeconds).ToList();
        var rtd = dedicated.Select(x => x.SignalSeconds / x.WallSeconds).ToList();
        var rtn = noModel.Select(x => x.SignalSeconds / x.WallSeconds).ToList();
        var hotAlloc = inline.Select(x => x.HotAllocBytes / x.HotSignalSeconds).ToList();
        InferenceBench? inference = int8 is null ? null : new InferenceBench(int8.VersionLabel, int8.Selection.Provider.ToString(), first.Windows,
            fp32 is null ? new Dictionary<string, LatencyJson> { ["int8"] = int8Latency } : new Dictionary<string, LatencyJson> { ["int8"] = int8Latency, ["fp32"] = fp32Latency },
            Math.Round(Median(rt1), 1), Math.Round(first.HotAllocBytes / Math.Max(1, first.HotWindows), 3),
            Math.Round(int8Latency.Mean / fp32Latency.Mean, 3), dedicated.Sum(x => x.InferenceWaits));
        var report = new BenchReport(
            $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}, .NET {Environment.Version}",
            Path.GetFileName(record) + " (2 leads copied into 8 channels, 500 Hz)", Math.Round(first.SignalSeconds, 1), Leads.Count, repeats,
            Math.Round(Median(rt1), 1), Math.Round(Median(rtd), 1),
            $"model on a dedicated thread (as run), ONNX Runtime intra-op threads {options.IntraOpThreads}; 1thread: everything inline on one thread",
            Math.Round(Median(rtn), 1),
            stages.ToDictionary(k => k.Key, k => Math.Round(Median(k.Value), 2)),
            int8 is null ? null : new Dictionary<string, double>
            {
                ["int8_p50"] = int8Latency.P50, ["int8_p99"] = int8Latency.P99,
                ["fp32_p50"] = fp32Latency.P50, ["fp32_p99"] = fp32Latency.P99,
            },
            Math.Round(Median(qrs), 0), Math.Round(Median(decode), 0),
            Math.Round(Median(hotAlloc), 3),
            Math.Round(inline.Sum(x => x.EmitAllocBytes) / Math.Max(1, inline.Sum(x => x.MessagesAfterWarmup)), 0),
            first.Messages,
            worker?.PeakWorkingSetMedianMb ?? double.NaN,
            worker?.StartupMedianS ?? double.NaN,
            Math.Round(Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0, 1),
            new Dictionary<string, double[]>
            {
                ["realtime_factor_1thread"] = MinMax(rt1),
                ["realtime_factor"] = MinMax(rtd),
                ["realtime_factor_no_model_1thread"] = MinMax(rtn),
                ["qrs_realtime_per_lead"] = MinMax(qrs),
                ["ads1298_decode_frames_per_s"] = MinMax(decode),
                ["alloc_bytes_per_signal_second"] = MinMax(hotAlloc),
                ["stage_us_per_signal_second.inference"] = MinMax(stages["inference"]),
            },
            inference,
            await BenchAlertLatency(p.GetValue(o.Broker), 20).ConfigureAwait(false),
            worker);
        Print(report);
        if (p.GetValue(o.Json) is { } json)
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(report, BenchJsonContext.Default.BenchReport)).ConfigureAwait(false);
        return 0;
    }

    private static EcgNatModel LoadWarm(InferenceOptions o)
    {
        var m = ModelLoader.Load(o.Model, o);
        m.Warmup(o.WarmupRuns);
        return m;
    }

    private static LatencyJson Latency(IEnumerable<double> seconds)
    {
        var s = seconds.Order().ToArray();
        if (s.Length == 0) return new LatencyJson(double.NaN, double.NaN, double.NaN, double.NaN);
        double Q(double q) => Math.Round(s[Math.Min(s.Length - 1, (int)Math.Ceiling(q * s.Length) - 1)] * 1e3, 3);
        return new LatencyJson(Math.Round(s.Average() * 1e3, 3), Q(0.5), Q(0.99), Math.Round(s[^1] * 1e3, 3));
    }

    /// <summary>One pass of the full pipeline over the record.</summary>
    private sealed record FullRun(double SignalSeconds, double WallSeconds, long Windows, double ModelSeconds, double EventSeconds,
        double HotAllocBytes, double HotSignalSeconds, double EmitAllocBytes, long Messages, long MessagesAfterWarmup, long InferenceWaits,
        long HotWindows, double[] WindowSeconds);

    /// <summary>
    /// The device pipeline end to end on <paramref name="record"/> (8 channels): source → conditioning → quality → QRS →
    /// model (if any) → event engine + vitals → messages serialised to a null transport. After 60 s of signal, the bytes
    /// allocated on the pipeline thread are summed per block (source read included): blocks during which a message was
    /// emitted or an episode opened or closed (announced or silent) are counted apart — the alert, its strip and its
    /// episode record are allocations by nature — the rest is the hot path.
    /// </summary>
    private static async Task<FullRun> RunFull(string record, PipelineSettings s, EcgNatModel? model, int smoothing, InferenceThreading threading)
    {
        await using var src = new AllChannelsSource(new ReplaySource(new ReplayOptions { Record = record }, s.Pipeline.SampleRateHz));
        var rate = src.Info.SampleRateHz;
        using var p = new EcgPipeline(src.Info, s.Conditioning, s.Detection, s.Pipeline.BlockFrames);
        var epoch = DateTimeOffset.UnixEpoch;
        var clock = new SampleClock(epoch, rate);
        var transport = new NullTransport("bench", clock);
        var windowSeconds = new WindowLatencies();
        var observer = new TimedStage(new EventStageObserver(new EventOptions(), "bench", src.Info.Present, clock, s.Pipeline.VitalsIntervalSeconds,
            model?.VersionLabel, [transport], [transport], windowSeconds));
        var engine = observer.Engine;
        InferenceStage? stage = model is null ? null : p.AttachInference(model, smoothing, observer, threading, InferenceOverload.Wait);
        var block = new SampleBlock(s.Pipeline.BlockFrames);
        var warm = (long)(60 * rate);
        double hot = 0, emit = 0;
        long hotSamples = 0, messagesAtWarm = -1, windowsAtWarm = 0;
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var a0 = GC.GetAllocatedBytesForCurrentThread();
            var sent0 = transport.Messages;
            var m0 = sent0 + engine.EpisodeChanges;
            if (!await src.ReadAsync(block, CancellationToken.None).ConfigureAwait(false)) break;
            p.ProcessBlock(block, observer);
            var da = GC.GetAllocatedBytesForCurrentThread() - a0;
            if (p.Stats.Samples <= warm) continue;
            if (messagesAtWarm < 0) { messagesAtWarm = sent0; windowsAtWarm = stage?.Windows ?? 0; }
            if (transport.Messages + engine.EpisodeChanges == m0) { hot += da; hotSamples += block.Count; }
            else emit += da;
        }
        p.Complete(observer);
        var wall = sw.Elapsed.TotalSeconds;
        return new FullRun(p.Stats.Samples / rate, wall, stage?.Windows ?? 0, windowSeconds.Sum(), observer.Seconds,
            hot, hotSamples / rate, emit, transport.Messages, transport.Messages - Math.Max(0, messagesAtWarm),
            p.InferenceThread?.Waits ?? 0, (stage?.Windows ?? 0) - windowsAtWarm, [.. windowSeconds]);
    }

    /// <summary>The model's latency per window (the only counter the bench reads from the event stage).</summary>
    private sealed class WindowLatencies : List<double>, IStageCounters
    {
        public WindowLatencies() : base(512) { }
        public void Samples(int n, int gapBefore) { }
        public void Beat() { }
        public void Window(double latencySeconds) => Add(latencySeconds);
    }

    /// <summary>
    /// The event stage with the time spent in it summed (the bench's "events" figure): on the pipeline's callbacks and on the
    /// model's results. A bench-only wrapper: in the worker the model's results reach the engine directly, untimed.
    /// </summary>
    private sealed class TimedStage(EventStageObserver stage) : IPipelineObserver, IInferenceSink
    {
        private long _ticks;
        public EventEngine Engine => stage.Engine;
        public double Seconds => _ticks / (double)Stopwatch.Frequency;

        public void OnBeat(in DetectedBeat beat)
        {
            var t = Stopwatch.GetTimestamp();
            stage.OnBeat(beat);
            _ticks += Stopwatch.GetTimestamp() - t;
        }

        public void OnQualityChanged(long sampleIndex, ReadOnlySpan<SignalQuality> quality)
        {
            var t = Stopwatch.GetTimestamp();
            stage.OnQualityChanged(sampleIndex, quality);
            _ticks += Stopwatch.GetTimestamp() - t;
        }

        public void OnBlockProcessed(SampleBlock conditioned)
        {
            var t = Stopwatch.GetTimestamp();
            stage.OnBlockProcessed(conditioned);
            _ticks += Stopwatch.GetTimestamp() - t;
        }

        public void OnBeatClassified(in ClassifiedBeat beat)
        {
            var t = Stopwatch.GetTimestamp();
            stage.Engine.OnBeatClassified(beat);
            _ticks += Stopwatch.GetTimestamp() - t;
        }

        public void OnRhythm(in RhythmDecision decision, ReadOnlySpan<float> smoothedProbabilities)
        {
            var t = Stopwatch.GetTimestamp();
            stage.Engine.OnRhythm(decision, smoothedProbabilities);
            _ticks += Stopwatch.GetTimestamp() - t;
        }

        // Counting a model run is the health counters' work, not the stage's: not timed, as before.
        public void OnWindow(in WindowInference window, ReadOnlySpan<float> rhythmProbabilities) => stage.Engine.OnWindow(window, rhythmProbabilities);
    }

    /// <summary>
    /// The transport replaced by a sink that does what the MQTT sink does up to the network: builds each message and
    /// serialises it to JSON (into one reused buffer), then drops it.
    /// </summary>
    private sealed class NullTransport(string deviceId, SampleClock clock) : IAlertSink, IEventSink
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
        private Utf8JsonWriter? _writer;
        public long Messages { get; private set; }
        public long Bytes { get; private set; }

        public void Publish(Alert alert) => Write(alert, MessageJsonContext.Default.Alert);
        public void Publish(EctopyTrend trend) => Write(trend, MessageJsonContext.Default.EctopyTrend);
        public void Publish(Vitals vitals) => Write(MqttEventSink.VitalsMessageOf(vitals, deviceId, clock.At(vitals.EndIndex)), MessageJsonContext.Default.VitalsMessage);
        // Not sent over MQTT (the lead state travels in vitals and lead-off alerts), but an event the stage emitted.
        public void Publish(QualityChange change) => Messages++;

        private void Write<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
        {
            _buffer.ResetWrittenCount();
            if (_writer is null) _writer = new Utf8JsonWriter(_buffer);
            else _writer.Reset(_buffer);
            JsonSerializer.Serialize(_writer, value, type);
            _writer.Flush();
            Bytes += _buffer.WrittenCount;
            Messages++;
        }
    }

    /// <summary>
    /// Each stage alone on pre-read 8-channel blocks (the source separately, into one reused block), µs per signal-second.
    /// </summary>
    private static async Task<Dictionary<string, List<double>>> StageCosts(string record, PipelineSettings s, int repeats)
    {
        var rate = s.Pipeline.SampleRateHz;
        var result = new Dictionary<string, List<double>> { ["replay_resample"] = [], ["conditioning"] = [], ["quality"] = [], ["qrs_detection"] = [] };
        for (var r = 0; r < repeats + 1; r++)
        {
            await using var src = new AllChannelsSource(new ReplaySource(new ReplayOptions { Record = record }, rate));
            var b = new SampleBlock(s.Pipeline.BlockFrames);
            long n = 0;
            var sw = Stopwatch.StartNew();
            while (await src.ReadAsync(b, CancellationToken.None).ConfigureAwait(false)) n += b.Count;
            if (r > 0) result["replay_resample"].Add(sw.Elapsed.TotalMilliseconds * 1000 / (n / rate));
        }
        var (blocks, info) = await PreRead(record, s).ConfigureAwait(false);
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
            foreach (var b in work) det.Process(b);
            var td = sw.Elapsed.TotalMilliseconds;
            if (r == 0) continue;
            result["conditioning"].Add(tc * 1000 / signalSeconds);
            result["quality"].Add((tq1 + tq2) * 1000 / signalSeconds);
            result["qrs_detection"].Add(td * 1000 / signalSeconds);
        }
        return result;
    }

    /// <summary>The whole record as 8-channel blocks of the pipeline's size, read once.</summary>
    internal static async Task<(List<SampleBlock> Blocks, SourceInfo Info)> PreRead(string record, PipelineSettings s)
    {
        var blocks = new List<SampleBlock>();
        await using var src = new AllChannelsSource(new ReplaySource(new ReplayOptions { Record = record }, s.Pipeline.SampleRateHz));
        while (true)
        {
            var b = new SampleBlock(s.Pipeline.BlockFrames);
            if (!await src.ReadAsync(b, CancellationToken.None).ConfigureAwait(false)) break;
            blocks.Add(b);
        }
        return (blocks, src.Info);
    }

    /// <summary>
    /// <c>ecgedge run</c> started as a child process of this one, replaying the bundled record once at full speed with the
    /// model, the event stage and the embedded broker (free port, temporary outbox), as a user would start it. The worker
    /// logs when its first sample has been processed (seconds since process start) and its peak working set at exit.
    /// </summary>
    private static async Task<WorkerProcessBench?> WorkerProcess(int runs)
    {
        var (file, prefix) = SelfCommand();
        var startups = new List<double>();
        var peaks = new List<double>();
        var walls = new List<double>();
        string shown = "";
        for (var r = 0; r < runs; r++)
        {
            var dir = Path.Combine(Path.GetTempPath(), "ecgedge-bench-run-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                string[] runArgs = ["run", "--Replay:RealTime=false", "--Replay:Loop=false", "--Mqtt:EmbeddedPort=0",
                    "--Mqtt:EmbeddedWebSocketPort=0", $"--Mqtt:Outbox:Directory={Path.Combine(dir, "outbox")}", $"--Pipeline:HealthFile={Path.Combine(dir, "health.json")}"];
                shown = "ecgedge " + string.Join(' ', runArgs.Take(4));
                var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (var x in prefix.Concat(runArgs)) psi.ArgumentList.Add(x);
                var sw = Stopwatch.StartNew();
                using var proc = Process.Start(psi)!;
                var stdout = proc.StandardOutput.ReadToEndAsync();
                var stderr = proc.StandardError.ReadToEndAsync();
                await proc.WaitForExitAsync().ConfigureAwait(false);
                walls.Add(sw.Elapsed.TotalSeconds);
                var text = await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false);
                if (proc.ExitCode != 0 || ParseAfter(text, "First sample processed ") is not { } startup || ParseAfter(text, "Peak working set ") is not { } peak)
                {
                    Console.Error.WriteLine($"bench: the worker process did not report its start-up (exit {proc.ExitCode}); skipped.");
                    return null;
                }
                startups.Add(startup);
                peaks.Add(peak);
            }
            finally
            {
                try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
            }
        }
        return new WorkerProcessBench(shown, runs, Math.Round(Median(startups), 3), MinMax(startups, 3), Math.Round(Median(peaks), 1), MinMax(peaks),
            Math.Round(Median(walls), 2));
    }

    /// <summary>How to start this program again: the apphost / single-file executable, or <c>dotnet ecgedge.dll</c>.</summary>
    private static (string File, string[] Prefix) SelfCommand()
    {
        var host = Environment.ProcessPath!;
        var dll = Path.Combine(AppContext.BaseDirectory, "ecgedge.dll");
        return Path.GetFileNameWithoutExtension(host) == "dotnet" && File.Exists(dll) ? (host, [dll]) : (host, []);
    }

    private static double? ParseAfter(string text, string marker)
    {
        var i = text.IndexOf(marker, StringComparison.Ordinal);
        if (i < 0) return null;
        var j = i + marker.Length;
        var k = j;
        while (k < text.Length && (char.IsAsciiDigit(text[k]) || text[k] is '.' or ',')) k++;
        return double.TryParse(text.AsSpan(j, k - j).ToString().Replace(',', '.'), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;
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
            foreach (var b in blocks) det.Process(b);
            if (r > 0) list.Add(seconds / sw.Elapsed.TotalSeconds);
        }
        return list;
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
            // Measure delivery, not connection set-up: alerts start once the session is up (a device is connected long
            // before its first alert; the outage tests cover alerts stored while disconnected).
            var connectBy = Stopwatch.StartNew();
            while (publisher.State != MqttConnectionState.Connected && connectBy.Elapsed < TimeSpan.FromSeconds(10))
                await Task.Delay(10).ConfigureAwait(false);
            var sent = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
            var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
            publisher.Acknowledged += id => { if (sent.TryRemove(id, out var t0)) latencies.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds); };
            const double fs = 500;
            var present = new[] { false, true, false, false, false, false, false, false };
            // Every message stamped with the time the bench started: it measures delivery, not time stamps.
            var stamp = new SampleClock(DateTimeOffset.UtcNow, fs, WallScale: 0);
            var mqtt = new MqttEventSink(publisher, "bench", stamp, NullLogger<MqttEventSink>.Instance);
            var store = new List<double>();
            long blockStart = 0;
            var sink = new TimingSink(mqtt, id => sent[id] = blockStart, store);
            var engine = new EventEngine(new EventOptions(), "bench", fs, present, stamp, null, sink);
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

    private static void Print(BenchReport r)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine($"machine: {r.Machine}");
        Console.WriteLine(string.Create(inv, $"record {r.Records}: {r.SignalSecondsPerRun} s of signal per run, {r.Repeats} timed runs (median [min, max])"));
        Console.WriteLine(string.Create(inv, $"full pipeline, 1 thread          : {r.RealtimeFactor1Thread,12:F0}x real time  [{r.Spread["realtime_factor_1thread"][0]:F0}, {r.Spread["realtime_factor_1thread"][1]:F0}]"));
        Console.WriteLine(string.Create(inv, $"full pipeline, default threads   : {r.RealtimeFactor,12:F0}x real time  [{r.Spread["realtime_factor"][0]:F0}, {r.Spread["realtime_factor"][1]:F0}]  ({r.RealtimeFactorThreading})"));
        Console.WriteLine(string.Create(inv, $"pipeline without model, 1 thread : {r.RealtimeFactorNoModel1Thread,12:F0}x real time  [{r.Spread["realtime_factor_no_model_1thread"][0]:F0}, {r.Spread["realtime_factor_no_model_1thread"][1]:F0}]"));
        foreach (var (k, v) in r.StageUsPerSignalSecond)
            Console.WriteLine(string.Create(inv, $"stage {k,-16}           : {v,12:F1} µs per signal-second ({r.Channels} channels)"));
        Console.WriteLine(string.Create(inv, $"QRS detector alone, 1 lead       : {r.QrsRealtimePerLead,12:F0}x real time  [{r.Spread["qrs_realtime_per_lead"][0]:F0}, {r.Spread["qrs_realtime_per_lead"][1]:F0}]"));
        Console.WriteLine(string.Create(inv, $"ADS1298 frame decode             : {r.Ads1298DecodeFramesPerS,12:F0} frames/s  [{r.Spread["ads1298_decode_frames_per_s"][0]:F0}, {r.Spread["ads1298_decode_frames_per_s"][1]:F0}]"));
        Console.WriteLine(string.Create(inv, $"allocated after warm-up          : {r.AllocBytesPerSignalSecond,12:F3} bytes per signal-second  (blocks emitting a message apart: {r.AllocBytesPerEmittedMessage:F0} bytes per message, {r.MessagesEmitted} messages per run)"));
        Console.WriteLine(string.Create(inv, $"ecgedge run: peak working set    : {r.PeakWorkingSetMb,12:F1} MB  (this bench process: {r.BenchPeakWorkingSetMb:F1} MB)"));
        Console.WriteLine(string.Create(inv, $"ecgedge run: start-up to 1st sample: {r.StartupS,10:F3} s"));
        if (r.Worker is { } w)
            Console.WriteLine(string.Create(inv, $"  ({w.Command}; {w.Runs} runs: start-up [{w.StartupSpread[0]:F3}, {w.StartupSpread[1]:F3}] s, peak [{w.PeakWorkingSetSpread[0]:F1}, {w.PeakWorkingSetSpread[1]:F1}] MB, wall {w.WallMedianS:F2} s)"));
        if (r.AlertLatency is { } al)
            Console.WriteLine(string.Create(inv, $"alert latency (last sample → PUBACK): {al.MedianMs,8:F2} ms median, p90 {al.P90Ms:F2}, max {al.MaxMs:F2} over {al.Alerts} alerts ({al.Broker}); outbox store+fsync {al.MedianStoreMs:F2} ms median"));
        if (r.Inference is not { } m) return;
        Console.WriteLine($"model {m.Model} on {m.Provider}, {m.Windows} windows per run:");
        foreach (var (k, v) in m.LatencyMs)
            Console.WriteLine(string.Create(inv, $"  latency per window, {k,-5}      : {v.Mean,12:F2} ms mean  (p50 {v.P50:F2}, p99 {v.P99:F2}, max {v.Max:F2})"));
        Console.WriteLine(string.Create(inv, $"  int8 / fp32 latency            : {m.Int8VsFp32LatencyRatio,12:F2}"));
        Console.WriteLine(string.Create(inv, $"  allocated per window (steady)  : {m.AllocBytesPerWindow,12:F3} bytes"));
        Console.WriteLine(string.Create(inv, $"  pipeline waited for the model  : {m.InferenceWaits,12} times (dedicated thread, file replay)"));
    }

    internal static double Median(IEnumerable<double> x)
    {
        var s = x.Order().ToArray();
        return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }

    internal static double[] MinMax(IEnumerable<double> x, int digits = 1) => x.Any() ? [Math.Round(x.Min(), digits), Math.Round(x.Max(), digits)] : [double.NaN, double.NaN];
}
