using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using EcgEdge.Transport.Mqtt;
using EcgEdge.Transport.Outbox;

namespace EcgEdge.Tests.Transport;

/// <summary>
/// Revocation with a real mosquitto (TLS, client certificates), certificates and CRLs generated here: the device refuses a
/// broker whose certificate the CRL lists (Mqtt:Tls:CrlFile) and connects to the same broker with a good certificate;
/// mosquitto's <c>crlfile</c> refuses a device whose certificate is revoked. Skipped when mosquitto is not installed.
/// </summary>
public sealed class MqttCrlIntegrationTests : IDisposable
{
    private readonly EcgEdge.Tests.Wfdb.TempDirectory _dir = new();
    private readonly Xunit.Abstractions.ITestOutputHelper _out;
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    public MqttCrlIntegrationTests(Xunit.Abstractions.ITestOutputHelper output) => _out = output;

    public void Dispose() => _dir.Dispose();

    private sealed record Pki(string CaFile, X509Certificate2 Ca, string Dir)
    {
        public (string Cert, string Key, X509Certificate2 Certificate) Leaf(string name, bool server)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var cert = MqttTlsIntegrationTests.CreateLeaf(name, key, Ca, server);
            var id = name + "-" + Guid.NewGuid().ToString("N")[..6];
            var certFile = Path.Combine(Dir, id + ".pem");
            var keyFile = Path.Combine(Dir, id + ".key");
            File.WriteAllText(certFile, cert.ExportCertificatePem());
            File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
            return (certFile, keyFile, cert);
        }

        public string Crl(string name, DateTimeOffset thisUpdate, DateTimeOffset nextUpdate, params X509Certificate2[] revoked)
        {
            var path = Path.Combine(Dir, name);
            File.WriteAllText(path, CertificateRevocationTests.Pem(CertificateRevocationTests.Crl(Ca, thisUpdate, nextUpdate, revoked)));
            return path;
        }
    }

    private Pki NewPki()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var ca = MqttTlsIntegrationTests.CreateCa("EcgEdge Fleet Test CA", caKey);
        return new Pki(_dir.Write("ca.pem", ca.ExportCertificatePem()), ca, _dir.Path);
    }

    private static Task<MosquittoFixture> Broker(Pki pki, (string Cert, string Key, X509Certificate2 _) server, string? crlFile = null) =>
        MosquittoFixture.StartNewAsync($"""
            cafile {pki.CaFile}
            certfile {server.Cert}
            keyfile {server.Key}
            require_certificate true
            use_identity_as_username true
            {(crlFile is null ? "" : "crlfile " + crlFile)}
            """);

    private MqttTransportOptions Options(MosquittoFixture broker, Pki pki, string deviceId, (string Cert, string Key, X509Certificate2 _) client, string? crlFile) => new()
    {
        DeviceId = deviceId,
        Endpoints = [$"mqtts://127.0.0.1:{broker.Port}"],
        KeepAliveSeconds = 5,
        Mode = MqttMode.External, // an external broker: RequireTls is refused with the embedded (plain loopback) one
        ConnectTimeout = TimeSpan.FromSeconds(3),
        ReconnectMinDelay = TimeSpan.FromMilliseconds(100),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(300),
        Outbox = new DurableOutboxOptions { Directory = _dir.File("outbox-" + Guid.NewGuid().ToString("N")) },
        Tls = new MqttTlsOptions
        {
            RequireTls = true, CaCertificateFile = pki.CaFile, CrlFile = crlFile,
            ClientCertificateFile = client.Cert, ClientKeyFile = client.Key,
        },
    };

    /// <summary>Publishes 3 alerts; waits for them to drain (expected to connect) or for 2 failed connects.</summary>
    private async Task<(bool Drained, int Pending, MqttPublisherCounters Counters, CertificateFailure? Failure)> Run(MqttTransportOptions o, bool expectSuccess)
    {
        using var outbox = DurableOutbox.Open(o.Outbox);
        await using var publisher = new MqttPublisher(o, outbox, new MqttStatusInfo(DateTimeOffset.UtcNow, new Dictionary<string, string>()));
        publisher.Start();
        for (var i = 0; i < 3; i++)
            publisher.Publish(new TransportMessage { Id = $"c{i}", Topic = publisher.Topics.Alerts, Payload = Encoding.UTF8.GetBytes($"{{\"id\":\"c{i}\"}}") });
        var drained = false;
        if (expectSuccess) drained = await publisher.WaitUntilDrainedAsync(TimeSpan.FromSeconds(15));
        else
        {
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (publisher.Counters.ConnectFailures < 2 && DateTime.UtcNow < deadline) await Task.Delay(20);
        }
        var r = (drained, outbox.PendingCount, publisher.Counters, publisher.LastCertificateFailure);
        _out.WriteLine($"{o.DeviceId} → {o.Endpoints[0]}: drained {r.drained}, pending {r.PendingCount}, connect failures {r.Counters.ConnectFailures}, failure {r.LastCertificateFailure}");
        return r;
    }

    [SkippableFact]
    public async Task The_device_refuses_a_broker_whose_certificate_is_revoked_and_connects_to_a_good_one()
    {
        var pki = NewPki();
        var goodServer = pki.Leaf("broker", server: true);
        var revokedServer = pki.Leaf("broker", server: true);
        var device = pki.Leaf("dev1", server: false);
        var crl = pki.Crl("fleet-ca.crl", Now.AddHours(-1), Now.AddDays(7), revokedServer.Certificate);
        var expiredCrl = pki.Crl("expired.crl", Now.AddDays(-8), Now.AddDays(-1));

        await using (var good = await Broker(pki, goodServer))
        {
            var ok = await Run(Options(good, pki, "dev1", device, crl), expectSuccess: true);
            Assert.True(ok.Drained);
            Assert.Null(ok.Failure);
            // The same good broker with an expired CRL: refused (fail closed), the alerts wait in the outbox.
            var stale = await Run(Options(good, pki, "dev1", device, expiredCrl), expectSuccess: false);
            Assert.Equal(3, stale.Pending);
            Assert.Equal(CertificateFailureKind.CrlExpired, stale.Failure?.Kind);
        }
        await using (var revoked = await Broker(pki, revokedServer))
        {
            var refused = await Run(Options(revoked, pki, "dev1", device, crl), expectSuccess: false);
            Assert.Equal(3, refused.Pending);
            Assert.True(refused.Counters.ConnectFailures >= 2);
            Assert.Equal(CertificateFailureKind.Revoked, refused.Failure?.Kind);
            Assert.Contains(revokedServer.Certificate.SerialNumber, refused.Failure!.Detail, StringComparison.Ordinal);
            // Without the CRL setting the device would have trusted it: the check is what refuses it.
            var unchecked_ = await Run(Options(revoked, pki, "dev1", device, crlFile: null), expectSuccess: true);
            Assert.True(unchecked_.Drained);
        }
    }

    [SkippableFact]
    public async Task Mosquitto_with_crlfile_refuses_a_device_whose_certificate_is_revoked()
    {
        var pki = NewPki();
        var server = pki.Leaf("broker", server: true);
        var dev1 = pki.Leaf("dev1", server: false);
        var dev2 = pki.Leaf("dev2", server: false);
        var crl = pki.Crl("fleet-ca.crl", Now.AddHours(-1), Now.AddDays(7), dev2.Certificate);

        await using (var broker = await Broker(pki, server, crl))
        {
            Assert.True((await Run(Options(broker, pki, "dev1", dev1, crlFile: null), expectSuccess: true)).Drained, broker.Log());
            var refused = await Run(Options(broker, pki, "dev2", dev2, crlFile: null), expectSuccess: false);
            Assert.Equal(3, refused.Pending);
            Assert.True(refused.Counters.ConnectFailures >= 2);
            Assert.Null(refused.Failure); // the broker refused the device, not the device the broker
            _out.WriteLine(broker.Log());
        }
        // mosquitto (OpenSSL) also refuses every client while its CRL is past nextUpdate: re-issue it in time.
        var expired = pki.Crl("expired.crl", Now.AddDays(-8), Now.AddDays(-1));
        await using (var broker = await Broker(pki, server, expired))
        {
            var stale = await Run(Options(broker, pki, "dev1", dev1, crlFile: null), expectSuccess: false);
            Assert.Equal(3, stale.Pending);
        }
    }
}
