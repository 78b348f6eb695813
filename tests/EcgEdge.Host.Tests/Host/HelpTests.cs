namespace EcgEdge.Tests.Host;

/// <summary>Help and version requests print and exit; without a verb they used to start the worker (broker, outbox, replay).</summary>
public class HelpTests
{
    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("run", "--help")]
    [InlineData("eval", "--help")]
    [InlineData("watch", "-h")]
    public async Task Help_prints_the_usage_and_exits_0(params string[] args)
    {
        var (code, output) = await EcgEdgeProcess.RunAsync(TimeSpan.FromSeconds(60), args);
        Assert.Equal(0, code);
        Assert.Contains("Usage: ecgedge [verb] [options]", output, StringComparison.Ordinal);
        Assert.DoesNotContain("broker", output.Split("Usage:")[0], StringComparison.OrdinalIgnoreCase);   // nothing started before it
    }

    [Fact]
    public async Task Version_prints_the_version_and_exits_0()
    {
        var (code, output) = await EcgEdgeProcess.RunAsync(TimeSpan.FromSeconds(60), "--version");
        Assert.Equal(0, code);
        Assert.Matches(@"^ecgedge \d+\.\d+\.\d+", output);
    }
}
