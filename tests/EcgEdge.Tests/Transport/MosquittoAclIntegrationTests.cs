using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace EcgEdge.Tests.Transport;

/// <summary>
/// The shipped per-device ACL (deploy/mosquitto/ecgedge.acl, used verbatim) in a real mosquitto with TLS, mandatory
/// client certificates and use_identity_as_username (CN = user name), exercised by MQTT 5 clients with certificates
/// dev1, dev2 and clinician-ward-a. Skipped when mosquitto is not installed.
/// </summary>
public sealed class MosquittoAclIntegrationTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ecgedge-acl-" + Guid.NewGuid().ToString("N"));
    private readonly Xunit.Abstractions.ITestOutputHelper _out;

    public MosquittoAclIntegrationTests(Xunit.Abstractions.ITestOutputHelper output)
    {
        _out = output;
        Directory.CreateDirectory(_dir);
    }

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

    /// <summary>An MQTT 5 client authenticated by a client certificate with CN = <paramref name="cn"/> (client id = CN).</summary>
    private sealed class CertClient : IAsyncDisposable
    {
        public IMqttClient Client { get; } = new MqttClientFactory().CreateMqttClient();
        public ConcurrentQueue<(string Topic, string Payload)> Received { get; } = new();

        public static async Task<CertClient> ConnectAsync(int port, string cn, X509Certificate2 certificate)
        {
            var c = new CertClient();
            c.Client.ApplicationMessageReceivedAsync += e =>
            {
                c.Received.Enqueue((e.ApplicationMessage.Topic, Encoding.UTF8.GetString(e.ApplicationMessage.Payload)));
                return Task.CompletedTask;
            };
            var options = new MqttClientOptionsBuilder()
                .WithTcpServer("127.0.0.1", port)
                .WithClientId(cn)
                .WithProtocolVersion(MqttProtocolVersion.V500)
                .WithCleanSession(true)
                .WithTimeout(TimeSpan.FromSeconds(5))
                .WithTlsOptions(t => t.UseTls().WithTargetHost("127.0.0.1")
                    .WithSslProtocols(System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13)
                    .WithCertificateValidationHandler(_ => true) // the broker's certificate is the test's own
                    .WithClientCertificates([certificate]))
                .Build();
            var result = await c.Client.ConnectAsync(options);
            Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
            return c;
        }

        public async Task<MqttClientSubscribeResultCode> SubscribeAsync(string filter)
        {
            var r = await Client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter(f => f.WithTopic(filter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)).Build());
            return r.Items.Single().ResultCode;
        }

        public async Task<MqttClientPublishReasonCode> PublishAsync(string topic, string payload)
        {
            var r = await Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            return r.ReasonCode;
        }

        public async ValueTask DisposeAsync()
        {
            try { if (Client.IsConnected) await Client.DisconnectAsync(); } catch (Exception) { }
            Client.Dispose();
        }
    }

    private static async Task WaitUntil(Func<bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!done() && DateTime.UtcNow < deadline) await Task.Delay(20);
    }

    [SkippableFact]
    public async Task The_shipped_acl_lets_each_device_write_only_its_own_topics_and_clinicians_only_read()
    {
        Skip.If(OperatingSystem.IsWindows(), "mosquitto integration tests run on Linux/macOS");
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = MqttTlsIntegrationTests.CreateCa("EcgEdge Fleet Test CA", caKey);
        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var server = MqttTlsIntegrationTests.CreateLeaf("broker", serverKey, ca, server: true);
        X509Certificate2 Client(string cn)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            using var cert = MqttTlsIntegrationTests.CreateLeaf(cn, key, ca, server: false);
            // Through PEM like a device does (Tls:ClientCertificateFile + ClientKeyFile).
            return X509Certificate2.CreateFromPemFile(Write(cn + ".pem", cert.ExportCertificatePem()), Write(cn + ".key", key.ExportPkcs8PrivateKeyPem()));
        }
        using var dev1Cert = Client("dev1");
        using var dev2Cert = Client("dev2");
        using var clinicianCert = Client("clinician-ward-a");
        var acl = Path.Combine(TestData.RepoRoot, "deploy", "mosquitto", "ecgedge.acl");
        Assert.True(File.Exists(acl), acl);

        await using var broker = await MosquittoFixture.StartNewAsync($"""
            cafile {Write("ca.pem", ca.ExportCertificatePem())}
            certfile {Write("server.pem", server.ExportCertificatePem())}
            keyfile {Write("server.key", serverKey.ExportPkcs8PrivateKeyPem())}
            tls_version tlsv1.2
            require_certificate true
            use_identity_as_username true
            acl_file {acl}
            """, allowAnonymous: false);

        await using var clinician = await CertClient.ConnectAsync(broker.Port, "clinician-ward-a", clinicianCert);
        await using var dev1 = await CertClient.ConnectAsync(broker.Port, "dev1", dev1Cert);
        await using var dev2 = await CertClient.ConnectAsync(broker.Port, "dev2", dev2Cert);
        var clinicianSub = await clinician.SubscribeAsync("ecgedge/+/alerts");
        // mosquitto 2.0 grants a subscription whatever the ACL and checks read access per delivered message.
        var dev1Sub = await dev1.SubscribeAsync("ecgedge/#");
        _out.WriteLine($"SUBACK clinician ecgedge/+/alerts: {clinicianSub}; dev1 ecgedge/#: {dev1Sub}");
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, clinicianSub);

        // dev1 in its own subtree: accepted and delivered to the clinician.
        var own = await dev1.PublishAsync("ecgedge/dev1/alerts", "{\"id\":\"dev1-own\"}");
        var ownVitals = await dev1.PublishAsync("ecgedge/dev1/vitals", "{\"id\":\"dev1-vitals\"}");
        // dev2 in its own subtree (dev1 subscribed to everything must not see it).
        var dev2Own = await dev2.PublishAsync("ecgedge/dev2/alerts", "{\"id\":\"dev2-own\"}");
        var dev2Status = await dev2.PublishAsync("ecgedge/dev2/status", "{\"id\":\"dev2-status\"}");
        // dev1 impersonating dev2.
        var spoof = await dev1.PublishAsync("ecgedge/dev2/alerts", "{\"id\":\"dev1-as-dev2\"}");
        // The clinician writing alerts: another device's, a wildcard-free fleet topic and its own name's subtree.
        var clinicianToDev1 = await clinician.PublishAsync("ecgedge/dev1/alerts", "{\"id\":\"clinician-as-dev1\"}");
        var clinicianOwn = await clinician.PublishAsync("ecgedge/clinician-ward-a/alerts", "{\"id\":\"clinician-own\"}");
        _out.WriteLine($"PUBACK dev1 own alerts: {own}; dev1 own vitals: {ownVitals}; dev2 own alerts: {dev2Own}; dev2 own status: {dev2Status}");
        _out.WriteLine($"PUBACK dev1 -> ecgedge/dev2/alerts: {spoof}; clinician -> ecgedge/dev1/alerts: {clinicianToDev1}; clinician -> ecgedge/clinician-ward-a/alerts: {clinicianOwn}");

        // A last accepted message from each publisher, then a pause: anything wrongly routed would have arrived by then.
        Assert.Equal(MqttClientPublishReasonCode.Success, await dev1.PublishAsync("ecgedge/dev1/alerts", "{\"id\":\"dev1-marker\"}"));
        Assert.Equal(MqttClientPublishReasonCode.Success, await dev2.PublishAsync("ecgedge/dev2/alerts", "{\"id\":\"dev2-marker\"}"));
        await WaitUntil(() => clinician.Received.Count(m => m.Payload.Contains("marker", StringComparison.Ordinal)) >= 2, TimeSpan.FromSeconds(10));
        await Task.Delay(500);
        var atClinician = clinician.Received.Select(m => $"{m.Topic} {m.Payload}").ToList();
        var atDev1 = dev1.Received.Select(m => $"{m.Topic} {m.Payload}").ToList();
        _out.WriteLine("clinician received: " + string.Join(" | ", atClinician));
        _out.WriteLine("dev1 received: " + string.Join(" | ", atDev1));
        _out.WriteLine(broker.Log());

        // Own subtree: accepted (no subscriber for vitals/status here: NoMatchingSubscribers is an acceptance too).
        Assert.Equal(MqttClientPublishReasonCode.Success, own);
        Assert.Contains(ownVitals, new[] { MqttClientPublishReasonCode.Success, MqttClientPublishReasonCode.NoMatchingSubscribers });
        Assert.Equal(MqttClientPublishReasonCode.Success, dev2Own);
        Assert.Contains(dev2Status, new[] { MqttClientPublishReasonCode.Success, MqttClientPublishReasonCode.NoMatchingSubscribers });
        Assert.Contains("ecgedge/dev1/alerts {\"id\":\"dev1-own\"}", atClinician);
        Assert.Contains("ecgedge/dev2/alerts {\"id\":\"dev2-own\"}", atClinician);
        Assert.DoesNotContain(atClinician, m => m.Contains("vitals", StringComparison.Ordinal)); // not subscribed

        // Refused writes: mosquitto 2.0 answers an ACL-denied MQTT 5 QoS 1 PUBLISH with PUBACK NotAuthorized (0x87)
        // and routes nothing.
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, spoof);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, clinicianToDev1);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, clinicianOwn);
        Assert.DoesNotContain(atClinician, m => m.Contains("dev1-as-dev2", StringComparison.Ordinal));
        Assert.DoesNotContain(atClinician, m => m.Contains("clinician-as-dev1", StringComparison.Ordinal));
        Assert.DoesNotContain(atClinician, m => m.Contains("clinician-own", StringComparison.Ordinal));

        // Devices read nothing: dev1's ecgedge/# subscription gets nothing of dev2 (nor of itself).
        Assert.DoesNotContain(atDev1, m => m.Contains("dev2", StringComparison.Ordinal));
        Assert.Empty(atDev1);
    }
}
