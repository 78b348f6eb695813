using System.Text.Json;
using EcgEdge.Events.Alerts;
using EcgEdge.Fleet;
using EcgEdge.Tests.Transport;
using EcgEdge.Transport.Mqtt;
using EcgEdge.Verbs;

namespace EcgEdge.Tests.Fleet;

/// <summary>The event streams of the bundled MIT-BIH 201 (device pipeline, no model: rate, pause and lead alerts), built once.</summary>
public sealed class FleetStreamsFixture
{
    public IReadOnlyList<FleetEventStream> Streams { get; } = Build();

    private static IReadOnlyList<FleetEventStream> Build()
    {
        var config = AppConfiguration.Build([]);
        var settings = AppConfiguration.BindPipeline(config);
        var record = Path.Combine(TestData.RepoRoot, "src", "EcgEdge", "Resources", "mitdb", "201");
        return FleetEventStreams.BuildAsync([record], settings, model: null, rhythmSmoothingWindows: 3, CancellationToken.None).GetAwaiter().GetResult();
    }
}

/// <summary>
/// <c>fleet-sim</c> against a real mosquitto on a free loopback port: every alert sent arrives, over MQTT 5 and 3.1.1,
/// across a dead endpoint (failover) and across a broker restart mid-run.
/// </summary>
public sealed class FleetSimulatorTests(FleetStreamsFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<FleetStreamsFixture>
{
    private FleetSimOptions Options(params string[] brokers) => new()
    {
        Devices = 20, Brokers = [.. brokers], DurationSeconds = 4, AlertsPerDevicePerMinute = 60, VitalsIntervalSeconds = 1,
        RampSeconds = 0.5, DrainTimeoutSeconds = 30, TopicPrefix = "fleettest" + Guid.NewGuid().ToString("N")[..6],
    };

    private FleetReport Check(FleetReport r)
    {
        var w = new StringWriter();
        FleetSimVerb.Print(w, r);
        output.WriteLine(w.ToString());
        Assert.True(r.AlertsSent > 20, $"only {r.AlertsSent} alerts sent");
        Assert.Equal(0, r.AlertsLost);
        Assert.Equal(r.AlertsSent, r.AlertsReceived);
        Assert.Equal(0, r.AlertsNotStored);
        Assert.Equal(0, r.Unexpected);
        Assert.Equal(r.AlertsSent, r.EndToEndMs.Count);
        Assert.True(r.VitalsSent > 0);
        Assert.NotEmpty(r.Timeline);
        return r;
    }

    [Fact]
    public async Task Streams_of_a_real_recording_hold_alerts_and_vitals_that_fit_their_schemas()
    {
        var s = Assert.Single(fixture.Streams);
        Assert.Equal("201", s.Record);
        Assert.InRange(s.SignalSeconds, 1800, 1810);
        Assert.NotEmpty(s.Alerts);
        Assert.InRange(s.Vitals.Count, 170, 190); // one per 10 s of signal
        var schemas = await AlertDeliveryIntegrationTests.LoadSchemasAsync();
        foreach (var a in s.Alerts)
            Assert.Empty(schemas["alerts"].Validate(JsonSerializer.Serialize(a, MessageJsonContext.Default.Alert)));
        foreach (var v in s.Vitals.Take(20))
            Assert.Empty(schemas["vitals"].Validate(JsonSerializer.Serialize(v, MessageJsonContext.Default.VitalsMessage)));
    }

    [SkippableTheory]
    [InlineData(MqttProtocolLevel.V500)]
    [InlineData(MqttProtocolLevel.V311)]
    public async Task Every_alert_of_every_device_arrives_once_through_mosquitto(MqttProtocolLevel protocol)
    {
        await using var broker = await MosquittoFixture.StartNewAsync();
        var o = Options(broker.Endpoint);
        o.ProtocolVersion = protocol;
        var r = Check(await new FleetSimulator(o, fixture.Streams).RunAsync(CancellationToken.None));
        Assert.Equal(0, r.Duplicates);
        Assert.Equal(r.AlertsSent, r.AlertsAcked);
        Assert.Equal(20, r.DevicesByEndpointAtEnd[broker.Endpoint]);
        Assert.NotNull(r.AllConnectedS);
        Assert.Equal(protocol == MqttProtocolLevel.V311 ? "3.1.1" : "5.0", r.Protocol);
    }

    [SkippableFact]
    public async Task Devices_whose_first_endpoint_is_dead_fail_over_and_lose_nothing()
    {
        await using var broker = await MosquittoFixture.StartNewAsync();
        var dead = $"mqtt://127.0.0.1:{MosquittoFixture.FreePort()}";
        var r = Check(await new FleetSimulator(Options(dead, broker.Endpoint), fixture.Streams).RunAsync(CancellationToken.None));
        // Half the devices start on the dead endpoint; all end on the live one.
        Assert.Equal(20, r.DevicesByEndpointAtEnd[broker.Endpoint]);
        Assert.False(r.DevicesByEndpointAtEnd.ContainsKey(dead));
    }

    [SkippableFact]
    public async Task A_broker_restart_mid_run_loses_no_alert()
    {
        await using var broker = await MosquittoFixture.StartNewAsync();
        var o = Options(broker.Endpoint);
        o.DurationSeconds = 8;
        var run = new FleetSimulator(o, fixture.Streams).RunAsync(CancellationToken.None);
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        await broker.StopAsync();   // SIGTERM: mosquitto saves its persistence (the consumer's session and queue)
        await Task.Delay(TimeSpan.FromSeconds(2));
        await broker.StartAsync();  // same port and persistence
        var r = Check(await run);
        Assert.True(r.ConnectionLosses >= 20, $"only {r.ConnectionLosses} connection losses seen");
        Assert.True(r.Timeline.Any(s => s.Connected < 20), "the timeline never saw devices disconnected");
    }

    [Fact]
    public void Bad_options_are_refused_with_every_problem_named()
    {
        var o = new FleetSimOptions { Devices = 0, Brokers = ["http://x"], DurationSeconds = 0, VitalsIntervalSeconds = -1, TopicPrefix = "a/#" };
        var e = Assert.Throws<ArgumentException>(() => FleetSimOptionsValidator.ThrowIfInvalid(o));
        // the ranges are the generated validator's, named by setting (Devices); the rules beyond them say it in words
        foreach (var word in new[] { "fleet-sim.Devices", "broker 'http://x'", "duration", "vitals interval", "prefix" })
            Assert.Contains(word, e.Message, StringComparison.Ordinal);
    }
}
