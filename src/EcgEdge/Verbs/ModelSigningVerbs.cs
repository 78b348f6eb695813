using System.CommandLine;
using System.Security.Cryptography;
using EcgEdge.Inference.Execution;
using EcgEdge.Inference.Model;
using EcgEdge.Transport;
using Microsoft.Extensions.Options;

namespace EcgEdge.Verbs;

/// <summary>
/// <c>ecgedge model keygen|sign|verify</c>: the one implementation of model manifest signing, used by hand, by
/// tools/train (<c>--sign-key</c>) and by the tests (docs/model-signing.md). Exit codes: 0 done / verified, 1 the signature
/// does not verify (verify), 2 bad usage, an unusable key or a manifest that does not describe its files.
/// </summary>
public static class ModelSigningVerbs
{
    /// <summary>The commands keygen, sign and verify of <c>ecgedge model</c>.</summary>
    /// <param name="output">Where they print (standard output by default).</param>
    public static IEnumerable<Command> CreateCommands(TextWriter? output = null)
    {
        const string PasswordEnv = "the environment variable that holds the private key's password (never the password itself)";
        {
            var prefix = new Option<string>("--out") { Description = "writes PREFIX.pem (private, mode 0600) and PREFIX.pub.pem", HelpName = "PREFIX", Required = true };
            var password = VerbOptions.PasswordEnv(PasswordEnv + "; the private key is then encrypted");
            var keygen = new Command("keygen", "a P-256 signing key pair for model manifests") { prefix, password };
            keygen.SetVerbAction(p => Task.FromResult(Keygen(p.GetValue(prefix)!, p.GetValue(password), output ?? Console.Out)));
            yield return keygen;
        }
        {
            var manifest = new Argument<string?>("MANIFEST") { Description = "the model manifest to sign", Arity = ArgumentArity.ZeroOrOne };
            var manifestOption = new Option<string?>("--manifest") { Description = "the manifest, when not given first", HelpName = "MANIFEST" };
            var key = new Option<string>("--key") { Description = "the P-256 private key (PEM)", HelpName = "KEY.pem", Required = true };
            var password = VerbOptions.PasswordEnv(PasswordEnv);
            var sign = new Command("sign",
                "writes MANIFEST.sig for a manifest that fits the device and whose files have their listed sizes and sha256, and checks that it verifies")
            {
                manifest, manifestOption, key, password,
            };
            sign.SetVerbAction(p => Task.FromResult(Sign(p.GetValue(manifest) ?? p.GetValue(manifestOption), p.GetValue(key)!, p.GetValue(password),
                output ?? Console.Out)));
            yield return sign;
        }
        {
            var manifest = new Argument<string?>("MANIFEST") { Description = "the model manifest (default: Inference:Model)", Arity = ArgumentArity.ZeroOrOne };
            var manifestOption = new Option<string?>("--manifest") { Description = "the manifest, when not given first", HelpName = "MANIFEST" };
            var key = new Option<string?>("--key") { Description = "trust this public key (PEM) instead of Inference:TrustedKeys", HelpName = "PUB.pem" };
            var verify = new Command("verify",
                "checks a manifest's signature, its contract and its files; exit 1 when it does not verify. Any --Section:Key=value " +
                "sets a configuration key.")
            {
                manifest, manifestOption, key,
            };
            verify.SetConfigurableAction((p, configuration) =>
                Task.FromResult(Verify(p.GetValue(manifest) ?? p.GetValue(manifestOption), p.GetValue(key), configuration, output ?? Console.Out)));
            yield return verify;
        }
    }

    /// <summary>Creates a P-256 key pair: PREFIX.pem (PKCS#8 private key, mode 0600, encrypted with --password-env) and PREFIX.pub.pem.</summary>
    public static int Keygen(string prefix, string? passwordEnv, TextWriter w)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        string privatePath = prefix + ".pem", publicPath = prefix + ".pub.pem";
        foreach (var p in new[] { privatePath, publicPath })
            if (File.Exists(p)) throw new UsageException($"'{p}' exists: keygen never overwrites a key");
        var password = Password(passwordEnv);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var privatePem = password is null
            ? key.ExportPkcs8PrivateKeyPem()
            // PBES2 with AES-256 and 600,000 PBKDF2-SHA256 iterations: a stolen key file is not a usable key by itself.
            : key.ExportEncryptedPkcs8PrivateKeyPem(password, new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 600_000));
        PrivateFiles.WriteAllBytes(privatePath, System.Text.Encoding.ASCII.GetBytes(privatePem + "\n"));
        File.WriteAllText(publicPath, key.ExportSubjectPublicKeyInfoPem() + "\n");
        w.WriteLine($"private key  {Path.GetFullPath(privatePath)} (mode 0600{(password is null ? ", not encrypted" : ", encrypted")}): keep it off devices and out of the repository");
        w.WriteLine($"public key   {Path.GetFullPath(publicPath)}: list it in Inference:TrustedKeys on the devices");
        w.WriteLine($"key id       {ModelTrust.KeyIdOf(key)}");
        return 0;
    }

    /// <summary>
    /// Signs a manifest with --key: only a manifest that parses, fits the device contract and whose every listed file has
    /// its size and sha256 (a signature vouches for those files). Writes MANIFEST.sig and checks it verifies.
    /// </summary>
    public static int Sign(string? manifestFile, string keyPath, string? passwordEnv, TextWriter w)
    {
        ArgumentNullException.ThrowIfNull(keyPath);
        var manifestPath = Path.GetFullPath(manifestFile ?? throw new UsageException("model sign: give the manifest to sign"));
        using var key = LoadPrivateKey(keyPath, Password(passwordEnv));
        var manifest = ModelManifest.Read(manifestPath);
        ModelLoader.ValidateManifest(manifest, manifestPath);
        ModelLoader.VerifyFiles(manifestPath, manifest);
        var sigPath = ManifestSignature.SignFile(manifestPath, key);
        // Read back and verify with the public half: what was written is what a device will check.
        var spki = key.ExportSubjectPublicKeyInfoPem();
        var status = ManifestSignature.Verify(manifestPath, File.ReadAllBytes(manifestPath), ModelTrust.Load([spki]));
        w.WriteLine($"signed       {manifestPath}");
        w.WriteLine($"signature    {sigPath}");
        w.WriteLine($"key id       {status.KeyId}{(status.IsPublishedTestKey ? " (the published TEST key: tests and demo only)" : "")}");
        w.WriteLine($"manifest     sha256 {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(manifestPath)))}");
        return 0;
    }

    /// <summary>Verifies a manifest's signature (against --key, else Inference:TrustedKeys), its contract and its files.</summary>
    public static int Verify(string? manifestFile, string? publicKey, string[] configArgs, TextWriter w)
    {
        var overrides = new List<string>(configArgs);
        if (manifestFile is { } m) overrides.Add($"--Inference:Model={m}");
        // --key stands for the device's trust list (so a default list that cannot be read here does not get in the way)
        if (publicKey is { } k) overrides.Add($"--Inference:TrustedKeys:0={k}");
        InferenceOptions options;
        try { options = AppConfiguration.BindInference(AppConfiguration.Build([.. overrides])); }
        catch (OptionsValidationException e) { throw new UsageException("invalid configuration: " + string.Join("; ", e.Failures)); }
        var manifestPath = ModelLoader.ManifestPathFor(options.Model);
        ModelTrust trust;
        try { trust = ModelTrust.Load(options.TrustedKeys); }
        catch (ModelLoadException e) { throw new UsageException(e.Message); }
        try
        {
            var bytes = File.ReadAllBytes(manifestPath);
            var status = ManifestSignature.Verify(manifestPath, bytes, trust);
            var manifest = ModelManifest.Parse(bytes, manifestPath);
            ModelLoader.ValidateManifest(manifest, manifestPath);
            ModelLoader.VerifyFiles(manifestPath, manifest);
            var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
            w.WriteLine($"verified     {manifestPath}");
            w.WriteLine($"signature    {status}");
            w.WriteLine($"manifest     sha256 {sha}");
            foreach (var (variant, entry) in manifest.Files)
                w.WriteLine($"file         {variant}: {entry.Path} sha256 {entry.Sha256} ({entry.Bytes} bytes) verified; label " +
                    EcgNatModel.FormatLabel(manifest.Name, manifest.Version, sha, Path.GetFileName(entry.Path), verified: true));
            return 0;
        }
        catch (ModelLoadException e)
        {
            w.WriteLine($"REFUSED ({e.Failure}): {e.Message}");
            return 1;
        }
    }

    /// <summary>Loads an EC P-256 private key from a PEM file (PKCS#8 or SEC1; an encrypted PKCS#8 needs a password).</summary>
    public static ECDsa LoadPrivateKey(string path, string? password)
    {
        string pem;
        try { pem = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read the signing key '{path}': {e.Message}");
        }
        var key = ECDsa.Create();
        try
        {
            if (pem.Contains("-----BEGIN ENCRYPTED PRIVATE KEY-----", StringComparison.Ordinal))
            {
                if (password is null) throw new UsageException($"'{path}' is encrypted: give its password with --password-env VAR");
                key.ImportFromEncryptedPem(pem, password);
            }
            else if (pem.Contains("PRIVATE KEY-----", StringComparison.Ordinal)) key.ImportFromPem(pem);
            else throw new UsageException($"'{path}' holds no private key (a public key cannot sign)");
            if (key.KeySize != 256 || key.ExportParameters(false).Curve.Oid?.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
                throw new UsageException($"'{path}' is not a P-256 key (model signatures are ECDSA P-256)");
            return key;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            key.Dispose();
            throw new UsageException($"'{path}' is not a usable EC private key: {e.Message}");
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    private static string? Password(string? name)
    {
        if (name is null) return null;
        var value = Environment.GetEnvironmentVariable(name);
        return string.IsNullOrEmpty(value) ? throw new UsageException($"--password-env {name}: the variable is not set") : value;
    }
}
