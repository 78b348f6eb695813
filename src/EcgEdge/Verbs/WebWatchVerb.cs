using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization;
using EcgEdge.Transport.Mqtt;
using EcgEdge.Web;

namespace EcgEdge.Verbs;

/// <summary>
/// <c>ecgedge watch --web [--port N] [--broker ws(s)://…]</c>: serves the clinician page (web/, embedded in this build) on
/// 127.0.0.1; the browser then connects to the broker itself over MQTT-over-WebSockets. Options given here pre-fill the
/// page's connection form through <c>/config.json</c>; a password is never passed here (the page asks for it).
/// </summary>
public static class WebWatchVerb
{
    public const int DefaultPort = 8080;

    /// <summary>Without --broker: the WebSocket listener of the embedded broker of <c>ecgedge run</c> on this machine, so the
    /// two commands of the README's demo need nothing else (the worker logs the exact command when it had to use another port).</summary>
    public static readonly string DefaultBroker = $"ws://127.0.0.1:{MqttTransportOptions.DefaultEmbeddedWebSocketPort}{MqttWebSocketBridge.UrlPath}";

    /// <summary>Serves the page as <c>ecgedge watch --web</c> with <paramref name="a"/> (<see cref="WatchVerb"/> parses them).</summary>
    public static async Task<int> RunAsync(WebWatchArguments a)
    {
        ArgumentNullException.ThrowIfNull(a);
        var port = a.Port;
        if (port is < 0 or > 65535) throw new UsageException("--port must be 0 to 65535");
        var config = PageConfig(a, Environment.UserName);
        var localDemo = a.Broker is null;
        var broker = config.Broker!;
        IWebAssets assets;
        if (a.WebRoot is { } root)
        {
            try { assets = new DirectoryWebAssets(root); }
            catch (DirectoryNotFoundException e) { throw new UsageException(e.Message); }
        }
        else
        {
            var embedded = new EmbeddedWebAssets();
            if (embedded.Find("index.html") is null)
            {
                await Console.Error.WriteLineAsync("ecgedge watch: this build has no embedded web page (web/dist was missing at build time); " +
                    "build it with `cd web && npm ci && npm run build`, or pass --web-root DIR").ConfigureAwait(false);
                return 1;
            }
            assets = embedded;
        }

        await using var server = new StaticWebServer(assets, JsonSerializer.SerializeToUtf8Bytes(config, WebJsonContext.Default.WebPageConfig), port);
        try { server.Start(); }
        catch (SocketException e)
        {
            await Console.Error.WriteLineAsync($"ecgedge watch: cannot listen on 127.0.0.1:{port}: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
        var timeout = a.TimeoutSeconds;
        if (timeout > 0) cts.CancelAfter(TimeSpan.FromSeconds(timeout));
        Console.WriteLine($"ecgedge watch: clinician page on {server.Url} (loopback only; Ctrl+C stops); broker {broker}" +
            (localDemo ? " (the embedded broker of `ecgedge run` on this machine; --broker for another)" : ""));
        Console.Out.Flush();
        try { await Task.Delay(Timeout.Infinite, cts.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        return 0;
    }

    /// <summary>The page's <c>config.json</c> from the options (refuses a broker that is not ws:// or wss://).</summary>
    /// <param name="localUser">This machine's user name: the clinician name without a login (see below).</param>
    public static WebPageConfig PageConfig(WebWatchArguments a, string? localUser)
    {
        ArgumentNullException.ThrowIfNull(a);
        var broker = a.Broker ?? DefaultBroker;
        if (!(Uri.TryCreate(broker, UriKind.Absolute, out var uri) && uri.Scheme is "ws" or "wss"))
            throw new UsageException($"--broker for the web page must be a ws:// or wss:// URL (MQTT over WebSockets), not '{broker}'");
        var username = a.Username;
        return new WebPageConfig
        {
            Broker = broker,
            Prefix = a.Prefix,
            Device = a.Device,
            Username = username,
            // With a login, acks go out under the user name (the page's default; the broker's ACL binds it). Without one (an
            // anonymous broker such as the embedded one, where nothing binds the name anyway) under this machine's user
            // name, so that the demo can acknowledge at once.
            Clinician = a.Clinician ?? (username is null ? LocalClinicianName(localUser) : null),
            // Without a user name nothing needs typing: connect as soon as the page opens.
            Autoconnect = username is null,
        };
    }

    /// <summary>A user name as one MQTT topic level (letters, digits, '.', '_', '-'; at most 64), or "clinician".</summary>
    public static string LocalClinicianName(string? userName)
    {
        var name = new string((userName ?? "").Where(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-').Take(64).ToArray());
        return name.Length > 0 && char.IsAsciiLetterOrDigit(name[0]) ? name : "clinician";
    }
}

/// <summary>The options of <c>ecgedge watch --web</c>.</summary>
public sealed record WebWatchArguments
{
    /// <summary>The page's HTTP port on 127.0.0.1 (0: any free port).</summary>
    public int Port { get; init; } = WebWatchVerb.DefaultPort;

    /// <summary>The broker's ws:// or wss:// URL; null: <see cref="WebWatchVerb.DefaultBroker"/>.</summary>
    public string? Broker { get; init; }

    public string? Prefix { get; init; }
    public string? Device { get; init; }
    public string? Username { get; init; }
    public string? Clinician { get; init; }

    /// <summary>A folder to serve instead of the embedded page.</summary>
    public string? WebRoot { get; init; }

    /// <summary>Stop after this many seconds (0: on Ctrl+C only).</summary>
    public double TimeoutSeconds { get; init; }
}

/// <summary>The page's <c>config.json</c> (see web/src/config.ts); absent fields are left to the page's defaults.</summary>
public sealed class WebPageConfig
{
    public string? Broker { get; init; }
    public string? Prefix { get; init; }
    public string? Device { get; init; }
    public string? Username { get; init; }
    public string? Clinician { get; init; }
    public bool Autoconnect { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WebPageConfig))]
internal sealed partial class WebJsonContext : JsonSerializerContext;
