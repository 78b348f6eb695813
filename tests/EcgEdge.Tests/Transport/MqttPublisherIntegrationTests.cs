using System.Text;
using EcgEdge.Transport.Mqtt;
using EcgEdge.Transport.Outbox;
using MQTTnet.Formatter;

namespace EcgEdge.Tests.Transport;

/// <summary>End-to-end tests against a real mosquitto on 127.0.0.1 (skipped when it is not installed).</summary>
public sealed class MqttPublisherIntegrationTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly string _outboxDir = Path.Combine(Path.GetTempPath(), "ecgedge-pub-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_outboxDir)) Directory.Delete(_outboxDir, recursive: true);
    }

    private static readonly MqttStatusInfo Status = new(DateTimeOffset.Parse("2026-01-02T03:04:05Z", System.Globalization.CultureInfo.InvariantCulture),
        new Dictionary<string, string> { ["ecgedge"] = "0.1.0-test", ["model"] = "ecg-nat-test" });

    private MqttTransportOptions Options(params string[] endpoints) => new()
    {
        DeviceId = "dev1",
        Endpoints = [.. endpoints],
        KeepAliveSeconds = 5,
        ConnectTimeout = TimeSpan.FromSeconds(2),
        PublishTimeout = TimeSpan.FromSeconds(2),
        ReconnectMinDelay = TimeSpan.FromMilliseconds(100),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(800),
        Outbox = new DurableOutboxOptions { Directory = _outboxDir },
    };

    private DurableOutbox OpenOutbox() => DurableOutbox.Open(new DurableOutboxOptions { Directory = _outboxDir });

    private static TransportMessage Alert(MqttTopics topics, int n) => new()
    {
        Id = $"alert-{n:D5}",
        Topic = topics.Alerts,
        Payload = Encoding.UTF8.GetBytes($"{{\"id\":\"alert-{n:D5}\",\"n\":{n}}}"),
        Priority = MessagePriority.Alert,
        CreatedAt = DateTimeOffset.UtcNow,
    };

    private static List<string> Ids(IEnumerable<ReceivedMessage> messages, MqttTopics topics) =>
        messages.Where(m => m.Topic == topics.Alerts).Select(m => m.JsonString("id")!).ToList();

    [SkippableFact]
    public async Task Messages_arrive_in_order_with_json_properties_retained_status_and_last_will()
    {
        await using var broker = await MosquittoFixture.StartNewAsync();
        var options = Options(broker.Endpoint);
        var topics = MqttTopics.From(options);
        await using var sub = await TestSubscriber.ConnectAsync(broker.Port, topics.Root + "/#");
        using var outbox = OpenOutbox();
        var publisher = new MqttPublisher(options, outbox, Status);
        publisher.Start();

        for (var i = 0; i < 50; i++) publisher.Publish(Alert(topics, i));
        publisher.Publish(new TransportMessage { Id = "v1", Topic = topics.Vitals, Payload = "{\"hr\":72}"u8.ToArray(), Qos = MessageQos.AtMostOnce, Priority = MessagePriority.Trend, CreatedAt = DateTimeOffset.UtcNow });
        Assert.True(await publisher.WaitUntilDrainedAsync(Wait), broker.Log());
        var got = await sub.WaitForAsync(m => Ids(m, topics).Count >= 50 && m.Any(x => x.Topic == topics.Vitals), Wait);

        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"alert-{i:D5}"), Ids(got, topics));
        var first = got.First(m => m.Topic == topics.Alerts);
        Assert.Equal("application/json", first.ContentType);
        Assert.Equal("alert-00000", first.MessageId);
        var vitals = got.Single(m => m.Topic == topics.Vitals);
        Assert.Equal("{\"hr\":72}", vitals.Payload);
        Assert.True(vitals.MessageExpiry is > 0 and <= 60);
        Assert.Equal(MqttConnectionState.Connected, publisher.State);
        Assert.Equal(50, publisher.Counters.Acknowledged);
        Assert.Equal(1, publisher.Counters.BestEffortSent);

        // A late subscriber sees the retained online status with the versions.
        await using (var late = await TestSubscriber.ConnectAsync(broker.Port, topics.Status))
        {
            var status = (await late.WaitForAsync(m => m.Count > 0, Wait)).First();
            Assert.True(status.Retain);
            Assert.Equal("online", status.JsonString("state"));
            Assert.Contains("ecg-nat-test", status.Payload);
            Assert.Contains("2026-01-02T03:04:05", status.Payload);
        }

        // Crash: the broker publishes the retained last will.
        await publisher.AbortAsync();
        var will = await sub.WaitForAsync(m => m.Any(x => x.Topic == topics.Status && x.JsonString("state") == "offline"), Wait);
        var offline = will.Last(x => x.Topic == topics.Status);
        Assert.Equal("offline", offline.JsonString("state"));
        Assert.Equal("connection-lost", offline.JsonString("reason"));
        await publisher.DisposeAsync();

        // A clean shutdown publishes "offline" with reason shutdown, retained.
        var second = new MqttPublisher(options, outbox, Status);
        second.Start();
        await sub.WaitForAsync(m => m.Count(x => x.Topic == topics.Status && x.JsonString("state") == "online") >= 2, Wait);
        await second.DisposeAsync();
        var after = await sub.WaitForAsync(m => m.Any(x => x.Topic == topics.Status && x.JsonString("reason") == "shutdown"), Wait);
        Assert.Contains(after, x => x.Topic == topics.Status && x.JsonString("reason") == "shutdown");
    }

    [SkippableFact]
    public async Task Broker_restart_mid_stream_loses_no_message()
    {
        await using var broker = await MosquittoFixture.StartNewAsync();
        var options = Options(broker.Endpoint);
        var topics = MqttTopics.From(options);
        await using var sub = await TestSubscriber.ConnectAsync(broker.Port, topics.Alerts, clientId: "persistent-sub");
        using var outbox = OpenOutbox();
        await using var publisher = new MqttPublisher(options, outbox, Status);
        publisher.Start();

        const int total = 150;
        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < total; i++)
            {
                publisher.Publish(Alert(topics, i)); // returns after fsync, whatever the broker does
                await Task.Delay(10);
            }
        });
        await sub.WaitForAsync(m => m.Count >= 40, Wait);
        await broker.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(2));
        await broker.StartAsync();
        await producer;

        Assert.True(await publisher.WaitUntilDrainedAsync(Wait), $"{outbox.PendingCount} pending; {broker.Log()}");
        var got = await sub.WaitForAsync(m => Ids(m, topics).Distinct().Count() >= total, Wait);
        var ids = Ids(got, topics);
        Assert.Equal(total, ids.Distinct().Count());
        // first occurrences are in production order (at-least-once: duplicates possible, reordering not)
        Assert.Equal(Enumerable.Range(0, total).Select(i => $"alert-{i:D5}"), ids.Distinct());
        Assert.True(publisher.Counters.Reconnects >= 1);
        Assert.Equal(0, outbox.PendingCount);
    }

    [SkippableFact]
    public async Task After_a_crash_pending_messages_are_resent_in_order_by_a_new_publisher()
    {
        await using var broker = await MosquittoFixture.StartNewAsync();
        var options = Options(broker.Endpoint);
        var topics = MqttTopics.From(options);
        await using var sub = await TestSubscriber.ConnectAsync(broker.Port, topics.Alerts, clientId: "persistent-sub2");
        await broker.StopAsync(); // broker down: nothing can be delivered

        var outbox = OpenOutbox();
        var publisher = new MqttPublisher(options, outbox, Status);
        publisher.Start();
        for (var i = 0; i < 30; i++) publisher.Publish(Alert(topics, i));
        await Task.Delay(300);
        Assert.NotEqual(MqttConnectionState.Connected, publisher.State);
        Assert.True(publisher.Counters.ConnectFailures >= 1);
        await publisher.AbortAsync(); // crash: process gone, outbox files stay
        outbox.Dispose();

        await broker.StartAsync();
        using var reopened = OpenOutbox();
        Assert.Equal(30, reopened.Statistics.Recovered);
        await using var restarted = new MqttPublisher(options, reopened, Status);
        restarted.Start();
        Assert.True(await restarted.WaitUntilDrainedAsync(Wait), broker.Log());
        var got = await sub.WaitForAsync(m => Ids(m, topics).Count >= 30, Wait);
        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"alert-{i:D5}"), Ids(got, topics));
    }

    [SkippableFact]
    public async Task Fails_over_to_the_next_endpoint_and_speaks_mqtt_311()
    {
        await using var broker = await MosquittoFixture.StartNewAsync();
        var dead = $"mqtt://127.0.0.1:{FreeClosedPort()}";
        var options = Options(dead, broker.Endpoint);
        options.ProtocolVersion = MqttProtocolLevel.V311;
        var topics = MqttTopics.From(options);
        await using var sub = await TestSubscriber.ConnectAsync(broker.Port, topics.Alerts, version: MqttProtocolVersion.V311);
        using var outbox = OpenOutbox();
        await using var publisher = new MqttPublisher(options, outbox, Status);
        publisher.Start();
        for (var i = 0; i < 10; i++) publisher.Publish(Alert(topics, i));
        Assert.True(await publisher.WaitUntilDrainedAsync(Wait), broker.Log());
        var got = await sub.WaitForAsync(m => Ids(m, topics).Count >= 10, Wait);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"alert-{i:D5}"), Ids(got, topics));
        Assert.Null(got[0].MessageId); // no user properties in 3.1.1: the id travels in the payload
        Assert.True(publisher.Counters.ConnectFailures >= 1);
        Assert.Equal(broker.Port, publisher.ConnectedEndpoint!.Port);
    }

    [SkippableFact]
    public async Task A_message_the_broker_refuses_for_good_is_dead_lettered_after_repeated_not_authorized_and_the_queue_goes_on()
    {
        var acl = Path.Combine(Path.GetTempPath(), "ecgedge-acl-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(acl, "topic readwrite ecgedge/dev1/status\ntopic readwrite ecgedge/dev1/alerts\n");
        try
        {
            await using var broker = await MosquittoFixture.StartNewAsync($"acl_file {acl}");
            var options = Options(broker.Endpoint);
            var topics = MqttTopics.From(options);
            await using var sub = await TestSubscriber.ConnectAsync(broker.Port, topics.Alerts);
            using var outbox = OpenOutbox();
            await using var publisher = new MqttPublisher(options, outbox, Status);
            publisher.Start();
            publisher.Publish(Alert(topics, 0));
            publisher.Publish(new TransportMessage { Id = "denied", Topic = topics.Events, Payload = "{\"id\":\"denied\"}"u8.ToArray(), Priority = MessagePriority.Trend });
            publisher.Publish(Alert(topics, 1)); // behind the poison message

            // mosquitto 2.0 answers the ACL-denied MQTT 5 publish with PUBACK NotAuthorized; after
            // DeadLetterAfterRejections of them in a row the message leaves the queue and alert 1 is delivered.
            var received = await sub.WaitForAsync(m => Ids(m, topics).Contains("alert-00001"), Wait);
            Assert.Equal(["alert-00000", "alert-00001"], Ids(received, topics).Distinct());
            Assert.True(await publisher.WaitUntilDrainedAsync(Wait));
            var c = publisher.Counters;
            Assert.Equal(MqttPublisher.DeadLetterAfterRejections, c.Rejected);
            Assert.Equal(1, c.DeadLettered);
            Assert.Equal(2, c.Acknowledged);
            Assert.Equal(0, outbox.PendingCount);

            var deadLetters = Path.Combine(_outboxDir, DurableOutbox.DeadLetterFileName);
            var lines = File.ReadAllLines(deadLetters);
            var record = Assert.Single(lines);
            using var doc = System.Text.Json.JsonDocument.Parse(record);
            Assert.Equal("denied", doc.RootElement.GetProperty("id").GetString());
            Assert.Equal(topics.Events, doc.RootElement.GetProperty("topic").GetString());
            Assert.StartsWith("NotAuthorized", doc.RootElement.GetProperty("reason").GetString(), StringComparison.Ordinal);
            Assert.Equal("{\"id\":\"denied\"}", doc.RootElement.GetProperty("payload").GetString());
            if (!OperatingSystem.IsWindows())
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(deadLetters));
        }
        finally
        {
            File.Delete(acl);
        }
    }

    [Fact]
    public void Only_reason_codes_a_resend_cannot_change_dead_letter_a_message()
    {
        Assert.True(MqttPublisher.IsPermanentRejection(MQTTnet.MqttClientPublishReasonCode.NotAuthorized));
        Assert.True(MqttPublisher.IsPermanentRejection(MQTTnet.MqttClientPublishReasonCode.TopicNameInvalid));
        Assert.True(MqttPublisher.IsPermanentRejection(MQTTnet.MqttClientPublishReasonCode.PayloadFormatInvalid));
        Assert.False(MqttPublisher.IsPermanentRejection(MQTTnet.MqttClientPublishReasonCode.QuotaExceeded));
        Assert.False(MqttPublisher.IsPermanentRejection(MQTTnet.MqttClientPublishReasonCode.UnspecifiedError));
        Assert.False(MqttPublisher.IsPermanentRejection(MQTTnet.MqttClientPublishReasonCode.ImplementationSpecificError));
        Assert.False(MqttPublisher.IsPermanentRejection(MQTTnet.MqttClientPublishReasonCode.PacketIdentifierInUse));
    }

    private static int FreeClosedPort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
