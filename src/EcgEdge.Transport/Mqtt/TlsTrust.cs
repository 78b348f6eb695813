using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace EcgEdge.Transport.Mqtt;

/// <summary>Broker certificate validation shared by the publisher and the watcher.</summary>
public static class TlsTrust
{
    /// <summary>
    /// With no private CA: the system trust store's verdict. With a private CA (<paramref name="roots"/>): the host name
    /// must match and the chain must build to one of those roots only (no system roots, no revocation check).
    /// </summary>
    public static bool Validate(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection? roots, DateTime nowUtc, out string? why)
    {
        why = null;
        if (certificate is null) { why = "no certificate"; return false; }
        if (roots is null)
        {
            if (errors != SslPolicyErrors.None) why = errors.ToString();
            return errors == SslPolicyErrors.None;
        }
        if ((errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            why = errors.ToString();
            return false;
        }
        using var cert = new X509Certificate2(certificate);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = nowUtc;
        var ok = chain.Build(cert);
        if (!ok) why = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()));
        return ok;
    }
}
