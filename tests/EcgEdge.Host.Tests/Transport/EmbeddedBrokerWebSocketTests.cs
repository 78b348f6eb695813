using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using EcgEdge.Transport.Mqtt;
using EcgEdge.Transport.Outbox;
using EcgEdge.Verbs;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace EcgEdge.Tests.Transport;

/// <summary>
/// The embedded broker's MQTT-over-WebSockets listener (<see cref="MqttWebSocketBridge"/>): real MQTTnet clients over
/// WebSockets and over TCP on the real embedded MQTTnet broker, raw opening handshakes for the refusals.
/// </summary>
public sealed class EmbeddedBrokerWebSocketTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ecgedge-ws-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static async Task<EmbeddedBroker> StartBrokerAsync()
    {
        var broker = await EmbeddedBroker.StartAsync(0);
        await broker.StartWebSocketsAsync(0);
        return broker;
    }

    /// <summary>An MQTT 5 client over WebSockets (MQTTnet's own WebSocket transport, subprotocol "mqtt").</summary>
    private static async Task<(IMqttClient Client, ConcurrentQueue<MqttApplicationMessage> Received)> WebSocketClientAsync(
        string endpoint, string clientId, Action<MqttClientOptionsBuilder>? configure = null)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var received = new ConcurrentQueue<MqttApplicationMessage>();
        client.ApplicationMessageReceivedAsync += e =>
        {
            received.Enqueue(e.ApplicationMessage);
            return Task.CompletedTask;
        };
        var builder = new MqttClientOptionsBuilder().WithWebSocketServer(o => o.WithUri(endpoint)).WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500).WithTimeout(TimeSpan.FromSeconds(5));
        configure?.Invoke(builder);
        var result = await client.ConnectAsync(builder.Build());
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        return (client, received);
    }

    private static async Task<T> Eventually<T>(Func<T?> probe, string what) where T : class
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            if (probe() is { } value) return value;
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_websocket_client_exchanges_messages_with_tcp_clients_retained_and_large_ones_included()
    {
        await using var broker = await StartBrokerAsync();
        Assert.Equal($"ws://127.0.0.1:{broker.WebSockets!.Port}/mqtt", broker.WebSocketEndpoint);
        await using var tcp = await TestSubscriber.ConnectAsync(broker.Port, "ecgedge/page/#", "tcp-side");
        var device = new MqttClientFactory().CreateMqttClient();
        await device.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port).WithClientId("dev1")
            .WithProtocolVersion(MqttProtocolVersion.V500).Build());
        // Retained before the WebSocket client exists: delivered to it at subscribe, like a device's status to a new page.
        await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("ecgedge/dev1/status").WithPayload("{\"state\":\"online\"}")
            .WithRetainFlag().WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

        var (page, received) = await WebSocketClientAsync(broker.WebSocketEndpoint!, "page-1");
        await page.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic("ecgedge/dev1/#").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)).Build());
        var status = await Eventually(() => received.FirstOrDefault(m => m.Topic == "ecgedge/dev1/status"), "the retained status");
        Assert.True(status.Retain);
        Assert.Equal("{\"state\":\"online\"}", Encoding.UTF8.GetString(status.Payload));

        // 200 kB: many relay reads and WebSocket frames per MQTT packet, both ways.
        var big = new byte[200_000];
        new Random(7).NextBytes(big);
        var toPage = await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("ecgedge/dev1/alerts").WithPayload(big)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        Assert.Equal(MqttClientPublishReasonCode.Success, toPage.ReasonCode);
        var alert = await Eventually(() => received.FirstOrDefault(m => m.Topic == "ecgedge/dev1/alerts"), "the large alert over WebSockets");
        Assert.Equal(big, alert.Payload.ToArray());

        var fromPage = await page.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("ecgedge/page/acks/c1/a1").WithPayload(big)
            .WithRetainFlag().WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        Assert.Equal(MqttClientPublishReasonCode.Success, fromPage.ReasonCode);
        var atTcp = await tcp.WaitForAsync(m => m.Count > 0, Wait);
        Assert.Equal("ecgedge/page/acks/c1/a1", Assert.Single(atTcp).Topic);
        Assert.Equal(Encoding.UTF8.GetString(big), atTcp[0].Payload);

        await page.DisconnectAsync();
        page.Dispose();
        await device.DisconnectAsync();
        device.Dispose();
        Assert.Equal(1, broker.WebSockets.Bridged);
        Assert.Equal(0, broker.WebSockets.Refused);
    }

    [Fact]
    public async Task A_websocket_client_that_vanishes_is_dropped_by_the_broker_which_publishes_its_last_will()
    {
        await using var broker = await StartBrokerAsync();
        await using var watcher = await TestSubscriber.ConnectAsync(broker.Port, "ecgedge/page-will/status", "watcher");
        var (page, _) = await WebSocketClientAsync(broker.WebSocketEndpoint!, "page-will", b => b
            .WithWillTopic("ecgedge/page-will/status").WithWillPayload("gone").WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce));
        // Dispose without DISCONNECT: the WebSocket is aborted; the relay must close the broker connection so that the
        // broker sees a lost client (and a page closed mid-session is not kept "connected" forever).
        page.Dispose();
        var will = await watcher.WaitForAsync(m => m.Count > 0, Wait);
        Assert.Equal("gone", Assert.Single(will).Payload);
    }

    [Fact]
    public async Task A_websocket_client_that_disconnects_cleanly_leaves_no_last_will()
    {
        await using var broker = await StartBrokerAsync();
        await using var watcher = await TestSubscriber.ConnectAsync(broker.Port, "ecgedge/page-clean/status", "watcher");
        var (page, _) = await WebSocketClientAsync(broker.WebSocketEndpoint!, "page-clean", b => b
            .WithWillTopic("ecgedge/page-clean/status").WithWillPayload("gone").WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce));
        Assert.Equal(1, broker.WebSockets!.Open);
        // DISCONNECT then the WebSocket close frame: the relay must hand the DISCONNECT to the broker before its FIN.
        await page.DisconnectAsync();
        page.Dispose();
        await Eventually(() => broker.WebSockets.Open == 0 ? "" : null, "the relay to end");
        // The relay ended after the broker closed its side, i.e. after the broker handled the client's end; a marker
        // published now on the same topic comes after anything the broker published for that client.
        var device = new MqttClientFactory().CreateMqttClient();
        await device.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port).WithClientId("marker")
            .WithProtocolVersion(MqttProtocolVersion.V500).Build());
        await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("ecgedge/page-clean/status").WithPayload("marker")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        var got = await watcher.WaitForAsync(m => m.Any(x => x.Payload == "marker"), Wait);
        Assert.Equal(["marker"], got.Select(m => m.Payload));
        await device.DisconnectAsync();
        device.Dispose();
    }

    /// <summary>Sends one raw request head and returns the status code of the answer.</summary>
    private static async Task<int> HandshakeStatusAsync(int port, string head)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        var buffer = new byte[1024];
        var text = new StringBuilder();
        int n;
        while (!text.ToString().Contains("\r\n", StringComparison.Ordinal) && (n = await stream.ReadAsync(buffer)) > 0)
            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
        var line = text.ToString().Split("\r\n")[0];
        return int.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string Request(string path = "/mqtt", string host = "127.0.0.1", string? origin = null, string? protocol = "mqtt",
        string version = "13", string key = "dGhlIHNhbXBsZSBub25jZQ==", string method = "GET", string upgrade = "websocket") =>
        $"{method} {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: {upgrade}\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: {key}\r\n" +
        $"Sec-WebSocket-Version: {version}\r\n" + (protocol is null ? "" : $"Sec-WebSocket-Protocol: {protocol}\r\n") +
        (origin is null ? "" : $"Origin: {origin}\r\n") + "\r\n";

    public static TheoryData<string, int> Handshakes => new()
    {
        { Request(), 101 },
        { Request(path: "/"), 101 },
        { Request(path: "/mqtt?x=1"), 101 },
        { Request(host: "localhost:9001"), 101 },
        { Request(host: "[::1]:9001"), 101 },
        { Request(origin: "http://127.0.0.1:8080"), 101 },   // the page of `ecgedge watch --web`
        { Request(origin: "http://localhost:8080"), 101 },
        { Request(protocol: "mqttv3.1, mqtt"), 101 },
        { Request(origin: "https://evil.example"), 403 },     // any web site the user visits could otherwise read alerts
        { Request(origin: "http://127.0.0.1.evil.example"), 403 },
        { Request(origin: "null"), 403 },                     // a file:// page or a sandboxed frame
        { Request(host: "evil.example"), 421 },               // DNS rebinding
        { Request(host: "127.0.0.1.evil.example"), 421 },
        { Request(path: "/other"), 404 },
        { Request(method: "POST"), 405 },
        { Request(protocol: null), 400 },                     // MQTT over WebSockets requires the "mqtt" subprotocol
        { Request(protocol: "chat"), 400 },
        { Request(version: "8"), 426 },
        { Request(key: "short"), 400 },
        { Request(upgrade: "h2c"), 400 },
        { "GET /mqtt\r\n\r\n", 400 },
    };

    [Theory]
    [MemberData(nameof(Handshakes))]
    public async Task Opening_handshakes_are_checked(string head, int status)
    {
        await using var broker = await StartBrokerAsync();
        Assert.Equal(status, await HandshakeStatusAsync(broker.WebSockets!.Port, head));
        Assert.Equal(status == 101 ? 0 : 1, broker.WebSockets.Refused);
    }

    [Fact]
    public void The_accept_key_is_the_one_of_rfc_6455() =>
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", MqttWebSocketBridge.AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="));

    [Fact]
    public async Task A_browser_like_client_from_a_foreign_origin_cannot_connect_and_one_from_a_loopback_page_can()
    {
        await using var broker = await StartBrokerAsync();
        using var foreign = new ClientWebSocket();
        foreign.Options.AddSubProtocol("mqtt");
        foreign.Options.SetRequestHeader("Origin", "https://evil.example");
        await Assert.ThrowsAsync<WebSocketException>(() => foreign.ConnectAsync(new Uri(broker.WebSocketEndpoint!), CancellationToken.None));
        using var local = new ClientWebSocket();
        local.Options.AddSubProtocol("mqtt");
        local.Options.SetRequestHeader("Origin", "http://127.0.0.1:8080");
        await local.ConnectAsync(new Uri(broker.WebSocketEndpoint!), CancellationToken.None);
        Assert.Equal("mqtt", local.SubProtocol);
        await local.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }

    [SkippableFact]
    public async Task Listens_on_loopback_only()
    {
        await using var broker = await StartBrokerAsync();
        Assert.Equal(IPAddress.Loopback, broker.WebSockets!.Address);
        var other = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        Skip.If(other is null, "this machine has no non-loopback IPv4 address to try");
        using var tcp = new TcpClient();
        await Assert.ThrowsAnyAsync<SocketException>(() => tcp.ConnectAsync(other!, broker.WebSockets.Port));
    }

    [Fact]
    public async Task Run_transport_moves_off_a_busy_websocket_port_and_logs_the_command_to_type()
    {
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var busyPort = ((IPEndPoint)busy.LocalEndpoint).Port;
        var options = new MqttTransportOptions
        {
            Mode = MqttMode.Embedded, EmbeddedPort = 0, EmbeddedWebSocketPort = busyPort, DeviceId = "dev-ws",
            Outbox = new DurableOutboxOptions { Directory = Path.Combine(_dir, "outbox") },
        };
        var log = new CollectingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(log));
        await using var transport = await RunTransport.StartAsync(options, new MqttStatusInfo(DateTimeOffset.UtcNow, new Dictionary<string, string>()),
            loggers, TimeProvider.System);
        var endpoint = transport.Broker!.WebSocketEndpoint!;
        Assert.NotEqual(busyPort, transport.Broker.WebSockets!.Port);
        Assert.Contains(log.Lines, l => l.Contains($"WebSocket port {busyPort} unavailable", StringComparison.Ordinal));
        Assert.Contains(log.Lines, l => l.EndsWith($"clinician page: ecgedge watch --web --broker {endpoint}", StringComparison.Ordinal));
        // The logged endpoint works: the worker's own retained status reaches a WebSocket client.
        var (page, received) = await WebSocketClientAsync(endpoint, "page-fallback");
        await page.SubscribeAsync("ecgedge/dev-ws/status", MqttQualityOfServiceLevel.AtLeastOnce);
        await Eventually(() => received.FirstOrDefault(), "the worker's status over WebSockets");
        await page.DisconnectAsync();
        page.Dispose();
    }

    /// <summary>Collects formatted log lines (for the start-up messages a user reads).</summary>
    private sealed class CollectingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public ILogger CreateLogger(string categoryName) => new Logger(_lines);

        public void Dispose() { }

        private sealed class Logger(ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue(formatter(state, exception));
        }
    }
}
