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
    public static async Task<int> RunAsync(string[] args)
    {
        var a = new ArgReader(args, ["--file", "--max-age"], ["--json"]);
        var path = a.Get("--file") ?? Path.Combine(Path.GetDirectoryName(RunTransport.DefaultOutboxDirectory())!, "health.json");
        var maxAge = a.GetDouble("--max-age", 30);
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
        Console.WriteLine(a.Flag("--json") ? JsonSerializer.Serialize(h, HealthJsonContext.Default.HealthSnapshot)
            : $"{(problems.Count == 0 ? "healthy" : "UNHEALTHY: " + string.Join("; ", problems))} | {h.SamplesPerSecond:F0} samples/s, {h.Beats} beats, " +
              $"{h.Windows} windows ({h.InferenceMsMean:F2} ms), {h.Alerts} alerts, broker {h.Broker}, outbox {h.OutboxPending}, frames lost {h.GapSamples}, model {h.Model ?? "none"}");
        return problems.Count == 0 ? 0 : 1;
    }
}
