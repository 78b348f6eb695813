using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace EcgEdge.Transport.Mqtt;

/// <summary>Why a broker certificate was refused (<see cref="MqttPublisher.LastCertificateFailure"/>).</summary>
public enum CertificateFailureKind
{
    /// <summary>The chain did not build to the configured CA, the certificate is outside its validity, or the host name
    /// does not match.</summary>
    Untrusted,

    /// <summary>The certificate (or a CA certificate under the trust anchor) is listed in the CRL.</summary>
    Revoked,

    /// <summary>The CRL file is missing or cannot be read.</summary>
    CrlUnreadable,

    /// <summary>The CRL file is not a well-formed X.509 CRL (PEM or DER), uses an unsupported signature algorithm or
    /// has no nextUpdate.</summary>
    CrlInvalid,

    /// <summary>The CRL's issuer is not one of the configured CA certificates, or that CA may not sign CRLs.</summary>
    CrlIssuerUnknown,

    /// <summary>The CRL's signature does not verify with its issuer's key (tampered or forged).</summary>
    CrlSignatureInvalid,

    /// <summary>The CRL's nextUpdate has passed: it can no longer tell whether a certificate was revoked since.</summary>
    CrlExpired,

    /// <summary>The CRL's thisUpdate is in the future (beyond <see cref="RevocationList.ClockSkew"/>): the device clock or the CRL is wrong.</summary>
    CrlNotYetValid,

    /// <summary>No CRL in the file was issued by the CA that issued a certificate of the chain.</summary>
    NoCrlForIssuer,
}

/// <summary>A refused broker certificate: the kind, and a sentence for the log.</summary>
public sealed record CertificateFailure(CertificateFailureKind Kind, string Detail)
{
    public override string ToString() => $"{Kind}: {Detail}";
}

/// <summary>A CRL problem (thrown by <see cref="RevocationList.LoadFile"/> and <see cref="RevocationList.Check"/>).</summary>
public sealed class CertificateRevocationException(CertificateFailureKind kind, string message) : Exception(message)
{
    public CertificateFailureKind Kind { get; } = kind;
}

/// <summary>
/// An X.509 CRL (RFC 5280), checked offline: read from a file, its signature verified with the CA certificate that issued
/// it (one of the configured CA certificates), its validity window checked at each use. .NET's <see cref="X509Chain"/>
/// takes no CRL file (on Linux it only reads CRLs from its own download cache), so the list is parsed here with
/// <see cref="AsnReader"/> and the chain's certificates are looked up in it after the chain has been built.
/// </summary>
public sealed class RevocationList
{
    /// <summary>How far a CRL's thisUpdate may lie in the device's future (clock skew between the CA and the device).</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    private readonly HashSet<string> _revoked;

    private RevocationList(X509Certificate2 issuer, DateTimeOffset thisUpdate, DateTimeOffset nextUpdate, HashSet<string> revoked)
    {
        Issuer = issuer;
        ThisUpdate = thisUpdate;
        NextUpdate = nextUpdate;
        _revoked = revoked;
    }

    /// <summary>The CA certificate (from the configured ones) that signed this CRL.</summary>
    public X509Certificate2 Issuer { get; }

    public DateTimeOffset ThisUpdate { get; }
    public DateTimeOffset NextUpdate { get; }
    public int Count => _revoked.Count;

    /// <summary>True when the serial number (big-endian hex as in <see cref="X509Certificate.GetSerialNumberString"/>) is listed.</summary>
    public bool IsRevoked(X509Certificate2 certificate) => _revoked.Contains(NormalizeSerial(certificate.SerialNumberBytes.Span));

    /// <summary>Every CRL in <paramref name="path"/> (PEM blocks "X509 CRL", or one DER CRL), each verified against
    /// <paramref name="issuers"/>. Throws <see cref="CertificateRevocationException"/> (never anything else for a bad file).
    /// Time is not checked here: see <see cref="Check"/>.</summary>
    public static IReadOnlyList<RevocationList> LoadFile(string path, X509Certificate2Collection issuers)
    {
        ArgumentNullException.ThrowIfNull(issuers);
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new CertificateRevocationException(CertificateFailureKind.CrlUnreadable, $"CRL file '{path}' cannot be read: {e.Message}");
        }
        var ders = new List<byte[]>();
        var text = Encoding.ASCII.GetString(bytes);
        if (text.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            var rest = text.AsSpan();
            while (PemEncoding.TryFind(rest, out var pem))
            {
                if (rest[pem.Label].SequenceEqual("X509 CRL"))
                    ders.Add(Convert.FromBase64String(rest[pem.Base64Data].ToString()));
                rest = rest[pem.Location.End.Value..];
            }
        }
        else if (bytes.Length > 0) ders.Add(bytes);
        if (ders.Count == 0) throw new CertificateRevocationException(CertificateFailureKind.CrlInvalid, $"CRL file '{path}' holds no CRL (PEM \"X509 CRL\" or DER)");
        return [.. ders.Select((d, i) => Parse(d, issuers, ders.Count == 1 ? $"'{path}'" : $"'{path}' (CRL {i + 1})"))];
    }

    /// <summary>Parses and verifies one DER CRL.</summary>
    public static RevocationList Parse(ReadOnlyMemory<byte> der, X509Certificate2Collection issuers, string name = "CRL")
    {
        ArgumentNullException.ThrowIfNull(issuers);
        try
        {
            var outer = new AsnReader(der, AsnEncodingRules.DER);
            var certList = outer.ReadSequence();
            outer.ThrowIfNotEmpty();
            var tbsBytes = certList.PeekEncodedValue();
            var tbs = certList.ReadSequence();
            var algorithm = certList.ReadEncodedValue();
            var signature = certList.ReadBitString(out var unused);
            certList.ThrowIfNotEmpty();
            if (unused != 0) throw new CertificateRevocationException(CertificateFailureKind.CrlInvalid, $"{name}: malformed signature");

            if (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
            {
                if (!tbs.TryReadInt32(out var version) || version != 1)
                    throw new CertificateRevocationException(CertificateFailureKind.CrlInvalid, $"{name}: unsupported CRL version");
            }
            var innerAlgorithm = tbs.ReadEncodedValue();
            if (!innerAlgorithm.Span.SequenceEqual(algorithm.Span))
                throw new CertificateRevocationException(CertificateFailureKind.CrlInvalid, $"{name}: the two signature algorithm fields differ");
            var issuerName = tbs.ReadEncodedValue();
            var thisUpdate = ReadTime(tbs);
            DateTimeOffset? nextUpdate = IsTime(tbs) ? ReadTime(tbs) : null;
            var revoked = new HashSet<string>(StringComparer.Ordinal);
            if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
            {
                var entries = tbs.ReadSequence();
                while (entries.HasData)
                {
                    var entry = entries.ReadSequence();
                    revoked.Add(NormalizeSerial(entry.ReadIntegerBytes().Span));
                    ReadTime(entry);
                    if (entry.HasData) entry.ReadSequence(); // crlEntryExtensions (reason code etc.): a listed serial is revoked whatever the reason
                    entry.ThrowIfNotEmpty();
                }
            }
            if (tbs.HasData)
            {
                var extensions = tbs.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0));
                var list = extensions.ReadSequence();
                while (list.HasData)
                {
                    var ext = list.ReadSequence();
                    var oid = ext.ReadObjectIdentifier();
                    var critical = ext.HasData && ext.PeekTag().HasSameClassAndValue(Asn1Tag.Boolean) && ext.ReadBoolean();
                    ext.ReadOctetString();
                    // Understood and harmless: authority key identifier, CRL number. Any other critical extension (e.g. an
                    // issuing distribution point restricting the scope, a delta CRL indicator) is not understood: refuse.
                    if (critical && oid is not ("2.5.29.35" or "2.5.29.20"))
                        throw new CertificateRevocationException(CertificateFailureKind.CrlInvalid, $"{name}: unsupported critical extension {oid}");
                }
            }
            tbs.ThrowIfNotEmpty();
            if (nextUpdate is null)
                throw new CertificateRevocationException(CertificateFailureKind.CrlInvalid, $"{name}: no nextUpdate, so it cannot be known to be current");

            var issuer = issuers.FirstOrDefault(c => c.SubjectName.RawData.AsSpan().SequenceEqual(issuerName.Span))
                ?? throw new CertificateRevocationException(CertificateFailureKind.CrlIssuerUnknown,
                    $"{name}: issued by '{new X500DistinguishedName(issuerName.Span).Name}', which is not one of the configured CA certificates");
            if (issuer.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault() is { } usage && (usage.KeyUsages & X509KeyUsageFlags.CrlSign) == 0)
                throw new CertificateRevocationException(CertificateFailureKind.CrlIssuerUnknown, $"{name}: its issuer '{issuer.Subject}' may not sign CRLs (key usage)");
            if (!VerifySignature(issuer, algorithm, tbsBytes.Span, signature))
                throw new CertificateRevocationException(CertificateFailureKind.CrlSignatureInvalid, $"{name}: the signature does not verify with '{issuer.Subject}'");
            return new RevocationList(issuer, thisUpdate, nextUpdate.Value, revoked);
        }
        catch (AsnContentException e)
        {
            throw new CertificateRevocationException(CertificateFailureKind.CrlInvalid, $"{name}: not a DER X.509 CRL ({e.Message})");
        }
    }

    /// <summary>
    /// Checks a built chain (leaf first, trust anchor last) against <paramref name="lists"/>: every certificate below the
    /// anchor must be covered by a current CRL of the CA that issued it and not be listed. Throws
    /// <see cref="CertificateRevocationException"/>: Revoked, NoCrlForIssuer, CrlExpired, CrlNotYetValid.
    /// </summary>
    public static void Check(IReadOnlyList<X509Certificate2> chain, IReadOnlyList<RevocationList> lists, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(lists);
        for (var i = 0; i + 1 < chain.Count; i++)
        {
            var cert = chain[i];
            var issuer = chain[i + 1];
            var crls = lists.Where(l => l.Issuer.RawDataMemory.Span.SequenceEqual(issuer.RawDataMemory.Span)).ToList();
            if (crls.Count == 0)
                throw new CertificateRevocationException(CertificateFailureKind.NoCrlForIssuer,
                    $"no CRL of '{issuer.Subject}', which issued '{cert.Subject}' (serial {cert.SerialNumber})");
            foreach (var crl in crls)
            {
                if (crl.ThisUpdate - ClockSkew > now)
                    throw new CertificateRevocationException(CertificateFailureKind.CrlNotYetValid,
                        $"the CRL of '{issuer.Subject}' is valid from {crl.ThisUpdate:u} (device clock {now:u})");
                if (crl.NextUpdate < now)
                    throw new CertificateRevocationException(CertificateFailureKind.CrlExpired,
                        $"the CRL of '{issuer.Subject}' expired at {crl.NextUpdate:u} (device clock {now:u}); install a current one");
                if (crl.IsRevoked(cert))
                    throw new CertificateRevocationException(CertificateFailureKind.Revoked,
                        $"'{cert.Subject}' (serial {cert.SerialNumber}) is revoked by the CRL of '{issuer.Subject}' of {crl.ThisUpdate:u}");
            }
        }
    }

    private static bool VerifySignature(X509Certificate2 issuer, ReadOnlyMemory<byte> algorithm, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        var alg = new AsnReader(algorithm, AsnEncodingRules.DER).ReadSequence();
        var oid = alg.ReadObjectIdentifier();
        (HashAlgorithmName Hash, bool Ecdsa) kind = oid switch
        {
            "1.2.840.10045.4.3.2" => (HashAlgorithmName.SHA256, true),
            "1.2.840.10045.4.3.3" => (HashAlgorithmName.SHA384, true),
            "1.2.840.10045.4.3.4" => (HashAlgorithmName.SHA512, true),
            "1.2.840.113549.1.1.11" => (HashAlgorithmName.SHA256, false),
            "1.2.840.113549.1.1.12" => (HashAlgorithmName.SHA384, false),
            "1.2.840.113549.1.1.13" => (HashAlgorithmName.SHA512, false),
            _ => throw new CertificateRevocationException(CertificateFailureKind.CrlInvalid, $"unsupported CRL signature algorithm {oid}"),
        };
        if (kind.Ecdsa)
        {
            using var ec = issuer.GetECDsaPublicKey();
            return ec is not null && ec.VerifyData(data, signature, kind.Hash, DSASignatureFormat.Rfc3279DerSequence);
        }
        using var rsa = issuer.GetRSAPublicKey();
        return rsa is not null && rsa.VerifyData(data, signature, kind.Hash, RSASignaturePadding.Pkcs1);
    }

    private static bool IsTime(AsnReader r) =>
        r.HasData && (r.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) || r.PeekTag().HasSameClassAndValue(Asn1Tag.GeneralizedTime));

    private static DateTimeOffset ReadTime(AsnReader r) =>
        r.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) ? r.ReadUtcTime() : r.ReadGeneralizedTime();

    /// <summary>Upper-case hex of the serial's big-endian bytes without leading zero bytes (DER adds one for a set top bit).</summary>
    private static string NormalizeSerial(ReadOnlySpan<byte> bigEndian)
    {
        var i = 0;
        while (i < bigEndian.Length - 1 && bigEndian[i] == 0) i++;
        return Convert.ToHexString(bigEndian[i..]);
    }
}
