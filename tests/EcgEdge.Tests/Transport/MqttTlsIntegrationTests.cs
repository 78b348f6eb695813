using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using EcgEdge.Transport.Mqtt;
using EcgEdge.Transport.Outbox;

namespace EcgEdge.Tests.Transport;

/// <summary>mosquitto with TLS and client certificates from a test CA generated here (skipped without mosquitto).</summary>
public sealed class MqttTlsIntegrationTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ecgedge-tls-" + Guid.NewGuid().ToString("N"));

    public MqttTlsIntegrationTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private string Write(string name, string pem)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, pem);
        return path;
    }

    internal static X509Certificate2 CreateCa(string name, ECDsa key)
    {
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        return req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    internal static X509Certificate2 CreateLeaf(string name, ECDsa key, X509Certificate2 ca, bool server)
    {
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (server)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            req.CertificateExtensions.Add(san.Build());
        }
        req.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        // Well inside the CA's validity (which ends one day after its creation), whatever the clock did since.
        return req.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), RandomNumberGenerator.GetBytes(8));
    }

    [SkippableFact]
    public async Task Connects_only_with_the_right_ca_host_name_and_client_certificate()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = CreateCa("EcgEdge Test CA", caKey);
        using var otherCaKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var otherCa = CreateCa("Someone Else's CA", otherCaKey);
        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var server = CreateLeaf("broker", serverKey, ca, server: true);
        using var clientKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var client = CreateLeaf("dev1", clientKey, ca, server: false);
        var caFile = Write("ca.pem", ca.ExportCertificatePem());
        var otherCaFile = Write("other-ca.pem", otherCa.ExportCertificatePem());
        var serverCert = Write("server.pem", server.ExportCertificatePem());
        var serverKeyFile = Write("server.key", serverKey.ExportPkcs8PrivateKeyPem());
        var clientCert = Write("client.pem", client.ExportCertificatePem());
        var clientKeyFile = Write("client.key", clientKey.ExportPkcs8PrivateKeyPem());

        await using var broker = await MosquittoFixture.StartNewAsync($"""
            cafile {caFile}
            certfile {serverCert}
            keyfile {serverKeyFile}
            require_certificate true
            """);
        var endpoint = $"mqtts://127.0.0.1:{broker.Port}";

        MqttTransportOptions Options(string ca, bool withClientCert, string? serverName = null)
        {
            var o = new MqttTransportOptions
            {
                Mode = MqttMode.External, // brokers of its own: an embedded broker is plain loopback, refused with RequireTls
                DeviceId = "dev1",
                Endpoints = [endpoint],
                KeepAliveSeconds = 5,
                ConnectTimeout = TimeSpan.FromSeconds(2),
                ReconnectMinDelay = TimeSpan.FromMilliseconds(100),
                ReconnectMaxDelay = TimeSpan.FromMilliseconds(300),
                Outbox = new DurableOutboxOptions { Directory = Path.Combine(_dir, "outbox-" + Guid.NewGuid().ToString("N")) },
            };
            o.Tls.RequireTls = true;
            o.Tls.CaCertificateFile = ca;
            o.Tls.ServerName = serverName;
            if (withClientCert)
            {
                o.Tls.ClientCertificateFile = clientCert;
                o.Tls.ClientKeyFile = clientKeyFile;
            }
            return o;
        }

        async Task<(MqttConnectionState State, int Pending, long Failures)> Run(MqttTransportOptions o, bool expectSuccess)
        {
            using var outbox = DurableOutbox.Open(o.Outbox);
            await using var publisher = new MqttPublisher(o, outbox, new MqttStatusInfo(DateTimeOffset.UtcNow, new Dictionary<string, string>()));
            publisher.Start();
            for (var i = 0; i < 3; i++)
                publisher.Publish(new TransportMessage { Id = $"t{i}", Topic = publisher.Topics.Alerts, Payload = Encoding.UTF8.GetBytes($"{{\"id\":\"t{i}\"}}") });
            if (expectSuccess) await publisher.WaitUntilDrainedAsync(TimeSpan.FromSeconds(10));
            else
            {
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (publisher.Counters.ConnectFailures < 2 && DateTime.UtcNow < deadline) await Task.Delay(20);
            }
            return (publisher.State, outbox.PendingCount, publisher.Counters.ConnectFailures);
        }

        var ok = await Run(Options(caFile, withClientCert: true), expectSuccess: true);
        Assert.Equal(0, ok.Pending);
        Assert.Equal(MqttConnectionState.Connected, ok.State);

        var wrongCa = await Run(Options(otherCaFile, withClientCert: true), expectSuccess: false);
        Assert.Equal(3, wrongCa.Pending);
        Assert.True(wrongCa.Failures >= 2);

        var wrongHost = await Run(Options(caFile, withClientCert: true, serverName: "not-the-broker.example"), expectSuccess: false);
        Assert.Equal(3, wrongHost.Pending);

        var noClientCert = await Run(Options(caFile, withClientCert: false), expectSuccess: false);
        Assert.Equal(3, noClientCert.Pending);

        // Plain TCP: refused by the device's own settings when TLS is required …
        var plain = Options(caFile, withClientCert: true);
        plain.Endpoints = [$"mqtt://127.0.0.1:{broker.Port}"];
        Assert.Contains(plain.ValidationErrors(), e => e.Contains("plain TCP", StringComparison.Ordinal));
        // … and by the broker's TLS listener when a client tries anyway.
        plain.Tls.RequireTls = false;
        plain.Tls.CaCertificateFile = null;
        plain.Tls.ClientCertificateFile = null;
        plain.Tls.ClientKeyFile = null;
        var plainRun = await Run(plain, expectSuccess: false);
        Assert.Equal(3, plainRun.Pending);
        Assert.NotEqual(MqttConnectionState.Connected, plainRun.State);
    }
}
