using System.ComponentModel.DataAnnotations;

namespace EcgEdge.Inference.Execution;

/// <summary>Which ONNX Runtime execution provider runs the model.</summary>
public enum ExecutionProviderKind
{
    /// <summary>TensorRT, then CUDA, then CPU: the first that this ONNX Runtime build offers and that initialises.</summary>
    Auto,

    /// <summary>The CPU provider (always available).</summary>
    Cpu,

    /// <summary>CUDA only; fails when the build or the device lacks it.</summary>
    Cuda,

    /// <summary>TensorRT only (with CUDA for unsupported nodes); fails when unavailable.</summary>
    TensorRt,
}

/// <summary>Which of the manifest's model files to run.</summary>
public enum ModelVariant
{
    /// <summary>The quantised (QDQ int8) model: the device default.</summary>
    Int8,

    /// <summary>The float model (reference, and for GPUs where int8 QDQ is slower).</summary>
    Fp32,
}

/// <summary>On-device inference settings (section "Inference"); defaults in one place.</summary>
public sealed class InferenceOptions : IValidatableObject
{
    public const string SectionName = "Inference";

    /// <summary>Run the model. Off: beats get no class and no rhythm is reported (QRS and heart rate still work).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Model manifest (JSON), or an .onnx file with a manifest beside it. Relative paths: working dir, then the executable's folder.</summary>
    [Required]
    public string Model { get; set; } = "models/ecg-nat.manifest.json";

    /// <summary>Model file to run when <see cref="Model"/> names a manifest.</summary>
    public ModelVariant Variant { get; set; } = ModelVariant.Int8;

    /// <summary>Execution provider.</summary>
    public ExecutionProviderKind Provider { get; set; } = ExecutionProviderKind.Auto;

    /// <summary>GPU device id for CUDA/TensorRT.</summary>
    [Range(0, 64)]
    public int DeviceId { get; set; }

    /// <summary>TensorRT: allow fp16 kernels.</summary>
    public bool TensorRtFp16 { get; set; } = true;

    /// <summary>TensorRT: allow int8 kernels (uses the QDQ scales of the int8 model).</summary>
    public bool TensorRtInt8 { get; set; } = true;

    /// <summary>TensorRT engine cache folder (building an engine takes minutes on a Jetson; cache it). Empty: no cache.</summary>
    public string EngineCacheDirectory { get; set; } = "";

    /// <summary>ONNX Runtime native library to load (empty: the one beside the executable). For a Jetson's CUDA/TensorRT build.</summary>
    public string NativeLibraryPath { get; set; } = "";

    /// <summary>Threads of one inference on the CPU provider (1 leaves the other cores to acquisition and transport).</summary>
    [Range(1, 64)]
    public int IntraOpThreads { get; set; } = 1;

    /// <summary>Poll the model files this often (seconds) and swap in a new, validated model without a restart; 0 = off.</summary>
    [Range(0.0, 3600.0)]
    public double WatchSeconds { get; set; } = 10;

    /// <summary>
    /// Refuse a model whose manifest is not signed by one of <see cref="TrustedKeys"/> (at start and on a hot swap). Off: a
    /// missing or failed signature is logged as an error and the model runs anyway, its label marked "signature not
    /// verified" — for development only.
    /// </summary>
    public bool RequireSignedModel { get; set; } = true;

    /// <summary>The repository's published test key (models/keys/README.md), trusted by default so the demo runs.</summary>
    public const string PublishedTestKey = "models/keys/test-signing-key.pub.pem";

    /// <summary>
    /// Public keys (P-256, PEM SubjectPublicKeyInfo) trusted to sign model manifests: each entry is the path of a PEM file
    /// (relative: working dir, then the executable's folder) or the PEM text. Configured entries replace the default, which
    /// is the published test key: a production device lists its own key(s) here, and so no longer trusts the test key.
    /// </summary>
    public List<string> TrustedKeys { get; set; } = [PublishedTestKey];

    /// <summary>Run the model on the reference windows shipped with it before use, and refuse it when it does not reproduce them.</summary>
    public bool SelfCheck { get; set; } = true;

    /// <summary>Inferences run at start on a zero window, so the first real window is not slowed by lazy initialisation.</summary>
    [Range(0, 100)]
    public int WarmupRuns { get; set; } = 2;

    /// <summary>Rhythm decision = argmax of the mean class probabilities of this many consecutive windows (odd; 1 = none).</summary>
    [Range(1, 15)]
    public int RhythmSmoothingWindows { get; set; } = 3;

    /// <summary>
    /// Beat classes from the supraventricular rule (V from the network; S from prematurity against the patient's own
    /// normal-to-normal rhythm, with runs; <c>Rhythm.SupraventricularRule</c>, docs/inference.md) instead of the network's
    /// argmax. false: the network's classes, as until 2026-12-07.
    /// </summary>
    public bool SupraventricularRule { get; set; } = true;

    /// <summary>
    /// An experiment, off by default: with the supraventricular rule, a beat the network calls V is judged as N when it
    /// joined the patient's dominant beat cluster with a QRS no wider than 1.2× the dominant beat's, comes ≥ 0.6 s after
    /// the beat before and does not follow a V (<c>Rhythm.SupraventricularRule.DominantBeatVeto</c>). Out of fold it raised
    /// VEB F1 a little on every source but cost a true VT alarm (docs/experiments/beats/README.md, "The dominant-beat
    /// veto"), so it does not ship.
    /// </summary>
    public bool DominantBeatVeto { get; set; }

    /// <summary>
    /// Where the model runs: <see cref="InferenceThreading.Dedicated"/> (default; its own thread behind a bounded queue,
    /// so a model run never delays acquisition) or <see cref="InferenceThreading.Inline"/> (on the pipeline's thread).
    /// </summary>
    public InferenceThreading Threading { get; set; } = InferenceThreading.Dedicated;

    /// <summary>
    /// Diagnostics: when set, ONNX Runtime writes a per-operator timing profile (JSON, file name starting with this
    /// prefix) when the model is disposed. For benchmarking only; off by default.
    /// </summary>
    public string? ProfilePrefix { get; set; }

    /// <summary>A copy of these options running the other model file.</summary>
    public InferenceOptions WithVariant(ModelVariant variant)
    {
        var copy = (InferenceOptions)MemberwiseClone();
        copy.Variant = variant;
        return copy;
    }

    /// <summary>
    /// The cross-field rules, beyond the DataAnnotations: the source-generated validator (<c>InferenceOptionsValidator</c>
    /// in EcgEdge.Pipeline) runs them with the attributes, so one validator says everything that is wrong.
    /// </summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(Model)) yield return new ValidationResult("Inference:Model must name a model manifest or .onnx file.");
        else if (Model.Contains('\0')) yield return new ValidationResult("Inference:Model must not contain a NUL character.");
        if (RhythmSmoothingWindows % 2 == 0) yield return new ValidationResult($"Inference:RhythmSmoothingWindows {RhythmSmoothingWindows} must be odd (the decision is centred).");
        if (RequireSignedModel && (TrustedKeys is null || TrustedKeys.Count == 0))
            yield return new ValidationResult("Inference:TrustedKeys is empty while Inference:RequireSignedModel is on: no model could be loaded; list the public key(s) that sign your models.");
        else
            foreach (var problem in global::EcgEdge.Inference.Model.ModelTrust.Problems(TrustedKeys)) yield return new ValidationResult(problem);
    }
}

/// <summary>The requested execution provider cannot be used (strict modes) — the worker must not start half-configured.</summary>
public sealed class ExecutionProviderUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
