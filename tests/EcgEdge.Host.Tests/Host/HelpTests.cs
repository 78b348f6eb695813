using System.CommandLine;
using EcgEdge.Verbs;

namespace EcgEdge.Tests.Host;

/// <summary>
/// Help and version requests print and exit 0 without starting anything (with no verb, <c>run</c> would start the broker,
/// the outbox and the replay); bad usage exits 2 saying what was wrong. Each case runs the real executable with its own
/// outbox folder, which must not exist afterwards (the worker takes its lock there first thing).
/// </summary>
public class HelpTests
{
    /// <summary>Every command of ecgedge by its path ("" for ecgedge itself, "model sign" …).</summary>
    public static TheoryData<string> Commands()
    {
        var data = new TheoryData<string> { "" };
        void Walk(Command c, string path)
        {
            foreach (var s in c.Subcommands)
            {
                var p = (path + " " + s.Name).Trim();
                data.Add(p);
                Walk(s, p);
            }
        }
        Walk(Cli.Root(), "");
        return data;
    }

    private static Command Find(string path) =>
        path.Split(' ', StringSplitOptions.RemoveEmptyEntries).Aggregate(Cli.Root(), (c, name) => c.Subcommands.Single(s => s.Name == name));

    /// <summary>Runs ecgedge with an outbox folder of its own; says whether the folder was created.</summary>
    private static async Task<(int Code, string Output, bool OutboxCreated)> Ecgedge(params string[] args)
    {
        using var dir = new Wfdb.TempDirectory();
        var outbox = dir.File("outbox");
        var env = new Dictionary<string, string>
        {
            ["ECGEDGE_Mqtt__Outbox__Directory"] = outbox,
            ["ECGEDGE_Mqtt__EmbeddedPort"] = "0",
            ["ECGEDGE_Mqtt__EmbeddedWebSocketPort"] = "0",
            ["ECGEDGE_Pipeline__HealthFile"] = dir.File("health.json"),
        };
        var (code, output) = await EcgEdgeProcess.RunAsync(TimeSpan.FromSeconds(60), env, args);
        return (code, output, Directory.Exists(outbox));
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task Help_of_every_command_prints_its_options_and_starts_nothing(string path)
    {
        var command = Find(path);
        var (code, output, outbox) = await Ecgedge([.. path.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--help"]);
        Assert.Equal(0, code);
        Assert.False(outbox, "the outbox folder was created: the worker started");
        Assert.Contains("Usage:", output, StringComparison.Ordinal);
        Assert.Contains($"ecgedge {path}".TrimEnd() + " ", output, StringComparison.Ordinal);
        foreach (var option in command.Options) Assert.Contains(option.Name, output, StringComparison.Ordinal);
        foreach (var sub in command.Subcommands) Assert.Contains(sub.Name, output, StringComparison.Ordinal);
        Assert.Contains("--help", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("-?")]
    [InlineData("help")]
    public async Task Help_without_a_verb_lists_every_verb_and_starts_nothing(string help)
    {
        var (code, output, outbox) = await Ecgedge(help);
        Assert.Equal(0, code);
        Assert.False(outbox, "the outbox folder was created: the worker started");
        Assert.Contains("ecgedge [command] [options]", output, StringComparison.Ordinal);
        foreach (var verb in Cli.Root().Subcommands) Assert.Contains("  " + verb.Name + " ", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("run", "--record", "x", "--help")]        // the worker's options given, then help
    [InlineData("run", "--Mqtt:Mode=Off", "-h")]          // a configuration override first: the worker's help
    [InlineData("eval", "help", "eval")]
    [InlineData("eval", "EVAL", "--help")]                // a verb in any case
    [InlineData("model sign", "help", "model", "sign")]
    public async Task Help_after_options_or_through_the_help_verb_is_the_verb_s_help(string path, params string[] args)
    {
        var (code, output, outbox) = await Ecgedge(args);
        Assert.Equal(0, code);
        Assert.False(outbox, "the outbox folder was created: the worker started");
        Assert.Contains($"ecgedge {path} ", output, StringComparison.Ordinal);
        foreach (var option in Find(path).Options) Assert.Contains(option.Name, output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--version")]
    [InlineData("eval", "--version")]
    [InlineData("--record", "x", "--version")]
    public async Task Version_prints_the_version_and_exits_0(params string[] args)
    {
        var (code, output, outbox) = await Ecgedge(args);
        Assert.Equal(0, code);
        Assert.False(outbox);
        Assert.Matches(@"^ecgedge \d+\.\d+\.\d+", output);
        Assert.Equal(Cli.VersionText, output.Trim());
    }

    [Theory]
    [InlineData("did you mean '--records'?", "eval", "--recrods", "100")]                          // a misspelt option
    [InlineData("did you mean '--record'?", "--recrod", "x")]                                     // the worker's too (once silently ignored)
    [InlineData("did you mean 'Conditioning:MainsHz'?", "--Conditioning:MainHz=60")]              // a misspelt configuration key
    [InlineData("did you mean 'Conditioning:MainsHz'?", "--Conditioning:MainHz", "60")]           // in its other form
    [InlineData("did you mean 'Events'?", "eval", "--db", ".", "--Evnts:AsystoleSeconds=4")]      // a misspelt section
    [InlineData("unknown section", "--Foo:Bar=1")]                                                // a section nothing reads
    [InlineData("Option '--db' is required", "eval")]                                             // a required option missing
    [InlineData("Option '--out' is required", "report", "rec")]
    [InlineData("'abc' for option '--from'", "eval", "--db", ".", "--from", "abc")]               // not a number
    [InlineData("'soon' for option '--max-age'", "health", "--max-age", "soon")]
    [InlineData("did you mean 'eval'?", "evl")]                                                   // a misspelt verb
    [InlineData("health reads no configuration", "health", "--Mqtt:Mode=Off")]
    public async Task Bad_usage_exits_2_saying_what_was_wrong_and_starts_nothing(string expected, params string[] args)
    {
        var (code, output, outbox) = await Ecgedge(args);
        Assert.Equal(2, code);
        Assert.False(outbox, "the outbox folder was created: the worker started");
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }
}
