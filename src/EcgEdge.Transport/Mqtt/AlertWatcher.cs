using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace EcgEdge.Transport.Mqtt;

/// <summary>Settings of a clinician-side subscriber.</summary>
public sealed class AlertWatcherOptions
{
    public List<string> Brokers { get; set; } = [];
    public string TopicPrefix { get; set; } = "ecgedge";
    /// <summary>One device id, or "+" for the whole fleet.</summary>
    public string Device { get; set; } = "+";
    /// <summary>
    /// The MQTT client id. Null (default): a unique id per watcher (<see cref="UniqueClientId"/>) with a session that ends
    /// with the connection, so that any number of watchers on one machine each receive every alert (two clients with one id
    /// would take the session from each other). Named: a persistent session under that name (see
    /// <see cref="SessionExpirySeconds"/>): alerts published while the watcher is away are queued for it; use one name per
    /// watcher.
    /// </summary>
    public string? ClientId { get; set; }

    /// <summary>A client id no other watcher uses: host, process id and 64 random bits.</summary>
    public static string UniqueClientId() =>
        $"ecgedge-watch-{Environment.MachineName.ToLowerInvariant()}-{Environment.ProcessId}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8))}";
    public string? CaCertificateFile { get; set; }
    public string? ClientCertificateFile { get; set; }
    public string? ClientKeyFile { get; set; }
    public string? Username { get; set; }
    public string? Password { get; set; }
    /// <summary>Persistent session (a named <see cref="ClientId"/> only): alerts published while the watcher is away are queued by the broker.</summary>
    public uint SessionExpirySeconds { get; set; } = 7 * 24 * 3600;
    /// <summary>MQTT 5 (default) or 3.1.1 (RabbitMQ's MQTT plugin): with 3.1.1 the persistent session is "clean session
    /// off", kept by the broker by its own rules (RabbitMQ: <c>mqtt.subscription_ttl</c>), not by a session expiry.</summary>
    public MqttProtocolLevel ProtocolVersion { get; set; } = MqttProtocolLevel.V500;
    /// <summary>Keep-alive and ping period; the link is declared lost after a ping without answer.</summary>
    public TimeSpan PingInterval { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// Subscribes to the alerts of a fleet (<c>{prefix}/{device}/alerts</c>, QoS 1, persistent session) with the same
/// reconnect/failover discipline as the device, and hands each alert to the caller once: duplicates (at-least-once
/// delivery, resends after a device restart) are recognised by the alert id and dropped.
/// </summary>
public sealed class AlertWatcher : IAsyncDisposable
{
    private readonly AlertWatcherOptions _o;
    private readonly Func<string, JsonElement, Task> _onAlert;
    private readonly ConcurrentDictionary<string, byte> _seen = new();
    private readonly X509Certificate2Collection? _roots;
    private readonly X509Certificate2Collection? _clientCerts;
    private IMqttClient? _client;

    private readonly string _clientId;
    private readonly bool _persistent;

    public AlertWatcher(AlertWatcherOptions options, Func<string, JsonElement, Task> onAlert)
    {
        _o = options;
        _persistent = !string.IsNullOrEmpty(options.ClientId);
        _clientId = _persistent ? options.ClientId! : AlertWatcherOptions.UniqueClientId();
        _onAlert = onAlert;
        if (options.Brokers.Count == 0) throw new ArgumentException("at least one broker URL (mqtt://host:port or mqtts://host:port) is needed");
        foreach (var b in options.Brokers)
            if (!MqttEndpoint.TryParse(b, out _, out var why)) throw new ArgumentException($"broker '{b}': {why}");
        if (!string.IsNullOrEmpty(options.CaCertificateFile))
        {
            _roots = [];
            _roots.ImportFromPemFile(options.CaCertificateFile);
        }
        if (!string.IsNullOrEmpty(options.ClientCertificateFile))
            _clientCerts = [X509Certificate2.CreateFromPemFile(options.ClientCertificateFile, options.ClientKeyFile)];
    }

    /// <summary>Distinct alerts received.</summary>
    public int Distinct => _seen.Count;

    /// <summary>Duplicates dropped.</summary>
    public long Duplicates => Interlocked.Read(ref _duplicates);

    private long _duplicates;

    public string Filter => $"{_o.TopicPrefix}/{_o.Device}/alerts";

    /// <summary>The client id in use (the named one, or a unique one per watcher).</summary>
    public string ClientId => _clientId;

    /// <summary>True once a connection and subscription has succeeded.</summary>
    public bool EverConnected { get; private set; }

    /// <summary>Connects (trying the brokers in turn, with backoff) and keeps the subscription until cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var attempt = 0;
        var endpoints = _o.Brokers.Select(b => { MqttEndpoint.TryParse(b, out var e, out _); return e!; }).ToList();
        while (!ct.IsCancellationRequested)
        {
            var ep = endpoints[attempt % endpoints.Count];
            var client = new MqttClientFactory().CreateMqttClient();
            client.ApplicationMessageReceivedAsync += OnMessageAsync;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(10));
                await client.ConnectAsync(Options(ep), timeout.Token).ConfigureAwait(false);
                await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
                    .WithTopicFilter(f => f.WithTopic(Filter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)).Build(), ct).ConfigureAwait(false);
                _client = client;
                attempt = 0;
                EverConnected = true;
                Connected?.Invoke(ep.ToString());
                // Ping-and-reconnect: the link is checked actively, not trusted to report its own loss.
                while (!ct.IsCancellationRequested && client.IsConnected)
                {
                    await Task.Delay(_o.PingInterval, ct).ConfigureAwait(false);
                    using var ping = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    ping.CancelAfter(TimeSpan.FromSeconds(5));
                    try { await client.PingAsync(ping.Token).ConfigureAwait(false); }
                    catch (Exception) when (!ct.IsCancellationRequested) { break; }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or MQTTnet.Adapter.MqttConnectingFailedException or IOException)
            {
                Disconnected?.Invoke(ep.ToString(), e.Message);
            }
            finally
            {
                _client = null;
                if (client.IsConnected)
                {
                    try { await client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None).ConfigureAwait(false); }
                    catch (Exception) { /* the link is being dropped anyway */ }
                }
                client.Dispose();
            }
            if (ct.IsCancellationRequested) break;
            attempt++;
            var delay = ReconnectBackoff.Compute(Math.Min(attempt, 10), TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), 0.2, Random.Shared.NextDouble());
            try { await Task.Delay(delay, ct).ConfigureAwait(false); } catch (OperationCanceledException) { break; }
        }
    }

    /// <summary>Raised after each successful connect and subscribe (argument: endpoint).</summary>
    public event Action<string>? Connected;

    /// <summary>Raised when a connection attempt or a connection fails (endpoint, reason).</summary>
    public event Action<string, string>? Disconnected;

    private async Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var payload = Encoding.UTF8.GetString(e.ApplicationMessage.Payload);
        if (!TryParseAlert(payload, out var root, out var id)) { Malformed?.Invoke(e.ApplicationMessage.Topic, payload); return; }
        if (!_seen.TryAdd(id, 0)) { Interlocked.Increment(ref _duplicates); return; }
        await _onAlert(e.ApplicationMessage.Topic, root).ConfigureAwait(false);
    }

    /// <summary>
    /// Decodes an alerts-topic payload: true, with the alert and its id, for a JSON object with a string <c>id</c>; false for
    /// anything else (not JSON, not an object, no string id), which the watcher reports through <see cref="Malformed"/>.
    /// </summary>
    public static bool TryParseAlert(string payload, out JsonElement alert, [NotNullWhen(true)] out string? id)
    {
        ArgumentNullException.ThrowIfNull(payload);
        alert = default;
        id = null;
        try
        {
            using var doc = JsonDocument.Parse(payload);
            alert = doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return false;
        }
        if (alert.ValueKind != JsonValueKind.Object) return false;
        // System.Text.Json unescapes strings only when they are read: a lone surrogate escape ("\ud800") in any name or
        // string value passes Parse, then throws InvalidOperationException from TryGetProperty, GetString or the
        // formatter, out of the message handler (found by fuzz/run.sh alert). Such a message is malformed.
        if (!EveryStringDecodes(alert)) return false;
        id = alert.TryGetProperty("id", out var idEl) && idEl.ValueKind == JsonValueKind.String ? idEl.GetString() : null;
        return id is not null;
    }

    private static bool EveryStringDecodes(JsonElement root)
    {
        try
        {
            Visit(root);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }

        static void Visit(JsonElement e)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var p in e.EnumerateObject())
                    {
                        _ = p.Name;
                        Visit(p.Value);
                    }
                    break;
                case JsonValueKind.Array:
                    foreach (var item in e.EnumerateArray()) Visit(item);
                    break;
                case JsonValueKind.String:
                    _ = e.GetString();
                    break;
            }
        }
    }

    /// <summary>Raised for a message that is not an alert JSON with an id.</summary>
    public event Action<string, string>? Malformed;

    private MqttClientOptions Options(MqttEndpoint ep)
    {
        var b = new MqttClientOptionsBuilder()
            .WithTcpServer(ep.Host, ep.Port)
            .WithClientId(_clientId)
            .WithProtocolVersion(_o.ProtocolVersion == MqttProtocolLevel.V311 ? MqttProtocolVersion.V311 : MqttProtocolVersion.V500)
            // A named watcher keeps its session (MQTT 3.1.1: clean session off); a unique one must not leave sessions behind.
            .WithCleanStart(!_persistent)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(15))
            .WithTimeout(TimeSpan.FromSeconds(10));
        if (_o.ProtocolVersion == MqttProtocolLevel.V500 && _persistent) b = b.WithSessionExpiryInterval(_o.SessionExpirySeconds);
        if (!string.IsNullOrEmpty(_o.Username)) b = b.WithCredentials(_o.Username, _o.Password);
        if (ep.UseTls)
            b = b.WithTlsOptions(tls =>
            {
                tls.UseTls().WithTargetHost(ep.Host)
                   .WithSslProtocols(System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13)
                   .WithCertificateValidationHandler(v => TlsTrust.Validate(v.Certificate, v.SslPolicyErrors, _roots, DateTime.UtcNow, out _));
                if (_clientCerts is not null) tls.WithClientCertificates(_clientCerts);
            });
        return b.Build();
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is { IsConnected: true } c)
        {
            try { await c.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None).ConfigureAwait(false); }
            catch (Exception) { /* closing */ }
        }
    }
}
