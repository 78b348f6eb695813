using System.Text.Json;

namespace EcgEdge.Inference.Model;

/// <summary>Outcome of running a model on the reference windows shipped with it.</summary>
public sealed record SelfCheckResult(int Windows, double MaxAbsDifference, double BeatAgreement, double RhythmAgreement, double Tolerance, bool Passed)
{
    public override string ToString() =>
        $"{Windows} reference windows: max |Δ| {MaxAbsDifference:F4} (≤ {Tolerance:0.####}), argmax agreement beats {BeatAgreement:P2}, rhythm {RhythmAgreement:P2}: {(Passed ? "passed" : "FAILED")}";
}

/// <summary>
/// The model's self-check: the manifest names reference windows (real conditioned ECG) with the outputs the training
/// pipeline computed for each model file (PyTorch for fp32, the int8 graph simulated in numpy for int8). The loaded model
/// must reproduce them: fp32 within the reference's absolute tolerance; int8 with ≥ 99 % argmax agreement and |Δ| at
/// most the quantisation error of those windows (<c>tolerance_int8_runtime_abs</c> = max |int8 − fp32|, written by the
/// pipeline since model 0.1.2; <see cref="Int8Tolerance"/> for older reference files): ONNX Runtime's integer kernels
/// round differently from the simulation (ECG-NAT 0.1.2: 0.129 measured against a quantisation error of 0.258; the
/// beat-context experiment's model: 0.245 against 0.448; 0.1.1: 0.14 against 0.29). Catches a model that loads but
/// computes something else (wrong build, broken kernels, a swapped file whose manifest was regenerated without its
/// reference outputs).
/// </summary>
public static class ModelSelfCheck
{
    /// <summary>int8 bound for reference files without <c>tolerance_int8_runtime_abs</c> (models up to 0.1.x).</summary>
    public const double Int8Tolerance = 0.25;

    /// <summary>The int8 |Δ| bound a reference file states (<c>tolerance_int8_runtime_abs</c>), else <see cref="Int8Tolerance"/>.</summary>
    public static double Int8ToleranceOf(JsonElement reference) =>
        reference.TryGetProperty("tolerance_int8_runtime_abs", out var t) && t.ValueKind == JsonValueKind.Number && t.GetDouble() > 0
            ? t.GetDouble()
            : Int8Tolerance;

    /// <summary>Runs the check; null when the manifest names no reference vectors.</summary>
    public static SelfCheckResult? Run(EcgNatModel model, string manifestPath, bool int8)
    {
        if (string.IsNullOrEmpty(model.Manifest.ReferenceVectors)) return null;
        var refPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(manifestPath)) ?? ".", model.Manifest.ReferenceVectors);
        if (!File.Exists(refPath)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(refPath));
            var root = doc.RootElement;
            var dir = Path.GetDirectoryName(refPath) ?? ".";
            var tensors = root.GetProperty("tensors");
            float[] Read(string key) => ReadFloats(Path.Combine(dir, tensors.GetProperty(key).GetProperty("file").GetString()!));
            var suffix = int8 ? "int8" : "fp32";
            var ecg = Read("ecg");
            var mask = Read("lead_mask");
            var rr = model.HasRrInput ? Read("beat_rr") : [];
            var beat = Read("beat_logits_" + suffix);
            var rhythm = Read("rhythm_logits_" + suffix);
            var c = model.Contract;
            int channels = model.LeadMask.Length, perWindow = channels * c.WindowSamples, beatSize = c.FineTokens * c.BeatClasses.Length, rk = c.RhythmClasses.Length;
            var n = mask.Length / channels;
            var rrSize = model.BeatRr.Length;
            if (n == 0 || ecg.Length != n * perWindow || beat.Length != n * beatSize || rhythm.Length != n * rk || rr.Length != n * rrSize)
                throw new ModelLoadException(ModelLoadFailure.SelfCheckFailed, $"reference vectors '{refPath}' do not fit the model's tensors");
            double worst = 0;
            long beatSame = 0, rhythmSame = 0;
            for (var w = 0; w < n; w++)
            {
                ecg.AsSpan(w * perWindow, perWindow).CopyTo(model.Signal);
                mask.AsSpan(w * channels, channels).CopyTo(model.LeadMask);
                rr.AsSpan(w * rrSize, rrSize).CopyTo(model.BeatRr);
                model.Run();
                var b = beat.AsSpan(w * beatSize, beatSize);
                for (var i = 0; i < beatSize; i++) worst = Math.Max(worst, Math.Abs(model.BeatLogits[i] - b[i]));
                for (var t = 0; t < c.FineTokens; t++)
                    if (ArgMax(model.BeatLogits.Slice(t * c.BeatClasses.Length, c.BeatClasses.Length)) == ArgMax(b.Slice(t * c.BeatClasses.Length, c.BeatClasses.Length))) beatSame++;
                var r = rhythm.AsSpan(w * rk, rk);
                for (var i = 0; i < rk; i++) worst = Math.Max(worst, Math.Abs(model.RhythmLogits[i] - r[i]));
                if (ArgMax(model.RhythmLogits) == ArgMax(r)) rhythmSame++;
            }
            model.Latency.Reset();
            var tolerance = int8 ? Int8ToleranceOf(root) : root.GetProperty("tolerance_fp32_abs").GetDouble();
            var minAgree = root.TryGetProperty("int8_min_argmax_agreement", out var ma) ? ma.GetDouble() : 0.99;
            var beatAgree = beatSame / (double)(n * c.FineTokens);
            var rhythmAgree = rhythmSame / (double)n;
            var passed = worst <= tolerance && beatAgree >= minAgree && rhythmAgree >= minAgree;
            return new SelfCheckResult(n, worst, beatAgree, rhythmAgree, tolerance, passed);
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new ModelLoadException(ModelLoadFailure.SelfCheckFailed, $"reference vectors '{refPath}' are unreadable: {e.Message}", e);
        }
    }

    private static float[] ReadFloats(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var f = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, f, 0, f.Length * 4);
        return f;
    }

    private static int ArgMax(ReadOnlySpan<float> x)
    {
        var best = 0;
        for (var i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }
}
