using System.Security.Cryptography;

namespace EcgEdge.Tests.Inference;

/// <summary>Signing keys for tests: the published test key of the repository, and fresh keys nobody trusts.</summary>
internal static class TestKeys
{
    public static readonly string PrivatePem = Path.Combine(TestData.RepoRoot, "models", "keys", "test-signing-key.pem");
    public static readonly string PublicPem = Path.Combine(TestData.RepoRoot, "models", "keys", "test-signing-key.pub.pem");

    /// <summary>The published test key (models/keys/test-signing-key.pem), which signs the shipped manifest.</summary>
    public static ECDsa Published()
    {
        var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(PrivatePem));
        return key;
    }

    /// <summary>A new P-256 key, trusted by no configuration.</summary>
    public static ECDsa Fresh() => ECDsa.Create(ECCurve.NamedCurves.nistP256);
}
