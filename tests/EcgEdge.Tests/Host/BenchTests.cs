using System.Diagnostics;
using System.Text.Json;

namespace EcgEdge.Tests.Host;

public class BenchTests
{
    [Fact]
    public async Task Bench_writes_its_stable_json_keys()
    {
        using var dir = new Wfdb.TempDirectory();
        var json = dir.File("bench.json");
        // In its own process: allocation counts are per thread, and the other tests running in parallel in this process
        // must not share the runtime with the measurement.
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "ecgedge.dll"), "bench", "--repeats", "1", "--json", json }) psi.ArgumentList.Add(arg);
        using (var bench = Process.Start(psi)!)
        {
            var output = bench.StandardOutput.ReadToEndAsync();
            var errors = bench.StandardError.ReadToEndAsync();
            await bench.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
            Assert.True(bench.ExitCode == 0, await output + await errors);
        }
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        foreach (var key in new[] { "realtime_factor_1thread", "realtime_factor", "realtime_factor_no_model_1thread", "qrs_realtime_per_lead",
                     "ads1298_decode_frames_per_s", "peak_working_set_mb", "startup_s" })
            Assert.True(root.GetProperty(key).GetDouble() > 0, key);
        Assert.Equal(8, root.GetProperty("channels").GetInt32());
        var stages = root.GetProperty("stage_us_per_signal_second");
        foreach (var stage in new[] { "replay_resample", "conditioning", "quality", "qrs_detection", "inference", "events" })
            Assert.True(stages.GetProperty(stage).GetDouble() > 0, stage);
        // start-up and peak working set come from `ecgedge run` started as its own process, which reported both.
        Assert.Equal(JsonValueKind.Object, root.GetProperty("worker").ValueKind);
        Assert.True(root.GetProperty("messages_emitted").GetInt64() > 100); // vitals every 10 s, alerts of 201
        // Measured, not asserted as a speed: the steady-state pipeline (8 channels, model, events) allocates nothing.
        Assert.Equal(0, root.GetProperty("alloc_bytes_per_signal_second").GetDouble());
        var inference = root.GetProperty("inference");
        Assert.True(inference.GetProperty("windows").GetInt64() > 300); // 30 min of 201, one window per 5 s
        foreach (var v in new[] { "int8", "fp32" }) Assert.True(inference.GetProperty("latency_ms").GetProperty(v).GetProperty("mean").GetDouble() > 0);
        Assert.True(inference.GetProperty("realtime_factor_with_model_1thread").GetDouble() > 0);
        Assert.Equal(0, inference.GetProperty("alloc_bytes_per_window").GetDouble());
        // The flat keys of the performance issue: inference_ms.{int8,fp32}_{p50,p99}.
        var ms = root.GetProperty("inference_ms");
        foreach (var k in new[] { "int8_p50", "int8_p99", "fp32_p50", "fp32_p99" }) Assert.True(ms.GetProperty(k).GetDouble() > 0, k);
        Assert.True(ms.GetProperty("int8_p99").GetDouble() >= ms.GetProperty("int8_p50").GetDouble());
    }
}
