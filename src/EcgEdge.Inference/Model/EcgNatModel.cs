using System.Diagnostics;
using EcgEdge.Inference.Execution;
using Microsoft.ML.OnnxRuntime;

namespace EcgEdge.Inference.Model;

/// <summary>
/// A validated ECG-NAT model in an ONNX Runtime session, with pre-allocated input and output tensors bound once
/// (<see cref="OrtIoBinding"/> over pinned managed arrays): <see cref="Run"/> reads <see cref="Signal"/> and
/// <see cref="LeadMask"/> and writes <see cref="BeatLogits"/> and <see cref="RhythmLogits"/> with no managed
/// allocation. Batch 1. Not thread-safe: one window at a time. Created by <see cref="ModelLoader"/>.
/// </summary>
public sealed class EcgNatModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly SessionOptions _sessionOptions;
    private readonly RunOptions _runOptions = new();
    private readonly float[] _signal, _mask, _rr, _beat, _rhythm;
    private readonly OrtValue[] _values;
    private readonly OrtIoBinding _binding;

    internal EcgNatModel(ModelManifest manifest, string modelPath, string sha256, string manifestSha256, SignatureStatus signature,
        InferenceSession session, SessionOptions sessionOptions, ExecutionSelection selection, ModelContract contract)
    {
        Manifest = manifest;
        ModelPath = modelPath;
        Sha256 = sha256;
        ManifestSha256 = manifestSha256;
        Signature = signature;
        _session = session;
        _sessionOptions = sessionOptions;
        Selection = selection;
        Contract = contract;
        var channels = EcgEdge.Core.Signals.Leads.Count;
        _signal = new float[channels * contract.WindowSamples];
        _mask = new float[channels];
        var rrChannels = contract.Rr?.Channels ?? RrFeatureSettings.RrChannels;
        _rr = contract.RrInput is null ? [] : new float[contract.FineTokens * rrChannels];
        _beat = new float[contract.FineTokens * contract.BeatClasses.Length];
        _rhythm = new float[contract.RhythmClasses.Length];
        _values =
        [
            OrtValue.CreateTensorValueFromMemory(_signal, [1, channels, contract.WindowSamples]),
            OrtValue.CreateTensorValueFromMemory(_mask, [1, channels]),
            OrtValue.CreateTensorValueFromMemory(_beat, [1, contract.FineTokens, contract.BeatClasses.Length]),
            OrtValue.CreateTensorValueFromMemory(_rhythm, [1, contract.RhythmClasses.Length]),
            .. contract.RrInput is null ? Array.Empty<OrtValue>()
                : [OrtValue.CreateTensorValueFromMemory(_rr, [1, contract.FineTokens, rrChannels])],
        ];
        _binding = _session.CreateIoBinding();
        _binding.BindInput(contract.SignalInput, _values[0]);
        _binding.BindInput(contract.MaskInput, _values[1]);
        if (contract.RrInput is not null) _binding.BindInput(contract.RrInput, _values[4]);
        _binding.BindOutput(contract.BeatOutput, _values[2]);
        _binding.BindOutput(contract.RhythmOutput, _values[3]);
    }

    public ModelManifest Manifest { get; }
    public ModelContract Contract { get; }
    public string ModelPath { get; }
    public string Sha256 { get; }

    /// <summary>SHA-256 (hex) of the manifest's bytes: the signed content, which pins both model files and every
    /// device-side parameter (fusion weights, thresholds).</summary>
    public string ManifestSha256 { get; }

    /// <summary>How the manifest was authenticated.</summary>
    public SignatureStatus Signature { get; }

    public ExecutionSelection Selection { get; }

    /// <summary>
    /// Model version for alerts, status, logs and reports: name, version and the first 12 hex digits of the manifest's
    /// sha256, e.g. <c>ecg-nat 0.3.0+sha256:1a2b3c4d5e6f (ecg-nat-int8.onnx)</c>. Two models that differ in any byte
    /// (a model file, a fusion weight) have different labels even when their manifests give the same version. A version that
    /// already has build metadata gets the hash as one more dot-separated part. An unverified model (signatures not
    /// required) says so.
    /// </summary>
    public string VersionLabel => FormatLabel(Manifest.Name, Manifest.Version, ManifestSha256, Path.GetFileName(ModelPath), Signature.Verified);

    /// <summary>The <see cref="VersionLabel"/> format.</summary>
    public static string FormatLabel(string name, string version, string manifestSha256, string file, bool verified) =>
        $"{name} {version}{(version.Contains('+', StringComparison.Ordinal) ? '.' : '+')}sha256:{manifestSha256[..Math.Min(12, manifestSha256.Length)]} " +
        $"({file}{(verified ? "" : ", signature not verified")})";

    /// <summary>Result of the self-check on the reference windows shipped with the model (null: none shipped or not run).</summary>
    public SelfCheckResult? SelfCheck { get; internal set; }

    /// <summary>Latency of every <see cref="Run"/> since the last reset.</summary>
    public LatencyMeter Latency { get; } = new();

    /// <summary>Input [channel * WindowSamples + t], millivolts.</summary>
    public Span<float> Signal => _signal;

    /// <summary>Input lead mask (1 present, 0 absent).</summary>
    public Span<float> LeadMask => _mask;

    /// <summary>True when the model takes the RR-interval input <see cref="BeatRr"/>.</summary>
    public bool HasRrInput => _rr.Length > 0;

    /// <summary>Input RR (and shape) features [token * channels + channel] (empty when the model has no RR input); see
    /// <see cref="RrFeatureBuilder"/>.</summary>
    public Span<float> BeatRr => _rr;

    /// <summary>Output [token * beatClasses + class] of the last run.</summary>
    public ReadOnlySpan<float> BeatLogits => _beat;

    /// <summary>Output rhythm logits of the last run.</summary>
    public ReadOnlySpan<float> RhythmLogits => _rhythm;

    /// <summary>Runs the model on the current inputs; returns the wall time in seconds (also recorded in <see cref="Latency"/>).</summary>
    public double Run()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var t0 = Stopwatch.GetTimestamp();
        _session.RunWithBinding(_runOptions, _binding);
        var t1 = Stopwatch.GetTimestamp();
        Latency.Record(t0, t1);
        return (t1 - t0) / (double)Stopwatch.Frequency;
    }

    /// <summary>Runs <paramref name="runs"/> times on a zero window (lazy initialisation, kernel selection), then resets the meter.</summary>
    public void Warmup(int runs)
    {
        _signal.AsSpan().Clear();
        _mask.AsSpan().Fill(1f);
        _rr.AsSpan().Clear();
        for (var i = 0; i < runs; i++) Run();
        Latency.Reset();
    }

    /// <summary>Softmax of <paramref name="logits"/> into <paramref name="probabilities"/>; returns the argmax.</summary>
    public static int Softmax(ReadOnlySpan<float> logits, Span<float> probabilities)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
        var max = logits[best];
        var sum = 0f;
        for (var i = 0; i < logits.Length; i++) sum += probabilities[i] = MathF.Exp(logits[i] - max);
        for (var i = 0; i < logits.Length; i++) probabilities[i] /= sum;
        return best;
    }

    private bool _disposed;

    /// <summary>Writes ONNX Runtime's operator profile (only when <c>Inference:ProfilePrefix</c> was set); returns its file name.</summary>
    public string EndProfiling()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _session.EndProfiling();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _binding.Dispose();
        foreach (var v in _values) v.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
        _sessionOptions.Dispose();
    }
}
