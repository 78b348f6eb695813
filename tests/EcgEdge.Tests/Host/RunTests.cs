using EcgEdge.Verbs;

namespace EcgEdge.Tests.Host;

public class RunTests
{
    [Fact]
    public async Task Run_replays_the_bundled_record_to_its_end_and_exits_cleanly()
    {
        // The embedded default (bundled MIT-BIH 201), once and as fast as possible instead of looping in real time.
        var code = await RunVerb.RunAsync(["--realtime", "false", "--loop", "false"]);
        Assert.Equal(0, code);
    }

    [Fact]
    public async Task Invalid_configuration_is_refused_at_start_with_exit_code_2()
    {
        Assert.Equal(2, await RunVerb.RunAsync(["--Conditioning:LowPassHz=500"]));
        Assert.Equal(2, await RunVerb.RunAsync(["--mains", "55"]));
        Assert.Equal(2, await RunVerb.RunAsync(["--Pipeline:BlockFrames=0"]));
        Assert.Equal(2, await RunVerb.RunAsync(["--record", ""]));
        Assert.Equal(2, await RunVerb.RunAsync(["--leads", "II,II", "--realtime", "false"]));
    }

    [Fact]
    public async Task A_missing_record_is_a_runtime_error_with_exit_code_1()
    {
        Assert.Equal(1, await RunVerb.RunAsync(["--record", "/nonexistent/rec", "--realtime", "false"]));
    }
}
