using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using EcgEdge.Inference.Execution;
using EcgEdge.Inference.Model;

namespace EcgEdge.Tests.Inference;

/// <summary>
/// Signed model manifests (docs/model-signing.md): the loader runs a model only when its manifest's detached signature
/// verifies under a trusted key; every other case is a typed refusal. Real shipped models throughout.
/// </summary>
public class ModelSigningTests
{
    // Self-check off where only the signature is under test: it does not change what is refused, and costs a second per load.
    private static readonly InferenceOptions Cpu = new() { Provider = ExecutionProviderKind.Cpu, SelfCheck = false };

    private static ModelLoadException Refusal(string path, InferenceOptions? options = null) =>
        Assert.Throws<ModelLoadException>(() => ModelLoader.Load(path, options ?? Cpu).Dispose());

    private static string Sha256Hex(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    private static string PublicPem(ECDsa key) => key.ExportSubjectPublicKeyInfoPem();

    [Fact]
    public void The_shipped_manifest_is_signed_by_the_published_test_key_and_loads()
    {
        var manifest = Path.Combine(ModelFiles.Shipped, "ecg-nat.manifest.json");
        using var m = ModelLoader.Load(manifest, new InferenceOptions());
        Assert.True(m.Signature.Verified);
        Assert.Equal(ModelTrust.PublishedTestKeyId, m.Signature.KeyId);
        Assert.True(m.Signature.IsPublishedTestKey);
        Assert.Equal(Sha256Hex(manifest), m.ManifestSha256);
        // the published key's id is the hash of the committed public key file
        Assert.Equal(ModelTrust.PublishedTestKeyId, ModelTrust.Load([TestKeys.PublicPem]).Keys.Single().KeyId);
    }

    [Fact]
    public void The_version_label_carries_the_manifest_hash()
    {
        var manifest = Path.Combine(ModelFiles.Shipped, "ecg-nat.manifest.json");
        using var m = ModelLoader.Load(manifest, Cpu);
        Assert.Equal($"ecg-nat {m.Manifest.Version}+sha256:{Sha256Hex(manifest)[..12]} (ecg-nat-int8.onnx)", m.VersionLabel);

        // The case: same version, one changed byte elsewhere (here a fusion threshold), signed by a trusted key. The
        // label differs, so logs and alerts tell the two models apart.
        using var f = new ModelFiles();
        f.EditManifest(j => j["rhythm_fusion"]!["threshold"] = 0.56);
        using var other = ModelLoader.Load(f.Manifest, Cpu);
        Assert.Equal(m.Manifest.Version, other.Manifest.Version);
        Assert.NotEqual(m.VersionLabel, other.VersionLabel);
        Assert.Contains("+sha256:" + Sha256Hex(f.Manifest)[..12], other.VersionLabel);
    }

    [Theory]
    [InlineData("0.3.0", "ecg-nat 0.3.0+sha256:0123456789ab (ecg-nat-int8.onnx)")]
    [InlineData("0.1.0+full-seed1234", "ecg-nat 0.1.0+full-seed1234.sha256:0123456789ab (ecg-nat-int8.onnx)")] // build metadata kept
    public void The_label_appends_the_hash_to_the_version(string version, string expected) =>
        Assert.Equal(expected, EcgNatModel.FormatLabel("ecg-nat", version, "0123456789abcdef" + new string('0', 48), "ecg-nat-int8.onnx", verified: true));

    [Fact]
    public void An_unsigned_manifest_is_refused()
    {
        using var f = new ModelFiles();
        File.Delete(f.Signature);
        var e = Refusal(f.Manifest);
        Assert.Equal(ModelLoadFailure.SignatureMissing, e.Failure);
        Assert.Contains("ecgedge model sign", e.Message);
        // also through the .onnx path, which finds the same manifest
        Assert.Equal(ModelLoadFailure.SignatureMissing, Refusal(f.Int8).Failure);
    }

    [Fact]
    public void A_flipped_model_bit_with_the_manifest_hash_updated_but_not_re_signed_is_refused()
    {
        // issue 29: flip a bit in the ONNX file, write its new sha256 and size into the manifest
        using var f = new ModelFiles();
        var bytes = File.ReadAllBytes(f.Int8);
        bytes[bytes.Length / 2] ^= 0x01;
        f.ReplaceInt8(bytes, updateManifest: true, sign: false);
        var e = Refusal(f.Manifest);
        Assert.Equal(ModelLoadFailure.SignatureInvalid, e.Failure);
        Assert.Contains("changed after signing", e.Message);
    }

    public static TheoryData<string, string> ManifestTampering => new()
    {
        { "a trailing space", "append" },
        { "the version", "version" },
        { "one hex digit of a file sha256", "sha" },
        { "one digit of a rhythm fusion weight", "weight" },
    };

    [Theory]
    [MemberData(nameof(ManifestTampering))]
    public void A_manifest_changed_after_signing_is_refused(string what, string how)
    {
        using var f = new ModelFiles();
        var text = File.ReadAllText(f.Manifest);
        var changed = how switch
        {
            "append" => text + " ",
            "version" => System.Text.RegularExpressions.Regex.Replace(text, "\"version\": \"([^\"]+)\"", "\"version\": \"$1.1\""),
            "sha" => text.Replace("\"sha256\": \"8351", "\"sha256\": \"9351", StringComparison.Ordinal),
            "weight" => text.Replace("1.1146877510193993", "1.1146877510193994", StringComparison.Ordinal),
            _ => throw new ArgumentOutOfRangeException(nameof(how)),
        };
        Assert.NotEqual(text, changed); // the edit applied
        f.WriteManifest(changed, sign: false);
        var e = Refusal(f.Manifest);
        Assert.True(e.Failure == ModelLoadFailure.SignatureInvalid, $"{what}: {e.Failure} {e.Message}");
    }

    [Fact]
    public void Any_byte_changed_in_the_manifest_is_refused_for_its_signature()
    {
        // 300 random single-byte edits of the shipped manifest, signature left as is: each is refused before parsing.
        using var f = new ModelFiles();
        var original = File.ReadAllBytes(f.Manifest);
        var rng = new Random(29);
        for (var i = 0; i < 300; i++)
        {
            var bytes = (byte[])original.Clone();
            var at = rng.Next(bytes.Length);
            bytes[at] ^= (byte)rng.Next(1, 256);
            File.WriteAllBytes(f.Manifest, bytes);
            var e = Refusal(f.Manifest);
            Assert.True(e.Failure == ModelLoadFailure.SignatureInvalid, $"byte {at}: {e.Failure} {e.Message}");
        }
    }

    [Fact]
    public void A_manifest_signed_by_an_untrusted_key_is_refused()
    {
        using var f = new ModelFiles();
        using var stranger = TestKeys.Fresh();
        f.SignWith(stranger);
        var e = Refusal(f.Manifest);
        Assert.Equal(ModelLoadFailure.SignatureUntrusted, e.Failure);
        Assert.Contains(ModelTrust.KeyIdOf(stranger), e.Message);
        Assert.Contains(ModelTrust.PublishedTestKeyId, e.Message); // says which keys are trusted
    }

    [Fact]
    public void A_valid_signature_of_another_manifest_is_refused()
    {
        // a real signature by the trusted key, copied from a different manifest (e.g. an older release)
        using var f = new ModelFiles();
        using var g = new ModelFiles();
        g.EditManifest(m => m["version"] = "0.2.9");
        using (ModelLoader.Load(g.Manifest, Cpu)) { } // valid where it belongs
        File.Copy(g.Signature, f.Signature, overwrite: true);
        Assert.Equal(ModelLoadFailure.SignatureInvalid, Refusal(f.Manifest).Failure);
    }

    public static TheoryData<string, string> MalformedSignatures => new()
    {
        { "not JSON", "MEUCIQ" },
        { "empty", "" },
        { "other schema", """{"schema":"x/1","algorithm":"ECDSA-P256-SHA256","keyId":"8726efb4413fcccf","signature":"AA=="}""" },
        { "other algorithm", """{"schema":"ecgedge.manifest-signature/1","algorithm":"RSA-SHA1","keyId":"8726efb4413fcccf","signature":"AA=="}""" },
        { "key id not hex", """{"schema":"ecgedge.manifest-signature/1","algorithm":"ECDSA-P256-SHA256","keyId":"../../etc/passwd","signature":"AA=="}""" },
        { "signature not base64", """{"schema":"ecgedge.manifest-signature/1","algorithm":"ECDSA-P256-SHA256","keyId":"8726efb4413fcccf","signature":"***"}""" },
        { "signature not DER", """{"schema":"ecgedge.manifest-signature/1","algorithm":"ECDSA-P256-SHA256","keyId":"8726efb4413fcccf","signature":"AAECAwQ="}""" },
        { "null fields", """{"schema":null,"algorithm":null,"keyId":null,"signature":null}""" },
        { "huge", new string(' ', 10_000) + "{}" },
    };

    [Theory]
    [MemberData(nameof(MalformedSignatures))]
    public void A_malformed_signature_file_is_refused(string why, string content)
    {
        using var f = new ModelFiles();
        File.WriteAllText(f.Signature, content);
        var e = Refusal(f.Manifest);
        Assert.True(e.Failure == ModelLoadFailure.SignatureInvalid, $"{why}: {e.Failure} {e.Message}");
    }

    [Fact]
    public void A_signature_file_with_a_duplicated_member_is_refused_even_when_each_value_is_valid()
    {
        // found by the signature fuzzer: with "last wins" a file could carry a second, different member that one reader
        // takes and another ignores; a signature file has one meaning or is refused
        using var f = new ModelFiles();
        var text = File.ReadAllText(f.Signature);
        var keyIdLine = text.Split('\n').Single(l => l.Contains("\"keyId\"", StringComparison.Ordinal));
        File.WriteAllText(f.Signature, text.Replace(keyIdLine, keyIdLine + "\n" + keyIdLine, StringComparison.Ordinal));
        var e = Refusal(f.Manifest);
        Assert.Equal(ModelLoadFailure.SignatureInvalid, e.Failure);
        Assert.Contains("not valid JSON", e.Message);
    }

    [Fact]
    public void Configured_keys_replace_the_test_key_and_a_model_signed_with_one_loads()
    {
        using var f = new ModelFiles();
        using var production = TestKeys.Fresh();
        var own = new InferenceOptions { Provider = ExecutionProviderKind.Cpu, SelfCheck = false, TrustedKeys = [PublicPem(production)] };
        // the shipped (test-signed) manifest is not trusted by a device that lists only its own key
        Assert.Equal(ModelLoadFailure.SignatureUntrusted, Refusal(f.Manifest, own).Failure);
        f.SignWith(production);
        using var m = ModelLoader.Load(f.Manifest, own);
        Assert.True(m.Signature.Verified);
        Assert.Equal(ModelTrust.KeyIdOf(production), m.Signature.KeyId);
        Assert.False(m.Signature.IsPublishedTestKey);
        // and the default trust (the test key) now refuses it
        Assert.Equal(ModelLoadFailure.SignatureUntrusted, Refusal(f.Manifest).Failure);
    }

    [Fact]
    public void A_key_file_path_is_read_like_inline_pem()
    {
        using var f = new ModelFiles();
        using var key = TestKeys.Fresh();
        var pub = Path.Combine(f.Dir, "device.pub.pem");
        File.WriteAllText(pub, PublicPem(key));
        f.SignWith(key);
        using var m = ModelLoader.Load(f.Manifest, new InferenceOptions { SelfCheck = false, TrustedKeys = [TestKeys.PublicPem, pub] });
        Assert.Equal(ModelTrust.KeyIdOf(key), m.Signature.KeyId);
        Assert.Equal(2, ModelTrust.Load([TestKeys.PublicPem, pub]).Keys.Count);
    }

    [Fact]
    public void Unusable_trusted_keys_are_refused_with_the_reason()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var rsa = RSA.Create(2048);
        var cases = new (string Entry, string Reason)[]
        {
            (TestKeys.PrivatePem, "private key"), // a private key never goes to a device
            ("/nonexistent/key.pub.pem", "cannot read"),
            (PublicPem(p384), "P-256"),
            (rsa.ExportSubjectPublicKeyInfoPem(), "not an EC public key"),
            ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "not a PUBLIC KEY"),
            ("", "empty"),
        };
        foreach (var (entry, reason) in cases)
        {
            var e = Assert.Throws<ModelLoadException>(() => ModelTrust.Load([entry]));
            Assert.Equal(ModelLoadFailure.TrustedKeysInvalid, e.Failure);
            Assert.Contains(reason, e.Message);
            var problems = Failures(new InferenceOptions { TrustedKeys = [entry] }).ToList();
            Assert.Contains(problems, p => p.Contains(reason, StringComparison.Ordinal));
        }
        // signatures required with nothing trusted: no model could load, a configuration error
        Assert.Contains(Failures(new InferenceOptions { TrustedKeys = [] }), p => p.Contains("TrustedKeys is empty", StringComparison.Ordinal));
        Assert.DoesNotContain(Failures(new InferenceOptions { TrustedKeys = [], RequireSignedModel = false }), p => p.Contains("TrustedKeys", StringComparison.Ordinal));
    }

    [Fact]
    public void With_signatures_not_required_an_unsigned_model_loads_and_its_label_says_so()
    {
        using var f = new ModelFiles();
        File.Delete(f.Signature);
        var lax = new InferenceOptions { SelfCheck = false, RequireSignedModel = false };
        var log = new ListLogger();
        using var m = ModelLoader.Load(f.Manifest, lax, log);
        Assert.False(m.Signature.Verified);
        Assert.EndsWith("(ecg-nat-int8.onnx, signature not verified)", m.VersionLabel);
        Assert.Contains(log.Entries, x => x.Level == Microsoft.Extensions.Logging.LogLevel.Error && x.Message.Contains("NOT VERIFIED", StringComparison.Ordinal));
        // A valid signature is still checked and reported as such.
        using var signed = ModelLoader.Load(Path.Combine(ModelFiles.Shipped, "ecg-nat.manifest.json"), lax);
        Assert.True(signed.Signature.Verified);
    }

    [Fact]
    public void The_test_key_is_named_in_a_warning_when_it_verifies_a_model()
    {
        var log = new ListLogger();
        using var m = ModelLoader.Load(Path.Combine(ModelFiles.Shipped, "ecg-nat.manifest.json"), Cpu, log);
        Assert.Contains(log.Entries, x => x.Level == Microsoft.Extensions.Logging.LogLevel.Warning && x.Message.Contains("TEST key", StringComparison.Ordinal));
        Assert.Contains(log.Entries, x => x.Message.Contains(m.VersionLabel, StringComparison.Ordinal));
    }

    [SkippableFact]
    public void The_shipped_signature_verifies_with_openssl()
    {
        // The format is plain ECDSA P-256/SHA-256 (DER) over the context line and the manifest's bytes, checkable without
        // this code base (docs/model-signing.md).
        Skip.If(!File.Exists("/usr/bin/openssl"), "openssl not installed");
        var dir = Directory.CreateTempSubdirectory("ecgedge-openssl-").FullName;
        try
        {
            var manifest = Path.Combine(ModelFiles.Shipped, "ecg-nat.manifest.json");
            var sig = JsonNode.Parse(File.ReadAllText(manifest + ".sig"))!;
            File.WriteAllBytes(Path.Combine(dir, "sig.der"), Convert.FromBase64String(sig["signature"]!.GetValue<string>()));
            File.WriteAllBytes(Path.Combine(dir, "message"), [.. Encoding.ASCII.GetBytes("ecgedge model manifest signature v1\n"), .. File.ReadAllBytes(manifest)]);
            var psi = new ProcessStartInfo("/usr/bin/openssl", ["dgst", "-sha256", "-verify", TestKeys.PublicPem, "-signature", Path.Combine(dir, "sig.der"), Path.Combine(dir, "message")])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, output);
            Assert.Contains("Verified OK", output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>What the worker's one validator (attributes and cross-field rules) says of <paramref name="o"/>.</summary>
    private static IEnumerable<string> Failures(InferenceOptions o) => new EcgEdge.Pipeline.InferenceOptionsValidator().Validate(null, o).Failures ?? [];
}
