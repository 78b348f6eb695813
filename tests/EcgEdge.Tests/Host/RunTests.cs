using EcgEdge.Verbs;

namespace EcgEdge.Tests.Host;

public class RunTests
{
    /// <summary>Each run gets its own outbox folder and free ports for the embedded broker (tests run in parallel).</summary>
    internal static string[] Isolated(params string[] args) =>
        [.. args, $"--Mqtt:Outbox:Directory={Path.Combine(Path.GetTempPath(), "ecgedge-run-" + Guid.NewGuid().ToString("N"))}", "--Mqtt:EmbeddedPort=0",
            "--Mqtt:EmbeddedWebSocketPort=0"];

    [Fact]
    public async Task Run_replays_the_bundled_record_to_its_end_and_exits_cleanly()
    {
        // The embedded default (bundled MIT-BIH 201), once and as fast as possible instead of looping in real time.
        var code = await RunVerb.RunAsync(Isolated("--realtime", "false", "--loop", "false"));
        Assert.Equal(0, code);
    }

    [Fact]
    public async Task Invalid_configuration_is_refused_at_start_with_exit_code_2()
    {
        Assert.Equal(2, await RunVerb.RunAsync(Isolated("--Conditioning:LowPassHz=500")));
        Assert.Equal(2, await RunVerb.RunAsync(Isolated("--mains", "55")));
        Assert.Equal(2, await RunVerb.RunAsync(Isolated("--Pipeline:BlockFrames=0")));
        Assert.Equal(2, await RunVerb.RunAsync(Isolated("--record", "")));
        Assert.Equal(2, await RunVerb.RunAsync(Isolated("--leads", "II,II", "--realtime", "false")));
    }

    [Fact]
    public async Task A_tampered_model_or_an_unavailable_strict_provider_stops_the_worker_before_it_starts()
    {
        using var f = new Inference.ModelFiles();
        var bytes = File.ReadAllBytes(f.Int8);
        bytes[^10] ^= 0xFF;
        f.ReplaceInt8(bytes, updateManifest: false);
        Assert.Equal(2, await RunVerb.RunAsync(Isolated("--realtime", "false", "--loop", "false", "--model", f.Manifest)));
        Assert.Equal(2, await RunVerb.RunAsync(Isolated("--realtime", "false", "--loop", "false", "--provider", "cuda")));
        Assert.Equal(2, await RunVerb.RunAsync(Isolated("--realtime", "false", "--Inference:RhythmSmoothingWindows=2")));
        // Without the model the worker still runs (QRS and heart rate).
        Assert.Equal(0, await RunVerb.RunAsync(Isolated("--realtime", "false", "--loop", "false", "--Inference:Enabled=false", "--model", f.Manifest)));
    }

    [Fact]
    public async Task A_missing_record_is_a_runtime_error_with_exit_code_1()
    {
        Assert.Equal(1, await RunVerb.RunAsync(Isolated("--record", "/nonexistent/rec", "--realtime", "false")));
    }
}
