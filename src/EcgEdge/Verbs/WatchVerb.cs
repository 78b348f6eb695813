using System.CommandLine;
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
    /// <summary>watch's options: the alert watcher's, the web page's (<c>--web</c>), and both's.</summary>
    private sealed class Options
    {
        public Option<bool> Web { get; } = new("--web")
        { Description = "serve the clinician web page on 127.0.0.1 instead (live devices, alerts, strips, acks; the browser connects to the broker over WebSockets)" };
        public Option<string[]> Brokers { get; } = new("--broker")
        {
            Description = "the broker, mqtt:// or mqtts:// (repeat for failover); with --web a ws:// or wss:// URL (default: the embedded broker of ecgedge run on this machine)",
            HelpName = "URL",
        };
        public Option<string?> Prefix { get; } = VerbOptions.Prefix("the fleet's topic prefix (default ecgedge)");
        public Option<string?> Device { get; } = VerbOptions.Device("one device's alerts (default: every device, +)");
        public Option<string?> Username { get; } = VerbOptions.Username("the broker login (with --web the page asks for the password)");
        public Option<double> Timeout { get; } = VerbOptions.Timeout();
        // the watcher's own
        public Option<string?> ClientId { get; } = new("--client-id") { Description = "the MQTT client id (a persistent session)", HelpName = "ID" };
        public Option<string?> Ca { get; } = new("--ca") { Description = "trust this CA certificate (PEM) for mqtts://", HelpName = "FILE" };
        public Option<string?> Cert { get; } = new("--cert") { Description = "client certificate (PEM), with --key", HelpName = "FILE" };
        public Option<string?> Key { get; } = new("--key") { Description = "the client certificate's private key (PEM)", HelpName = "FILE" };
        public Option<string?> PasswordEnv { get; } = VerbOptions.PasswordEnv("the environment variable that holds the broker password (never the password itself)");
        public Option<int> Count { get; } = new("--count") { Description = "exit 0 after N distinct alerts (1 if fewer came)", HelpName = "N", DefaultValueFactory = _ => 0 };
        public Option<string?> SaveDir { get; } = new("--save-dir") { Description = "save every alert as DIR/ID.json (folder 0700, files 0600)", HelpName = "DIR" };
        public Option<MqttProtocolLevel> Protocol { get; } = VerbOptions.Protocol();
        public Option<bool> Json { get; } = VerbOptions.JsonOutput("print each alert as it came (JSON), one per line");
        // the web page's own
        public Option<int> Port { get; } = new("--port")
        { Description = "with --web: the page's HTTP port on 127.0.0.1 (0: any free port)", HelpName = "PORT", DefaultValueFactory = _ => WebWatchVerb.DefaultPort };
        public Option<string?> Clinician { get; } = new("--clinician")
        { Description = "with --web: the name acknowledgements go out under (default: the login, else this machine's user)", HelpName = "NAME" };
        public Option<string?> WebRoot { get; } = new("--web-root") { Description = "with --web: serve the page from this folder instead of the embedded one", HelpName = "DIR" };

        public Option[] All => [Web, Brokers, Prefix, Device, Username, Timeout, ClientId, Ca, Cert, Key, PasswordEnv, Count, SaveDir, Protocol, Json, Port, Clinician, WebRoot];
        public Option[] WatcherOnly => [ClientId, Ca, Cert, Key, PasswordEnv, Count, SaveDir, Protocol, Json];
        public Option[] WebOnly => [Port, Clinician, WebRoot];
    }

    /// <summary><c>ecgedge watch</c>'s command line.</summary>
    public static Command CreateCommand()
    {
        var o = new Options();
        var command = new Command("watch",
            "clinician side: subscribe to a fleet's alerts and print them live, de-duplicated by id; with --web, serve the " +
            "clinician web page on 127.0.0.1 only");
        foreach (var option in o.All) command.Options.Add(option);
        command.SetVerbAction(p => RunAsync(p, o));
        return command;
    }

    /// <summary>Runs watch with the command line <paramref name="args"/> (as <c>ecgedge watch ARGS</c>).</summary>
    public static Task<int> RunAsync(string[] args) => Cli.RunAsync(CreateCommand(), args);

    private static async Task<int> RunAsync(ParseResult p, Options o)
    {
        var web = p.GetValue(o.Web);
        foreach (var option in web ? o.WatcherOnly : o.WebOnly)
            if (p.GetResult(option) is { Implicit: false })
                throw new UsageException(web ? $"{option.Name} is not an option of watch --web" : $"{option.Name} needs --web");
        var brokers = p.GetValue(o.Brokers) ?? [];
        // --web: serve the clinician page instead (the browser subscribes itself; see WebWatchVerb).
        if (web)
        {
            return await WebWatchVerb.RunAsync(new WebWatchArguments
            {
                Port = p.GetValue(o.Port), Broker = brokers.LastOrDefault(), Prefix = p.GetValue(o.Prefix), Device = p.GetValue(o.Device),
                Username = p.GetValue(o.Username), Clinician = p.GetValue(o.Clinician), WebRoot = p.GetValue(o.WebRoot), TimeoutSeconds = p.GetValue(o.Timeout),
            }).ConfigureAwait(false);
        }
        if (brokers.Length == 0) throw new UsageException("watch needs --broker mqtt://host:port (or mqtts://; repeat for failover)");
        var options = new AlertWatcherOptions
        {
            Brokers = [.. brokers],
            TopicPrefix = p.GetValue(o.Prefix) ?? "ecgedge",
            Device = p.GetValue(o.Device) ?? "+",
            CaCertificateFile = p.GetValue(o.Ca),
            ClientCertificateFile = p.GetValue(o.Cert),
            ClientKeyFile = p.GetValue(o.Key),
            Username = p.GetValue(o.Username),
            // The password comes from an environment variable, never from the command line (visible in ps).
            Password = p.GetValue(o.PasswordEnv) is { } env ? Environment.GetEnvironmentVariable(env) : null,
        };
        if (p.GetValue(o.ClientId) is { } cid) options.ClientId = cid;
        options.ProtocolVersion = p.GetValue(o.Protocol);
        var count = p.GetValue(o.Count);
        var timeout = p.GetValue(o.Timeout);
        var saveDir = p.GetValue(o.SaveDir);
        // Saved alerts carry patient ECG strips: a new folder is created 0700, every file 0600.
        if (saveDir is not null) EcgEdge.Transport.PrivateFiles.CreateDirectory(saveDir);
        var json = p.GetValue(o.Json);

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
