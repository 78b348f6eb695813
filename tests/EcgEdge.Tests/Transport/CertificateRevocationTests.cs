using System.Net.Security;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EcgEdge.Transport.Mqtt;

namespace EcgEdge.Tests.Transport;

/// <summary>The device's offline CRL check (<see cref="RevocationList"/>, <see cref="TlsTrust"/>) on certificates and CRLs
/// made here with .NET's CertificateRequest and CertificateRevocationListBuilder; no broker.</summary>
public sealed class CertificateRevocationTests : IDisposable
{
    private readonly EcgEdge.Tests.Wfdb.TempDirectory _dir = new();
    private readonly ECDsa _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly X509Certificate2 _ca;
    private readonly ECDsa _goodKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly X509Certificate2 _good;
    private readonly ECDsa _revokedKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly X509Certificate2 _revoked;
    private readonly X509Certificate2Collection _roots;
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    public CertificateRevocationTests()
    {
        _ca = MqttTlsIntegrationTests.CreateCa("EcgEdge Test CA", _caKey);
        _good = MqttTlsIntegrationTests.CreateLeaf("broker", _goodKey, _ca, server: true);
        _revoked = MqttTlsIntegrationTests.CreateLeaf("broker", _revokedKey, _ca, server: true);
        _roots = [X509CertificateLoader.LoadCertificate(_ca.RawData)];
    }

    public void Dispose()
    {
        foreach (var d in new IDisposable[] { _ca, _good, _revoked, _caKey, _goodKey, _revokedKey }) d.Dispose();
        foreach (var c in _roots) c.Dispose();
        _dir.Dispose();
    }

    /// <summary>A CRL of <paramref name="issuer"/> listing <paramref name="revoked"/>.</summary>
    internal static byte[] Crl(X509Certificate2 issuer, DateTimeOffset thisUpdate, DateTimeOffset nextUpdate, params X509Certificate2[] revoked)
    {
        var b = new CertificateRevocationListBuilder();
        foreach (var r in revoked) b.AddEntry(r, thisUpdate.AddMinutes(-1), X509RevocationReason.KeyCompromise);
        return b.Build(issuer, BigInteger.One, nextUpdate, HashAlgorithmName.SHA256, thisUpdate: thisUpdate);
    }

    internal static string Pem(byte[] crlDer) => PemEncoding.WriteString("X509 CRL", crlDer);

    private string WriteCrl(byte[] der, bool pem = true)
    {
        var path = _dir.File("crl-" + Guid.NewGuid().ToString("N")[..8] + (pem ? ".pem" : ".der"));
        if (pem) File.WriteAllText(path, Pem(der));
        else File.WriteAllBytes(path, der);
        return path;
    }

    private bool Validate(X509Certificate2 broker, string? crlFile, out CertificateFailure? failure) =>
        TlsTrust.Validate(broker, SslPolicyErrors.None, _roots, crlFile, Now.UtcDateTime, out failure);

    [Fact]
    public void A_listed_broker_certificate_is_refused_and_an_unlisted_one_accepted_in_pem_and_der()
    {
        var der = Crl(_ca, Now.AddHours(-1), Now.AddDays(7), _revoked);
        foreach (var pem in new[] { true, false })
        {
            var file = WriteCrl(der, pem);
            Assert.True(Validate(_good, file, out var f1), f1?.ToString());
            Assert.Null(f1);
            Assert.False(Validate(_revoked, file, out var f2));
            Assert.Equal(CertificateFailureKind.Revoked, f2!.Kind);
            Assert.Contains(_revoked.SerialNumber, f2.Detail, StringComparison.Ordinal);
        }
        // Without a CRL the same revoked certificate passes: the check is what refuses it.
        Assert.True(Validate(_revoked, null, out _));
        var list = Assert.Single(RevocationList.LoadFile(WriteCrl(der), _roots));
        Assert.Equal(1, list.Count);
        Assert.True(list.IsRevoked(_revoked));
        Assert.False(list.IsRevoked(_good));
    }

    [Fact]
    public void A_crl_outside_its_time_window_refuses_every_broker()
    {
        var expired = WriteCrl(Crl(_ca, Now.AddDays(-8), Now.AddDays(-1)));
        Assert.False(Validate(_good, expired, out var f));
        Assert.Equal(CertificateFailureKind.CrlExpired, f!.Kind);
        var future = WriteCrl(Crl(_ca, Now.AddHours(2), Now.AddDays(7)));
        Assert.False(Validate(_good, future, out f));
        Assert.Equal(CertificateFailureKind.CrlNotYetValid, f!.Kind);
        // Within the allowed clock skew a fresh CRL is accepted.
        var fresh = WriteCrl(Crl(_ca, Now.AddMinutes(2), Now.AddDays(7)));
        Assert.True(Validate(_good, fresh, out f), f?.ToString());
    }

    [Fact]
    public void A_crl_not_signed_by_the_configured_ca_is_refused()
    {
        // Same name, another key: the signature does not verify.
        using var impostorKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var impostor = MqttTlsIntegrationTests.CreateCa("EcgEdge Test CA", impostorKey);
        Assert.False(Validate(_revoked, WriteCrl(Crl(impostor, Now.AddHours(-1), Now.AddDays(7))), out var f));
        Assert.Equal(CertificateFailureKind.CrlSignatureInvalid, f!.Kind);
        // Another name: not one of the configured CAs.
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = MqttTlsIntegrationTests.CreateCa("Someone Else's CA", otherKey);
        Assert.False(Validate(_good, WriteCrl(Crl(other, Now.AddHours(-1), Now.AddDays(7))), out f));
        Assert.Equal(CertificateFailureKind.CrlIssuerUnknown, f!.Kind);
        // The right CA's CRL altered after signing (last byte of the signature value).
        var der = Crl(_ca, Now.AddHours(-1), Now.AddDays(7), _revoked);
        der[^1] ^= 0x01;
        Assert.False(Validate(_good, WriteCrl(der), out f));
        Assert.Equal(CertificateFailureKind.CrlSignatureInvalid, f!.Kind);
    }

    [Fact]
    public void A_missing_or_malformed_crl_file_refuses_every_broker()
    {
        Assert.False(Validate(_good, _dir.File("no-such.crl"), out var f));
        Assert.Equal(CertificateFailureKind.CrlUnreadable, f!.Kind);
        Assert.False(Validate(_good, _dir.Write("garbage.crl", "this is not a CRL"), out f));
        Assert.Equal(CertificateFailureKind.CrlInvalid, f!.Kind);
        Assert.False(Validate(_good, _dir.Write("cert-instead.crl", _ca.ExportCertificatePem()), out f));
        Assert.Equal(CertificateFailureKind.CrlInvalid, f!.Kind);
        var truncated = Crl(_ca, Now.AddHours(-1), Now.AddDays(7));
        Assert.False(Validate(_good, WriteCrl(truncated[..^10], pem: false), out f));
        Assert.Equal(CertificateFailureKind.CrlInvalid, f!.Kind);
    }

    [Fact]
    public void An_rsa_ca_crl_is_checked_too()
    {
        using var rsaKey = RSA.Create(2048);
        var req = new CertificateRequest("CN=EcgEdge RSA CA", rsaKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        using var rsaCa = req.CreateSelfSigned(Now.AddDays(-1), Now.AddDays(1));
        using var leafKey = RSA.Create(2048);
        var leafReq = new CertificateRequest("CN=broker", leafKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        leafReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        using var leaf = leafReq.Create(rsaCa, Now.AddHours(-1), Now.AddHours(12), RandomNumberGenerator.GetBytes(8));
        var b = new CertificateRevocationListBuilder();
        b.AddEntry(leaf);
        var der = b.Build(rsaCa, BigInteger.One, Now.AddDays(7), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1, Now.AddHours(-1));
        X509Certificate2Collection roots = [X509CertificateLoader.LoadCertificate(rsaCa.RawData)];
        Assert.False(TlsTrust.Validate(leaf, SslPolicyErrors.None, roots, WriteCrl(der), Now.UtcDateTime, out var f));
        Assert.Equal(CertificateFailureKind.Revoked, f!.Kind);
        var empty = new CertificateRevocationListBuilder().Build(rsaCa, 2, Now.AddDays(7), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1, Now.AddHours(-1));
        Assert.True(TlsTrust.Validate(leaf, SslPolicyErrors.None, roots, WriteCrl(empty), Now.UtcDateTime, out f), f?.ToString());
        foreach (var c in roots) c.Dispose();
    }

    [Fact]
    public void Start_up_refuses_a_crl_file_that_is_missing_malformed_or_not_the_cas_and_accepts_an_expired_one()
    {
        var caFile = _dir.Write("ca.pem", _ca.ExportCertificatePem());
        MqttTransportOptions Options(string? crl, string? ca = null)
        {
            var o = new MqttTransportOptions { DeviceId = "dev1", Endpoints = ["mqtts://127.0.0.1:8883"] };
            o.Tls.CaCertificateFile = ca ?? caFile;
            o.Tls.CrlFile = crl;
            return o;
        }
        Assert.Empty(Options(WriteCrl(Crl(_ca, Now.AddHours(-1), Now.AddDays(7), _revoked))).ValidationErrors());
        // Expired: not a configuration error (connections are refused until a current CRL is installed).
        Assert.Empty(Options(WriteCrl(Crl(_ca, Now.AddDays(-8), Now.AddDays(-1)))).ValidationErrors());
        Assert.Contains(Options(_dir.File("missing.crl")).ValidationErrors(), e => e.Contains("Mqtt:Tls:CrlFile", StringComparison.Ordinal) && e.Contains("does not exist", StringComparison.Ordinal));
        Assert.Contains(Options(_dir.Write("bad.crl", "nope")).ValidationErrors(), e => e.StartsWith("Mqtt:Tls:CrlFile: CrlInvalid", StringComparison.Ordinal));
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = MqttTlsIntegrationTests.CreateCa("Someone Else's CA", otherKey);
        Assert.Contains(Options(WriteCrl(Crl(other, Now.AddHours(-1), Now.AddDays(7)))).ValidationErrors(), e => e.StartsWith("Mqtt:Tls:CrlFile: CrlIssuerUnknown", StringComparison.Ordinal));
        var noCa = Options(WriteCrl(Crl(_ca, Now.AddHours(-1), Now.AddDays(7))));
        noCa.Tls.CaCertificateFile = null;
        Assert.Contains(noCa.ValidationErrors(), e => e.Contains("needs Mqtt:Tls:CaCertificateFile", StringComparison.Ordinal));
    }
}
