using System.Security.Cryptography;
using System.Text.Json.Nodes;
using EcgEdge.Inference.Model;

namespace EcgEdge.Tests.Inference;

/// <summary>
/// A private copy of the shipped models (manifest, its signature, both ONNX files) that a test may damage. Edits made
/// through it are re-signed with the published test key by default, as a developer with that key would (the loader's other
/// checks are tested on a manifest it trusts); <c>sign: false</c> leaves the old signature in place, which no longer matches.
/// </summary>
internal sealed class ModelFiles : IDisposable
{
    public static readonly string Shipped = Path.Combine(TestData.RepoRoot, "models");

    public ModelFiles(bool withReference = false)
    {
        Dir = Path.Combine(Path.GetTempPath(), "ecgedge-model-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Dir);
        foreach (var f in new[] { "ecg-nat.manifest.json", "ecg-nat.manifest.json.sig", "ecg-nat-int8.onnx", "ecg-nat-fp32.onnx" })
            File.Copy(Path.Combine(Shipped, f), Path.Combine(Dir, f));
        if (withReference)
        {
            Directory.CreateDirectory(Path.Combine(Dir, "reference"));
            foreach (var f in Directory.GetFiles(Path.Combine(Shipped, "reference")))
                File.Copy(f, Path.Combine(Dir, "reference", Path.GetFileName(f)));
        }
    }

    public string Dir { get; }
    public string Manifest => Path.Combine(Dir, "ecg-nat.manifest.json");
    public string Signature => Manifest + ".sig";
    public string Int8 => Path.Combine(Dir, "ecg-nat-int8.onnx");

    /// <summary>Edits the manifest JSON; re-signs it with the test key unless <paramref name="sign"/> is false.</summary>
    public void EditManifest(Action<JsonNode> edit, bool sign = true)
    {
        var node = JsonNode.Parse(File.ReadAllText(Manifest))!;
        edit(node);
        WriteManifest(node.ToJsonString(), sign);
    }

    /// <summary>Replaces the manifest's text; re-signs it with the test key unless <paramref name="sign"/> is false.</summary>
    public void WriteManifest(string text, bool sign = true)
    {
        File.WriteAllText(Manifest, text);
        if (!sign) return;
        using var key = TestKeys.Published();
        SignWith(key);
    }

    /// <summary>Signs the manifest as it is now with <paramref name="key"/>.</summary>
    public void SignWith(ECDsa key) => ManifestSignature.SignFile(Manifest, key);

    /// <summary>
    /// Replaces the int8 model's bytes and (optionally) records their sha256 and size in the manifest; the manifest is then
    /// re-signed unless <paramref name="sign"/> is false (the attack: the hash updated by someone without the key).
    /// </summary>
    public void ReplaceInt8(byte[] bytes, bool updateManifest, bool sign = true)
    {
        File.WriteAllBytes(Int8, bytes);
        if (updateManifest)
            EditManifest(m =>
            {
                m["files"]!["int8"]!["sha256"] = Convert.ToHexStringLower(SHA256.HashData(bytes));
                m["files"]!["int8"]!["bytes"] = bytes.Length;
            }, sign);
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}
