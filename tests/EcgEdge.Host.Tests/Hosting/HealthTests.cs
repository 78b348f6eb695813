using EcgEdge.Hosting;
using EcgEdge.Verbs;
using OpenTelemetry.Metrics;

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

public class MetricsTests
{
    [Fact]
    public async Task The_meter_is_served_in_prometheus_format_on_loopback()
    {
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }
        // A meter name of its own: tests that run the worker in parallel feed the product's meter "EcgEdge", and a
        // listener on that name would add their samples to these.
        var meterName = $"EcgEdge.Test.{Guid.NewGuid():N}";
        using var health = new WorkerHealth(meterName) { OutboxPending = () => 3 };
        using var provider = OpenTelemetry.Sdk.CreateMeterProviderBuilder()
            .AddMeter(meterName)
            .AddPrometheusHttpListener(o => { o.Host = "127.0.0.1"; o.Port = port; })
            .Build();
        health.Samples(500, 7);
        health.Beat();
        health.Window(0.0025);
        // Another instance under another name (here the product's default, as a worker running in parallel uses it)
        // is not exported by this listener.
        using var other = new WorkerHealth();
        other.Samples(1234, 5);
        other.Window(0.001);
        using var http = new HttpClient();
        var text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
        Assert.Contains($"ecgedge_samples_total{{otel_scope_name=\"{meterName}\"}} 500", text);
        Assert.Contains($"ecgedge_frames_lost_total{{otel_scope_name=\"{meterName}\"}} 7", text);
        Assert.Contains($"ecgedge_outbox_pending{{otel_scope_name=\"{meterName}\"}} 3", text);
        Assert.Contains($"ecgedge_inference_latency_milliseconds_count{{otel_scope_name=\"{meterName}\"}} 1", text);
        Assert.DoesNotContain($"otel_scope_name=\"{WorkerHealth.MeterName}\"", text);
    }
}
