using EcgEdge.Events;
using EcgEdge.Events.Alerts;
using EcgEdge.Transport.Mqtt;
using EcgEdge.Transport.Outbox;
using Microsoft.Extensions.Logging;

namespace EcgEdge.Verbs;

/// <summary>
/// The MQTT side of <c>run</c>: the durable outbox, the publisher and — in <see cref="MqttMode.Embedded"/> mode — an
/// in-process broker on loopback. Started before the pipeline, drained and stopped after it.
/// </summary>
public sealed partial class RunTransport : IAsyncDisposable
{
    private readonly ILogger _logger;

    private RunTransport(ILogger logger) => _logger = logger;

    public MqttPublisher? Publisher { get; private set; }
    public EmbeddedBroker? Broker { get; private set; }
    public DurableOutbox? Outbox { get; private set; }
    public MqttTransportOptions? Options { get; private set; }

    /// <summary>The outbox folder when none is configured: systemd's $STATE_DIRECTORY, else $XDG_STATE_HOME or ~/.local/state, + ecgedge/mqtt-outbox.</summary>
    public static string DefaultOutboxDirectory()
    {
        var state = Environment.GetEnvironmentVariable("STATE_DIRECTORY");
        if (!string.IsNullOrEmpty(state)) return Path.Combine(state.Split(':')[0], "mqtt-outbox");
        var xdg = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var root = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(string.IsNullOrEmpty(home) ? Path.GetTempPath() : home, ".local", "state");
        return Path.Combine(root, "ecgedge", "mqtt-outbox");
    }

    /// <summary>Opens the outbox, starts the broker (embedded mode) and the publisher. <see cref="MqttMode.Off"/>: nothing.</summary>
    public static async Task<RunTransport> StartAsync(MqttTransportOptions options, MqttStatusInfo status, ILoggerFactory loggers, TimeProvider time)
    {
        var t = new RunTransport(loggers.CreateLogger("EcgEdge.Transport"));
        if (options.Mode == MqttMode.Off) return t;
        try
        {
            if (options.Mode == MqttMode.Embedded)
            {
                try { t.Broker = await EmbeddedBroker.StartAsync(options.EmbeddedPort).ConfigureAwait(false); }
                catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or InvalidOperationException && options.EmbeddedPort != 0)
                {
                    LogPortBusy(t._logger, options.EmbeddedPort, e.Message);
                    t.Broker = await EmbeddedBroker.StartAsync(0).ConfigureAwait(false);
                }
                options.Endpoints = [t.Broker.Endpoint];
                LogEmbedded(t._logger, t.Broker.Endpoint, $"{options.TopicPrefix}/{options.DeviceId}/#");
                // MQTT over WebSockets on loopback: the clinician page (`ecgedge watch --web`) needs nothing else installed.
                var wsLogger = loggers.CreateLogger<MqttWebSocketBridge>();
                try { await t.Broker.StartWebSocketsAsync(options.EmbeddedWebSocketPort, wsLogger).ConfigureAwait(false); }
                catch (System.Net.Sockets.SocketException e) when (options.EmbeddedWebSocketPort != 0)
                {
                    LogWebSocketPortBusy(t._logger, options.EmbeddedWebSocketPort, e.Message);
                    await t.Broker.StartWebSocketsAsync(0, wsLogger).ConfigureAwait(false);
                }
                LogEmbeddedWebSockets(t._logger, t.Broker.WebSocketEndpoint!, WatchWebCommand(t.Broker.WebSocketEndpoint!));
            }
            // The settings-for-logs form: the password is printed as *** (MqttTransportOptions.ToString).
            LogSettings(t._logger, options.ToString());
            t.Outbox = DurableOutbox.Open(options.Outbox, loggers.CreateLogger<DurableOutbox>(), time);
            t.Publisher = new MqttPublisher(options, t.Outbox, status, loggers.CreateLogger<MqttPublisher>(), time);
            t.Publisher.Start();
            t.Options = options;
            return t;
        }
        catch
        {
            await t.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Waits (bounded) until every stored alert has been acknowledged by the broker.</summary>
    public async Task<bool> DrainAsync(TimeSpan timeout)
    {
        if (Publisher is null) return true;
        var drained = await Publisher.WaitUntilDrainedAsync(timeout).ConfigureAwait(false);
        if (drained) LogDrained(_logger, Publisher.Counters.ToString());
        else LogNotDrained(_logger, Outbox?.PendingCount ?? 0, timeout.TotalSeconds, Options?.Outbox.Directory ?? "?", Publisher.Counters.ToString());
        return drained;
    }

    public async ValueTask DisposeAsync()
    {
        if (Publisher is not null) await Publisher.DisposeAsync().ConfigureAwait(false);
        Outbox?.Dispose();
        if (Broker is not null) await Broker.DisposeAsync().ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Embedded MQTT broker: port {Port} unavailable ({Reason}); using a free port")]
    private static partial void LogPortBusy(ILogger logger, int port, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Embedded MQTT broker on {Endpoint} (loopback only); subscribe with: ecgedge watch --broker {Endpoint}  (topic {Topic})")]
    private static partial void LogEmbedded(ILogger logger, string endpoint, string topic);

    /// <summary>What a user types to watch this broker in a browser (logged at start; docs/web.md).</summary>
    public static string WatchWebCommand(string webSocketEndpoint) => $"ecgedge watch --web --broker {webSocketEndpoint}";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Embedded MQTT broker: WebSocket port {Port} unavailable ({Reason}); using a free port")]
    private static partial void LogWebSocketPortBusy(ILogger logger, int port, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Embedded MQTT broker: MQTT over WebSockets on {Endpoint} (loopback only); clinician page: {Command}")]
    private static partial void LogEmbeddedWebSockets(ILogger logger, string endpoint, string command);

    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT settings: {Settings}")]
    private static partial void LogSettings(ILogger logger, string settings);

    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT drained: every alert was acknowledged by the broker; {Counters}")]
    private static partial void LogDrained(ILogger logger, string counters);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT not drained: {Pending} alert(s) not acknowledged by the broker within {Seconds:F0} s; they are kept in the outbox {Directory} and sent by the next worker that opens it; {Counters}")]
    private static partial void LogNotDrained(ILogger logger, int pending, double seconds, string directory, string counters);
}
