using EcgEdge.Hosting;
using EcgEdge.Verbs;

namespace EcgEdge.Tests.Hosting;

public class HealthTests
{
    [Fact]
    public void Snapshots_report_the_sample_rate_and_a_stall()
    {
        using var h = new WorkerHealth();
        var t0 = DateTimeOffset.UtcNow;
        h.Samples(2500, 0);
        var first = h.Snapshot(t0, t0, null, "m");
        h.Samples(2500, 10);
        h.Beat();
        h.Window(0.002);
        var second = h.Snapshot(t0.AddSeconds(5), t0, first, "m");
        Assert.Equal(500, second.SamplesPerSecond, 1);
        Assert.Equal((1L, 10L, 1L, 1L), (second.Gaps, second.GapSamples, second.Beats, second.Windows));
        Assert.Equal(2.0, second.InferenceMsMean!.Value, 3);
        Assert.Equal("running", second.Status);
        var third = h.Snapshot(t0.AddSeconds(10), t0, second, "m");
        Assert.Equal("stalled", third.Status);
    }

    [Fact]
    public async Task Health_exits_0_for_a_fresh_running_worker_and_1_for_stale_stalled_or_missing_files()
    {
        using var dir = new Wfdb.TempDirectory();
        var file = dir.File("health.json");
        var now = DateTimeOffset.UtcNow;
        HealthSnapshot S(DateTimeOffset at, string status) => new(at, now, 1000, 500, 0, 0, 10, 2, 2.1, "m", 0, "Connected", 0, status);
        WorkerHealth.Write(file, S(now, "running"));
        Assert.Equal(0, await HealthVerb.RunAsync(["--file", file]));
        WorkerHealth.Write(file, S(now.AddMinutes(-5), "running"));
        Assert.Equal(1, await HealthVerb.RunAsync(["--file", file]));
        WorkerHealth.Write(file, S(now, "stalled"));
        Assert.Equal(1, await HealthVerb.RunAsync(["--file", file]));
        Assert.Equal(1, await HealthVerb.RunAsync(["--file", dir.File("missing.json")]));
    }
}
