using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using EcgEdge.Transport.Mqtt;
using EcgEdge.Transport.Outbox;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace EcgEdge.Tests.Transport;

/// <summary>
/// The RabbitMQ users made by deploy/rabbitmq/provision.sh (used as shipped) on a real one-node RabbitMQ 3.10 with its MQTT
/// plugin (tools/fleet/rabbitmq-cluster.sh, loopback only, anonymous login off): a device cannot publish into another
/// device's topics, clinicians read the fleet and write only acks under their own name. RabbitMQ 3.10 speaks MQTT 3.1.1
/// only, which has no PUBACK reason codes: a refused publish gets no PUBACK and the broker closes the connection, so
/// every refusal is checked on the subscriber's side (nothing arrived) and by the disconnect the publisher sees.
/// Skipped when rabbitmq-server is not installed (apt-get install rabbitmq-server).
/// </summary>
public sealed class RabbitMqTopicPermissionTests : IDisposable
{
    private const string Server = "/usr/lib/rabbitmq/bin/rabbitmq-server";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly EcgEdge.Tests.Wfdb.TempDirectory _dir = new();
    private readonly Xunit.Abstractions.ITestOutputHelper _out;

    public RabbitMqTopicPermissionTests(Xunit.Abstractions.ITestOutputHelper output) => _out = output;

    public void Dispose() => _dir.Dispose();

    /// <summary>One RabbitMQ node started by the repo's cluster script in a folder of its own.</summary>
    private sealed class RabbitNode : IAsyncDisposable
    {
        private readonly string _dir;
        private RabbitNode(string dir, int mqttPort) => (_dir, MqttPort) = (dir, mqttPort);

        public int MqttPort { get; }

        public static async Task<RabbitNode> StartAsync(string dir)
        {
            Skip.IfNot(File.Exists(Server), "rabbitmq-server is not installed (apt-get install rabbitmq-server)");
            var basePort = FreeBasePort();
            var node = new RabbitNode(dir, basePort);
            var (code, output) = await RunAsync(["bash", Script("tools/fleet/rabbitmq-cluster.sh"), "start", dir, basePort.ToString(System.Globalization.CultureInfo.InvariantCulture), "1"],
                new Dictionary<string, string> { ["ECGEDGE_RABBITMQ_ANONYMOUS"] = "false" }, stdin: null);
            if (code != 0)
            {
                await node.DisposeAsync();
                throw new InvalidOperationException($"rabbitmq-cluster.sh start exited {code}: {output}");
            }
            return node;
        }

        /// <summary>deploy/rabbitmq/provision.sh ROLE NAME --password-stdin against this node.</summary>
        public async Task ProvisionAsync(string role, string name, string password)
        {
            var (code, output) = await RunAsync(["bash", Script("deploy/rabbitmq/provision.sh"), role, name, "--password-stdin"],
                new Dictionary<string, string> { ["RABBITMQCTL"] = $"bash {Script("tools/fleet/rabbitmq-cluster.sh")} ctl {_dir} 1" }, password + "\n");
            Assert.True(code == 0, $"provision.sh {role} {name} exited {code}: {output}");
        }

        public string Log()
        {
            var logs = Path.Combine(_dir, "node1", "log");
            return Directory.Exists(logs) ? string.Join("\n", Directory.GetFiles(logs, "*.log").Select(File.ReadAllText)) : "";
        }

        public async ValueTask DisposeAsync() =>
            await RunAsync(["bash", Script("tools/fleet/rabbitmq-cluster.sh"), "stop", _dir], null, null);

        private static string Script(string relative) => Path.Combine(TestData.RepoRoot, relative);

        /// <summary>A base port whose MQTT (B), AMQP (B+100), distribution (B+200) and epmd (B+300) ports are free.</summary>
        private static int FreeBasePort()
        {
            for (var attempt = 0; attempt < 200; attempt++)
            {
                var b = Random.Shared.Next(30000, 40000);
                if (new[] { b, b + 100, b + 200, b + 300 }.All(IsFree)) return b;
            }
            throw new InvalidOperationException("no free loopback port range for RabbitMQ");

            static bool IsFree(int port)
            {
                try
                {
                    var l = new TcpListener(IPAddress.Loopback, port);
                    l.Start();
                    l.Stop();
                    return true;
                }
                catch (SocketException) { return false; }
            }
        }

        private static async Task<(int Code, string Output)> RunAsync(string[] args, Dictionary<string, string>? env, string? stdin)
        {
            var psi = new ProcessStartInfo(args[0]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
            foreach (var a in args.Skip(1)) psi.ArgumentList.Add(a);
            foreach (var (k, v) in env ?? []) psi.Environment[k] = v;
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (stdin is not null) await p.StandardInput.WriteAsync(stdin);
            p.StandardInput.Close();
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await p.WaitForExitAsync(cts.Token);
            return (p.ExitCode, await stdout + await stderr);
        }
    }

    /// <summary>A plain MQTTnet 3.1.1 client with a user name and password, recording what it receives and its disconnect.</summary>
    private sealed class Client311 : IAsyncDisposable
    {
        public IMqttClient Mqtt { get; } = new MqttClientFactory().CreateMqttClient();
        public ConcurrentQueue<(string Topic, string Payload)> Received { get; } = new();
        public TaskCompletionSource Disconnected { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public static async Task<Client311> ConnectAsync(int port, string user, string password, string clientId, string? willTopic = null)
        {
            var c = new Client311();
            c.Mqtt.ApplicationMessageReceivedAsync += e =>
            {
                c.Received.Enqueue((e.ApplicationMessage.Topic, Encoding.UTF8.GetString(e.ApplicationMessage.Payload)));
                return Task.CompletedTask;
            };
            c.Mqtt.DisconnectedAsync += _ =>
            {
                c.Disconnected.TrySetResult();
                return Task.CompletedTask;
            };
            var b = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId(clientId)
                .WithProtocolVersion(MqttProtocolVersion.V311).WithCredentials(user, password).WithCleanSession(true)
                .WithTimeout(TimeSpan.FromSeconds(10)).WithKeepAlivePeriod(TimeSpan.FromSeconds(30));
            if (willTopic is not null)
                b = b.WithWillTopic(willTopic).WithWillPayload($"{{\"will\":\"{clientId}\"}}").WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
            var r = await c.Mqtt.ConnectAsync(b.Build());
            Assert.Equal(MqttClientConnectResultCode.Success, r.ResultCode);
            return c;
        }

        /// <summary>QoS 1 publish: true only when the broker answered with a PUBACK.</summary>
        public async Task<bool> PublishAsync(string topic, string payload, bool retain = false)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                var r = await Mqtt.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithRetainFlag(retain)
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), cts.Token);
                return r.IsSuccess;
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or InvalidOperationException)
            {
                return false;
            }
        }

        /// <summary>True when the broker granted the subscription (and kept the connection).</summary>
        public async Task<bool> SubscribeAsync(params string[] filters)
        {
            try
            {
                var b = new MqttClientSubscribeOptionsBuilder();
                foreach (var f in filters) b = b.WithTopicFilter(t => t.WithTopic(f).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce));
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                var r = await Mqtt.SubscribeAsync(b.Build(), cts.Token);
                return r.Items.All(i => i.ResultCode == MqttClientSubscribeResultCode.GrantedQoS1);
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or InvalidOperationException)
            {
                return false;
            }
        }

        public async Task<bool> WasDisconnectedAsync()
        {
            try
            {
                await Disconnected.Task.WaitAsync(Wait);
                return !Mqtt.IsConnected;
            }
            catch (TimeoutException) { return false; }
        }

        public async ValueTask DisposeAsync()
        {
            try { if (Mqtt.IsConnected) await Mqtt.DisconnectAsync(); } catch (Exception) { }
            Mqtt.Dispose();
        }
    }

    [SkippableFact]
    public async Task A_device_cannot_publish_into_another_devices_topics_and_a_clinician_writes_only_its_own_acks()
    {
        await using var node = await RabbitNode.StartAsync(_dir.File("rabbitmq"));
        await node.ProvisionAsync("device", "dev-a", "pw-a");
        await node.ProvisionAsync("device", "dev-b", "pw-b");
        await node.ProvisionAsync("clinician", "clinician-ward-a", "pw-c");
        var port = node.MqttPort;

        // The clinician reads the fleet: alerts, status and every ack (the filters `ecgedge watch` and the page use).
        await using var clinician = await Client311.ConnectAsync(port, "clinician-ward-a", "pw-c", "clinician-ward-a-sub");
        Assert.True(await clinician.SubscribeAsync("ecgedge/+/alerts", "ecgedge/+/status", "ecgedge/+/acks/+/+"), node.Log());

        // 1. Device A publishes into B's alerts with a plain client: no PUBACK, and the broker closes A's connection.
        await using (var a = await Client311.ConnectAsync(port, "dev-a", "pw-a", "dev-a", willTopic: "ecgedge/dev-a/status"))
        {
            Assert.False(await a.PublishAsync("ecgedge/dev-b/alerts", "{\"id\":\"forged-by-a\"}"));
            Assert.True(await a.WasDisconnectedAsync());
        }
        // … nor into B's status, events, vitals or open episodes (each on a new connection: every refusal closes it).
        foreach (var level in new[] { "status", "events", "vitals", "active" })
        {
            await using var a = await Client311.ConnectAsync(port, "dev-a", "pw-a", "dev-a-" + level);
            Assert.False(await a.PublishAsync($"ecgedge/dev-b/{level}", $"{{\"id\":\"forged-{level}\"}}", retain: level is "status" or "active"));
            Assert.True(await a.WasDisconnectedAsync());
        }

        // A last will is checked when the broker sends it: A's connections vanish without DISCONNECT (socket closed), the
        // one whose will names A's own status is delivered, the one whose will names B's status is not.
        foreach (var (clientId, will) in new[] { ("dev-a-will-own", "ecgedge/dev-a/status"), ("dev-a-will-b", "ecgedge/dev-b/status") })
        {
            var a = await Client311.ConnectAsync(port, "dev-a", "pw-a", clientId, willTopic: will);
            a.Mqtt.Dispose(); // no DISCONNECT packet: the broker sees the connection lost and sends the will
        }

        // 2. The product's own publisher configured as dev-b with dev-a's credentials (a device impersonating another):
        //    its retained "online" status is refused at every connect, the alert stays in its outbox, nothing is acknowledged.
        MqttTransportOptions Options(string deviceId, string user, string password, string outbox) => new()
        {
            DeviceId = deviceId, Endpoints = [$"mqtt://127.0.0.1:{port}"], ProtocolVersion = MqttProtocolLevel.V311,
            Username = user, Password = password, KeepAliveSeconds = 5, ConnectTimeout = TimeSpan.FromSeconds(5),
            ReconnectMinDelay = TimeSpan.FromMilliseconds(200), ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
            Outbox = new DurableOutboxOptions { Directory = _dir.File(outbox) },
        };
        var impostor = Options("dev-b", "dev-a", "pw-a", "outbox-impostor");
        using (var outbox = DurableOutbox.Open(impostor.Outbox))
        {
            await using var publisher = new MqttPublisher(impostor, outbox, new MqttStatusInfo(DateTimeOffset.UtcNow, new Dictionary<string, string>()));
            publisher.Start();
            publisher.Publish(new TransportMessage { Id = "impersonated-1", Topic = publisher.Topics.Alerts, Payload = Encoding.UTF8.GetBytes("{\"id\":\"impersonated-1\"}") });
            var deadline = DateTime.UtcNow + Wait;
            while (publisher.Counters.ConnectFailures + publisher.Counters.ConnectionLosses < 3 && DateTime.UtcNow < deadline) await Task.Delay(50);
            var c = publisher.Counters;
            _out.WriteLine($"impostor publisher: state {publisher.State}, pending {outbox.PendingCount}, published {c.Published}, acknowledged {c.Acknowledged}, " +
                           $"connect failures {c.ConnectFailures}, connection losses {c.ConnectionLosses}, reconnects {c.Reconnects}, rejected {c.Rejected}");
            Assert.True(c.ConnectFailures + c.ConnectionLosses >= 3, c.ToString());
            Assert.Equal(0, c.Acknowledged);
            Assert.Equal(1, outbox.PendingCount);
        }

        // 3. Devices publish their own topics: B with the product's publisher, A with a plain client (PUBACK).
        var devB = Options("dev-b", "dev-b", "pw-b", "outbox-b");
        using (var outbox = DurableOutbox.Open(devB.Outbox))
        {
            await using var publisher = new MqttPublisher(devB, outbox, new MqttStatusInfo(DateTimeOffset.UtcNow, new Dictionary<string, string>()));
            publisher.Start();
            publisher.Publish(new TransportMessage { Id = "b-own-1", Topic = publisher.Topics.Alerts, Payload = Encoding.UTF8.GetBytes("{\"id\":\"b-own-1\"}") });
            Assert.True(await publisher.WaitUntilDrainedAsync(Wait), node.Log());
            Assert.Equal(0, publisher.Counters.ConnectionLosses);
        }

        // 4. Clinicians: no alert (not even under their own name), no ack in another clinician's name; their own ack is fine.
        //    Devices write no ack and subscribe to nothing; a clinician cannot subscribe to everything ('#').
        await using (var c = await Client311.ConnectAsync(port, "clinician-ward-a", "pw-c", "clinician-ward-a-pub1"))
        {
            Assert.False(await c.PublishAsync("ecgedge/dev-a/alerts", "{\"id\":\"forged-by-clinician\"}"));
            Assert.True(await c.WasDisconnectedAsync());
        }
        await using (var c = await Client311.ConnectAsync(port, "clinician-ward-a", "pw-c", "clinician-ward-a-pub2"))
        {
            Assert.False(await c.PublishAsync("ecgedge/clinician-ward-a/alerts", "{\"id\":\"forged-own-name\"}"));
            Assert.True(await c.WasDisconnectedAsync());
        }
        await using (var c = await Client311.ConnectAsync(port, "clinician-ward-a", "pw-c", "clinician-ward-a-pub3"))
        {
            Assert.False(await c.PublishAsync("ecgedge/dev-b/acks/clinician-ward-b/b-own-1", "{\"id\":\"forged-ack-other-name\"}", retain: true));
            Assert.True(await c.WasDisconnectedAsync());
        }
        await using (var c = await Client311.ConnectAsync(port, "clinician-ward-a", "pw-c", "clinician-ward-a-pub4"))
            Assert.True(await c.PublishAsync("ecgedge/dev-b/acks/clinician-ward-a/b-own-1", "{\"id\":\"ack-1\",\"alertId\":\"b-own-1\"}", retain: true));
        await using (var a = await Client311.ConnectAsync(port, "dev-a", "pw-a", "dev-a-ack"))
        {
            Assert.False(await a.PublishAsync("ecgedge/dev-b/acks/clinician-ward-a/b-own-1", "{\"id\":\"forged-ack-by-device\"}", retain: true));
            Assert.True(await a.WasDisconnectedAsync());
        }
        await using (var a = await Client311.ConnectAsync(port, "dev-a", "pw-a", "dev-a-sub"))
        {
            Assert.False(await a.SubscribeAsync("ecgedge/#"));
            Assert.True(await a.WasDisconnectedAsync());
        }
        await using (var c = await Client311.ConnectAsync(port, "clinician-ward-a", "pw-c", "clinician-ward-a-all"))
        {
            Assert.False(await c.SubscribeAsync("ecgedge/#"));
            Assert.True(await c.WasDisconnectedAsync());
        }

        // 5. A marker published last by A on its own topic: when the clinician has it, every earlier publish was routed or refused.
        await using (var a = await Client311.ConnectAsync(port, "dev-a", "pw-a", "dev-a"))
            Assert.True(await a.PublishAsync("ecgedge/dev-a/alerts", "{\"id\":\"a-marker-last\"}"));
        var deadline2 = DateTime.UtcNow + Wait;
        while (!clinician.Received.Any(m => m.Payload.Contains("a-marker-last", StringComparison.Ordinal)) && DateTime.UtcNow < deadline2) await Task.Delay(50);

        var got = clinician.Received.ToArray();
        foreach (var m in got) _out.WriteLine($"clinician received {m.Topic}: {m.Payload}");
        Assert.Contains(got, m => m.Topic == "ecgedge/dev-a/alerts" && m.Payload.Contains("a-marker-last", StringComparison.Ordinal));
        Assert.Contains(got, m => m.Topic == "ecgedge/dev-b/alerts" && m.Payload.Contains("b-own-1", StringComparison.Ordinal));
        Assert.Contains(got, m => m.Topic == "ecgedge/dev-b/acks/clinician-ward-a/b-own-1");
        Assert.Contains(got, m => m.Topic == "ecgedge/dev-b/status" && m.Payload.Contains("online", StringComparison.Ordinal));
        // RabbitMQ 3.10 closes the connection of a refused publish without sending the client's last will (measured here:
        // A's will on its own status does not arrive), so clinicians see no "connection-lost" for such a device.
        _out.WriteLine($"dev-a's own last will after the refused publish: {(got.Any(m => m.Payload.Contains("\"will\":\"dev-a\"", StringComparison.Ordinal)) ? "delivered" : "not delivered")}");
        Assert.Contains(got, m => m.Topic == "ecgedge/dev-a/status" && m.Payload.Contains("\"will\":\"dev-a-will-own\"", StringComparison.Ordinal));
        // Nothing forged: no message from A (or a clinician) in B's topics, no forged ack, no will in B's name.
        Assert.DoesNotContain(got, m => m.Payload.Contains("forged", StringComparison.Ordinal) || m.Payload.Contains("impersonated", StringComparison.Ordinal));
        Assert.DoesNotContain(got, m => m.Topic == "ecgedge/dev-b/status" && m.Payload.Contains("\"will\"", StringComparison.Ordinal));
        Assert.DoesNotContain(got, m => m.Topic.StartsWith("ecgedge/clinician-ward-a/", StringComparison.Ordinal));
        var log = node.Log();
        Assert.Contains("access to topic 'ecgedge.dev-b.alerts' in exchange 'amq.topic' in vhost '/' refused for user 'dev-a'", log, StringComparison.Ordinal);
        Assert.Contains("Could not send last will: {error,access_refused}", log, StringComparison.Ordinal);
        Assert.True(clinician.Mqtt.IsConnected);
    }
}
