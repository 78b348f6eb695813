using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace EcgEdge.Inference.Model;

/// <summary>
/// The detached signature file <c>MANIFEST.sig</c> beside a model manifest (JSON; docs/model-signing.md).
/// <see cref="Signature"/> is base64 of a DER (RFC 3279) ECDSA P-256 signature with SHA-256 over
/// <see cref="ManifestSignature.Context"/> followed by the manifest file's exact bytes.
/// </summary>
public sealed class ManifestSignatureFile
{
    public string Schema { get; set; } = "";
    public string Algorithm { get; set; } = "";
    [JsonPropertyName("keyId")] public string KeyId { get; set; } = "";
    public string Signature { get; set; } = "";
}

/// <summary>How a loaded model's manifest was authenticated.</summary>
/// <param name="Verified">True when the signature verified under a trusted key.</param>
/// <param name="KeyId">The key that signed it (null when unsigned or unreadable).</param>
/// <param name="IsPublishedTestKey">True when that key is the published test key.</param>
/// <param name="Problem">Why it did not verify (only with <c>Inference:RequireSignedModel=false</c>, which loads it anyway).</param>
public sealed record SignatureStatus(bool Verified, string? KeyId, bool IsPublishedTestKey, string? Problem = null)
{
    public override string ToString() => Verified
        ? $"verified, key {KeyId}" + (IsPublishedTestKey ? " (the published TEST key: tests and demo only)" : "")
        : $"NOT verified ({Problem})";
}

/// <summary>
/// Model manifest signatures. Signing the manifest's bytes covers the ONNX files too: the manifest lists each file's
/// sha256 and size, which the loader checks before a session is built. The signed bytes are the file as it is on disk
/// (no canonical JSON form to get wrong); a context string in front keeps a signature of this kind from being valid for
/// any other use of the same key.
/// </summary>
public static class ManifestSignature
{
    public const string SchemaV1 = "ecgedge.manifest-signature/1";
    public const string Algorithm = "ECDSA-P256-SHA256";

    /// <summary>Prefix of the signed message (domain separation), followed by the manifest's bytes.</summary>
    public static ReadOnlySpan<byte> Context => "ecgedge model manifest signature v1\n"u8;

    /// <summary>A signature file is a few hundred bytes; a larger one is refused without being read.</summary>
    private const int MaxSignatureFileBytes = 4096;

    /// <summary>The detached signature of <paramref name="manifestPath"/>.</summary>
    public static string PathFor(string manifestPath) => manifestPath + ".sig";

    /// <summary>The signature file (JSON, UTF-8) for <paramref name="manifestBytes"/> signed with <paramref name="privateKey"/> (P-256).</summary>
    public static byte[] Create(ReadOnlySpan<byte> manifestBytes, ECDsa privateKey)
    {
        ArgumentNullException.ThrowIfNull(privateKey);
        if (privateKey.KeySize != 256 || privateKey.ExportParameters(false).Curve.Oid?.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
            throw new ArgumentException("model manifests are signed with ECDSA P-256 keys", nameof(privateKey));
        var signature = privateKey.SignData(Message(manifestBytes), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        // Written by hand rather than serialised: the default encoder escapes base64's '+' as \u002B, which is valid JSON but
        // gets in the way of checking the signature with other tools (docs/model-signing.md: openssl).
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("schema", SchemaV1);
            json.WriteString("algorithm", Algorithm);
            json.WriteString("keyId", ModelTrust.KeyIdOf(privateKey));
            json.WriteString("signature", Convert.ToBase64String(signature));
            json.WriteEndObject();
        }
        return [.. buffer.WrittenSpan, (byte)'\n'];
    }

    /// <summary>
    /// Signs the manifest at <paramref name="manifestPath"/> as it is on disk and writes <see cref="PathFor"/> atomically
    /// (temporary file, then rename), so a model watcher never reads half a signature. Returns the signature file's path.
    /// </summary>
    public static string SignFile(string manifestPath, ECDsa privateKey)
    {
        var bytes = File.ReadAllBytes(manifestPath);
        var sigPath = PathFor(manifestPath);
        var tmp = sigPath + ".tmp";
        File.WriteAllBytes(tmp, Create(bytes, privateKey));
        File.Move(tmp, sigPath, overwrite: true);
        return sigPath;
    }

    /// <summary>
    /// Verifies the detached signature of the manifest whose bytes are <paramref name="manifestBytes"/> (read once by the
    /// caller, who parses these same bytes afterwards). Throws <see cref="ModelLoadException"/> with
    /// <see cref="ModelLoadFailure.SignatureMissing"/>, <see cref="ModelLoadFailure.SignatureUntrusted"/> or
    /// <see cref="ModelLoadFailure.SignatureInvalid"/>.
    /// </summary>
    public static SignatureStatus Verify(string manifestPath, ReadOnlySpan<byte> manifestBytes, ModelTrust trust)
    {
        ArgumentNullException.ThrowIfNull(trust);
        var sigPath = PathFor(manifestPath);
        byte[] sigBytes;
        try
        {
            var info = new FileInfo(sigPath);
            if (!info.Exists)
                throw new ModelLoadException(ModelLoadFailure.SignatureMissing,
                    $"model manifest '{manifestPath}' is not signed (no '{Path.GetFileName(sigPath)}' beside it); sign it with `ecgedge model sign`");
            if (info.Length > MaxSignatureFileBytes)
                throw new ModelLoadException(ModelLoadFailure.SignatureInvalid, $"signature file '{sigPath}' is {info.Length} bytes, not a signature");
            sigBytes = File.ReadAllBytes(sigPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException(ModelLoadFailure.SignatureMissing, $"cannot read the signature file '{sigPath}': {e.Message}", e);
        }

        var file = Parse(sigBytes, sigPath);
        var key = trust.Find(file.KeyId) ?? throw new ModelLoadException(ModelLoadFailure.SignatureUntrusted,
            $"model manifest '{manifestPath}' is signed by key {file.KeyId}, which is not in Inference:TrustedKeys"
            + (trust.Keys.Count == 0 ? " (no key is trusted)" : $" (trusted: {string.Join(", ", trust.Keys.Select(k => k.KeyId))})"));
        byte[] signature;
        try { signature = Convert.FromBase64String(file.Signature); }
        catch (FormatException)
        {
            throw new ModelLoadException(ModelLoadFailure.SignatureInvalid, $"signature file '{sigPath}': the signature is not base64");
        }
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportSubjectPublicKeyInfo(key.SubjectPublicKeyInfo, out _);
        bool ok;
        try { ok = ecdsa.VerifyData(Message(manifestBytes), signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence); }
        catch (CryptographicException) { ok = false; } // a malformed DER sequence is a failed verification, not a crash
        if (!ok)
            throw new ModelLoadException(ModelLoadFailure.SignatureInvalid,
                $"the signature of model manifest '{manifestPath}' does not verify under trusted key {key.KeyId}: the manifest " +
                "(or its signature file) was changed after signing");
        return new SignatureStatus(true, key.KeyId, key.IsPublishedTestKey);
    }

    private static ManifestSignatureFile Parse(byte[] bytes, string sigPath)
    {
        ManifestSignatureFile? file;
        try { file = JsonSerializer.Deserialize(bytes, SignatureJsonContext.Default.ManifestSignatureFile); }
        catch (JsonException e)
        {
            throw new ModelLoadException(ModelLoadFailure.SignatureInvalid, $"signature file '{sigPath}' is not valid JSON: {e.Message}", e);
        }
        if (file is null || file.Schema != SchemaV1)
            throw new ModelLoadException(ModelLoadFailure.SignatureInvalid,
                $"signature file '{sigPath}' is not a {SchemaV1} file (schema '{file?.Schema}')");
        if (file.Algorithm != Algorithm)
            throw new ModelLoadException(ModelLoadFailure.SignatureInvalid,
                $"signature file '{sigPath}': algorithm '{file.Algorithm}' is not supported (only {Algorithm})");
        if (file.KeyId is not { Length: 16 } || !file.KeyId.All(char.IsAsciiHexDigitLower))
            throw new ModelLoadException(ModelLoadFailure.SignatureInvalid, $"signature file '{sigPath}': keyId must be 16 lowercase hex digits");
        if (string.IsNullOrEmpty(file.Signature))
            throw new ModelLoadException(ModelLoadFailure.SignatureInvalid, $"signature file '{sigPath}' has no signature");
        return file;
    }

    private static byte[] Message(ReadOnlySpan<byte> manifestBytes)
    {
        var message = new byte[Context.Length + manifestBytes.Length];
        Context.CopyTo(message);
        manifestBytes.CopyTo(message.AsSpan(Context.Length));
        return message;
    }
}

// A duplicated member is refused, not resolved (last wins by default): a signature file has one meaning.
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, AllowDuplicateProperties = false)]
[JsonSerializable(typeof(ManifestSignatureFile))]
internal sealed partial class SignatureJsonContext : JsonSerializerContext;
