using System.CommandLine;
using EcgEdge.Verbs;

namespace EcgEdge.Tests.Verbs;

/// <summary>The command line (<see cref="Cli"/>) in-process: configuration overrides, the default verb, the short options, usage errors.</summary>
public class CliTests
{
    [Fact]
    public void Configuration_overrides_are_taken_out_in_either_form_and_nothing_after_a_bare_double_dash()
    {
        var (config, rest) = Cli.SplitConfiguration(
            ["--db", "x", "--Events:PauseSeconds", "3", "--record=a:b", "--Mqtt:Mode=Off", "--leads", "II", "--", "--Replay:Loop=true"]);
        Assert.Equal(["--Events:PauseSeconds=3", "--Mqtt:Mode=Off"], config);
        Assert.Equal(["--db", "x", "--record=a:b", "--leads", "II", "--", "--Replay:Loop=true"], rest);
        Assert.Throws<UsageException>(() => Cli.SplitConfiguration(["--db", "x", "--Events:PauseSeconds"]));
    }

    [Fact]
    public void Without_a_verb_the_worker_runs_and_a_verb_is_read_in_any_case()
    {
        var root = Cli.Root();
        Assert.Equal(["run"], Cli.WithVerb(root, []));
        Assert.Equal(["run", "--record", "x"], Cli.WithVerb(root, ["--record", "x"]));
        Assert.Equal(["run", "--Mqtt:Mode=Off"], Cli.WithVerb(root, ["--Mqtt:Mode=Off"]));
        Assert.Equal(["eval", "--db", "x"], Cli.WithVerb(root, ["EVAL", "--db", "x"]));
        Assert.Equal(["--help"], Cli.WithVerb(root, ["--help"]));
        Assert.Equal(["--version"], Cli.WithVerb(root, ["--version"]));
        Assert.Equal(["evl"], Cli.WithVerb(root, ["evl"]));
    }

    [Fact]
    public void The_worker_s_short_options_are_its_configuration_keys_and_all_of_them_are_defined()
    {
        var run = RunVerb.CreateCommand();
        Assert.Equal(AppConfiguration.SwitchMappings.Keys.Order(StringComparer.Ordinal), run.Options.Select(o => o.Name).Order(StringComparer.Ordinal));
        var p = run.Parse(["--record", "r", "--realtime", "--loop", "false", "--mains", "60", "--source", "Emulator", "--from", "1.5"]);
        Assert.Empty(p.Errors);
        Assert.Equal(["--Replay:Record=r", "--Replay:FromSeconds=1.5", "--Replay:RealTime=true", "--Replay:Loop=false", "--Conditioning:MainsHz=60",
            "--Pipeline:Source=Emulator"], Cli.SwitchOverrides(p, [.. run.Options]));
        // Typed: a number where a number belongs, a known source.
        Assert.NotEmpty(run.Parse(["--mains", "sixty"]).Errors);
        Assert.NotEmpty(run.Parse(["--source", "usb"]).Errors);
    }

    [Theory]
    [InlineData("unknown verb 'evl'; did you mean 'eval'?", "evl")]
    [InlineData("eval: unknown option '--recrods'; did you mean '--records'?", "eval", "--db", ".", "--recrods", "100")]
    [InlineData("report: unknown option '--bogus'", "report", "--bogus", "-o", "x.pdf")]           // not taken as the record
    [InlineData("strip: unknown option '--secnds=3'; did you mean '--seconds'?", "strip", "--secnds=3", "-o", "x.png")]
    [InlineData("model needs one of: info, keygen, sign, verify", "model")]
    [InlineData("model: unknown command 'frob'", "model", "frob")]
    [InlineData("Option '--key' is required", "model", "sign", "m.json")]
    [InlineData("health reads no configuration: '--Mqtt:Mode=Off'", "health", "--Mqtt:Mode=Off")]
    [InlineData("--port needs --web", "watch", "--port", "80", "--broker", "mqtt://127.0.0.1:1")]
    [InlineData("--ca is not an option of watch --web", "watch", "--web", "--ca", "ca.pem")]
    [InlineData("--protocol '6': use 5 or 3.1.1", "fleet-sim", "--protocol", "6")]
    [InlineData("'replay' not recognized", "selftest", "--source", "replay")]
    [InlineData("'x' not recognized", "pwave", "--db", ".", "--annotator", "x")]
    [InlineData("'two' for option '--jobs'", "analyze", "--db", ".", "--jobs", "two")]
    [InlineData("Unrecognized command or argument 'b.json'", "strip", "a.json", "b.json", "-o", "x.png")]
    public async Task Usage_errors_say_what_is_wrong_before_anything_runs(string expected, params string[] args)
    {
        var e = await Assert.ThrowsAsync<UsageException>(() => Cli.RunAsync(args, TextWriter.Null));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_goes_to_the_given_writer_and_returns_0()
    {
        using var w = new StringWriter();
        Assert.Equal(0, await Cli.RunAsync(["help", "bench", "graph"], w));
        Assert.Contains("ecgedge bench graph [options]", w.ToString(), StringComparison.Ordinal);
        Assert.Contains("--onnx <A.onnx,B.onnx,...> (REQUIRED)", w.ToString(), StringComparison.Ordinal);
    }
}
