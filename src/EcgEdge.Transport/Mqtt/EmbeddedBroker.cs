using System.Net;
using Microsoft.Extensions.Logging;
using MQTTnet.Server;

namespace EcgEdge.Transport.Mqtt;

/// <summary>
/// An in-process MQTT broker (MQTTnet.Server) on a loopback port: the out-of-the-box transport of <c>ecgedge run</c>
/// with no broker configured, so alerts flow end to end on a fresh machine (`ecgedge watch` can subscribe to it).
/// Loopback only, no persistence, anonymous: for demos and development, not for deployment. With
/// <see cref="StartWebSocketsAsync"/> it also serves MQTT over WebSockets on loopback (<see cref="MqttWebSocketBridge"/>), for
/// the clinician page of <c>ecgedge watch --web</c>.
/// </summary>
public sealed class EmbeddedBroker : IAsyncDisposable
{
    private readonly MqttServer _server;

    private EmbeddedBroker(MqttServer server, int port)
    {
        _server = server;
        Port = port;
    }

    public int Port { get; }

    public string Endpoint => $"mqtt://127.0.0.1:{Port}";

    /// <summary>The MQTT-over-WebSockets listener, once <see cref="StartWebSocketsAsync"/> succeeded.</summary>
    public MqttWebSocketBridge? WebSockets { get; private set; }

    /// <summary>e.g. <c>ws://127.0.0.1:9001/mqtt</c>, or null without a WebSocket listener.</summary>
    public string? WebSocketEndpoint => WebSockets?.Endpoint;

    /// <summary>Serves MQTT over WebSockets on 127.0.0.1:<paramref name="port"/> (0: a free port), relayed to this broker.</summary>
    /// <exception cref="System.Net.Sockets.SocketException">The port is in use (the caller may retry with 0).</exception>
    public async Task StartWebSocketsAsync(int port, ILogger? logger = null)
    {
        if (WebSockets is not null) throw new InvalidOperationException("The WebSocket listener is already running.");
        var bridge = new MqttWebSocketBridge(port, Port, logger);
        try { bridge.Start(); }
        catch
        {
            await bridge.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        WebSockets = bridge;
    }

    /// <summary>Starts on <paramref name="port"/> (0: a free port chosen by the system).</summary>
    public static async Task<EmbeddedBroker> StartAsync(int port)
    {
        if (port == 0)
        {
            using var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
        }
        var options = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback)
            .WithDefaultEndpointBoundIPV6Address(IPAddress.None)
            .WithDefaultEndpointPort(port)
            .WithPersistentSessions()
            .Build();
        var server = new MqttServerFactory().CreateMqttServer(options);
        await server.StartAsync().ConfigureAwait(false);
        return new EmbeddedBroker(server, port);
    }

    public async ValueTask DisposeAsync()
    {
        if (WebSockets is not null) await WebSockets.DisposeAsync().ConfigureAwait(false);
        await _server.StopAsync().ConfigureAwait(false);
        _server.Dispose();
    }
}
