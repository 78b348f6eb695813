using System.Net;
using MQTTnet.Server;

namespace EcgEdge.Transport.Mqtt;

/// <summary>
/// An in-process MQTT broker (MQTTnet.Server) on a loopback port: the out-of-the-box transport of <c>ecgedge run</c>
/// with no broker configured, so alerts flow end to end on a fresh machine (`ecgedge watch` can subscribe to it).
/// Loopback only, no persistence, anonymous: for demos and development, not for deployment.
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
        await _server.StopAsync().ConfigureAwait(false);
        _server.Dispose();
    }
}
