using System.Net;
using System.Net.Sockets;
using EcgEdge.Core.Signals;
using EcgEdge.Events;
using EcgEdge.Events.Alerts;
using EcgEdge.Transport;
using EcgEdge.Transport.Mqtt;
using EcgEdge.Transport.Outbox;
using Microsoft.Extensions.Logging.Abstractions;

namespace EcgEdge.Tests.Transport;

/// <summary>Alerts the outbox refuses (full) are held in memory, in order, and delivered once it takes them again.</summary>
public sealed class HeldAlertsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ecgedge-held-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static Alert BigAlert(int n) => new(Alert.SchemaId, $"alert-{n:D3}", "dev-held", AlertType.Pause, AlertPhase.Onset, AlertSeverity.Medium,
        $"ep-{n}", new TimePoint(DateTimeOffset.UnixEpoch.AddSeconds(n), n), null, null, 60, 1, null, new Dictionary<string, string>(),
        new string('x', 20_000), null); // ~20 kB, like an alert with its strip

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    [Fact]
    public async Task A_full_outbox_loses_no_alert_they_wait_in_memory_and_go_out_in_order_when_it_drains()
    {
        var port = FreePort();
        var options = new MqttTransportOptions
        {
            DeviceId = "dev-held",
            Endpoints = [$"mqtt://127.0.0.1:{port}"],            // nothing listens yet: the link is down
            ConnectTimeout = TimeSpan.FromSeconds(1),
            ReconnectMinDelay = TimeSpan.FromMilliseconds(100),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(300),
            Outbox = new DurableOutboxOptions { Directory = Path.Combine(_dir, "outbox"), MaxBytes = 64 * 1024, MaxMessageBytes = 24 * 1024, AckLogCompactBytes = 8 * 1024 },
        };
        using var outbox = DurableOutbox.Open(options.Outbox);
        await using var publisher = new MqttPublisher(options, outbox, new MqttStatusInfo(DateTimeOffset.UtcNow, new Dictionary<string, string>()));
        var acked = new List<string>();
        publisher.Acknowledged += id => { lock (acked) acked.Add(id); };
        publisher.Start();
        var sink = new MqttEventSink(publisher, "dev-held", new SampleClock(DateTimeOffset.UnixEpoch, 500.0), NullLogger<MqttEventSink>.Instance);

        for (var n = 0; n < 6; n++) sink.Publish(BigAlert(n));  // 6 × 20 kB into a 64-kB outbox, link down
        Assert.True(sink.AlertsHeld >= 3, $"{sink.AlertsHeld} held");
        Assert.Equal(0, sink.AlertsNotStored);
        // The list of open episodes names the held alerts' episodes: it waits behind them, never goes out before them.
        Assert.True(sink.ActiveStatePending);
        Assert.Equal(6, sink.ActiveEpisodes);
        var quality = Enumerable.Repeat(SignalQuality.Good, Leads.Count).ToArray();
        sink.Publish(new Vitals(5000, 10, 70, 12, quality));     // a retry while still full: nothing changes
        Assert.True(sink.AlertsHeld >= 3);

        await using var broker = await EmbeddedBroker.StartAsync(port);  // the link comes back: the outbox drains
        Assert.True(await publisher.WaitUntilDrainedAsync(TimeSpan.FromSeconds(30)));
        for (var k = 0; k < 10 && sink.AlertsHeld > 0; k++)
        {
            sink.Publish(new Vitals(5000 + k, 10, 70, 12, quality)); // vitals every few seconds retry the held alerts
            Assert.True(await publisher.WaitUntilDrainedAsync(TimeSpan.FromSeconds(30)));
        }
        Assert.Equal(0, sink.AlertsHeld);
        Assert.Equal(0, sink.AlertsNotStored);
        Assert.False(sink.ActiveStatePending);
        lock (acked)
        {
            // All alerts, once, in order; between them the open-episode lists (retained, …/active), the last one after
            // the last held alert.
            Assert.Equal(Enumerable.Range(0, 6).Select(n => $"alert-{n:D3}"), acked.Where(id => id.StartsWith("alert-", StringComparison.Ordinal)));
            Assert.DoesNotMatch("^alert-", acked[^1]);
        }
    }

    [Fact]
    public async Task Alerts_still_held_when_the_worker_stops_are_given_up_loudly_and_counted()
    {
        var options = new MqttTransportOptions
        {
            DeviceId = "dev-held",
            Endpoints = [$"mqtt://127.0.0.1:{FreePort()}"],
            Outbox = new DurableOutboxOptions { Directory = Path.Combine(_dir, "outbox2"), MaxBytes = 64 * 1024, MaxMessageBytes = 24 * 1024, AckLogCompactBytes = 8 * 1024 },
        };
        using var outbox = DurableOutbox.Open(options.Outbox);
        await using var publisher = new MqttPublisher(options, outbox, new MqttStatusInfo(DateTimeOffset.UtcNow, new Dictionary<string, string>()));
        var sink = new MqttEventSink(publisher, "dev-held", new SampleClock(DateTimeOffset.UnixEpoch, 500, WallScale: 0), NullLogger<MqttEventSink>.Instance);
        for (var n = 0; n < 6; n++) sink.Publish(BigAlert(n));
        var held = sink.AlertsHeld;
        Assert.True(held > 0);
        sink.GiveUpHeld();
        Assert.Equal(0, sink.AlertsHeld);
        Assert.Equal(held, sink.AlertsNotStored);
        // The stored ones stay in the outbox for the next start, with the open-episode lists stored between them (one per
        // stored alert while none was held; the last list could not be stored behind the held ones).
        Assert.Equal(6 - held, outbox.PeekPending().Count(e => e.Message.Topic.EndsWith("/alerts", StringComparison.Ordinal)));
    }

    private static Alert StripAlert(int n)
    {
        var data = string.Join(' ', Enumerable.Range(0, 8 * 2500).Select(i => (i * 37 + n) % 400 - 200));   // 8 leads x 10 s at 250 Hz
        var strip = new Strip(new TimePoint(DateTimeOffset.UnixEpoch, 0), 4, 0.005, "mV", ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"], 8, 4, data);
        // onset and offset of one pause after another: one episode open at a time, as in a real alarm storm of recurring pauses
        var onset = new TimePoint(DateTimeOffset.UnixEpoch.AddSeconds(n / 2 * 10), n / 2 * 5000);
        return new(Alert.SchemaId, $"alert-{n:D3}", "dev-held", AlertType.Pause, n % 2 == 0 ? AlertPhase.Onset : AlertPhase.Offset, AlertSeverity.Medium,
            $"ep-{n / 2}", onset, n % 2 == 0 ? null : new TimePoint(onset.Utc.AddSeconds(4), onset.SampleIndex + 2000), n % 2 == 0 ? null : 4,
            60, 1, null, new Dictionary<string, string>(), "pause >= 3 s", strip);
    }

    [Fact]
    public async Task An_outbox_full_of_undelivered_alerts_stores_new_ones_without_their_strip_and_a_crash_loses_none()
    {
        // The issue-29 scenario: a small outbox, the broker unreachable, alerts with strips until the outbox is full, then
        // the worker is killed (nothing held in memory survives). Every alert must be on disk, and the audit log must
        // say where each went.
        var options = new MqttTransportOptions
        {
            DeviceId = "dev-held",
            Endpoints = [$"mqtt://127.0.0.1:{FreePort()}"],
            Outbox = new DurableOutboxOptions { Directory = Path.Combine(_dir, "outbox3"), MaxBytes = 2 * 1024 * 1024, MaxMessageBytes = 256 * 1024 },
        };
        var audit = Path.Combine(_dir, "audit.jsonl");
        var published = new List<string>();
        using (var outbox = DurableOutbox.Open(options.Outbox))
        {
            await using var publisher = new MqttPublisher(options, outbox, new MqttStatusInfo(DateTimeOffset.UtcNow, new Dictionary<string, string>()));
            var sink = new MqttEventSink(publisher, "dev-held", new SampleClock(DateTimeOffset.UnixEpoch, 500, WallScale: 0), NullLogger<MqttEventSink>.Instance);
            using var log = new AlertLogSink(audit, sink);
            for (var n = 0; n < 60; n++)
            {
                var a = StripAlert(n);
                sink.Publish(a);
                log.Publish(a);
                published.Add(a.Id);
            }
            Assert.Equal(0, sink.AlertsHeld);
            Assert.Equal(0, sink.AlertsNotStored);
            Assert.True(outbox.Statistics.AlertsStoredFromReserve > 0);
            // no GiveUpHeld, no orderly stop: the process "dies" here
        }
        var lines = File.ReadAllLines(audit).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(published, lines.Select(l => l.GetProperty("id").GetString()));
        var storage = lines.Select(l => l.GetProperty("storage").GetString()).ToList();
        Assert.Contains("outbox", storage);
        Assert.Contains("outbox_without_strip", storage);            // the outbox filled up with whole alerts first
        Assert.All(storage, s => Assert.StartsWith("outbox", s, StringComparison.Ordinal));

        using var reopened = DurableOutbox.Open(options.Outbox);
        var onDisk = reopened.PeekPending().Where(e => e.Message.Topic.EndsWith("/alerts", StringComparison.Ordinal)).ToList();
        Assert.Equal(published, onDisk.Select(e => e.Message.Id));
        var bare = onDisk.Last();
        var json = System.Text.Json.JsonDocument.Parse(bare.Message.Payload).RootElement;
        Assert.Equal(System.Text.Json.JsonValueKind.Null, json.GetProperty("strip").ValueKind);
        Assert.Contains("strip left out", json.GetProperty("criteria").GetString(), StringComparison.Ordinal);
    }
}
