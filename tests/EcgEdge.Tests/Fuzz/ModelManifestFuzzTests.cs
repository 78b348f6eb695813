using System.Text.Json.Nodes;
using EcgEdge.Inference.Execution;
using EcgEdge.Inference.Model;
using EcgEdge.Tests.Inference;

namespace EcgEdge.Tests.Fuzz;

/// <summary>
/// Mutated model manifests through <see cref="ModelLoader.Load"/>: every refusal must be a <see cref="ModelLoadException"/>
/// (ModelLoader's contract). Only the manifest text is mutated; a mutation that still names the untouched ONNX file with
/// its sha256 builds a real session, which is slow, so at most a few of those are run to the end.
/// </summary>
public class ModelManifestFuzzTests
{
    private const int MaxSessions = 6;

    private static readonly InferenceOptions Cpu = new() { Provider = ExecutionProviderKind.Cpu, SelfCheck = false };

    private static readonly string[] JsonTokens =
    [
        "null", "[]", "{}", "\"\"", "[null]", "{\"a\":null}", "1.5", "1e400", "-1e400", "-1", "0", "true", "\"batch\"", ",", ":",
        "\"", "[", "]", "{", "}", "// c\n", "/* c */", "\\u0000", "\"\\u0000\"", "\"../../etc/passwd\"", "\"/\"", "\"ecg-nat-int8.onnx\"",
        "\"int8\"", "\"fp32\"", "\"N\"", "\"af_afl\"", "99999999999999999999", "2500", "8", "312", "\"" + new string('a', 300) + "\"",
    ];

    private static readonly Func<Random, JsonNode?>[] Values =
    [
        _ => null,
        _ => new JsonArray(),
        _ => new JsonObject(),
        _ => JsonValue.Create(""),
        _ => JsonValue.Create("batch"),
        _ => new JsonArray(null, null),
        r => JsonValue.Create(r.Next(-3, 3)),
        r => JsonValue.Create(r.NextDouble() * 1e6),
        _ => JsonValue.Create(1.5),
        _ => JsonValue.Create(1e300),
        _ => JsonValue.Create(long.MaxValue),
        _ => JsonValue.Create(-1L),
        _ => JsonValue.Create(true),
        _ => JsonValue.Create("\0"),
        _ => JsonValue.Create("/nonexistent/dir/x.onnx"),
        _ => JsonValue.Create(".."),
        _ => new JsonArray(JsonValue.Create("batch"), JsonValue.Create(8), JsonValue.Create(2.5)),
        _ => new JsonObject { ["path"] = null, ["sha256"] = 1 },
    ];

    [Fact]
    public void Mutated_manifests_load_or_are_refused_with_a_ModelLoadException()
    {
        using var files = new ModelFiles();
        string seed = File.ReadAllText(files.Manifest);
        int sessions = 0;
        int executed = Mutator.Check(seed: 17, count: 4000,
            (rng, _) => rng.Next(2) == 0 ? Mutator.MutateText(seed, rng, JsonTokens) : Mutator.MutateJson(seed, rng, Values, mayReplaceRoot: false, mayRemoveArrayItems: true),
            text =>
            {
                files.WriteManifest(text); // signed: the fuzzer reaches the parser the way a trusted signer's manifest does
                if (WouldBuildSession(files.Manifest) && ++sessions > MaxSessions) return;
                ModelLoader.Load(files.Manifest, Cpu).Dispose();
            },
            e => e is ModelLoadException, text => text);
        Assert.True(executed >= 4000);
    }

    [Fact]
    public void Mutated_signature_files_are_refused_with_a_ModelLoadException_and_never_accepted_changed()
    {
        // The signature file is read before anything else of a model: byte- and token-level mutations of the shipped one
        // against the shipped manifest. A mutation may only verify when it still says the same thing (key id and signature
        // bytes, e.g. whitespace added); any other outcome than a typed refusal fails.
        using var files = new ModelFiles();
        var manifestBytes = File.ReadAllBytes(files.Manifest);
        var seed = File.ReadAllBytes(files.Signature);
        var original = JsonNode.Parse(seed)!;
        var trust = ModelTrust.Load([TestKeys.PublicPem]);
        string[] tokens = ["\"keyId\"", "\"signature\"", "\"schema\"", "\"algorithm\"", "\"ECDSA-P256-SHA256\"", "\"ecgedge.manifest-signature/1\"",
            "\"8726efb4413fcccf\"", "null", "\"\"", "{}", "[]", "\"AA==\"", "\"MAYCAQACAQA=\"", "\\u0000", "1e400", ",", ":", "\""];
        int executed = Mutator.Check(seed: 29, count: 3000,
            (rng, _) => rng.Next(2) == 0 ? Mutator.MutateBytes(seed, rng) : System.Text.Encoding.UTF8.GetBytes(Mutator.MutateText(System.Text.Encoding.UTF8.GetString(seed), rng, tokens)),
            bytes =>
            {
                File.WriteAllBytes(files.Signature, bytes);
                ManifestSignature.Verify(files.Manifest, manifestBytes, trust);
                var accepted = JsonNode.Parse(bytes)!;
                if (accepted["keyId"]!.GetValue<string>() != original["keyId"]!.GetValue<string>()
                    || !Convert.FromBase64String(accepted["signature"]!.GetValue<string>()).AsSpan().SequenceEqual(Convert.FromBase64String(original["signature"]!.GetValue<string>())))
                    throw new InvalidOperationException("a changed signature file was accepted");
            },
            e => e is ModelLoadException { Failure: ModelLoadFailure.SignatureInvalid or ModelLoadFailure.SignatureUntrusted or ModelLoadFailure.SignatureMissing },
            Mutator.Hex);
        Assert.True(executed >= 3000);
    }

    // ---- regressions for crashes found by the fuzzer ----

    [Theory]
    [InlineData("beat_classes", "null")] // was NullReferenceException in ValidateManifest
    [InlineData("channel_order", "null")] // was ArgumentNullException from SequenceEqual
    [InlineData("inputs", "[null, null]")] // was NullReferenceException
    [InlineData("rhythm_classes", "[\"sinus_other\", null]")]
    [InlineData("files", "{\"int8\": null}")] // was NullReferenceException in Resolve
    [InlineData("files", "{\"int8\": {\"path\": \"a\\u0000b\", \"sha256\": \"00\"}}")] // was ArgumentException from Path.GetFullPath
    public void Null_or_malformed_manifest_fields_are_ManifestInvalid(string field, string json)
    {
        using var files = new ModelFiles();
        files.EditManifest(m => m[field] = JsonNode.Parse(json));
        var e = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(files.Manifest, Cpu).Dispose());
        Assert.Equal(ModelLoadFailure.ManifestInvalid, e.Failure);
    }

    [Theory]
    [InlineData("1e300")] // was FormatException from JsonElement.GetInt64
    [InlineData("2.5")]
    [InlineData("null")]
    [InlineData("true")]
    public void A_shape_entry_that_is_not_an_integer_or_a_name_is_ManifestInvalid(string entry)
    {
        using var files = new ModelFiles();
        files.EditManifest(m => m["outputs"]![1]!["shape"]![1] = JsonNode.Parse(entry));
        var e = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(files.Manifest, Cpu).Dispose());
        Assert.Equal(ModelLoadFailure.ManifestInvalid, e.Failure);
        Assert.Contains("rhythm_logits", e.Message, StringComparison.Ordinal);
    }

    /// <summary>True when the manifest passes every check before the ONNX session (the expensive part) is created.</summary>
    private static bool WouldBuildSession(string manifestPath)
    {
        try
        {
            var (path, manifest, entry) = ModelLoader.Resolve(manifestPath, Cpu.Variant);
            ModelLoader.ValidateManifest(manifest, path);
            string model = Path.Combine(Path.GetDirectoryName(manifestPath)!, "ecg-nat-int8.onnx");
            return entry.Path == "ecg-nat-int8.onnx" && (entry.Bytes == 0 || entry.Bytes == new FileInfo(model).Length);
        }
        catch (Exception)
        {
            return false; // Load itself decides whether this exception is allowed
        }
    }
}
