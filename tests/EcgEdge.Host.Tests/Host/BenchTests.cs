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
        var (exit, output) = await EcgEdgeProcess.RunAsync(TimeSpan.FromMinutes(5), "bench", "--repeats", "1", "--json", json);
        Assert.True(exit == 0, output);
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
    [Fact]
    public async Task Bench_graph_times_each_file_with_the_given_session_config()
    {
        var int8 = Path.Combine(AppContext.BaseDirectory, "models", "ecg-nat-int8.onnx");
        var fp32 = Path.Combine(AppContext.BaseDirectory, "models", "ecg-nat-fp32.onnx");
        var windows = Path.Combine(TestData.RepoRoot, "models", "reference");    // the model's real reference windows
        var (exit, output) = await EcgEdgeProcess.RunAsync(TimeSpan.FromMinutes(2), "bench", "graph", "--onnx", $"{int8},{fp32}", "--windows", windows, "--runs", "20",
            "--rounds", "2", "--config", "session.set_denormal_as_zero=1");
        Assert.True(exit == 0, output);
        // one line per file, in the order given, each with its minimum and median over the 20 runs
        var lines = output.Split('\n').Where(l => l.Contains(" ms (20 runs")).ToArray();
        Assert.Equal(2, lines.Length);
        Assert.StartsWith(int8 + ": min ", lines[0]);
        Assert.StartsWith(fp32 + ": min ", lines[1]);
    }

    [Fact]
    public async Task Bench_graph_rejects_a_config_entry_that_is_not_key_value()
    {
        var int8 = Path.Combine(AppContext.BaseDirectory, "models", "ecg-nat-int8.onnx");
        var (exit, output) = await EcgEdgeProcess.RunAsync(TimeSpan.FromMinutes(2), "bench", "graph", "--onnx", int8, "--runs", "10", "--config", "no-equals-sign");
        Assert.Equal(2, exit);
        Assert.Contains("is not key=value", output);
    }
}
