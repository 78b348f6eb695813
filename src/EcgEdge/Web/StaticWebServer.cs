using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EcgEdge.Web;

/// <summary>
/// A small HTTP/1.1 server for the clinician page, bound to 127.0.0.1 only: GET and HEAD of the page's files and of a
/// generated <c>config.json</c>; one request per connection. Refuses other methods (405), unsafe paths (400, see
/// <see cref="WebRequestPath"/>), a Host header that is not loopback (421: a DNS-rebinding page cannot read it) and
/// oversized or slow requests. Every response carries a restrictive Content-Security-Policy (scripts and styles from
/// this server only, mqtt.js's timer worker from a blob; connections to this server and to ws:/wss: brokers).
/// </summary>
public sealed class StaticWebServer : IAsyncDisposable
{
    public const int MaxHeaderBytes = 8 * 1024;
    public const int MaxConnections = 32;
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    public const string ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
        "worker-src 'self' blob:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

    private readonly IWebAssets _assets;
    private readonly byte[]? _configJson;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _slots = new(MaxConnections);
    private Task? _acceptLoop;

    /// <param name="assets">The page's files.</param>
    /// <param name="configJson">The body of /config.json (UTF-8 JSON), or null for 404.</param>
    /// <param name="port">The loopback port; 0 for any free port (see <see cref="Port"/>).</param>
    public StaticWebServer(IWebAssets assets, byte[]? configJson, int port)
    {
        ArgumentNullException.ThrowIfNull(assets);
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        _assets = assets;
        _configJson = configJson;
        _listener = new TcpListener(IPAddress.Loopback, port);
    }

    /// <summary>The port listened on (after <see cref="Start"/>).</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The address listened on: always 127.0.0.1.</summary>
    public IPAddress Address => ((IPEndPoint)_listener.LocalEndpoint).Address;

    public Uri Url => new($"http://127.0.0.1:{Port}/");

    /// <summary>Number of requests answered (any status).</summary>
    public int Requests => _requests;
    private int _requests;

    /// <exception cref="SocketException">The port is in use or cannot be bound.</exception>
    public void Start()
    {
        _listener.Start();
        _acceptLoop = Task.Run(() => AcceptLoopAsync(_stop.Token));
    }

    private async Task AcceptLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { break; }
            catch (ObjectDisposedException) { break; }
            catch (SocketException) { continue; }
            if (!_slots.Wait(0))
            {
                client.Dispose(); // too many connections at once: drop rather than queue
                continue;
            }
            _ = Task.Run(async () =>
            {
                try { await HandleAsync(client, ct).ConfigureAwait(false); }
                finally
                {
                    client.Dispose();
                    _slots.Release();
                }
            }, CancellationToken.None);
        }
    }

    private async Task HandleAsync(TcpClient client, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(RequestTimeout);
        try
        {
            var stream = client.GetStream();
            var head = await ReadHeadAsync(stream, timeout.Token).ConfigureAwait(false);
            var response = head is null ? Error(400, "Bad Request", "malformed or oversized request") : Respond(head);
            await stream.WriteAsync(response, timeout.Token).ConfigureAwait(false);
            Interlocked.Increment(ref _requests);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or was too slow: nothing to answer.
        }
    }

    /// <summary>Reads up to the blank line ending the request head; null when it is larger than <see cref="MaxHeaderBytes"/>.</summary>
    private static async Task<string?> ReadHeadAsync(NetworkStream stream, CancellationToken ct)
    {
        var buffer = new byte[MaxHeaderBytes];
        var length = 0;
        while (length < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
            if (n == 0) return null;
            length += n;
            var end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8);
            if (end >= 0) return Encoding.Latin1.GetString(buffer, 0, end);
        }
        return null;
    }

    private byte[] Respond(string head)
    {
        var lines = head.Split("\r\n");
        var parts = lines[0].Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
            return Error(400, "Bad Request", "malformed request line");
        var (method, target) = (parts[0], parts[1]);
        if (method is not ("GET" or "HEAD")) return Error(405, "Method Not Allowed", "only GET and HEAD", ("Allow", "GET, HEAD"));
        if (!IsLoopbackHost(HeaderValue(lines, "Host")))
            return Error(421, "Misdirected Request", "this server answers only to 127.0.0.1 / localhost");
        var relative = WebRequestPath.ToRelative(target);
        if (relative is null) return Error(400, "Bad Request", "path refused");
        var asset = relative == "config.json"
            ? _configJson is null ? null : new WebAsset(_configJson, "application/json")
            : _assets.Find(relative);
        if (asset is null) return Error(404, "Not Found", "not found");
        return Build(200, "OK", asset.ContentType, asset.Content, method == "HEAD", []);
    }

    private static string? HeaderValue(string[] lines, string name)
    {
        foreach (var line in lines.AsSpan(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line.AsSpan(0, colon).Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
                return line[(colon + 1)..].Trim();
        }
        return null;
    }

    /// <summary>True for "127.0.0.1[:port]", "localhost[:port]" and "[::1][:port]".</summary>
    public static bool IsLoopbackHost(string? host)
    {
        if (string.IsNullOrEmpty(host)) return false;
        var name = host;
        if (name.StartsWith('['))
        {
            var close = name.IndexOf(']', StringComparison.Ordinal);
            if (close < 0) return false;
            var rest = name[(close + 1)..];
            if (rest.Length > 0 && !(rest[0] == ':' && IsPort(rest[1..]))) return false;
            name = name[1..close];
        }
        else
        {
            var colon = name.LastIndexOf(':');
            if (colon >= 0)
            {
                if (!IsPort(name[(colon + 1)..])) return false;
                name = name[..colon];
            }
        }
        return name is "127.0.0.1" or "::1" || name.Equals("localhost", StringComparison.OrdinalIgnoreCase);
    }

    private static bool IsPort(string s) => s.Length is > 0 and <= 5 && s.All(char.IsAsciiDigit);

    private static byte[] Error(int code, string reason, string message, params (string Name, string Value)[] extra) =>
        Build(code, reason, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(message + "\n"), false, extra);

    private static byte[] Build(int code, string reason, string contentType, byte[] body, bool headOnly, (string Name, string Value)[] extra)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(inv, $"HTTP/1.1 {code} {reason}\r\n");
        sb.Append(inv, $"Content-Type: {contentType}\r\n");
        sb.Append(inv, $"Content-Length: {body.Length}\r\n");
        sb.Append("Cache-Control: no-cache\r\n");
        sb.Append("X-Content-Type-Options: nosniff\r\n");
        sb.Append("X-Frame-Options: DENY\r\n");
        sb.Append("Referrer-Policy: no-referrer\r\n");
        sb.Append("Cross-Origin-Opener-Policy: same-origin\r\n");
        sb.Append(inv, $"Content-Security-Policy: {ContentSecurityPolicy}\r\n");
        foreach (var (name, value) in extra) sb.Append(inv, $"{name}: {value}\r\n");
        sb.Append("Connection: close\r\n\r\n");
        var headBytes = Encoding.ASCII.GetBytes(sb.ToString());
        if (headOnly) return headBytes;
        var all = new byte[headBytes.Length + body.Length];
        headBytes.CopyTo(all, 0);
        body.CopyTo(all, headBytes.Length);
        return all;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        if (_acceptLoop is not null)
        {
            try { await _acceptLoop.ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
        _stop.Dispose();
        _listener.Dispose();
    }
}
