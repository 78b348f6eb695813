using EcgEdge.Transport.Mqtt;
using EcgEdge.Transport.Outbox;

namespace EcgEdge.Tests.Transport;

/// <summary>A minimal manual clock (the test project does not reference Microsoft.Extensions.TimeProvider.Testing yet).</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() { lock (_gate) return _now; }
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var t = new ManualTimer(this, callback, state);
        t.Change(dueTime, period);
        return t;
    }

    public void Advance(TimeSpan by)
    {
        List<ManualTimer> due;
        lock (_gate)
        {
            _now += by;
            due = _timers.Where(t => t.Due <= _now).ToList();
            foreach (var t in due)
            {
                if (t.Period > TimeSpan.Zero) t.Due = _now + t.Period;
                else _timers.Remove(t);
            }
        }
        foreach (var t in due) t.Fire();
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset Due { get; set; }
        public TimeSpan Period { get; private set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._gate)
            {
                owner._timers.Remove(this);
                Period = period == Timeout.InfiniteTimeSpan ? TimeSpan.Zero : period;
                if (dueTime == Timeout.InfiniteTimeSpan) return true;
                Due = owner._now + dueTime;
                owner._timers.Add(this);
            }
            return true;
        }

        public void Dispose() { lock (owner._gate) owner._timers.Remove(this); }
        public ValueTask DisposeAsync() { Dispose(); return ValueTask.CompletedTask; }
    }
}

public sealed class VirtualTimeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ecgedge-vt-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached");
            await Task.Delay(10);
        }
        await Task.Delay(100); // let the loop reach its next wait
    }

    [Fact]
    public async Task Reconnect_backoff_runs_on_the_injected_clock()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop(); // nothing listens: every connect is refused at once

        var time = new ManualTimeProvider();
        var options = new MqttTransportOptions
        {
            DeviceId = "vt",
            Endpoints = [$"mqtt://127.0.0.1:{port}"],
            ReconnectMinDelay = TimeSpan.FromSeconds(10),
            ReconnectMaxDelay = TimeSpan.FromSeconds(80),
            ReconnectJitter = 0,
            Outbox = new DurableOutboxOptions { Directory = _dir },
        };
        using var outbox = DurableOutbox.Open(options.Outbox);
        await using var publisher = new MqttPublisher(options, outbox, new MqttStatusInfo(time.GetUtcNow(), new Dictionary<string, string>()), timeProvider: time);
        publisher.Start();

        await Until(() => publisher.Counters.ConnectFailures == 1);
        Assert.Equal(MqttConnectionState.Disconnected, publisher.State);
        await Task.Delay(300);
        Assert.Equal(1, publisher.Counters.ConnectFailures); // no retry in real time
        time.Advance(TimeSpan.FromSeconds(9.9));
        await Task.Delay(200);
        Assert.Equal(1, publisher.Counters.ConnectFailures);
        time.Advance(TimeSpan.FromSeconds(0.2));
        await Until(() => publisher.Counters.ConnectFailures == 2);
        time.Advance(TimeSpan.FromSeconds(19.5)); // second delay is 20 s
        await Task.Delay(200);
        Assert.Equal(2, publisher.Counters.ConnectFailures);
        time.Advance(TimeSpan.FromSeconds(1));
        await Until(() => publisher.Counters.ConnectFailures == 3);

        // Publishing never waits for the network: the alert is on disk at once.
        publisher.Publish(new TransportMessage { Id = "a1", Topic = publisher.Topics.Alerts, Payload = "{}"u8.ToArray() });
        Assert.Equal(1, outbox.PendingCount);
    }
}
