using System.Collections.Concurrent;
using System.Text;
using EcgEdge.Transport.Mqtt;
using EcgEdge.Verbs;
using MQTTnet;
using MQTTnet.Protocol;

namespace EcgEdge.Tests.Transport;

/// <summary>The clinician-side subscriber (<c>ecgedge watch</c>) against a real mosquitto on loopback.</summary>
public class AlertWatcherTests
{
    // ---- regressions for crashes found by coverage-guided fuzzing (fuzz/run.sh alert) ----

    [Theory]
    [InlineData("{\"id\":\"01a20c9ef66\\ud80071da0a1d431de73\",\"type\":\"af\"}")] // in the id: GetString threw
    [InlineData("{\"id\":\"a\",\"criteria\":\"AF/flutter fo\\ud800r 32 s\"}")] // in another value: WatchVerb.Format threw
    [InlineData("{\"i\\ud800d\":\"a\",\"sRrip\":{\"periodMs\":4}}")] // in a name: TryGetProperty threw
    [InlineData("{\"id\":\"a\",\"strip\":{\"leads\":[\"II\", \"\\udc00\"]}}")] // a lone low surrogate, nested in a list
    [InlineData("{\"id\":\"a\",\"x\":\"\\ud800\\ud800\"}")] // two high surrogates
    public void A_payload_with_a_string_that_does_not_decode_is_malformed(string payload)
    {
        // Was: InvalidOperationException ("incomplete UTF-16 JSON text") out of the message handler or the formatter.
        Assert.False(AlertWatcher.TryParseAlert(payload, out _, out var id));
        Assert.Null(id);
    }

    [Fact]
    public void A_valid_surrogate_pair_and_escapes_still_decode()
    {
        Assert.True(AlertWatcher.TryParseAlert("{\"id\":\"a\\ud83d\\udc93\",\"criteria\":\"\\u2265 30 s\"}", out var alert, out var id));
        Assert.Equal("a\U0001F493", id);
        Assert.Contains("\u2265 30 s", WatchVerb.Format(alert), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Two_watchers_on_one_machine_each_receive_every_alert()
    {
        await using var broker = await MosquittoFixture.StartNewAsync();
        var received = new[] { new ConcurrentDictionary<string, byte>(), new ConcurrentDictionary<string, byte>() };
        var connected = new[] { new TaskCompletionSource(), new TaskCompletionSource() };
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var watchers = new AlertWatcher[2];
        var runs = new Task[2];
        for (var i = 0; i < 2; i++)
        {
            var k = i;
            // Default options, as two `ecgedge watch` terminals on one host would have them.
            watchers[k] = new AlertWatcher(new AlertWatcherOptions { Brokers = [broker.Endpoint], PingInterval = TimeSpan.FromMilliseconds(500) },
                (_, alert) => { received[k].TryAdd(alert.GetProperty("id").GetString()!, 0); return Task.CompletedTask; });
            watchers[k].Connected += _ => connected[k].TrySetResult();
            runs[k] = watchers[k].RunAsync(stop.Token);
        }
        await Task.WhenAll(connected.Select(c => c.Task)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.NotEqual(watchers[0].ClientId, watchers[1].ClientId);

        using var device = new MqttClientFactory().CreateMqttClient();
        await device.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port).WithClientId("dev-1").Build());
        var ids = Enumerable.Range(0, 50).Select(_ => Guid.CreateVersion7().ToString("N")).ToList();
        foreach (var id in ids)
            await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("ecgedge/dev-1/alerts")
                .WithPayload(Encoding.UTF8.GetBytes($"{{\"id\":\"{id}\",\"type\":\"af\"}}"))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((received[0].Count < ids.Count || received[1].Count < ids.Count) && DateTime.UtcNow < deadline) await Task.Delay(50);
        await stop.CancelAsync();
        await Task.WhenAll(runs);
        foreach (var w in watchers) await w.DisposeAsync();

        Assert.Equal(ids.ToHashSet(), received[0].Keys.ToHashSet());
        Assert.Equal(ids.ToHashSet(), received[1].Keys.ToHashSet());
    }

    [Fact]
    public async Task Watch_fails_with_exit_code_1_when_it_never_connects_within_its_timeout()
    {
        // Port 1 on loopback: nothing listens there.
        Assert.Equal(1, await WatchVerb.RunAsync(["--broker", "mqtt://127.0.0.1:1", "--timeout", "2"]));
    }
}
