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
    private readonly EcgEdge.Tests.Wfdb.TempDirectory _dir = new();
    private readonly Xunit.Abstractions.ITestOutputHelper _out;

    public MosquittoAclIntegrationTests(Xunit.Abstractions.ITestOutputHelper output) => _out = output;

    public void Dispose() => _dir.Dispose();

    private string Write(string name, string pem) => _dir.Write(name, pem);

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

        public async Task<MqttClientPublishReasonCode> PublishAsync(string topic, string payload, bool retain = false)
        {
            var r = await Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithRetainFlag(retain)
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
        var (broker, certs) = await StartTlsFleetAsync("dev1", "dev2", "clinician-ward-a");
        await using var _ = broker;
        using var dev1Cert = certs["dev1"];
        using var dev2Cert = certs["dev2"];
        using var clinicianCert = certs["clinician-ward-a"];
        await using var clinician = await CertClient.ConnectAsync(broker.Port, "clinician-ward-a", clinicianCert);
        await using var dev1 = await CertClient.ConnectAsync(broker.Port, "dev1", dev1Cert);
        await using var dev2 = await CertClient.ConnectAsync(broker.Port, "dev2", dev2Cert);
        var clinicianSub = await clinician.SubscribeAsync("ecgedge/+/alerts");
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, await clinician.SubscribeAsync("ecgedge/+/active"));
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
        // The retained list of open episodes: each device writes its own; nobody writes another's.
        var ownActive = await dev1.PublishAsync("ecgedge/dev1/active", "{\"id\":\"dev1-active\"}", retain: true);
        var spoofActive = await dev1.PublishAsync("ecgedge/dev2/active", "{\"id\":\"dev1-as-dev2-active\"}", retain: true);
        var clinicianActive = await clinician.PublishAsync("ecgedge/dev1/active", "{\"id\":\"clinician-active\"}", retain: true);
        _out.WriteLine($"PUBACK dev1 own active: {ownActive}; dev1 -> ecgedge/dev2/active: {spoofActive}; clinician -> ecgedge/dev1/active: {clinicianActive}");
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
        Assert.Equal(MqttClientPublishReasonCode.Success, ownActive);
        Assert.Contains("ecgedge/dev1/active {\"id\":\"dev1-active\"}", atClinician);
        Assert.Contains("ecgedge/dev2/alerts {\"id\":\"dev2-own\"}", atClinician);
        Assert.DoesNotContain(atClinician, m => m.Contains("vitals", StringComparison.Ordinal)); // not subscribed

        // Refused writes: mosquitto 2.0 answers an ACL-denied MQTT 5 QoS 1 PUBLISH with PUBACK NotAuthorized (0x87)
        // and routes nothing.
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, spoof);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, clinicianToDev1);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, clinicianOwn);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, spoofActive);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, clinicianActive);
        Assert.DoesNotContain(atClinician, m => m.Contains("dev1-as-dev2-active", StringComparison.Ordinal) || m.Contains("clinician-active", StringComparison.Ordinal));
        Assert.DoesNotContain(atClinician, m => m.Contains("dev1-as-dev2", StringComparison.Ordinal));
        Assert.DoesNotContain(atClinician, m => m.Contains("clinician-as-dev1", StringComparison.Ordinal));
        Assert.DoesNotContain(atClinician, m => m.Contains("clinician-own", StringComparison.Ordinal));

        // Devices read nothing: dev1's ecgedge/# subscription gets nothing of dev2 (nor of itself).
        Assert.DoesNotContain(atDev1, m => m.Contains("dev2", StringComparison.Ordinal));
        Assert.Empty(atDev1);

        // The list is retained, and only the device's own version of it: subscribing again (as a page opened later does)
        // delivers dev1's list once more, and nothing was retained on ecgedge/dev2/active.
        var before = clinician.Received.Count;
        await clinician.SubscribeAsync("ecgedge/+/active");
        await WaitUntil(() => clinician.Received.Count > before, TimeSpan.FromSeconds(10));
        Assert.Equal(["ecgedge/dev1/active {\"id\":\"dev1-active\"}"], clinician.Received.Skip(before).Select(m => $"{m.Topic} {m.Payload}"));
    }

    /// <summary>mosquitto with TLS, client certificates and the shipped ecgedge.acl; clients for the given CNs.</summary>
    private async Task<(MosquittoFixture Broker, Dictionary<string, X509Certificate2> Certificates)> StartTlsFleetAsync(params string[] cns)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = MqttTlsIntegrationTests.CreateCa("EcgEdge Fleet Test CA", caKey);
        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var server = MqttTlsIntegrationTests.CreateLeaf("broker", serverKey, ca, server: true);
        var certificates = new Dictionary<string, X509Certificate2>();
        foreach (var cn in cns)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            using var cert = MqttTlsIntegrationTests.CreateLeaf(cn, key, ca, server: false);
            // Through PEM like a device does (Tls:ClientCertificateFile + ClientKeyFile).
            certificates[cn] = X509Certificate2.CreateFromPemFile(Write(cn + ".pem", cert.ExportCertificatePem()), Write(cn + ".key", key.ExportPkcs8PrivateKeyPem()));
        }
        var acl = Path.Combine(TestData.RepoRoot, "deploy", "mosquitto", "ecgedge.acl");
        Assert.True(File.Exists(acl), acl);
        var broker = await MosquittoFixture.StartNewAsync($"""
            cafile {Write("ca.pem", ca.ExportCertificatePem())}
            certfile {Write("server.pem", server.ExportCertificatePem())}
            keyfile {Write("server.key", serverKey.ExportPkcs8PrivateKeyPem())}
            tls_version tlsv1.2
            require_certificate true
            use_identity_as_username true
            acl_file {acl}
            """, allowAnonymous: false);
        return (broker, certificates);
    }

    [SkippableFact]
    public async Task The_shipped_acl_lets_a_clinician_acknowledge_only_under_its_own_name_and_no_device_acknowledge()
    {
        Skip.If(OperatingSystem.IsWindows(), "mosquitto integration tests run on Linux/macOS");
        var (fixture, certs) = await StartTlsFleetAsync("dev1", "clinician-ward-a");
        await using var broker = fixture;
        await using var clinician = await CertClient.ConnectAsync(broker.Port, "clinician-ward-a", certs["clinician-ward-a"]);
        await using var dev1 = await CertClient.ConnectAsync(broker.Port, "dev1", certs["dev1"]);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, await clinician.SubscribeAsync("ecgedge/+/acks/+/+"));
        await dev1.SubscribeAsync("ecgedge/#");

        // Acks are retained, one topic per clinician and alert: ecgedge/<device>/acks/<clinician>/<alert id>.
        const string alert = "0123456789abcdef0123456789abcdef";
        var own = await clinician.PublishAsync($"ecgedge/dev1/acks/clinician-ward-a/{alert}", "{\"id\":\"ack-own\"}", retain: true);
        var oldForm = await clinician.PublishAsync("ecgedge/dev1/acks/clinician-ward-a", "{\"id\":\"ack-old-form\"}");
        var asOther = await clinician.PublishAsync($"ecgedge/dev1/acks/clinician-ward-b/{alert}", "{\"id\":\"ack-as-other\"}", retain: true);
        var deviceAck = await dev1.PublishAsync($"ecgedge/dev1/acks/dev1/{alert}", "{\"id\":\"ack-by-device\"}", retain: true);
        var deviceAsClinician = await dev1.PublishAsync($"ecgedge/dev1/acks/clinician-ward-a/{alert}", "{\"id\":\"ack-device-as-clinician\"}", retain: true);
        var clinicianAlert = await clinician.PublishAsync("ecgedge/dev1/alerts", "{\"id\":\"clinician-alert\"}");
        _out.WriteLine($"PUBACK own ack: {own}; old topic form: {oldForm}; as clinician-ward-b: {asOther}; by dev1: {deviceAck}; dev1 as clinician: {deviceAsClinician}; clinician alert: {clinicianAlert}");
        await WaitUntil(() => !clinician.Received.IsEmpty, TimeSpan.FromSeconds(10));
        await Task.Delay(500);
        var atClinician = clinician.Received.Select(m => $"{m.Topic} {m.Payload}").ToList();
        _out.WriteLine("clinician received: " + string.Join(" | ", atClinician));

        Assert.Equal(MqttClientPublishReasonCode.Success, own);
        Assert.Equal([$"ecgedge/dev1/acks/clinician-ward-a/{alert} {{\"id\":\"ack-own\"}}"], atClinician);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, oldForm);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, asOther);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, deviceAck);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, deviceAsClinician);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, clinicianAlert);
        Assert.Empty(dev1.Received); // devices read nothing, acks included

        // Retained: a subscription made later (a page opened after the ack) receives it, and only it (the refused
        // device's retained ack on the same topic did not replace it).
        await clinician.SubscribeAsync("ecgedge/+/acks/+/+");
        await WaitUntil(() => clinician.Received.Count > 1, TimeSpan.FromSeconds(10));
        Assert.Equal($"ecgedge/dev1/acks/clinician-ward-a/{alert} {{\"id\":\"ack-own\"}}", clinician.Received.Skip(1).Select(m => $"{m.Topic} {m.Payload}").Single());
    }

    [SkippableFact]
    public async Task The_web_listener_acl_lets_password_clinicians_read_the_fleet_and_write_only_their_own_acks()
    {
        Skip.If(OperatingSystem.IsWindows(), "mosquitto integration tests run on Linux/macOS");
        var passwd = new[] { "/usr/bin/mosquitto_passwd", "/usr/local/bin/mosquitto_passwd" }.FirstOrDefault(File.Exists);
        Skip.If(passwd is null, "mosquitto_passwd is not installed");
        var passwords = _dir.File("clinicians.passwd");
        foreach (var (user, password) in new[] { ("clinician-ward-a", "secret-a"), ("clinician-ward-b", "secret-b") })
        {
            var psi = new System.Diagnostics.ProcessStartInfo(passwd) { UseShellExecute = false };
            // -c creates the file (first user only), -b takes the password from the command line (test only).
            string[] args = File.Exists(passwords) ? ["-b", passwords, user, password] : ["-c", "-b", passwords, user, password];
            foreach (var arg in args) psi.ArgumentList.Add(arg);
            using var p = System.Diagnostics.Process.Start(psi)!;
            await p.WaitForExitAsync();
            Assert.Equal(0, p.ExitCode);
        }
        var webAcl = Path.Combine(TestData.RepoRoot, "deploy", "mosquitto", "ecgedge-web.acl");
        var wsPort = MosquittoFixture.FreePort();
        // As in deploy/mosquitto/ecgedge.conf: per-listener security; here the device side is a plain loopback listener
        // (anonymous, no ACL: the test's stand-in for the TLS device listener) and the clinician side is WebSockets.
        await using var broker = await MosquittoFixture.StartNewAsync(preamble: "per_listener_settings true", extraConfig: _ => $"""

            listener {wsPort} 127.0.0.1
            protocol websockets
            allow_anonymous false
            password_file {passwords}
            acl_file {webAcl}

            """);
        await using var device = await TestSubscriber.ConnectAsync(broker.Port, "ecgedge/#", "dev1");

        async Task<IMqttClient> Clinician(string user, string password)
        {
            var client = new MqttClientFactory().CreateMqttClient();
            var options = new MqttClientOptionsBuilder().WithWebSocketServer(o => o.WithUri($"ws://127.0.0.1:{wsPort}"))
                .WithClientId(user + "-web").WithProtocolVersion(MqttProtocolVersion.V500).WithCredentials(user, password)
                .WithTimeout(TimeSpan.FromSeconds(5)).Build();
            try { await client.ConnectAsync(options); }
            catch (MQTTnet.Exceptions.MqttCommunicationException) { }
            return client;
        }
        using var wrong = await Clinician("clinician-ward-a", "wrong");
        Assert.False(wrong.IsConnected);
        using var a = await Clinician("clinician-ward-a", "secret-a");
        Assert.True(a.IsConnected);
        var received = new ConcurrentQueue<string>();
        a.ApplicationMessageReceivedAsync += e =>
        {
            received.Enqueue($"{e.ApplicationMessage.Topic} {Encoding.UTF8.GetString(e.ApplicationMessage.Payload)}");
            return Task.CompletedTask;
        };
        await a.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic("ecgedge/+/alerts").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
            .WithTopicFilter(f => f.WithTopic("ecgedge/+/status").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
            .WithTopicFilter(f => f.WithTopic("ecgedge/+/active").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
            .WithTopicFilter(f => f.WithTopic("ecgedge/+/acks/+/+").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)).Build());

        async Task<MqttClientPublishReasonCode> Publish(IMqttClient c, string topic, string payload, bool retain = false) =>
            (await c.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithRetainFlag(retain)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build())).ReasonCode;

        // A device's alert (device listener) reaches the clinician on the WebSockets listener.
        var deviceClient = new MqttClientFactory().CreateMqttClient();
        await deviceClient.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port).WithClientId("dev1-pub")
            .WithProtocolVersion(MqttProtocolVersion.V500).Build());
        Assert.Equal(MqttClientPublishReasonCode.Success, await Publish(deviceClient, "ecgedge/dev1/alerts", "{\"id\":\"dev1-alert\"}"));
        Assert.Equal(MqttClientPublishReasonCode.Success, await Publish(deviceClient, "ecgedge/dev1/active", "{\"id\":\"dev1-active\"}", retain: true));
        const string alertId = "0123456789abcdef0123456789abcdef";
        var own = await Publish(a, $"ecgedge/dev1/acks/clinician-ward-a/{alertId}", "{\"id\":\"ack-a\"}", retain: true);
        var asB = await Publish(a, $"ecgedge/dev1/acks/clinician-ward-b/{alertId}", "{\"id\":\"ack-a-as-b\"}", retain: true);
        var alert = await Publish(a, "ecgedge/dev1/alerts", "{\"id\":\"clinician-alert\"}");
        var status = await Publish(a, "ecgedge/dev1/status", "{\"state\":\"offline\"}");
        var active = await Publish(a, "ecgedge/dev1/active", "{\"id\":\"clinician-active\"}", retain: true);
        _out.WriteLine($"PUBACK own ack: {own}; as clinician-ward-b: {asB}; alert: {alert}; status: {status}; active: {active}");
        await WaitUntil(() => received.Count >= 3, TimeSpan.FromSeconds(10));
        await Task.Delay(500);
        _out.WriteLine("clinician received: " + string.Join(" | ", received));
        await deviceClient.DisconnectAsync();
        deviceClient.Dispose();

        Assert.Equal(MqttClientPublishReasonCode.Success, own);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, asB);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, alert);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, status);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, active);
        Assert.Equal(["ecgedge/dev1/alerts {\"id\":\"dev1-alert\"}", "ecgedge/dev1/active {\"id\":\"dev1-active\"}",
            $"ecgedge/dev1/acks/clinician-ward-a/{alertId} {{\"id\":\"ack-a\"}}"], received.ToArray());
        // Nothing the clinician was refused reached the device side either.
        var atDevice = device.Messages.Select(m => m.Payload).ToList();
        Assert.DoesNotContain(atDevice, p => p.Contains("clinician-alert", StringComparison.Ordinal) || p.Contains("ack-a-as-b", StringComparison.Ordinal)
            || p.Contains("clinician-active", StringComparison.Ordinal));
        Assert.DoesNotContain(atDevice, p => p.Contains("offline", StringComparison.Ordinal));

        // A second clinician logging in later (a new session) gets the retained state: dev1's open episodes and
        // clinician-ward-a's ack — the acknowledgement is kept for every clinician.
        using var b = await Clinician("clinician-ward-b", "secret-b");
        Assert.True(b.IsConnected);
        var atB = new ConcurrentQueue<string>();
        b.ApplicationMessageReceivedAsync += e =>
        {
            atB.Enqueue($"{e.ApplicationMessage.Topic} {Encoding.UTF8.GetString(e.ApplicationMessage.Payload)}");
            return Task.CompletedTask;
        };
        await b.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic("ecgedge/+/active").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
            .WithTopicFilter(f => f.WithTopic("ecgedge/+/acks/+/+").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)).Build());
        await WaitUntil(() => atB.Count >= 2, TimeSpan.FromSeconds(10));
        Assert.Equal([$"ecgedge/dev1/acks/clinician-ward-a/{alertId} {{\"id\":\"ack-a\"}}", "ecgedge/dev1/active {\"id\":\"dev1-active\"}"],
            atB.Order(StringComparer.Ordinal).ToArray());
    }
}
