using EcgEdge.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EcgEdge.Tests.Hosting;

/// <summary>The systemd watchdog is fed only while samples flow (time is virtual: <see cref="FakeTimeProvider"/>).</summary>
public class SampleFlowWatchdogTests
{
    private sealed class Notifier : ISystemdNotifier
    {
        public List<string> States { get; } = [];
        public bool IsEnabled => true;
        public void Notify(ServiceState state) { lock (States) States.Add(state.ToString()); }
    }

    /// <summary>Advances virtual time by one period and waits (bounded) until the watchdog has handled that tick.</summary>
    private static async Task Step(FakeTimeProvider time, TimeSpan by, SampleFlowWatchdog? dog = null)
    {
        var before = dog is null ? 0 : dog.Pings + dog.Missed;
        time.Advance(by);
        if (dog is null) { await Task.Delay(50); return; }
        for (var i = 0; i < 500 && dog.Pings + dog.Missed == before; i++) await Task.Delay(10);
    }

    private static async Task Armed(SampleFlowWatchdog dog)
    {
        for (var i = 0; i < 500 && !dog.IsArmed; i++) await Task.Delay(10);
        Assert.True(dog.IsArmed);
    }

    [Fact]
    public async Task Pings_while_samples_flow_and_stops_when_the_source_stalls()
    {
        var time = new FakeTimeProvider();
        var progress = new PipelineProgress();
        var notifier = new Notifier();
        using var dog = new SampleFlowWatchdog(progress, notifier, time, NullLogger<SampleFlowWatchdog>.Instance, TimeSpan.FromSeconds(5));
        await dog.StartAsync(CancellationToken.None);
        await Armed(dog);
        for (var i = 0; i < 4; i++)
        {
            progress.Add(2500);                        // 5 s of samples at 500 Hz
            await Step(time, TimeSpan.FromSeconds(5), dog);
        }
        Assert.Equal(4, dog.Pings);
        for (var i = 0; i < 3; i++) await Step(time, TimeSpan.FromSeconds(5), dog); // stalled: nothing processed
        Assert.Equal(4, dog.Pings);
        Assert.Equal(3, dog.Missed);
        progress.Add(50);                              // flowing again
        await Step(time, TimeSpan.FromSeconds(5), dog);
        Assert.Equal(5, dog.Pings);
        Assert.All(notifier.States, s => Assert.Equal("WATCHDOG=1", s));
        await dog.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Without_a_watchdog_period_it_stays_silent()
    {
        var time = new FakeTimeProvider();
        var progress = new PipelineProgress();
        var notifier = new Notifier();
        Environment.SetEnvironmentVariable("WATCHDOG_USEC", null);
        using var dog = new SampleFlowWatchdog(progress, notifier, time, NullLogger<SampleFlowWatchdog>.Instance);
        await dog.StartAsync(CancellationToken.None);
        progress.Add(100);
        await Step(time, TimeSpan.FromMinutes(5));
        Assert.Empty(notifier.States);
        await dog.StopAsync(CancellationToken.None);
    }

    [Fact]
    public void The_period_is_half_of_systemds_watchdog_usec()
    {
        var old = Environment.GetEnvironmentVariable("WATCHDOG_USEC");
        try
        {
            Environment.SetEnvironmentVariable("WATCHDOG_USEC", "20000000");
            Assert.Equal(TimeSpan.FromSeconds(10), SampleFlowWatchdog.FromEnvironment());
        }
        finally { Environment.SetEnvironmentVariable("WATCHDOG_USEC", old); }
    }
}
