using System.Security.Cryptography;
using System.Text.Json.Nodes;
using EcgEdge.Inference.Execution;
using EcgEdge.Inference.Model;

namespace EcgEdge.Fuzz.Targets;

/// <summary>Where the published test key (models/keys/, copied beside the harness) is found.</summary>
internal static class TestKey
{
    public static string PrivatePem => Path.Combine(AppContext.BaseDirectory, "models", "keys", "test-signing-key.pem");

    public static string PublicPem => Path.Combine(AppContext.BaseDirectory, "models", "keys", "test-signing-key.pub.pem");
}

/// <summary>
/// The input is a model manifest. Each input is signed with the published test key (trusted here), so that it reaches the
/// parser the way a trusted signer's manifest does, then <see cref="ModelLoader.Load"/> runs it: signature check,
/// parse, file entry, validation, model file size and sha256. The folder's model files are small stand-ins whose hash
/// no manifest names, so no ONNX session is built (the graph check and ONNX Runtime's own parser are out of scope).
/// Contract: every refusal is a <see cref="ModelLoadException"/>.
/// </summary>
internal sealed class ManifestTarget : IFuzzTarget
{
    private string _manifest = "";
    private ECDsa? _key;
    private InferenceOptions _options = new();

    public void Setup(string workDirectory)
    {
        _manifest = Path.Combine(workDirectory, "ecg-nat.manifest.json");
        File.WriteAllBytes(Path.Combine(workDirectory, "ecg-nat-int8.onnx"), "not an onnx graph"u8.ToArray());
        File.WriteAllBytes(Path.Combine(workDirectory, "ecg-nat-fp32.onnx"), new byte[64]);
        _key = ECDsa.Create();
        _key.ImportFromPem(File.ReadAllText(TestKey.PrivatePem));
        _options = new InferenceOptions { Provider = ExecutionProviderKind.Cpu, SelfCheck = false, TrustedKeys = [TestKey.PublicPem] };
    }

    public void Run(byte[] input)
    {
        File.WriteAllBytes(_manifest, input);
        ManifestSignature.SignFile(_manifest, _key!);
        ModelLoader.Load(_manifest, _options).Dispose();
        throw new PropertyViolation("a manifest whose model file has another sha256 was loaded");
    }

    public bool Expected(Exception e) => e is ModelLoadException;
}

/// <summary>
/// The input is the detached signature file (ecg-nat.manifest.json.sig) of the shipped manifest:
/// <see cref="ManifestSignature.Verify"/> with the test key trusted. Contract: a signature failure is a
/// <see cref="ModelLoadException"/> (missing, untrusted, invalid); an input that verifies must say what the shipped
/// signature says (same key id, same signature bytes), or a changed signature file was accepted.
/// </summary>
internal sealed class ManifestSignatureTarget : IFuzzTarget
{
    private string _manifest = "";
    private byte[] _manifestBytes = [];
    private ModelTrust? _trust;
    private string _keyId = "";
    private byte[] _signature = [];

    public void Setup(string workDirectory)
    {
        string shipped = Path.Combine(AppContext.BaseDirectory, "models", "ecg-nat.manifest.json");
        _manifest = Path.Combine(workDirectory, "ecg-nat.manifest.json");
        File.Copy(shipped, _manifest, overwrite: true);
        _manifestBytes = File.ReadAllBytes(_manifest);
        _trust = ModelTrust.Load([TestKey.PublicPem]);
        var original = JsonNode.Parse(File.ReadAllBytes(ManifestSignature.PathFor(shipped)))!;
        _keyId = original["keyId"]!.GetValue<string>();
        _signature = Convert.FromBase64String(original["signature"]!.GetValue<string>());
    }

    public void Run(byte[] input)
    {
        File.WriteAllBytes(ManifestSignature.PathFor(_manifest), input);
        var status = ManifestSignature.Verify(_manifest, _manifestBytes, _trust!);
        // Accepted: it must be the shipped signature, at most re-encoded.
        var accepted = JsonNode.Parse(input)!;
        if (accepted["keyId"]!.GetValue<string>() != _keyId
            || !Convert.FromBase64String(accepted["signature"]!.GetValue<string>()).AsSpan().SequenceEqual(_signature)
            || status.KeyId != _keyId)
            throw new PropertyViolation("a changed signature file was accepted");
    }

    public bool Expected(Exception e) => e is ModelLoadException
    {
        Failure: ModelLoadFailure.SignatureInvalid or ModelLoadFailure.SignatureUntrusted or ModelLoadFailure.SignatureMissing,
    };
}
