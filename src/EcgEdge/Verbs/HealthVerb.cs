using System.CommandLine;
using System.Text.Json;
using EcgEdge.Hosting;

namespace EcgEdge.Verbs;

/// <summary>
/// <c>ecgedge health [--file PATH] [--max-age S]</c>: for scripts and supervisors. Reads the worker's health file
/// (default: the outbox's state directory, <c>health.json</c>) and exits 0 when the worker is running and the file is
/// fresh, 1 otherwise (stale file, stalled samples, broker not connected for an external broker is reported but not
/// fatal), printing the snapshot.
/// </summary>
public static class HealthVerb
{
    /// <summary><c>ecgedge health</c>'s command line.</summary>
    public static Command CreateCommand()
    {
        var file = new Option<string?>("--file")
        { Description = "the worker's health file (default: health.json beside the outbox folder)", HelpName = "PATH" };
        var maxAge = new Option<double>("--max-age")
        { Description = "a health file older than this many seconds means the worker is not running", HelpName = "S", DefaultValueFactory = _ => 30 };
        var json = VerbOptions.JsonOutput("print the health snapshot as JSON");
        var command = new Command("health", "for scripts: reads the running worker's health file and exits 0 (healthy) or 1")
        {
            file, maxAge, json,
        };
        command.SetVerbAction(p => RunAsync(p.GetValue(file), p.GetValue(maxAge), p.GetValue(json)));
        return command;
    }

    /// <summary>Runs health with the command line <paramref name="args"/> (as <c>ecgedge health ARGS</c>).</summary>
    public static Task<int> RunAsync(string[] args) => Cli.RunAsync(CreateCommand(), args);

    private static async Task<int> RunAsync(string? file, double maxAge, bool json)
    {
        var path = file ?? Path.Combine(Path.GetDirectoryName(RunTransport.DefaultOutboxDirectory())!, "health.json");
        HealthSnapshot? h;
        try { h = JsonSerializer.Deserialize(await File.ReadAllBytesAsync(path).ConfigureAwait(false), HealthJsonContext.Default.HealthSnapshot); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            Console.Error.WriteLine($"ecgedge health: UNHEALTHY: cannot read '{path}': {e.Message}");
            return 1;
        }
        if (h is null) { Console.Error.WriteLine($"ecgedge health: UNHEALTHY: '{path}' is empty"); return 1; }
        var age = (DateTimeOffset.UtcNow - h.At).TotalSeconds;
        var problems = new List<string>();
        if (age > maxAge) problems.Add($"health file is {age:F0} s old (> {maxAge:F0} s): worker not running");
        if (h.Status != "running") problems.Add($"pipeline {h.Status}");
        Console.WriteLine(json ? JsonSerializer.Serialize(h, HealthJsonContext.Default.HealthSnapshot)
            : $"{(problems.Count == 0 ? "healthy" : "UNHEALTHY: " + string.Join("; ", problems))} | {h.SamplesPerSecond:F0} samples/s, {h.Beats} beats, " +
              $"{h.Windows} windows ({h.InferenceMsMean:F2} ms), {h.Alerts} alerts, broker {h.Broker}, outbox {h.OutboxPending}, frames lost {h.GapSamples}, model {h.Model ?? "none"}");
        return problems.Count == 0 ? 0 : 1;
    }
}
