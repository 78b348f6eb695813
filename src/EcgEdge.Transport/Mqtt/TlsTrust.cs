using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace EcgEdge.Transport.Mqtt;

/// <summary>Broker certificate validation shared by the publisher and the watcher.</summary>
public static class TlsTrust
{
    /// <summary>
    /// With no private CA: the system trust store's verdict. With a private CA (<paramref name="roots"/>): the host name
    /// must match and the chain must build to one of those roots only (no system roots, no online revocation check).
    /// </summary>
    public static bool Validate(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection? roots, DateTime nowUtc, out string? why)
    {
        var ok = Validate(certificate, errors, roots, crlFile: null, nowUtc, out var failure);
        why = failure?.ToString();
        return ok;
    }

    /// <summary>
    /// As above; with <paramref name="crlFile"/> (requires <paramref name="roots"/>) the file is read now, each CRL's
    /// signature verified with the configured CA that issued it, and every certificate of the built chain below the
    /// trust anchor must be covered by a current CRL of its issuer and not be listed in it (offline: nothing is fetched).
    /// Fail closed: a missing, unreadable, malformed, unverifiable, expired or not-yet-valid CRL refuses the certificate
    /// like a revocation does; <paramref name="failure"/> says which.
    /// </summary>
    public static bool Validate(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection? roots, string? crlFile, DateTime nowUtc,
        out CertificateFailure? failure)
    {
        failure = null;
        if (certificate is null)
        {
            failure = new CertificateFailure(CertificateFailureKind.Untrusted, "no certificate");
            return false;
        }
        if (roots is null)
        {
            if (!string.IsNullOrEmpty(crlFile))
            {
                failure = new CertificateFailure(CertificateFailureKind.CrlIssuerUnknown, "a CRL file needs the CA certificate file that issued it");
                return false;
            }
            if (errors != SslPolicyErrors.None) failure = new CertificateFailure(CertificateFailureKind.Untrusted, errors.ToString());
            return errors == SslPolicyErrors.None;
        }
        if ((errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            failure = new CertificateFailure(CertificateFailureKind.Untrusted, errors.ToString());
            return false;
        }
        using var cert = new X509Certificate2(certificate);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = nowUtc;
        if (!chain.Build(cert))
        {
            failure = new CertificateFailure(CertificateFailureKind.Untrusted, string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim())));
            return false;
        }
        if (string.IsNullOrEmpty(crlFile)) return true;
        var elements = chain.ChainElements.Select(e => e.Certificate).ToList();
        try
        {
            var lists = RevocationList.LoadFile(crlFile, roots);
            RevocationList.Check(elements, lists, new DateTimeOffset(DateTime.SpecifyKind(nowUtc, DateTimeKind.Utc)));
            return true;
        }
        catch (CertificateRevocationException e)
        {
            failure = new CertificateFailure(e.Kind, e.Message);
            return false;
        }
    }
}
