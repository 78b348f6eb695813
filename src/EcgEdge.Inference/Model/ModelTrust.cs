using System.Security.Cryptography;

namespace EcgEdge.Inference.Model;

/// <summary>A public key the device trusts to sign model manifests: its SubjectPublicKeyInfo (DER) and where it came from.</summary>
public sealed record TrustedKey(string KeyId, byte[] SubjectPublicKeyInfo, string Source)
{
    /// <summary>True for the key published in the repository (models/keys/), which anyone can sign with.</summary>
    public bool IsPublishedTestKey => string.Equals(KeyId, ModelTrust.PublishedTestKeyId, StringComparison.Ordinal);
}

/// <summary>
/// The keys of <c>Inference:TrustedKeys</c> (docs/model-signing.md). Each entry is the PEM text of a P-256 public key
/// ("-----BEGIN PUBLIC KEY-----", SubjectPublicKeyInfo) or the path of a file holding one; a relative path is looked up in
/// the working directory, then beside the executable (as <c>Inference:Model</c>). Only public keys are accepted: a
/// private key has no business on a device, so a private-key PEM is refused rather than silently reduced to its public half.
/// </summary>
public sealed class ModelTrust
{
    /// <summary>
    /// Key id of the published test key (models/keys/test-signing-key.pem): the shipped model is signed with it so that the
    /// demo and the tests run out of the box; the loader warns whenever a model verifies under it.
    /// </summary>
    public const string PublishedTestKeyId = "8726efb4413fcccf";

    private ModelTrust(IReadOnlyList<TrustedKey> keys) => Keys = keys;

    public IReadOnlyList<TrustedKey> Keys { get; }

    /// <summary>The trusted key with this id, or null.</summary>
    public TrustedKey? Find(string keyId) => Keys.FirstOrDefault(k => string.Equals(k.KeyId, keyId, StringComparison.Ordinal));

    /// <summary>Key id: the first 16 hex digits of the SHA-256 of the key's SubjectPublicKeyInfo (DER).</summary>
    public static string KeyIdOf(ReadOnlySpan<byte> subjectPublicKeyInfo) =>
        Convert.ToHexStringLower(SHA256.HashData(subjectPublicKeyInfo))[..16];

    /// <summary>Key id of <paramref name="key"/> (public or private: the id is that of its public half).</summary>
    public static string KeyIdOf(ECDsa key) => KeyIdOf(key.ExportSubjectPublicKeyInfo());

    /// <summary>Parses every entry; throws <see cref="ModelLoadException"/> (<see cref="ModelLoadFailure.TrustedKeysInvalid"/>) naming each unusable one.</summary>
    public static ModelTrust Load(IEnumerable<string>? entries)
    {
        var keys = new List<TrustedKey>();
        var problems = new List<string>();
        foreach (var entry in entries ?? [])
        {
            if (TryParse(entry, out var key, out var problem)) { if (keys.All(k => k.KeyId != key!.KeyId)) keys.Add(key!); }
            else problems.Add(problem!);
        }
        if (problems.Count > 0)
            throw new ModelLoadException(ModelLoadFailure.TrustedKeysInvalid, "Inference:TrustedKeys: " + string.Join("; ", problems));
        return new ModelTrust(keys);
    }

    /// <summary>Lists the problem of every unusable entry (for configuration validation); empty when all are usable.</summary>
    public static IEnumerable<string> Problems(IEnumerable<string>? entries)
    {
        foreach (var entry in entries ?? [])
            if (!TryParse(entry, out _, out var problem)) yield return "Inference:TrustedKeys: " + problem;
    }

    /// <summary>An entry as a path: rooted or present in the working directory as given, else beside the executable.</summary>
    public static string ResolvePath(string path)
    {
        if (Path.IsPathRooted(path) || File.Exists(path)) return Path.GetFullPath(path);
        var beside = Path.Combine(AppContext.BaseDirectory, path);
        return File.Exists(beside) ? beside : Path.GetFullPath(path);
    }

    /// <summary>True when the entry is PEM text rather than a path.</summary>
    public static bool IsPemText(string entry) => entry.Contains("-----BEGIN", StringComparison.Ordinal);

    private static bool TryParse(string? entry, out TrustedKey? key, out string? problem)
    {
        key = null;
        problem = null;
        if (string.IsNullOrWhiteSpace(entry) || entry.Contains('\0'))
        {
            problem = "an entry is empty or contains a NUL character";
            return false;
        }
        string pem, source;
        if (IsPemText(entry))
        {
            pem = entry;
            source = "configuration (inline PEM)";
        }
        else
        {
            source = ResolvePath(entry);
            try
            {
                var info = new FileInfo(source);
                // a public key PEM is a few hundred bytes: anything large is not one (and is not read into memory)
                if (info.Exists && info.Length > 16 * 1024) { problem = $"'{source}' is {info.Length} bytes, not a public key PEM"; return false; }
                pem = File.ReadAllText(source);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problem = $"cannot read the key file '{source}': {e.Message}";
                return false;
            }
        }
        if (!PemEncoding.TryFind(pem, out var fields))
        {
            problem = $"{source}: no PEM block found (expected -----BEGIN PUBLIC KEY-----)";
            return false;
        }
        var label = pem.AsSpan()[fields.Label];
        if (!label.SequenceEqual("PUBLIC KEY"))
        {
            problem = label.Contains("PRIVATE KEY", StringComparison.Ordinal)
                ? $"{source} holds a private key: a device trusts public keys only (ecgedge model keygen writes NAME.pub.pem beside NAME.pem)"
                : $"{source}: PEM block '{label}' is not a PUBLIC KEY (SubjectPublicKeyInfo)";
            return false;
        }
        byte[] spki;
        try
        {
            spki = Convert.FromBase64String(pem[fields.Base64Data]);
            using var ecdsa = ECDsa.Create();
            ecdsa.ImportSubjectPublicKeyInfo(spki, out var read);
            if (read != spki.Length) throw new CryptographicException("trailing data after the key");
            var curve = ecdsa.ExportParameters(false).Curve;
            if (curve.Oid?.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
            {
                problem = $"{source}: the key is not on the P-256 curve (model signatures are ECDSA P-256)";
                return false;
            }
        }
        catch (Exception e) when (e is CryptographicException or FormatException)
        {
            problem = $"{source}: not an EC public key ({e.Message})";
            return false;
        }
        key = new TrustedKey(KeyIdOf(spki), spki, source);
        return true;
    }
}
