using System.Buffers;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
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

namespace EcgEdge.Benchmarks;

/// <summary>Real signal for the benchmarks: MIT-BIH 201 (bundled), 2 leads copied into 8 channels at 500 Hz, 50-frame blocks.</summary>
internal static class Signal
{
    public const int BlockFrames = 50;
    public const double Rate = 500;

    public static string RepoRoot
    {
        get
        {
            // BenchmarkDotNet runs a generated copy of this program below bin/: walk up to the repository.
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "EcgEdge.sln"))) return d.FullName;
            throw new DirectoryNotFoundException("EcgEdge.sln not found above " + AppContext.BaseDirectory);
        }
    }

    public static string Record => Path.Combine(RepoRoot, "src", "EcgEdge", "Resources", "mitdb", "201");
    public static string Manifest => Path.Combine(RepoRoot, "models", "ecg-nat.manifest.json");

    /// <summary>The key that signs the shipped manifest, by absolute path: the default (relative to the working directory or
    /// the executable) is not found from BenchmarkDotNet's generated copy.</summary>
    public static List<string> TrustedKeys => [Path.Combine(RepoRoot, "models", "keys", "test-signing-key.pub.pem")];

    /// <summary>The first <paramref name="seconds"/> of the record as raw 8-channel blocks, and the source description.</summary>
    public static (List<SampleBlock> Blocks, SourceInfo Info) Raw(double seconds)
    {
        var src = new AllChannelsSource(new ReplaySource(new ReplayOptions { Record = Record }, Rate));
        var blocks = new List<SampleBlock>();
        while (blocks.Count * BlockFrames < seconds * Rate)
        {
            var b = new SampleBlock(BlockFrames);
            if (!src.ReadAsync(b, CancellationToken.None).AsTask().GetAwaiter().GetResult()) break;
            blocks.Add(b);
        }
        var info = src.Info;
        src.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return (blocks, info);
    }

    /// <summary>The same blocks conditioned (as the pipeline hands them to detection, the model and events).</summary>
    public static (List<SampleBlock> Blocks, SourceInfo Info) Conditioned(double seconds)
    {
        var (blocks, info) = Raw(seconds);
        var cond = new SignalConditioner(new ConditioningOptions { MainsHz = 60 }, Rate);
        foreach (var b in blocks) cond.Process(b);
        return (blocks, info);
    }
}

/// <summary>Acquisition: decoding one ADS1298 frame (status word + 8 channels of 24-bit codes) to microvolts.</summary>
[MemoryDiagnoser]
public class FrameDecodeBenchmarks
{
    private readonly byte[] _frame = new byte[Ads1298FrameDecoder.FrameLength(8)];
    private readonly double[] _lsb = Enumerable.Repeat(Ads1298FrameDecoder.MicrovoltsPerLsb(2.4, 6), 8).ToArray();
    private readonly float[] _out = new float[8];

    [GlobalSetup]
    public void Setup()
    {
        _frame[0] = 0xC0; // valid status nibble
        var rng = new Random(1);
        for (var i = 3; i < _frame.Length; i++) _frame[i] = (byte)rng.Next(256);
    }

    [Benchmark(Description = "ADS1298 frame decode (8 ch)")]
    public bool Decode() => Ads1298FrameDecoder.TryDecode(_frame, _lsb, _out, out _);
}

/// <summary>Conditioning, signal quality and QRS detection on real 8-channel blocks (one operation = one 50-frame block = 0.1 s).</summary>
[MemoryDiagnoser]
public class SignalChainBenchmarks
{
    private List<SampleBlock> _raw = null!, _conditioned = null!;
    private SampleBlock _work = null!;
    private SignalConditioner _conditioner = null!;
    private QualityMonitor _quality = null!;
    private QrsDetector _detector = null!;
    private WindowAssembler _assembler = null!;
    private int _i;
    private long _index;

    [GlobalSetup]
    public void Setup()
    {
        (_raw, var info) = Signal.Raw(300);
        (_conditioned, _) = Signal.Conditioned(300);
        _work = new SampleBlock(Signal.BlockFrames);
        var options = new ConditioningOptions { MainsHz = 60 };
        _conditioner = new SignalConditioner(options, Signal.Rate);
        _quality = new QualityMonitor(options.Quality, info);
        var delay = SosResponse.GroupDelaySamples(_conditioner.Sections, 12, Signal.Rate);
        _detector = new QrsDetector(new QrsDetectorOptions(), Signal.Rate, delay, info.Present);
        _assembler = new WindowAssembler(Signal.Rate, 250, 2500, 1250, 250, 0.001f, info.Present);
    }

    /// <summary>The next block of the 5-minute loop, with a continuous sample index.</summary>
    private SampleBlock Next(List<SampleBlock> source)
    {
        _work.CopyFrom(source[_i]);
        _i = (_i + 1) % source.Count;
        _work.StartIndex = _index;
        _work.GapBefore = 0;
        _index += _work.Count;
        return _work;
    }

    [Benchmark(Description = "copy of a block (baseline of the others)", Baseline = true)]
    public SampleBlock CopyOnly() => Next(_raw);

    [Benchmark(Description = "conditioning (HP + notch + LP, 8 ch)")]
    public void Conditioning() => _conditioner.Process(Next(_raw));

    [Benchmark(Description = "signal quality (raw + conditioned, 8 ch)")]
    public void Quality()
    {
        var b = Next(_conditioned);
        _quality.ObserveRaw(b);
        _quality.ObserveConditioned(b);
    }

    [Benchmark(Description = "QRS detector (8 ch)")]
    public int Qrs() => _detector.Process(Next(_conditioned)).Length;

    [Benchmark(Description = "window assembly (decimate to 250 Hz, 10-s windows every 5 s)")]
    public bool WindowAssembly() => _assembler.Push(Next(_conditioned));
}

/// <summary>One ECG-NAT inference on a real reference window (IoBinding, preallocated; 1 intra-op thread).</summary>
[MemoryDiagnoser]
public class InferenceBenchmarks
{
    private EcgNatModel _model = null!;

    [Params(ModelVariant.Int8, ModelVariant.Fp32)]
    public ModelVariant Variant { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _model = ModelLoader.Load(Signal.Manifest, new InferenceOptions { Model = Signal.Manifest, Variant = Variant, TrustedKeys = Signal.TrustedKeys });
        var reference = Path.Combine(Signal.RepoRoot, "models", "reference");
        // Warm-up first: it runs on a zero window and would overwrite the inputs.
        _model.Warmup(2);
        var ecg = File.ReadAllBytes(Path.Combine(reference, "ecg.bin"));
        var mask = File.ReadAllBytes(Path.Combine(reference, "lead_mask.bin"));
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(ecg).Slice(0, _model.Signal.Length).CopyTo(_model.Signal);
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(mask).Slice(0, _model.LeadMask.Length).CopyTo(_model.LeadMask);
        if (_model.HasRrInput)
        {
            var rr = File.ReadAllBytes(Path.Combine(reference, "beat_rr.bin"));
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(rr).Slice(0, _model.BeatRr.Length).CopyTo(_model.BeatRr);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _model.Dispose();

    [Benchmark(Description = "ECG-NAT, one 10-s window")]
    public double Run() => _model.Run();
}

/// <summary>The event stage: vitals + event engine over 10 s of real signal with its detected beats (one operation).</summary>
[MemoryDiagnoser]
public class EventBenchmarks
{
    private List<SampleBlock> _blocks = null!;
    private List<DetectedBeat>[] _beatsPerBlock = null!;
    private EventEngine _engine = null!;
    private VitalsAggregator _vitals = null!;
    private long _index;
    private int _i;

    private sealed class Sink : IAlertSink, IEventSink
    {
        public void Publish(Alert alert) { }
        public void Publish(EctopyTrend trend) { }
        public void Publish(Vitals vitals) { }
        public void Publish(QualityChange change) { }
    }

    [GlobalSetup]
    public void Setup()
    {
        (_blocks, var info) = Signal.Conditioned(300);
        var det = new QrsDetector(new QrsDetectorOptions(), Signal.Rate, 6, info.Present);
        _beatsPerBlock = new List<DetectedBeat>[_blocks.Count];
        for (var i = 0; i < _blocks.Count; i++)
        {
            _beatsPerBlock[i] = [.. det.Process(_blocks[i])];
        }
        var sink = new Sink();
        _vitals = new VitalsAggregator(Signal.Rate, 10, sink);
        _engine = new EventEngine(new EventOptions(), "bench", Signal.Rate, info.Present, new SampleClock(DateTimeOffset.UnixEpoch, Signal.Rate), null, sink);
    }

    [Benchmark(Description = "vitals + event engine, 10 s of signal (100 blocks, ~12 beats)")]
    public void TenSeconds()
    {
        for (var k = 0; k < 100; k++)
        {
            var b = _blocks[_i];
            var shift = _index - b.StartIndex;
            foreach (var beat in _beatsPerBlock[_i])
            {
                var shifted = beat with { SampleIndex = beat.SampleIndex + shift };
                _vitals.OnBeat(shifted);
                _engine.OnBeat(shifted);
            }
            var start = b.StartIndex;
            b.StartIndex = _index;
            _vitals.Advance(_index + b.Count);
            _engine.OnBlock(b);
            b.StartIndex = start;
            _index += b.Count;
            _i = (_i + 1) % _blocks.Count;
        }
    }
}

/// <summary>Message serialisation as the MQTT sink does it (UTF-8 JSON, source-generated), for a real AF alert of record 201.</summary>
[MemoryDiagnoser]
public class SerialisationBenchmarks
{
    private Alert _alert = null!;
    private VitalsMessage _vitals = null!;
    private readonly ArrayBufferWriter<byte> _buffer = new(256 * 1024);
    private Utf8JsonWriter _writer = null!;

    private sealed class FirstAlert : IAlertSink
    {
        public Alert? Alert;
        public void Publish(Alert alert) => Alert ??= alert.Strip is null ? null : alert;
        public void Publish(EctopyTrend trend) { }
    }

    private sealed class Forward(EventEngine e) : EcgEdge.Pipeline.IPipelineObserver
    {
        public void OnBeat(in DetectedBeat beat) => e.OnBeat(beat);
        public void OnBlockProcessed(SampleBlock b) => e.OnBlock(b);
    }

    [GlobalSetup]
    public void Setup()
    {
        // A real alert with its 10-s strip: record 201 with the model until the first alert that carries a strip.
        var src = new ReplaySource(new ReplayOptions { Record = Signal.Record }, Signal.Rate);
        using var model = ModelLoader.Load(Signal.Manifest, new InferenceOptions { Model = Signal.Manifest, TrustedKeys = Signal.TrustedKeys });
        var p = new EcgEdge.Pipeline.EcgPipeline(src.Info, new ConditioningOptions { MainsHz = 60 }, new QrsDetectorOptions(), Signal.BlockFrames);
        var sink = new FirstAlert();
        var engine = new EventEngine(new EventOptions(), "bench", Signal.Rate, src.Info.Present, new SampleClock(DateTimeOffset.UnixEpoch, Signal.Rate), model.VersionLabel, sink);
        p.AttachInference(model, 3, engine);
        var block = new SampleBlock(Signal.BlockFrames);
        var observer = new Forward(engine);
        while (sink.Alert is null && src.ReadAsync(block, CancellationToken.None).AsTask().GetAwaiter().GetResult()) p.ProcessBlock(block, observer);
        _alert = sink.Alert ?? throw new InvalidOperationException("record 201 produced no alert with a strip");
        src.DisposeAsync().AsTask().GetAwaiter().GetResult();
        var quality = Enumerable.Repeat(SignalQuality.Good, Leads.Count).ToArray();
        _vitals = MqttEventSink.VitalsMessageOf(new Vitals(5000, 10, 72, 12, quality, 1, 0, "sinus_other"), "bench", DateTimeOffset.UnixEpoch);
        _writer = new Utf8JsonWriter(_buffer);
    }

    [Benchmark(Description = "alert with 10-s strip -> byte[] (as published)")]
    public byte[] AlertToBytes() => JsonSerializer.SerializeToUtf8Bytes(_alert, MessageJsonContext.Default.Alert);

    [Benchmark(Description = "alert with 10-s strip -> reused buffer")]
    public int AlertToBuffer()
    {
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        JsonSerializer.Serialize(_writer, _alert, MessageJsonContext.Default.Alert);
        _writer.Flush();
        return _buffer.WrittenCount;
    }

    [Benchmark(Description = "vitals -> byte[] (as published)")]
    public byte[] VitalsToBytes() => JsonSerializer.SerializeToUtf8Bytes(_vitals, MessageJsonContext.Default.VitalsMessage);
}
