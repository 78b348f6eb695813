using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace EcgEdge.Tests.Inference;

/// <summary>A private copy of the shipped models (manifest + both ONNX files) that a test may damage.</summary>
internal sealed class ModelFiles : IDisposable
{
    public static readonly string Shipped = Path.Combine(TestData.RepoRoot, "models");

    public ModelFiles(bool withReference = false)
    {
        Dir = Path.Combine(Path.GetTempPath(), "ecgedge-model-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Dir);
        foreach (var f in new[] { "ecg-nat.manifest.json", "ecg-nat-int8.onnx", "ecg-nat-fp32.onnx" })
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
    public string Int8 => Path.Combine(Dir, "ecg-nat-int8.onnx");

    /// <summary>Edits the manifest JSON.</summary>
    public void EditManifest(Action<JsonNode> edit)
    {
        var node = JsonNode.Parse(File.ReadAllText(Manifest))!;
        edit(node);
        File.WriteAllText(Manifest, node.ToJsonString());
    }

    /// <summary>Replaces the int8 model's bytes and (optionally) records their sha256 and size in the manifest.</summary>
    public void ReplaceInt8(byte[] bytes, bool updateManifest)
    {
        File.WriteAllBytes(Int8, bytes);
        if (updateManifest)
            EditManifest(m =>
            {
                m["files"]!["int8"]!["sha256"] = Convert.ToHexStringLower(SHA256.HashData(bytes));
                m["files"]!["int8"]!["bytes"] = bytes.Length;
            });
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}
