using System.Globalization;
using System.Text.Json;
using EcgEdge.Transport.Mqtt;

namespace EcgEdge.Verbs;

/// <summary>
/// <c>ecgedge watch --broker URL</c>: the clinician's side — subscribes to a fleet's alerts and prints them live,
/// de-duplicated by alert id (delivery is at-least-once).
/// </summary>
public static class WatchVerb
{
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        // --web: serve the clinician page instead (the browser subscribes itself; see WebWatchVerb).
        if (args.Contains("--web")) return await WebWatchVerb.RunAsync(args).ConfigureAwait(false);
        var brokers = new List<string>();
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--broker" && i + 1 < args.Length) brokers.Add(args[++i]);
            else rest.Add(args[i]);
        }
        var a = new ArgReader([.. rest], ["--prefix", "--device", "--client-id", "--ca", "--cert", "--key", "--username", "--password-env", "--count", "--timeout", "--save-dir", "--protocol"], ["--json"]);
        if (brokers.Count == 0) throw new UsageException("watch needs --broker mqtt://host:port (or mqtts://; repeat for failover)");
        var options = new AlertWatcherOptions
        {
            Brokers = brokers,
            TopicPrefix = a.Get("--prefix") ?? "ecgedge",
            Device = a.Get("--device") ?? "+",
            CaCertificateFile = a.Get("--ca"),
            ClientCertificateFile = a.Get("--cert"),
            ClientKeyFile = a.Get("--key"),
            Username = a.Get("--username"),
            // The password comes from an environment variable, never from the command line (visible in ps).
            Password = a.Get("--password-env") is { } env ? Environment.GetEnvironmentVariable(env) : null,
        };
        if (a.Get("--client-id") is { } cid) options.ClientId = cid;
        options.ProtocolVersion = a.GetProtocol();
        var count = (int)a.GetDouble("--count", 0);
        var timeout = a.GetDouble("--timeout", 0);
        var saveDir = a.Get("--save-dir");
        // Saved alerts carry patient ECG strips: a new folder is created 0700, every file 0600.
        if (saveDir is not null) EcgEdge.Transport.PrivateFiles.CreateDirectory(saveDir);
        var json = a.Flag("--json");

        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
        if (timeout > 0) cts.CancelAfter(TimeSpan.FromSeconds(timeout));
        AlertWatcher watcher;
        try
        {
            watcher = new AlertWatcher(options, async (topic, alert) =>
            {
                if (saveDir is not null && alert.TryGetProperty("id", out var id))
                    await EcgEdge.Transport.PrivateFiles.WriteAllBytesAsync(Path.Combine(saveDir, SaveFileName(id.GetString()!)), System.Text.Encoding.UTF8.GetBytes(alert.GetRawText())).ConfigureAwait(false);
                Console.WriteLine(json ? alert.GetRawText() : Format(alert));
                Console.Out.Flush();
            });
        }
        catch (Exception e) when (e is ArgumentException or IOException or System.Security.Cryptography.CryptographicException)
        {
            throw new UsageException(e.Message);
        }
        await using var _ = watcher;
        watcher.Connected += ep => Console.Error.WriteLine($"ecgedge watch: connected to {ep} as {watcher.ClientId}, subscribed to {watcher.Filter}");
        watcher.Disconnected += (ep, why) => Console.Error.WriteLine($"ecgedge watch: {ep}: {why}; retrying");
        watcher.Malformed += (topic, payload) => Console.Error.WriteLine($"ecgedge watch: ignored a malformed message on {topic} ({payload.Length} bytes)");
        var run = watcher.RunAsync(cts.Token);
        if (count > 0)
        {
            while (!cts.IsCancellationRequested && watcher.Distinct < count)
                try { await Task.Delay(50, cts.Token).ConfigureAwait(false); } catch (OperationCanceledException) { }
            await cts.CancelAsync().ConfigureAwait(false);
        }
        await run.ConfigureAwait(false);
        Console.Error.WriteLine($"ecgedge watch: {watcher.Distinct} alert(s), {watcher.Duplicates} duplicate(s) dropped");
        if (!watcher.EverConnected)
        {
            // Nothing was watched: a script (or a clinician) must not read this as "no alerts".
            Console.Error.WriteLine($"ecgedge watch: never connected to {string.Join(", ", brokers)}{(timeout > 0 ? $" within {timeout:0.#} s" : "")}");
            return 1;
        }
        return count > 0 && watcher.Distinct < count ? 1 : 0;
    }

    /// <summary>
    /// The file name under --save-dir for the alert <paramref name="id"/> (which comes from the network): the id with every
    /// character that cannot appear in a file name, path separators included, replaced by '_', a leading '.' escaped and the
    /// length capped, so that no id names a file outside the folder or a name the file system refuses.
    /// </summary>
    public static string SaveFileName(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        const int MaxChars = 64; // at most 192 bytes of UTF-8, within the usual 255-byte limit with ".json"
        var invalid = Path.GetInvalidFileNameChars();
        var name = new string([.. id.Take(MaxChars).Select(c => c is '/' or '\\' || char.IsControl(c) || Array.IndexOf(invalid, c) >= 0 ? '_' : c)]);
        if (name.Length == 0 || name[0] == '.') name = "_" + name;
        return name + ".json";
    }

    /// <summary>One line per alert: onset time, device, type, phase, priority, duration, heart rate, criteria, id.</summary>
    public static string Format(JsonElement a)
    {
        string S(string k) => a.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "-";
        string N(string k, string fmt) => a.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) ? d.ToString(fmt, CultureInfo.InvariantCulture) : "-";
        var onset = a.TryGetProperty("onset", out var o) && o.ValueKind == JsonValueKind.Object && o.TryGetProperty("utc", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : "-";
        return $"{onset} {S("deviceId")} {S("type").ToUpperInvariant()} {S("phase")} [{S("severity")}] dur={N("durationS", "F1")}s hr={N("heartRateBpm", "F0")} {S("criteria")} id={S("id")}";
    }
}
