using System.Text.Json.Nodes;
using EcgEdge.Inference;
using EcgEdge.Inference.Execution;
using EcgEdge.Inference.Model;

namespace EcgEdge.Tests.Inference;

/// <summary>The loader runs only a model that matches its manifest and the device; everything else is refused with a typed reason.</summary>
public class ModelLoaderTests
{
    private static readonly InferenceOptions Cpu = new() { Provider = ExecutionProviderKind.Cpu };

    private static ModelLoadFailure Refusal(string path, InferenceOptions? options = null) =>
        Assert.Throws<ModelLoadException>(() => ModelLoader.Load(path, options ?? Cpu).Dispose()).Failure;

    [Theory]
    [InlineData(ModelVariant.Int8, "ecg-nat-int8.onnx")]
    [InlineData(ModelVariant.Fp32, "ecg-nat-fp32.onnx")]
    public void The_shipped_models_load_with_the_manifest_contract(ModelVariant variant, string file)
    {
        using var m = ModelLoader.Load(Path.Combine(ModelFiles.Shipped, "ecg-nat.manifest.json"), new InferenceOptions { Variant = variant });
        Assert.Equal(file, Path.GetFileName(m.ModelPath));
        Assert.Equal(ExecutionProviderKind.Cpu, m.Selection.Provider); // auto on a CPU-only build
        var c = m.Contract;
        Assert.Equal(("ecg", "lead_mask", "beat_logits", "rhythm_logits"), (c.SignalInput, c.MaskInput, c.BeatOutput, c.RhythmOutput));
        Assert.Equal((2500, 1250, 250.0, 8, 312), (c.WindowSamples, c.HopSamples, c.SampleRateHz, c.TokenStride, c.FineTokens));
        Assert.Equal([BeatClass.N, BeatClass.S, BeatClass.V, BeatClass.F, BeatClass.Q], c.BeatClasses);
        Assert.Equal([RhythmClass.SinusOther, RhythmClass.AfAfl, RhythmClass.Noise, RhythmClass.VtVf], c.RhythmClasses);
        Assert.Equal("beat_rr", c.RrInput);
        // 0.2.0: RR and shape channels (its feature head reads the shape ones)
        Assert.NotNull(c.Rr?.Shape);
        Assert.Equal(new RrFeatureSettings(32, -1, 3, -0.6, 1.2, 0.8), c.Rr with { Shape = null });
        Assert.True(m.HasRrInput);
        Assert.Equal(312 * 7, m.BeatRr.Length);
        Assert.Equal((32, 0.7), (m.Manifest.BeatFeatureHead!.Hidden, m.Manifest.BeatFeatureHead.Weight));
    }

    [Fact]
    public void An_onnx_path_finds_the_manifest_beside_it()
    {
        using var m = ModelLoader.Load(Path.Combine(ModelFiles.Shipped, "ecg-nat-fp32.onnx"), Cpu);
        Assert.EndsWith("ecg-nat-fp32.onnx", m.ModelPath);
        var bytes = File.ReadAllBytes(Path.Combine(ModelFiles.Shipped, "ecg-nat-fp32.onnx"));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), m.Sha256);
    }

    [Fact]
    public void A_tampered_model_is_refused_by_its_sha256()
    {
        using var f = new ModelFiles();
        var bytes = File.ReadAllBytes(f.Int8);
        bytes[bytes.Length / 2] ^= 0x01; // one bit, same size
        f.ReplaceInt8(bytes, updateManifest: false);
        Assert.Equal(ModelLoadFailure.HashMismatch, Refusal(f.Manifest));
    }

    [Fact]
    public void A_truncated_model_is_refused_by_its_size()
    {
        using var f = new ModelFiles();
        var bytes = File.ReadAllBytes(f.Int8);
        f.ReplaceInt8(bytes[..(bytes.Length - 1000)], updateManifest: false);
        Assert.Equal(ModelLoadFailure.SizeMismatch, Refusal(f.Manifest));
    }

    [Fact]
    public void A_corrupted_model_whose_manifest_was_updated_to_match_is_refused_by_onnx_runtime()
    {
        using var f = new ModelFiles();
        var bytes = File.ReadAllBytes(f.Int8);
        f.ReplaceInt8(bytes[..(bytes.Length / 3)], updateManifest: true);
        Assert.Equal(ModelLoadFailure.ModelInvalid, Refusal(f.Manifest));
    }

    [Fact]
    public void A_missing_model_file_or_manifest_is_refused()
    {
        using var f = new ModelFiles();
        File.Delete(f.Int8);
        Assert.Equal(ModelLoadFailure.ModelMissing, Refusal(f.Manifest));
        Assert.Equal(ModelLoadFailure.ManifestMissing, Refusal(Path.Combine(f.Dir, "nope.manifest.json")));
        // An .onnx file with no manifest listing it is never run.
        File.Copy(Path.Combine(f.Dir, "ecg-nat-fp32.onnx"), Path.Combine(f.Dir, "other.onnx"));
        Assert.Equal(ModelLoadFailure.ManifestMissing, Refusal(Path.Combine(f.Dir, "other.onnx")));
    }

    [Fact]
    public void A_manifest_that_is_not_json_is_refused()
    {
        using var f = new ModelFiles();
        f.WriteManifest("{ \"name\": \"ecg-nat\", "); // signed: the parser's refusal, not the signature's
        Assert.Equal(ModelLoadFailure.ManifestInvalid, Refusal(f.Manifest));
    }

    public static TheoryData<string, string> ManifestEdits => new()
    {
        { "channel order of another device", """{"channel_order": ["I","II","III","aVR","aVL","aVF","V1","V2"]}""" },
        { "unknown beat class", """{"beat_classes": ["N","S","V","F","X"]}""" },
        { "rhythm classes without AF", """{"rhythm_classes": ["sinus_other","noise","vt_vf","noise"]}""" },
        { "hop longer than the window", """{"hop_samples": 3000}""" },
        { "token grid not fitting the window", """{"token_stride": 16}""" },
        { "RR input without its definition", """{"rr_features": null}""" },
        { "RR history out of range", """{"rr_features": {"history_intervals": 0, "clip": [-1, 3], "median_clip": [-0.6, 1.2], "median_centre_s": 0.8}}""" },
        { "RR clip that is not an interval", """{"rr_features": {"history_intervals": 32, "clip": [3], "median_clip": [-0.6, 1.2], "median_centre_s": 0.8}}""" },
        { "feature head weight above 1", """{"beat_feature_head": {"hidden": 32, "weight": 1.5}}""" },
        { "feature head without width", """{"beat_feature_head": {"hidden": 0, "weight": 0.7}}""" },
    };

    [Fact]
    public void A_feature_head_without_the_shape_channels_is_refused()
    {
        // the head reads beat_rr channels 4..6: an RR-only beat input would feed it zeros
        using var f = new ModelFiles();
        f.EditManifest(m =>
        {
            m["rr_features"]!.AsObject().Remove("shape");
            m["inputs"]![2]!["shape"]![2] = 4;
            m["beat_feature_head"] = JsonNode.Parse("""{"hidden": 32, "weight": 0.7}""");
        });
        var e = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(f.Manifest, Cpu).Dispose());
        Assert.Equal(ModelLoadFailure.ContractMismatch, e.Failure);
        Assert.Contains("beat_feature_head needs the RR and shape beat input", e.Message);
    }

    [Fact]
    public void The_s_gate_entry_of_a_manifest_is_read()
    {
        // tools/train --s-gate (an experiment, not shipped) writes it; the shipped 0.2.0 has none
        using (var shipped = ModelLoader.Load(Path.Combine(ModelFiles.Shipped, "ecg-nat.manifest.json"), Cpu))
            Assert.Null(shipped.Manifest.SGate);
        using var f = new ModelFiles();
        f.EditManifest(m => m["s_gate"] = JsonNode.Parse("""{"inputs": "window RR statistics", "definition": "no S where AF"}"""));
        using var gated = ModelLoader.Load(f.Manifest, Cpu);
        Assert.Equal(("window RR statistics", "no S where AF"), (gated.Manifest.SGate?.Inputs, gated.Manifest.SGate?.Definition));
    }

    [Theory]
    [MemberData(nameof(ManifestEdits))]
    public void A_manifest_that_does_not_fit_the_device_is_refused(string why, string patch)
    {
        using var f = new ModelFiles();
        var edits = JsonNode.Parse(patch)!.AsObject();
        f.EditManifest(m => { foreach (var (k, v) in edits) m[k] = v?.DeepClone(); });
        var e = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(f.Manifest, Cpu).Dispose());
        Assert.True(e.Failure == ModelLoadFailure.ContractMismatch, $"{why}: {e.Failure} {e.Message}");
    }

    [Fact]
    public void A_manifest_whose_beat_input_kind_differs_from_the_graph_is_refused()
    {
        // RR-only graph with a shape entry, or a shape graph without one: the channel count no longer matches
        using var f = new ModelFiles();
        f.EditManifest(m =>
        {
            var rr = m["rr_features"]!.AsObject();
            if (rr.ContainsKey("shape")) rr.Remove("shape");
            else
                rr["shape"] = JsonNode.Parse("""
                    {"lead": "II", "before_samples": 25, "after_samples": 38, "history_beats": 16, "min_history": 3,
                     "max_shift": 3, "clip": [[0, 2], [0, 3], [-1.5, 1.5]]}
                    """);
        });
        var e = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(f.Manifest, Cpu).Dispose());
        Assert.Equal(ModelLoadFailure.ContractMismatch, e.Failure);
        Assert.Contains("beat_rr", e.Message);
    }

    [Fact]
    public void A_manifest_naming_other_tensors_or_shapes_than_the_graph_is_refused()
    {
        using var f = new ModelFiles();
        f.EditManifest(m => m["inputs"]![0]!["name"] = "signal");
        var e = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(f.Manifest, Cpu).Dispose());
        Assert.Equal(ModelLoadFailure.ContractMismatch, e.Failure);
        Assert.Contains("signal", e.Message);

        using var g = new ModelFiles();
        // A 20-s window in the manifest for a graph built for 10 s.
        g.EditManifest(m =>
        {
            m["window_samples"] = 5000;
            m["hop_samples"] = 2500;
            m["inputs"]![0]!["shape"]![2] = 5000;
        });
        e = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(g.Manifest, Cpu).Dispose());
        Assert.Equal(ModelLoadFailure.ContractMismatch, e.Failure);
        Assert.Contains("2500", e.Message);
    }

    [Theory]
    [InlineData(ModelVariant.Int8)]
    [InlineData(ModelVariant.Fp32)]
    public void The_shipped_models_pass_their_self_check_on_the_reference_windows(ModelVariant variant)
    {
        using var m = ModelLoader.Load(Path.Combine(ModelFiles.Shipped, "ecg-nat.manifest.json"), new InferenceOptions { Variant = variant });
        var check = Assert.IsType<SelfCheckResult>(m.SelfCheck);
        Assert.True(check.Passed, check.ToString());
        Assert.Equal(16, check.Windows);
        Assert.True(check.MaxAbsDifference <= (variant == ModelVariant.Int8 ? 0.25 : 1e-3), check.ToString());
    }

    [Fact]
    public void A_model_that_does_not_reproduce_its_reference_outputs_is_refused()
    {
        using var f = new ModelFiles(withReference: true);
        // The model file and manifest are intact, but the reference outputs shipped with it do not match what it
        // computes (swap the first two rhythm logits of every window and add 3): the model is not the one they belong to.
        var path = Path.Combine(f.Dir, "reference", "rhythm_logits_int8.bin");
        var bytes = File.ReadAllBytes(path);
        var x = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, x, 0, bytes.Length);
        for (var i = 0; i < x.Length; i += 4) (x[i], x[i + 1]) = (x[i + 1] + 3, x[i]);
        Buffer.BlockCopy(x, 0, bytes, 0, bytes.Length);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(f.Manifest, new InferenceOptions()).Dispose());
        Assert.Equal(ModelLoadFailure.SelfCheckFailed, e.Failure);
        Assert.Contains("self-check", e.Message);
        // The check can be switched off (e.g. for a model shipped without reference windows).
        using var unchecked_ = ModelLoader.Load(f.Manifest, new InferenceOptions { SelfCheck = false });
        Assert.Null(unchecked_.SelfCheck);
    }
}
