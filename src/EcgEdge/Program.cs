using EcgEdge.Verbs;

namespace EcgEdge;

public static class Program
{
    /// <summary>
    /// The executable: the command line (<see cref="Cli"/>, on System.CommandLine; each verb in its own file), with the exit
    /// codes every verb shares: 0 success, 1 runtime failure (bad input data, I/O), 2 bad usage or configuration.
    /// </summary>
    public static async Task<int> Main(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0].ToLowerInvariant() : "run";
        try
        {
            // Asking for help or the version never starts the worker (with no verb, "run" would: broker, outbox, replay).
            return await Cli.RunAsync(args).ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            return Fail(e.Message, verb);
        }
        catch (ConfigurationException e)
        {
            Console.Error.WriteLine($"ecgedge: invalid configuration: {e.Message}");
            return 2;
        }
        catch (Inference.Model.ModelLoadException e)
        {
            Console.Error.WriteLine($"ecgedge: model refused ({e.Failure}): {e.Message}");
            return 2;
        }
        catch (Inference.Execution.ExecutionProviderUnavailableException e)
        {
            Console.Error.WriteLine($"ecgedge: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is Wfdb.WfdbFormatException or IOException or UnauthorizedAccessException)
        {
            // Any verb's unreadable input (a missing or corrupt record, a file it may not read): a clear message and exit 1,
            // never an unhandled exception.
            Console.Error.WriteLine($"ecgedge {verb}: cannot read its input: {e.Message}");
            return 1;
        }
    }

    private static int Fail(string message, string verb)
    {
        foreach (var line in message.Split('\n')) Console.Error.WriteLine($"ecgedge: {line}");
        var known = Cli.Root().Subcommands.Any(c => c.Name == verb);
        Console.Error.WriteLine($"Run 'ecgedge {(known && verb != "help" ? verb + " " : "")}--help' for usage.");
        return 2;
    }
}

/// <summary>Bad command-line usage: reported with exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
