using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using EcgEdge.Bench;
using EcgEdge.Fleet;

namespace EcgEdge.Verbs;

/// <summary>
/// The command line of <c>ecgedge</c> on System.CommandLine: the verbs (each declares its <see cref="Command"/> in its own
/// file), <c>--help</c> on every verb and at the top, <c>--version</c>, unknown options answered with the nearest known
/// one. Configuration overrides (<c>--Section:Key=value</c> or <c>--Section:Key value</c>) are taken out of the arguments
/// before parsing and handed to the verbs that read configuration, which check every key (<see cref="ConfigurationCheck"/>).
/// Bad usage throws <see cref="UsageException"/> (exit 2, <see cref="Program.Main"/>).
/// </summary>
public static class Cli
{
    public const string Name = "ecgedge";

    private const string Description =
        "ecgedge — wearable-ECG edge worker. Without a verb it runs the worker (ecgedge run). Configuration: appsettings.json " +
        "beside the executable, a JSON file named by ECGEDGE_CONFIG, ECGEDGE_Section__Key environment variables, then " +
        "--Section:Key=value on the command line of the verbs that read it (run, eval, analyze, report, selftest, model info, " +
        "model verify). Exit codes: 0 success, 1 runtime failure (bad input data, I/O), 2 bad usage or configuration.";

    private static readonly ParserConfiguration Parser = new()
    {
        // An argument starting with '@' is a path, never a file of further arguments.
        ResponseFileTokenReplacer = null,
    };

    /// <summary>The whole command line: every verb under <c>ecgedge</c>, with help and version.</summary>
    /// <param name="output">Where the verbs that print to a writer (help, model) print; standard output by default.</param>
    public static Command Root(TextWriter? output = null)
    {
        var help = new HelpOption();
        // Piped or captured help is wrapped as a terminal would (System.CommandLine does not wrap it at all).
        if (Console.IsOutputRedirected && help.Action is HelpAction helpAction) helpAction.MaxWidth = 120;
        var root = new Command(Name, Description)
        {
            help,
            new Option<bool>("--version") { Description = "print the version and exit", Recursive = true, Action = new VersionAction() },
        };
        Command[] verbs =
        [
            RunVerb.CreateCommand(), EvalVerb.CreateCommand(), SelftestVerb.CreateCommand(), BenchVerb.CreateCommand(), AnalyzeVerb.CreateCommand(),
            ReportVerb.CreateCommand(), PWaveVerb.CreateCommand(), ModelVerb.CreateCommand(output), WatchVerb.CreateCommand(), StripVerb.CreateCommand(),
            FleetSimVerb.CreateCommand(), HealthVerb.CreateCommand(), HelpCommand(output),
        ];
        foreach (var v in verbs) root.Subcommands.Add(v);
        return root;
    }

    /// <summary>
    /// Runs the command line <paramref name="args"/> as the executable does: without a verb (or with an option first) the
    /// worker (<c>run</c>); a verb in any case.
    /// </summary>
    public static Task<int> RunAsync(string[] args, TextWriter? output = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        var root = Root(output);
        return RunAsync(root, WithVerb(root, args), output);
    }

    /// <summary>
    /// Parses <paramref name="args"/> against <paramref name="command"/> (the root, or one verb on its own as the tests call
    /// it) and runs what they ask for: help or the version (exit 0), else the verb's action with the configuration overrides.
    /// </summary>
    /// <exception cref="UsageException">The arguments do not fit the command.</exception>
    public static async Task<int> RunAsync(Command command, IReadOnlyList<string> args, TextWriter? output = null)
    {
        ArgumentNullException.ThrowIfNull(command);
        var (configuration, rest) = SplitConfiguration(args);
        var parse = command.Parse(rest, Parser);
        if (parse.Action is not (VerbAction or ParseErrorAction or null))
        {
            // --help or --version: printed, nothing started.
            return await parse.InvokeAsync(new InvocationConfiguration
            {
                Output = output ?? Console.Out,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null,
            }).ConfigureAwait(false);
        }
        var problems = Problems(parse);
        if (problems.Count > 0) throw new UsageException(string.Join('\n', problems));
        var action = (VerbAction)parse.Action!;
        if (configuration.Length > 0 && !action.TakesConfiguration)
            throw new UsageException($"{PathOf(parse.CommandResult)} reads no configuration: '{configuration[0]}' is not one of its options");
        return await action.RunAsync(parse, configuration).ConfigureAwait(false);
    }

    /// <summary>The arguments with the verb first: <c>run</c> when there is none, a verb's own spelling for any case of it.</summary>
    public static string[] WithVerb(Command root, string[] args)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length == 0) return ["run"];
        var first = args[0];
        // Help and the version of ecgedge itself; any other option (or configuration override) is the worker's.
        if (first is "--help" or "-h" or "-?" or "--version") return args;
        if (first.StartsWith('-')) return ["run", .. args];
        var verb = root.Subcommands.FirstOrDefault(c => c.Name.Equals(first, StringComparison.OrdinalIgnoreCase));
        return verb is null ? args : [verb.Name, .. args[1..]];
    }

    /// <summary>
    /// Splits arguments into configuration overrides, each as <c>--Section:Key=value</c> (the form
    /// <c>--Section:Key value</c> joined), and the rest, each in its given order. An override is an argument starting with
    /// <c>--</c> whose name (before any '=') holds a ':'; after a bare <c>--</c> nothing is.
    /// </summary>
    /// <exception cref="UsageException">An override in the second form is the last argument (it has no value).</exception>
    public static (string[] Configuration, string[] Others) SplitConfiguration(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var configuration = new List<string>();
        var rest = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (a == "--")
            {
                rest.AddRange(args.Skip(i));
                break;
            }
            if (!IsConfigurationKey(a)) rest.Add(a);
            else if (a.Contains('=', StringComparison.Ordinal)) configuration.Add(a);
            else if (i + 1 < args.Count) configuration.Add(a + "=" + args[++i]);
            else throw new UsageException($"configuration override {a} needs a value ({a}=VALUE or {a} VALUE)");
        }
        return ([.. configuration], [.. rest]);
    }

    private static bool IsConfigurationKey(string a)
    {
        if (a.Length < 3 || !a.StartsWith("--", StringComparison.Ordinal)) return false;
        var eq = a.IndexOf('=', StringComparison.Ordinal);
        return (eq < 0 ? a : a[..eq]).Contains(':', StringComparison.Ordinal);
    }

    /// <summary>
    /// What is wrong with the command line, one line each: unknown options first (with the nearest known one), since
    /// what follows them is usually their value; else System.CommandLine's errors.
    /// </summary>
    private static List<string> Problems(ParseResult parse)
    {
        var result = parse.CommandResult;
        var command = result.Command;
        var path = PathOf(result);
        // No verb recognised: the first word was not one.
        if (command.Subcommands.Count > 0 && command.Action is null && parse.UnmatchedTokens.FirstOrDefault() is { } word)
        {
            var near = ConfigurationCheck.Nearest(word, command.Subcommands.Select(c => c.Name));
            var what = command.Name == Name ? "unknown verb" : $"{path}: unknown command";
            return [$"{what} '{word}'" + (near is null ? "" : $"; did you mean '{near}'?")];
        }
        // An option not of this command is unmatched, or was taken by one of its positional arguments (which accept any word).
        var unknown = parse.UnmatchedTokens
            .Concat(result.Children.OfType<ArgumentResult>().SelectMany(a => a.Tokens).Select(t => t.Value))
            .Where(LooksLikeOption).Distinct(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
        {
            var names = OptionNames(command).ToList();
            return [.. unknown.Select(u =>
            {
                var near = ConfigurationCheck.Nearest(u.Split('=', 2)[0], names);
                return $"{path}: unknown option '{u}'" + (near is null ? "" : $"; did you mean '{near}'?");
            })];
        }
        if (command.Subcommands.Count > 0 && command.Action is null)
            return [$"{path} needs one of: {string.Join(", ", command.Subcommands.Select(c => c.Name))}"];
        return [.. parse.Errors.Select(e => $"{path}: {e.Message.ReplaceLineEndings(" ").Replace("\t", "", StringComparison.Ordinal)}")];
    }

    private static bool LooksLikeOption(string token) =>
        token.Length > 1 && token[0] == '-' && !double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    /// <summary>The names and aliases of the options a command takes, its ancestors' recursive ones included.</summary>
    private static IEnumerable<string> OptionNames(Command command)
    {
        var own = command.Options.SelectMany(o => o.Aliases.Prepend(o.Name));
        var inherited = Ancestors(command).SelectMany(c => c.Options).Where(o => o.Recursive).SelectMany(o => o.Aliases.Prepend(o.Name));
        return own.Concat(inherited).Distinct(StringComparer.Ordinal);
    }

    private static IEnumerable<Command> Ancestors(Command command)
    {
        for (var c = command.Parents.OfType<Command>().FirstOrDefault(); c is not null; c = c.Parents.OfType<Command>().FirstOrDefault())
            yield return c;
    }

    /// <summary>"model sign": the command's path as typed after <c>ecgedge</c> ("ecgedge" for ecgedge itself).</summary>
    private static string PathOf(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is not null; r = r.Parent)
            if (r is CommandResult c && c.Command.Name != Name) names.Insert(0, c.Command.Name);
        return names.Count == 0 ? Name : string.Join(' ', names);
    }

    /// <summary><c>ecgedge help [VERB...]</c>: the help of ecgedge, or of a verb.</summary>
    private static Command HelpCommand(TextWriter? output)
    {
        var verb = new Argument<string[]>("VERB") { Description = "the verb (and command) to explain", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("help", "this help, or a verb's (ecgedge help eval is ecgedge eval --help)") { verb };
        command.SetVerbAction(p => RunAsync([.. p.GetValue(verb) ?? [], "--help"], output));
        return command;
    }

    /// <summary>The version of this build, as <c>--version</c> prints it.</summary>
    public static string VersionText => $"{Name} {typeof(Cli).Assembly.GetName().Version}";

    private sealed class VersionAction : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(VersionText);
            return 0;
        }
    }

    /// <summary>The configuration overrides of the short options given (<c>--record R</c> is <c>--Replay:Record=R</c>), in order.</summary>
    public static IEnumerable<string> SwitchOverrides(ParseResult parse, params Option[] options)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(options);
        foreach (var o in options)
        {
            if (parse.GetResult(o) is not { Implicit: false } r) continue;
            if (!AppConfiguration.SwitchMappings.TryGetValue(o.Name, out var key))
                throw new InvalidOperationException($"{o.Name} stands for no configuration key");
            yield return $"--{key}={(r.Tokens.Count > 0 ? r.Tokens[^1].Value : "true")}";
        }
    }

    /// <summary>Gives a verb's command what it runs (no configuration overrides).</summary>
    public static void SetVerbAction(this Command command, Func<ParseResult, Task<int>> run)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(run);
        command.Action = new VerbAction((p, _) => run(p), takesConfiguration: false);
    }

    /// <summary>Gives a verb's command what it runs with the configuration overrides of the command line (<c>--Section:Key=value</c>).</summary>
    public static void SetConfigurableAction(this Command command, Func<ParseResult, string[], Task<int>> run)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(run);
        command.Action = new VerbAction(run, takesConfiguration: true);
    }
}

/// <summary>What a verb runs: the parsed command line and the configuration overrides taken out of it.</summary>
public sealed class VerbAction(Func<ParseResult, string[], Task<int>> run, bool takesConfiguration) : AsynchronousCommandLineAction
{
    /// <summary>Whether the verb reads configuration, and so takes <c>--Section:Key=value</c> overrides.</summary>
    public bool TakesConfiguration { get; } = takesConfiguration;

    public Task<int> RunAsync(ParseResult parseResult, string[] configuration) => run(parseResult, configuration);

    public override Task<int> InvokeAsync(ParseResult parseResult, CancellationToken cancellationToken = default) => run(parseResult, []);
}
