using EcgEdge.Inference.Execution;
using EcgEdge.Inference.Model;
using EcgEdge.Tests.Inference;
using EcgEdge.Verbs;
using Microsoft.Extensions.Options;

namespace EcgEdge.Tests.Host;

/// <summary><c>ecgedge model keygen|sign|verify|info</c> and the trust configuration, as an operator uses them.</summary>
public class ModelSigningVerbTests
{
    private static async Task<(int Code, string Output)> Model(params string[] args)
    {
        using var w = new StringWriter();
        var code = await ModelVerb.RunAsync(args, w);
        return (code, w.ToString());
    }

    [Fact]
    public async Task Keygen_sign_and_verify_round_trip_and_the_default_trust_refuses_a_foreign_key()
    {
        using var f = new ModelFiles();
        var prefix = Path.Combine(f.Dir, "keys", "site");
        Directory.CreateDirectory(Path.GetDirectoryName(prefix)!);
        var (code, output) = await Model("keygen", "--out", prefix);
        Assert.Equal(0, code);
        Assert.True(File.Exists(prefix + ".pem") && File.Exists(prefix + ".pub.pem"));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(prefix + ".pem")); // private key 0600
        var keyId = ModelTrust.Load([prefix + ".pub.pem"]).Keys.Single().KeyId;
        Assert.Contains(keyId, output);
        // keygen never overwrites a key
        await Assert.ThrowsAsync<UsageException>(() => Model("keygen", "--out", prefix));

        (code, output) = await Model("sign", f.Manifest, "--key", prefix + ".pem");
        Assert.Equal(0, code);
        Assert.Contains(keyId, output);
        (code, output) = await Model("verify", f.Manifest, "--key", prefix + ".pub.pem");
        Assert.Equal(0, code);
        Assert.Contains("verified, key " + keyId, output);
        Assert.Contains("ecg-nat-int8.onnx", output);

        // the default configuration trusts only the published test key
        (code, output) = await Model("verify", f.Manifest);
        Assert.Equal(1, code);
        Assert.Contains("REFUSED (SignatureUntrusted)", output);
        // a device configured with the site key accepts it
        (code, _) = await Model("verify", f.Manifest, $"--Inference:TrustedKeys:0={prefix}.pub.pem");
        Assert.Equal(0, code);
        // --key replaces the configured list: an unreadable configured key (a production bundle has no test key) does not matter
        (code, _) = await Model("verify", f.Manifest, "--key", prefix + ".pub.pem", "--Inference:TrustedKeys:0=/nonexistent.pub.pem");
        Assert.Equal(0, code);
    }

    [Fact]
    public async Task Verify_refuses_a_manifest_changed_after_signing_with_exit_1()
    {
        using var f = new ModelFiles();
        Assert.Equal(0, (await Model("verify", f.Manifest)).Code);
        File.AppendAllText(f.Manifest, "\n");
        var (code, output) = await Model("verify", f.Manifest);
        Assert.Equal(1, code);
        Assert.Contains("REFUSED (SignatureInvalid)", output);
    }

    [Fact]
    public async Task Sign_refuses_a_manifest_that_does_not_describe_its_files_and_writes_no_signature()
    {
        using var f = new ModelFiles();
        File.Delete(f.Signature);
        var bytes = File.ReadAllBytes(f.Int8);
        bytes[^1] ^= 0x01;
        File.WriteAllBytes(f.Int8, bytes); // the manifest's sha256 no longer matches the file
        var e = await Assert.ThrowsAsync<ModelLoadException>(() => Model("sign", f.Manifest, "--key", TestKeys.PrivatePem));
        Assert.Equal(ModelLoadFailure.HashMismatch, e.Failure);
        Assert.False(File.Exists(f.Signature));
        // a public key cannot sign
        await Assert.ThrowsAsync<UsageException>(() => Model("sign", f.Manifest, "--key", TestKeys.PublicPem));
    }

    [Fact]
    public async Task An_encrypted_signing_key_needs_its_password()
    {
        using var f = new ModelFiles();
        var prefix = Path.Combine(f.Dir, "enc");
        var variable = "SIGNING_TEST_PASSWORD_" + Guid.NewGuid().ToString("N"); // not ECGEDGE_: that prefix is configuration
        Environment.SetEnvironmentVariable(variable, "correct horse battery staple");
        try
        {
            Assert.Equal(0, (await Model("keygen", "--out", prefix, "--password-env", variable)).Code);
            Assert.Contains("ENCRYPTED PRIVATE KEY", File.ReadAllText(prefix + ".pem"));
            var e = await Assert.ThrowsAsync<UsageException>(() => Model("sign", f.Manifest, "--key", prefix + ".pem"));
            Assert.Contains("--password-env", e.Message);
            Assert.Equal(0, (await Model("sign", f.Manifest, "--key", prefix + ".pem", "--password-env", variable)).Code);
            Assert.Equal(0, (await Model("verify", f.Manifest, "--key", prefix + ".pub.pem")).Code);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public async Task Model_info_shows_the_label_and_the_signature()
    {
        var manifest = Path.Combine(TestData.RepoRoot, "models", "ecg-nat.manifest.json");
        var (code, output) = await Model("info", manifest, "--runs", "2");
        Assert.Equal(0, code);
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(manifest)));
        Assert.Contains($"+sha256:{hash[..12]} (ecg-nat-int8.onnx)", output);
        Assert.Contains($"signature    verified, key {ModelTrust.PublishedTestKeyId} (the published TEST key", output);
    }

    [Fact]
    public void Configured_trusted_keys_replace_the_default_test_key()
    {
        // The default: the published test key, found beside the executable.
        var defaults = AppConfiguration.BindInference(AppConfiguration.Build([]));
        var only = Assert.Single(defaults.TrustedKeys);
        Assert.True(File.Exists(only), only);
        Assert.Equal(ModelTrust.PublishedTestKeyId, ModelTrust.Load(defaults.TrustedKeys).Keys.Single().KeyId);

        // A device's own key replaces it (the binder would otherwise append to the default list).
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var dir = Directory.CreateTempSubdirectory("ecgedge-trust-").FullName;
        try
        {
            var pub = Path.Combine(dir, "device.pub.pem");
            File.WriteAllText(pub, key.ExportSubjectPublicKeyInfoPem());
            var own = AppConfiguration.BindInference(AppConfiguration.Build([$"--Inference:TrustedKeys:0={pub}"]));
            Assert.Equal([pub], own.TrustedKeys);
            Assert.DoesNotContain(ModelTrust.Load(own.TrustedKeys).Keys, k => k.IsPublishedTestKey);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        // An unusable key, or nothing trusted while signatures are required, is a configuration error.
        Assert.Throws<OptionsValidationException>(() => AppConfiguration.BindInference(AppConfiguration.Build(["--Inference:TrustedKeys:0=/nonexistent.pub.pem"])));
        Assert.Throws<OptionsValidationException>(() => AppConfiguration.BindInference(AppConfiguration.Build([$"--Inference:TrustedKeys:0={TestKeys.PrivatePem}"])));
        Assert.Equal(InferenceOptions.PublishedTestKey, new InferenceOptions().TrustedKeys.Single());
    }

    [Fact]
    public async Task The_worker_refuses_to_start_with_an_unsigned_model_unless_signatures_are_switched_off()
    {
        using var f = new ModelFiles();
        File.Delete(f.Signature);
        Assert.Equal(2, await RunVerb.RunAsync(RunTests.Isolated("--realtime", "false", "--loop", "false", "--model", f.Manifest)));
        Assert.Equal(0, await RunVerb.RunAsync(RunTests.Isolated("--realtime", "false", "--loop", "false", "--model", f.Manifest,
            "--Inference:RequireSignedModel=false")));
    }
}
