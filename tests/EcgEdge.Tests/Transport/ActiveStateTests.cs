using EcgEdge.Core.Signals;
using System.Text.Json;
using EcgEdge.Events.Alerts;
using EcgEdge.Transport.Mqtt;
using EcgEdge.Transport.Outbox;
using Microsoft.Extensions.Logging.Abstractions;
using NJsonSchema;

namespace EcgEdge.Tests.Transport;

/// <summary>
/// The retained list of open episodes (<c>…/active</c>): derived from the alert stream (<see cref="ActiveEpisodes"/>) and
/// published by <see cref="MqttEventSink"/> through the outbox to the real embedded MQTTnet broker, where a subscriber
/// that arrives later (a page opened mid-episode) finds it.
/// </summary>
public sealed class ActiveStateTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ecgedge-active-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static string Hex(int n) => n.ToString("x32", System.Globalization.CultureInfo.InvariantCulture);

    private static Alert A(int id, int episode, AlertType type, AlertPhase phase, AlertSeverity severity = AlertSeverity.Medium, long onset = 1000,
        string criteria = "criteria") =>
        new(Alert.SchemaId, Hex(id), "dev-active", type, phase, severity, Hex(episode), new TimePoint(DateTimeOffset.UnixEpoch.AddSeconds(onset / 500.0), onset),
            phase == AlertPhase.Offset ? new TimePoint(DateTimeOffset.UnixEpoch.AddSeconds(onset / 500.0 + 60), onset + 30_000) : null,
            phase == AlertPhase.Offset ? 60 : null, 80, 0.9, "m", new Dictionary<string, string> { ["II"] = "ok" }, criteria, null);

    [Fact]
    public void Onsets_and_updates_open_or_refresh_their_episode_and_an_offset_closes_it()
    {
        var active = new ActiveEpisodes();
        Assert.True(active.Apply(A(1, 100, AlertType.AtrialFibrillation, AlertPhase.Onset, onset: 5000)));
        Assert.True(active.Apply(A(2, 200, AlertType.VentricularTachycardia, AlertPhase.Onset, onset: 3000)));
        // The VT run became sustained: same episode, new alert (the one to acknowledge now), higher priority.
        Assert.True(active.Apply(A(3, 200, AlertType.VentricularTachycardia, AlertPhase.Update, AlertSeverity.High, onset: 3000)));
        var m = active.Snapshot(Hex(9), "dev-active", DateTimeOffset.UnixEpoch);
        Assert.Equal([Hex(200), Hex(100)], m.Episodes.Select(e => e.EpisodeId)); // oldest onset first
        var vt = m.Episodes[0];
        Assert.Equal((Hex(3), AlertPhase.Update, AlertSeverity.High), (vt.AlertId, vt.Phase, vt.Severity));
        // An offset of an episode this run never saw open changes nothing (an episode opened before a restart).
        Assert.False(active.Apply(A(4, 300, AlertType.Pause, AlertPhase.Offset)));
        Assert.True(active.Apply(A(5, 200, AlertType.VentricularTachycardia, AlertPhase.Offset)));
        Assert.Equal([Hex(100)], active.Snapshot(Hex(10), "dev-active", DateTimeOffset.UnixEpoch).Episodes.Select(e => e.EpisodeId));
        Assert.True(active.Apply(A(6, 100, AlertType.AtrialFibrillation, AlertPhase.Offset)));
        Assert.Empty(active.Snapshot(Hex(11), "dev-active", DateTimeOffset.UnixEpoch).Episodes);
        // A snapshot is a copy: later alerts do not change a list already handed out.
        Assert.Equal([Hex(200), Hex(100)], m.Episodes.Select(e => e.EpisodeId));
    }

    [Fact]
    public async Task The_message_fits_its_schema_and_a_long_criteria_text_is_shortened()
    {
        var active = new ActiveEpisodes();
        active.Apply(A(1, 100, AlertType.LeadOff, AlertPhase.Onset, AlertSeverity.Low, criteria: new string('x', 5000)));
        active.Apply(A(2, 200, AlertType.AtrialFibrillation, AlertPhase.Onset));
        var json = JsonSerializer.Serialize(active.Snapshot(Hex(9), "dev-active", DateTimeOffset.UnixEpoch), ActiveJsonContext.Default.ActiveMessage);
        var schema = await JsonSchema.FromFileAsync(Path.Combine(TestData.RepoRoot, "docs", "schemas", "active.schema.json"));
        Assert.Empty(schema.Validate(json));
        using var doc = JsonDocument.Parse(json);
        var first = doc.RootElement.GetProperty("episodes")[0];
        Assert.Equal("lead_off", first.GetProperty("type").GetString());
        Assert.Equal("low", first.GetProperty("severity").GetString());
        Assert.Equal("onset", first.GetProperty("phase").GetString());
        Assert.Equal(ActiveEpisodes.MaxCriteriaChars, first.GetProperty("criteria").GetString()!.Length);
        Assert.EndsWith("…", first.GetProperty("criteria").GetString(), StringComparison.Ordinal);
        Assert.Empty(schema.Validate(JsonSerializer.Serialize(new ActiveEpisodes().Snapshot(Hex(9), "dev-active", DateTimeOffset.UnixEpoch), ActiveJsonContext.Default.ActiveMessage)));
    }

    [Fact]
    public async Task A_subscriber_arriving_mid_episode_gets_the_open_episodes_retained_and_an_empty_list_once_they_end()
    {
        await using var broker = await EmbeddedBroker.StartAsync(0);
        var options = new MqttTransportOptions { DeviceId = "dev-active", Endpoints = [broker.Endpoint], Outbox = new DurableOutboxOptions { Directory = _dir } };
        using var outbox = DurableOutbox.Open(options.Outbox);
        await using var publisher = new MqttPublisher(options, outbox, new MqttStatusInfo(DateTimeOffset.UtcNow, new Dictionary<string, string>()));
        publisher.Start();
        var sink = new MqttEventSink(publisher, "dev-active", new SampleClock(DateTimeOffset.UnixEpoch, 500.0), NullLogger<MqttEventSink>.Instance);
        var schema = await JsonSchema.FromFileAsync(Path.Combine(TestData.RepoRoot, "docs", "schemas", "active.schema.json"));

        // What a page connecting now (a new session) gets on …/active: the retained list, validated against its schema.
        async Task<JsonElement> LateSubscriberSees()
        {
            Assert.True(await publisher.WaitUntilDrainedAsync(Wait));
            await using var late = await TestSubscriber.ConnectAsync(broker.Port, publisher.Topics.Active);
            var m = Assert.Single(await late.WaitForAsync(x => x.Count > 0, Wait));
            Assert.True(m.Retain);
            Assert.Equal("application/json", m.ContentType);
            Assert.Empty(schema.Validate(m.Payload));
            Assert.Equal(m.MessageId, m.JsonString("id"));
            return JsonDocument.Parse(m.Payload).RootElement.Clone();
        }
        static string[] Episodes(JsonElement list) => [.. list.GetProperty("episodes").EnumerateArray().Select(e => e.GetProperty("episodeId").GetString()!)];

        sink.PublishActiveState(); // start: nothing open
        Assert.Empty(Episodes(await LateSubscriberSees()));
        sink.Publish(A(1, 100, AlertType.AtrialFibrillation, AlertPhase.Onset, onset: 16_000));
        sink.Publish(A(2, 200, AlertType.VentricularTachycardia, AlertPhase.Onset, onset: 20_000));
        sink.Publish(A(3, 200, AlertType.VentricularTachycardia, AlertPhase.Update, AlertSeverity.High, onset: 20_000));
        var mid = await LateSubscriberSees();
        Assert.Equal([Hex(100), Hex(200)], Episodes(mid));
        var vt = mid.GetProperty("episodes")[1];
        Assert.Equal(Hex(3), vt.GetProperty("alertId").GetString());
        Assert.Equal("high", vt.GetProperty("severity").GetString());
        Assert.Equal(2, sink.ActiveEpisodes);

        sink.Publish(A(4, 100, AlertType.AtrialFibrillation, AlertPhase.Offset, onset: 16_000));
        Assert.Equal([Hex(200)], Episodes(await LateSubscriberSees()));
        sink.Publish(A(5, 200, AlertType.VentricularTachycardia, AlertPhase.Offset, onset: 20_000));
        Assert.Empty(Episodes(await LateSubscriberSees()));
        Assert.False(sink.ActiveStatePending);
    }
}
