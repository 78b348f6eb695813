using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EcgEdge.Transport.Mqtt;

/// <summary>
/// MQTT over WebSockets for the embedded broker, so that a browser (the clinician page of <c>ecgedge watch --web</c>)
/// can reach it with nothing else installed. A <see cref="TcpListener"/> on 127.0.0.1 accepts the RFC 6455 opening
/// handshake (subprotocol <c>mqtt</c>, path <c>/mqtt</c> or <c>/</c>), then .NET's own WebSocket framing
/// (<see cref="WebSocket.CreateFromStream(Stream, WebSocketCreationOptions)"/>) carries the MQTT bytes, which are relayed
/// unchanged to the broker's loopback TCP port: one TCP connection to the broker per WebSocket client, so the broker
/// sees an ordinary MQTT client (sessions, retained messages, last will all work as over TCP).
/// <para>Why a relay and not ASP.NET Core (MQTTnet.AspNetCore) nor <c>HttpListener</c>: see docs/mqtt.md ("Embedded
/// broker").</para>
/// <para>Browsers let any web site open a WebSocket to 127.0.0.1, so the handshake is refused (403) when it carries an
/// <c>Origin</c> that is not a loopback page (the clinician page is served from 127.0.0.1): a site the user visits cannot
/// read or inject alerts. Clients without an Origin (MQTTnet, node, mosquitto_sub over WebSockets) are local programs,
/// which could use the TCP port anyway. A <c>Host</c> that is not loopback gets 421, as in the page's own server.</para>
/// </summary>
public sealed partial class MqttWebSocketBridge : IAsyncDisposable
{
    /// <summary>The path clients should use (<c>/</c> is accepted too: some clients send no path).</summary>
    public const string UrlPath = "/mqtt";

    public const int MaxHeadBytes = 8 * 1024;
    public const int MaxConnections = 64;
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Bytes per relay read. MQTT packets larger than this (alerts with strips: ~16–30 kB) simply take several
    /// reads and frames: MQTT over WebSockets is a byte stream, a packet may span frames.</summary>
    private const int RelayBufferBytes = 16 * 1024;

    private const string WebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private readonly TcpListener _listener;
    private readonly int _brokerPort;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _slots = new(MaxConnections);
    private readonly Lock _gate = new();
    private readonly HashSet<Task> _sessions = [];
    private Task? _acceptLoop;
    private int _bridged, _refused, _open;

    /// <param name="port">Loopback port to listen on; 0 for any free port (see <see cref="Port"/>).</param>
    /// <param name="brokerPort">The broker's MQTT port on 127.0.0.1.</param>
    /// <param name="logger">Refused handshakes are logged (with their reason, never with message content).</param>
    public MqttWebSocketBridge(int port, int brokerPort, ILogger? logger = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(brokerPort);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(brokerPort, 65535);
        _listener = new TcpListener(IPAddress.Loopback, port);
        _brokerPort = brokerPort;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The port listened on (after <see cref="Start"/>).</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The address listened on: always 127.0.0.1.</summary>
    public IPAddress Address => ((IPEndPoint)_listener.LocalEndpoint).Address;

    /// <summary>What a client connects to, e.g. <c>ws://127.0.0.1:9001/mqtt</c>.</summary>
    public string Endpoint => $"ws://127.0.0.1:{Port}{UrlPath}";

    /// <summary>WebSocket clients relayed to the broker so far.</summary>
    public int Bridged => Volatile.Read(ref _bridged);

    /// <summary>WebSocket clients being relayed now (a relay ends once both its connections are closed).</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Opening handshakes refused so far (bad request, foreign origin or host, broker unreachable).</summary>
    public int Refused => Volatile.Read(ref _refused);

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
                client.Dispose(); // too many clients at once: drop rather than queue (loopback demo broker)
                continue;
            }
            var session = Task.Run(async () =>
            {
                try { await HandleAsync(client, ct).ConfigureAwait(false); }
                finally
                {
                    client.Dispose();
                    _slots.Release();
                }
            }, CancellationToken.None);
            lock (_gate) _sessions.Add(session);
            _ = session.ContinueWith(t => { lock (_gate) _sessions.Remove(t); }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task HandleAsync(TcpClient client, CancellationToken ct)
    {
        client.NoDelay = true; // MQTT packets are small and latency-bound (PUBACKs, pings)
        var stream = client.GetStream();
        TcpClient? broker = null;
        try
        {
            string? protocol;
            using (var handshake = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                handshake.CancelAfter(HandshakeTimeout);
                var head = await ReadHeadAsync(stream, handshake.Token).ConfigureAwait(false);
                var request = head is null ? Handshake.Refuse(400, "Bad Request", "malformed or oversized request") : Handshake.Check(head);
                if (request.Error is { } error)
                {
                    Interlocked.Increment(ref _refused);
                    LogRefused(request.Status, error);
                    await stream.WriteAsync(ErrorResponse(request.Status, request.Reason, error, request.Status == 426), handshake.Token).ConfigureAwait(false);
                    return;
                }
                broker = new TcpClient { NoDelay = true };
                try { await broker.ConnectAsync(IPAddress.Loopback, _brokerPort, handshake.Token).ConfigureAwait(false); }
                catch (SocketException e)
                {
                    Interlocked.Increment(ref _refused);
                    LogRefused(502, $"broker port {_brokerPort}: {e.Message}");
                    await stream.WriteAsync(ErrorResponse(502, "Bad Gateway", "the MQTT broker is not reachable", false), handshake.Token).ConfigureAwait(false);
                    return;
                }
                protocol = request.Protocol;
                await stream.WriteAsync(Encoding.ASCII.GetBytes(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                    $"Sec-WebSocket-Accept: {AcceptKey(request.Key!)}\r\nSec-WebSocket-Protocol: {protocol}\r\n\r\n"), handshake.Token).ConfigureAwait(false);
            }
            Interlocked.Increment(ref _bridged);
            Interlocked.Increment(ref _open);
            try
            {
                    // MQTT keeps the link alive with its own PINGREQ/PINGRESP (the broker drops a silent client after 1.5
                // keep-alive periods, which closes this relay too), so WebSocket-level keep-alive frames are not needed.
                using var ws = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = true, SubProtocol = protocol, KeepAliveInterval = TimeSpan.Zero });
                await RelayAsync(ws, broker.GetStream(), ct).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _open);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or WebSocketException)
        {
            // The client or the broker went away (or the bridge is stopping): nothing more to relay.
        }
        finally
        {
            broker?.Dispose();
        }
    }

    /// <summary>Relays both ways until one side closes, then closes the other (a broker that drops the client closes
    /// its WebSocket; a client that goes away closes its broker connection, so the broker publishes its last will).</summary>
    private static async Task RelayAsync(WebSocket ws, NetworkStream broker, CancellationToken ct)
    {
        using var done = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var up = ClientToBrokerAsync(ws, broker, done.Token);
        var down = BrokerToClientAsync(broker, ws, done.Token);
        var first = await Task.WhenAny(up, down).ConfigureAwait(false);
        if (ReferenceEquals(first, down) && ws.State == WebSocketState.Open)
        {
            // The broker ended the connection (e.g. it refused the CONNECT or another client took the session over): say
            // so with a close frame, and give the client a moment to answer it (its close frame ends the receive loop),
            // rather than dropping the TCP connection under it. Cancelling a pending receive would abort the WebSocket.
            using var bye = CancellationTokenSource.CreateLinkedTokenSource(ct);
            bye.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "broker closed the connection", bye.Token).ConfigureAwait(false);
                await up.WaitAsync(bye.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or WebSocketException or ObjectDisposedException or TimeoutException) { }
        }
        else if (ReferenceEquals(first, up))
        {
            // The client closed (or vanished): end the broker connection with a FIN behind the bytes already relayed (a
            // DISCONNECT just before the close frame must reach the broker, or it would publish the client's will), and
            // give the broker a moment to close its side. Closing at once could reset the connection instead.
            try
            {
                broker.Socket.Shutdown(SocketShutdown.Send);
                await down.WaitAsync(TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or WebSocketException or ObjectDisposedException or TimeoutException) { }
        }
        await done.CancelAsync().ConfigureAwait(false);
        broker.Socket.Close(); // the client is gone: the broker sees the connection drop (and publishes a last will, if any)
        foreach (var t in new[] { up, down })
        {
            try { await t.ConfigureAwait(false); }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or WebSocketException) { }
        }
    }

    private static async Task ClientToBrokerAsync(WebSocket ws, NetworkStream broker, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(RelayBufferBytes);
        try
        {
            while (true)
            {
                var r = await ws.ReceiveAsync(buffer.AsMemory(), ct).ConfigureAwait(false);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    if (ws.State == WebSocketState.CloseReceived)
                        await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, ct).ConfigureAwait(false);
                    return;
                }
                if (r.MessageType != WebSocketMessageType.Binary)
                {
                    // MQTT over WebSockets uses binary frames only; anything else must close the connection (MQTT 5, 6.0).
                    await ws.CloseOutputAsync(WebSocketCloseStatus.InvalidMessageType, "MQTT needs binary frames", ct).ConfigureAwait(false);
                    return;
                }
                if (r.Count > 0) await broker.WriteAsync(buffer.AsMemory(0, r.Count), ct).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task BrokerToClientAsync(NetworkStream broker, WebSocket ws, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(RelayBufferBytes);
        try
        {
            while (true)
            {
                var n = await broker.ReadAsync(buffer.AsMemory(), ct).ConfigureAwait(false);
                if (n == 0) return;
                await ws.SendAsync(buffer.AsMemory(0, n), WebSocketMessageType.Binary, endOfMessage: true, ct).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Reads the request head up to its blank line; null when larger than <see cref="MaxHeadBytes"/>, when the client
    /// closes first, or when bytes follow the head (a client must wait for the 101 before it sends frames, RFC 6455
    /// 4.1; refusing them keeps this reader from having to hand surplus bytes to the WebSocket).
    /// </summary>
    private static async Task<string?> ReadHeadAsync(NetworkStream stream, CancellationToken ct)
    {
        var buffer = new byte[MaxHeadBytes];
        var length = 0;
        while (length < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
            if (n == 0) return null;
            length += n;
            var end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8);
            if (end >= 0) return end + 4 == length ? Encoding.Latin1.GetString(buffer, 0, end) : null;
        }
        return null;
    }

    /// <summary>Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 4.2.2).</summary>
    public static string AcceptKey(string key) => Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + WebSocketGuid)));

    private static byte[] ErrorResponse(int status, string reason, string message, bool versionHint) =>
        Encoding.ASCII.GetBytes($"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {message.Length + 1}\r\n" +
            (versionHint ? "Sec-WebSocket-Version: 13\r\n" : "") + $"Connection: close\r\n\r\n{message}\n");

    /// <summary>The checks of an opening handshake, separate from the sockets so that each rule is easy to see.</summary>
    internal readonly record struct Handshake(int Status, string Reason, string? Error, string? Key, string? Protocol)
    {
        public static Handshake Refuse(int status, string reason, string error) => new(status, reason, error, null, null);

        public static Handshake Check(string head)
        {
            var lines = head.Split("\r\n");
            var parts = lines[0].Split(' ');
            if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal)) return Refuse(400, "Bad Request", "malformed request line");
            if (parts[0] != "GET") return Refuse(405, "Method Not Allowed", "only GET (a WebSocket opening handshake)");
            var path = parts[1].Split('?', 2)[0];
            if (path is not (UrlPath or "/")) return Refuse(404, "Not Found", $"MQTT over WebSockets is on {UrlPath}");
            if (!IsLoopbackHost(Header(lines, "Host"))) return Refuse(421, "Misdirected Request", "this listener answers only to 127.0.0.1 / localhost");
            if (Header(lines, "Origin") is { } origin && !IsLoopbackOrigin(origin))
                return Refuse(403, "Forbidden", $"origin {origin} is not a page on this machine");
            if (!string.Equals(Header(lines, "Upgrade"), "websocket", StringComparison.OrdinalIgnoreCase) || !HasToken(Header(lines, "Connection"), "upgrade"))
                return Refuse(400, "Bad Request", "not a WebSocket upgrade");
            if (Header(lines, "Sec-WebSocket-Version") != "13") return Refuse(426, "Upgrade Required", "WebSocket version 13 only");
            var key = Header(lines, "Sec-WebSocket-Key");
            Span<byte> decoded = stackalloc byte[24];
            if (key is null || !Convert.TryFromBase64String(key, decoded, out var keyBytes) || keyBytes != 16)
                return Refuse(400, "Bad Request", "missing or malformed Sec-WebSocket-Key");
            // MQTT 5 (6.0): the client offers "mqtt"; "mqttv3.1" is what some older MQTT 3.1 clients offer.
            var offered = Header(lines, "Sec-WebSocket-Protocol");
            var protocol = HasToken(offered, "mqtt") ? "mqtt" : HasToken(offered, "mqttv3.1") ? "mqttv3.1" : null;
            if (protocol is null) return Refuse(400, "Bad Request", "the client must offer the WebSocket subprotocol mqtt");
            return new Handshake(101, "Switching Protocols", null, key, protocol);
        }

        /// <summary>A header's value; repeated headers are joined with ", " (RFC 9110 5.3).</summary>
        private static string? Header(string[] lines, string name)
        {
            string? value = null;
            foreach (var line in lines.AsSpan(1))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0 && line.AsSpan(0, colon).Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
                    value = value is null ? line[(colon + 1)..].Trim() : value + ", " + line[(colon + 1)..].Trim();
            }
            return value;
        }

        private static bool HasToken(string? list, string token) =>
            list is not null && list.Split(',').Any(t => t.Trim().Equals(token, StringComparison.OrdinalIgnoreCase));

        /// <summary>True for 127.0.0.1, localhost and [::1], with an optional port.</summary>
        internal static bool IsLoopbackHost(string? host) =>
            !string.IsNullOrEmpty(host) && host.IndexOfAny(['/', '@', '?', '#', '\\', ' ']) < 0
            && Uri.TryCreate("http://" + host + "/", UriKind.Absolute, out var u) && IsLoopbackName(u.Host);

        /// <summary>An http(s) page on this machine, e.g. <c>http://127.0.0.1:8080</c> (the page of <c>watch --web</c>).
        /// "null" (a file:// page or a sandboxed frame) and every other site are refused.</summary>
        internal static bool IsLoopbackOrigin(string origin) =>
            Uri.TryCreate(origin, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" && u.UserInfo.Length == 0
            && u.AbsolutePath == "/" && IsLoopbackName(u.Host);

        // Names, not resolution: "localhost" and the literal loopback addresses only (127.0.0.1.evil.example is not).
        private static bool IsLoopbackName(string host) =>
            host is "127.0.0.1" or "[::1]" or "::1" || host.Equals("localhost", StringComparison.OrdinalIgnoreCase);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        if (_acceptLoop is not null)
        {
            try { await _acceptLoop.ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
        Task[] sessions;
        lock (_gate) sessions = [.. _sessions];
        try { await Task.WhenAll(sessions).ConfigureAwait(false); } catch (OperationCanceledException) { }
        _stop.Dispose();
        _listener.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT over WebSockets: handshake refused ({Status}): {Reason}")]
    private partial void LogRefused(int status, string reason);
}
