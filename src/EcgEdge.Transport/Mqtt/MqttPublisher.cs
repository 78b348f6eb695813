using System.Buffers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Threading.Channels;
using EcgEdge.Transport.Outbox;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace EcgEdge.Transport.Mqtt;

/// <summary>
/// Publishes <see cref="TransportMessage"/>s to an MQTT broker (MQTTnet 5).
/// <list type="bullet">
/// <item>QoS 1 messages go through the <see cref="DurableOutbox"/>: <see cref="Publish"/> returns once the message is
/// fsync'd; the sender loop sends the pending messages one at a time in order, waits for the PUBACK, checks its reason
/// code and only then acknowledges the message in the outbox. Unacknowledged messages are resent after a reconnect or
/// restart (at-least-once; receivers de-duplicate on the message id).</item>
/// <item>QoS 0 messages (vitals) are best effort: a bounded in-memory queue (oldest dropped, counted), never persisted,
/// dropped when older than their expiry.</item>
/// <item>A connection loop connects, pings every keep-alive period and reconnects with exponential backoff + jitter
/// (timed by the injected <see cref="TimeProvider"/>), failing over round-robin between the endpoints.</item>
/// <item>Status: last will = retained "offline" on <see cref="MqttTopics.Status"/>; retained "online" after every
/// connect; retained "offline" (reason shutdown) on a clean stop.</item>
/// </list>
/// </summary>
public sealed partial class MqttPublisher : IAsyncDisposable
{
    public const string JsonContentType = "application/json";
    public const string MessageIdProperty = "message-id";

    /// <summary>
    /// A message refused with a permanent PUBACK reason code (<see cref="IsPermanentRejection"/>) this many times in a
    /// row is moved to the outbox's dead-letter file so that it does not block every message behind it (a poison
    /// message). Transient codes (quota exceeded, unspecified, implementation specific, …) are retried forever.
    /// </summary>
    public const int DeadLetterAfterRejections = 5;

    /// <summary>PUBACK reason codes that resending the same message cannot change.</summary>
    public static bool IsPermanentRejection(MqttClientPublishReasonCode code) =>
        code is MqttClientPublishReasonCode.NotAuthorized or MqttClientPublishReasonCode.TopicNameInvalid or MqttClientPublishReasonCode.PayloadFormatInvalid;

    private readonly MqttTransportOptions _options;
    private readonly DurableOutbox _outbox;
    private volatile MqttStatusInfo _status;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly IReadOnlyList<MqttEndpoint> _endpoints;
    private readonly MqttClientFactory _factory = new();
    private readonly Channel<TransportMessage> _bestEffort;
    private readonly SemaphoreSlim _wakeConnection = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _stateGate = new();
    private readonly X509Certificate2Collection? _trustedRoots;
    private readonly X509Certificate2Collection? _clientCertificates;
    private TaskCompletionSource<IMqttClient> _connected = NewConnectedSignal();
    private IMqttClient? _client;
    private Task? _connectionLoop, _senderLoop;
    private volatile MqttConnectionState _state = MqttConnectionState.NotStarted;
    private volatile MqttEndpoint? _currentEndpoint;
    private int _stopped;
    private string? _rejectedId;
    private int _rejectedInARow;
    private long _published, _acknowledged, _rejected, _deadLettered, _retries, _reconnects, _connectFailures, _losses, _bestEffortSent, _bestEffortDropped;

    /// <param name="options">Validated options (validated again here).</param>
    /// <param name="outbox">The durable outbox (owned by the caller: it outlives publishers).</param>
    /// <param name="status">Content of the retained online status.</param>
    /// <param name="logger">Logger; no secret is ever logged.</param>
    /// <param name="timeProvider">Clock for backoff, timeouts and pings.</param>
    public MqttPublisher(MqttTransportOptions options, DurableOutbox outbox, MqttStatusInfo status, ILogger<MqttPublisher>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(outbox);
        ArgumentNullException.ThrowIfNull(status);
        MqttTransportOptionsValidator.ThrowIfInvalid(options);
        _options = options;
        _outbox = outbox;
        _status = status;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _endpoints = options.ParsedEndpoints;
        Topics = MqttTopics.From(options);
        _bestEffort = Channel.CreateBounded<TransportMessage>(
            new BoundedChannelOptions(options.BestEffortQueueCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            _ => Interlocked.Increment(ref _bestEffortDropped));
        if (!string.IsNullOrEmpty(options.Tls.CaCertificateFile))
        {
            _trustedRoots = [];
            _trustedRoots.ImportFromPemFile(options.Tls.CaCertificateFile);
        }
        if (!string.IsNullOrEmpty(options.Tls.ClientCertificateFile))
            _clientCertificates = [X509Certificate2.CreateFromPemFile(options.Tls.ClientCertificateFile, options.Tls.ClientKeyFile)];
    }

    /// <summary>The device's topics.</summary>
    public MqttTopics Topics { get; }

    /// <summary>
    /// The outbox this publisher's sender loop drains. <see cref="MqttEventSink"/> appends its QoS-1 messages to it directly:
    /// an append is the whole of <see cref="Publish"/> for QoS 1, and the sender loop wakes on the outbox, not on the call.
    /// </summary>
    internal DurableOutbox Outbox => _outbox;

    /// <summary>
    /// Replaces the content of the retained online status (e.g. after a model update) and republishes it now when
    /// connected; otherwise the next connect publishes it.
    /// </summary>
    public async Task UpdateStatusAsync(MqttStatusInfo status, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(status);
        _status = status;
        if (_client is { IsConnected: true } client && _state == MqttConnectionState.Connected)
        {
            try { await client.PublishAsync(BuildStatusMessage(online: true, null), cancellationToken).ConfigureAwait(false); }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // The link dropped meanwhile: the reconnect publishes the new status.
                LogStatusDeferred(e.Message);
            }
        }
    }

    /// <summary>Raised on the sender loop when the broker acknowledged an outbox message (PUBACK); argument = message id.</summary>
    public event Action<string>? Acknowledged;

    public MqttConnectionState State => _state;

    /// <summary>Why the last broker certificate was refused (revoked, CRL expired, untrusted …); null after an accepted one.</summary>
    public CertificateFailure? LastCertificateFailure { get; private set; }

    /// <summary>The broker currently connected to, if any.</summary>
    public MqttEndpoint? ConnectedEndpoint => _state == MqttConnectionState.Connected ? _currentEndpoint : null;

    public MqttPublisherCounters Counters => new()
    {
        Published = Interlocked.Read(ref _published), Acknowledged = Interlocked.Read(ref _acknowledged),
        Rejected = Interlocked.Read(ref _rejected), DeadLettered = Interlocked.Read(ref _deadLettered), Retries = Interlocked.Read(ref _retries),
        Reconnects = Interlocked.Read(ref _reconnects), ConnectFailures = Interlocked.Read(ref _connectFailures),
        ConnectionLosses = Interlocked.Read(ref _losses), BestEffortSent = Interlocked.Read(ref _bestEffortSent),
        BestEffortDropped = Interlocked.Read(ref _bestEffortDropped),
    };

    /// <summary>Starts the connection and sender loops (returns at once).</summary>
    public void Start()
    {
        lock (_stateGate)
        {
            ObjectDisposedException.ThrowIf(_stopped != 0, this);
            if (_connectionLoop is not null) return;
            _state = MqttConnectionState.Connecting;
            _connectionLoop = Task.Run(() => ConnectionLoopAsync(_stop.Token));
            _senderLoop = Task.Run(() => SenderLoopAsync(_stop.Token));
        }
    }

    /// <summary>
    /// Hands a message to the transport without waiting for the network. QoS 1: stored durably in the outbox (returns
    /// after fsync; throws <see cref="OutboxFullException"/> when there is no room). QoS 0: queued in memory, best
    /// effort. Returns the outbox sequence number, or −1 for a best-effort message.
    /// </summary>
    public long Publish(TransportMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        message.EnsureValid();
        if (message.Qos == MessageQos.AtLeastOnce) return _outbox.Enqueue(message);
        _bestEffort.Writer.TryWrite(message); // bounded + DropOldest: always succeeds, drops are counted
        return -1;
    }

    /// <summary>Waits until every outbox message is acknowledged (for tests and orderly shutdown).</summary>
    public async Task<bool> WaitUntilDrainedAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            // A plain poll (works under a fake clock too); the timeout is real time.
            while (_outbox.PendingCount > 0) await Task.Delay(TimeSpan.FromMilliseconds(20), cts.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Stops the loops, publishes the retained offline status (reason "shutdown") and disconnects.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        await WaitLoopsAsync().ConfigureAwait(false);
        var client = _client;
        if (client is { IsConnected: true })
        {
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                cts.CancelAfter(_options.PublishTimeout);
                await client.PublishAsync(BuildStatusMessage(online: false, "shutdown"), cts.Token).ConfigureAwait(false);
                Interlocked.Increment(ref _published);
                await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), cts.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogShutdownFailed(ex.GetType().Name, ex.Message);
            }
        }
        client?.Dispose();
        _client = null;
        _state = MqttConnectionState.Stopped;
        LogStopped(_outbox.PendingCount);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
        _wakeConnection.Dispose();
    }

    /// <summary>
    /// Test hook simulating a crash: stops the loops and closes the socket without an MQTT DISCONNECT (what a killed
    /// process does), so the broker publishes the last will. Outbox messages in flight stay pending.
    /// </summary>
    internal async Task AbortAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        await WaitLoopsAsync().ConfigureAwait(false);
        var client = _client;
        client?.Dispose(); // closes the socket without a DISCONNECT packet: the broker publishes the last will
        _client = null;
        _state = MqttConnectionState.Stopped;
    }

    private async Task WaitLoopsAsync()
    {
        foreach (var t in new[] { _connectionLoop, _senderLoop })
        {
            if (t is null) continue;
            try { await t.ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }
    }

    // ------------------------------------------------------------------ connection loop

    private static TaskCompletionSource<IMqttClient> NewConnectedSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task ConnectionLoopAsync(CancellationToken ct)
    {
        var attempt = 0;
        var endpointIndex = 0;
        var everConnected = false;
        var keepAlive = TimeSpan.FromSeconds(_options.KeepAliveSeconds);
        IMqttClient? current = null;
        var connectedAt = DateTimeOffset.MinValue;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (current is not null)
                {
                    if (ReferenceEquals(_client, current) && current.IsConnected)
                    {
                        // Connected: sleep one keep-alive period (or until the sender reports a failure), then ping.
                        await WaitAsync(_wakeConnection, keepAlive, ct).ConfigureAwait(false);
                        if (ReferenceEquals(_client, current) && current.IsConnected && await PingAsync(current, ct).ConfigureAwait(false)) continue;
                    }
                    MarkDisconnected(current, "ping failed or connection lost"); // no-op when the sender already did
                    current = null;
                    if (_time.GetUtcNow() - connectedAt < keepAlive)
                    {
                        // The connection did not last: back off instead of reconnecting in a tight loop (e.g. another
                        // device with the same client id keeps taking the session over).
                        attempt++;
                        var flapDelay = ReconnectBackoff.Compute(attempt, _options.ReconnectMinDelay, _options.ReconnectMaxDelay, _options.ReconnectJitter, Random.Shared.NextDouble());
                        LogFlapping(flapDelay.TotalMilliseconds);
                        await Task.Delay(flapDelay, _time, ct).ConfigureAwait(false);
                    }
                    else attempt = 0;
                }

                var endpoint = _endpoints[endpointIndex];
                _state = MqttConnectionState.Connecting;
                _currentEndpoint = endpoint;
                var fresh = _factory.CreateMqttClient();
                try
                {
                    using var timeout = new CancellationTokenSource(_options.ConnectTimeout, _time);
                    using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
                    var result = await fresh.ConnectAsync(BuildClientOptions(endpoint), linked.Token).ConfigureAwait(false);
                    if (result.ResultCode != MqttClientConnectResultCode.Success)
                        throw new MqttConnectRefusedException($"broker refused the connection: {result.ResultCode} {result.ReasonString}");
                    await fresh.PublishAsync(BuildStatusMessage(online: true, null), linked.Token).ConfigureAwait(false);
                    Interlocked.Increment(ref _published);
                }
                catch
                {
                    fresh.Dispose();
                    throw;
                }
                _client = fresh;
                current = fresh;
                connectedAt = _time.GetUtcNow();
                if (everConnected) Interlocked.Increment(ref _reconnects);
                everConnected = true;
                _state = MqttConnectionState.Connected;
                LogConnected(endpoint.ToString(), _options.EffectiveClientId, _options.ProtocolVersion, _outbox.PendingCount);
                _connected.TrySetResult(fresh);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Interlocked.Increment(ref _connectFailures);
                attempt++;
                var failed = _endpoints[endpointIndex];
                endpointIndex = (endpointIndex + 1) % _endpoints.Count;
                _state = MqttConnectionState.Disconnected;
                var delay = ReconnectBackoff.Compute(attempt, _options.ReconnectMinDelay, _options.ReconnectMaxDelay, _options.ReconnectJitter, Random.Shared.NextDouble());
                LogConnectFailed(failed.ToString(), attempt, ex.GetType().Name, ex.Message, delay.TotalMilliseconds, _endpoints[endpointIndex].ToString());
                try { await Task.Delay(delay, _time, ct).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
            }
        }
    }

    private async Task<bool> PingAsync(IMqttClient client, CancellationToken ct)
    {
        using var timeout = new CancellationTokenSource(_options.PublishTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        try
        {
            await client.PingAsync(linked.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return false;
        }
    }

    private void MarkDisconnected(IMqttClient client, string why)
    {
        if (!ReferenceEquals(Interlocked.CompareExchange(ref _client, null, client), client)) return;
        if (_connected.Task.IsCompleted) _connected = NewConnectedSignal();
        _state = MqttConnectionState.Disconnected;
        Interlocked.Increment(ref _losses);
        LogConnectionLost(_currentEndpoint?.ToString() ?? "?", why, _outbox.PendingCount);
        client.Dispose();
    }

    private async Task WaitAsync(SemaphoreSlim signal, TimeSpan timeout, CancellationToken ct)
    {
        using var timer = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timer.Token);
        try { await signal.WaitAsync(linked.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }
    }

    private void WakeConnectionLoop()
    {
        if (_wakeConnection.CurrentCount == 0)
        {
            try { _wakeConnection.Release(); } catch (SemaphoreFullException) { } catch (ObjectDisposedException) { }
        }
    }

    private MqttClientOptions BuildClientOptions(MqttEndpoint endpoint)
    {
        var v5 = _options.ProtocolVersion == MqttProtocolLevel.V500;
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(endpoint.Host, endpoint.Port)
            .WithClientId(_options.EffectiveClientId)
            .WithProtocolVersion(v5 ? MqttProtocolVersion.V500 : MqttProtocolVersion.V311)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(_options.KeepAliveSeconds))
            .WithTimeout(_options.ConnectTimeout)
            .WithCleanSession(false)
            .WithWillTopic(Topics.Status)
            .WithWillPayload(StatusPayload(online: false, "connection-lost"))
            .WithWillRetain(true)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (v5)
        {
            builder = builder
                .WithSessionExpiryInterval((uint)_options.SessionExpirySeconds)
                .WithWillContentType(JsonContentType)
                .WithWillPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData);
        }
        if (!string.IsNullOrEmpty(_options.Username)) builder = builder.WithCredentials(_options.Username, _options.Password ?? "");
        if (endpoint.UseTls)
        {
            var serverName = string.IsNullOrEmpty(_options.Tls.ServerName) ? endpoint.Host : _options.Tls.ServerName;
            builder = builder.WithTlsOptions(tls =>
            {
                tls.UseTls()
                   .WithTargetHost(serverName)
                   .WithSslProtocols(System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13)
                   .WithCertificateValidationHandler(e => ValidateServerCertificate(e.Certificate, e.SslPolicyErrors));
                if (_clientCertificates is not null) tls.WithClientCertificates(_clientCertificates);
            });
        }
        return builder.Build();
    }

    /// <summary>Broker certificate check: system trust store, or the configured private CA (chain built against it
    /// only); the host name must always match unless <see cref="MqttTlsOptions.AllowUntrusted"/>.</summary>
    private bool ValidateServerCertificate(X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (_options.Tls.AllowUntrusted)
        {
            LogUntrusted(errors.ToString());
            return true;
        }
        var ok = TlsTrust.Validate(certificate, errors, _trustedRoots, _options.Tls.CrlFile, _time.GetUtcNow().UtcDateTime, out var failure);
        LastCertificateFailure = failure;
        if (failure is { Kind: CertificateFailureKind.Untrusted }) LogCertificateRejected(failure.Detail);
        else if (failure is not null) LogCertificateRevocation(failure.Kind, failure.Detail);
        return ok;
    }

    // ------------------------------------------------------------------ sender loop

    private async Task<IMqttClient> WaitConnectedAsync(CancellationToken ct)
    {
        while (true)
        {
            var client = _client;
            if (client is { IsConnected: true } && _state == MqttConnectionState.Connected) return client;
            if (client is { IsConnected: false })
            {
                // The socket is gone but the connection loop has not noticed yet: tell it now.
                MarkDisconnected(client, "connection lost");
                WakeConnectionLoop();
            }
            var signal = _connected.Task;
            if (signal.IsCompleted)
            {
                // Connected a moment ago and the state is being updated: a short poll (not a behavioural delay).
                await Task.Delay(TimeSpan.FromMilliseconds(10), ct).ConfigureAwait(false);
                continue;
            }
            await signal.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    private async Task SenderLoopAsync(CancellationToken ct)
    {
        var failures = 0;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (_outbox.PendingCount == 0 && !_bestEffort.Reader.TryPeek(out _))
                {
                    await WaitForWorkAsync(ct).ConfigureAwait(false);
                    continue;
                }
                var client = await WaitConnectedAsync(ct).ConfigureAwait(false);

                // Durable messages first, strictly in order, one in flight.
                if (_outbox.TryPeek(out var entry))
                {
                    if (await SendDurableAsync(client, entry!, failures > 0, ct).ConfigureAwait(false)) failures = 0;
                    else
                    {
                        failures++;
                        Interlocked.Increment(ref _retries);
                        var delay = ReconnectBackoff.Compute(Math.Min(failures, 10), _options.ReconnectMinDelay, _options.ReconnectMaxDelay, _options.ReconnectJitter, Random.Shared.NextDouble());
                        await Task.Delay(delay, _time, ct).ConfigureAwait(false);
                    }
                    continue;
                }
                if (_bestEffort.Reader.TryRead(out var message)) await SendBestEffortAsync(client, message, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogSenderError(ex.GetType().Name, ex.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(100), _time, ct).ConfigureAwait(false);
            }
        }
    }

    private async Task WaitForWorkAsync(CancellationToken ct)
    {
        using var either = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var outboxTask = _outbox.WaitForPendingAsync(either.Token);
        var bestEffortTask = _bestEffort.Reader.WaitToReadAsync(either.Token).AsTask();
        await Task.WhenAny(outboxTask, bestEffortTask).ConfigureAwait(false);
        await either.CancelAsync().ConfigureAwait(false);
        try { await Task.WhenAll(outboxTask, bestEffortTask).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        ct.ThrowIfCancellationRequested();
    }

    /// <summary>Sends one outbox message and waits for its PUBACK; true when acknowledged and removed.</summary>
    private async Task<bool> SendDurableAsync(IMqttClient client, OutboxEntry entry, bool isRetry, CancellationToken ct)
    {
        var message = entry.Message;
        using var timeout = new CancellationTokenSource(_options.PublishTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        MqttClientPublishResult result;
        try
        {
            Interlocked.Increment(ref _published);
            result = await client.PublishAsync(BuildMessage(message), linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // No PUBACK (connection lost or timeout): the message stays pending; let the connection loop check the link.
            LogPublishFailed(message.Id, entry.Sequence, ex.GetType().Name, ex.Message);
            if (!client.IsConnected || timeout.IsCancellationRequested) MarkDisconnected(client, "no PUBACK");
            WakeConnectionLoop();
            return false;
        }
        if (message.Qos == MessageQos.AtMostOnce || result.ReasonCode is MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers)
        {
            _outbox.Acknowledge(message.Id);
            Interlocked.Increment(ref _acknowledged);
            Acknowledged?.Invoke(message.Id);
            if (isRetry) LogDeliveredAfterRetry(message.Id, entry.Sequence);
            return true;
        }
        Interlocked.Increment(ref _rejected);
        LogRejected(message.Id, entry.Sequence, result.ReasonCode, result.ReasonString ?? "");
        if (!IsPermanentRejection(result.ReasonCode))
        {
            _rejectedId = null;
            return false;
        }
        // Only the sender loop touches these two fields.
        _rejectedInARow = _rejectedId == message.Id ? _rejectedInARow + 1 : 1;
        _rejectedId = message.Id;
        if (_rejectedInARow < DeadLetterAfterRejections) return false;
        var reason = $"{result.ReasonCode} {result.ReasonString}".Trim();
        _outbox.DeadLetter(entry, reason, _time.GetUtcNow());
        _rejectedId = null;
        Interlocked.Increment(ref _deadLettered);
        LogDeadLettered(message.Id, entry.Sequence, message.Topic, _rejectedInARow, reason, Path.Combine(_outbox.Directory, DurableOutbox.DeadLetterFileName));
        return true; // the next message goes without a backoff
    }

    private async Task SendBestEffortAsync(IMqttClient client, TransportMessage message, CancellationToken ct)
    {
        var expiry = message.ExpirySeconds > 0 ? message.ExpirySeconds : (uint)_options.BestEffortExpirySeconds;
        if (message.CreatedAt != default && _time.GetUtcNow() - message.CreatedAt > TimeSpan.FromSeconds(expiry))
        {
            Interlocked.Increment(ref _bestEffortDropped);
            return;
        }
        using var timeout = new CancellationTokenSource(_options.PublishTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        try
        {
            await client.PublishAsync(BuildMessage(message, expiry), linked.Token).ConfigureAwait(false);
            Interlocked.Increment(ref _published);
            Interlocked.Increment(ref _bestEffortSent);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Interlocked.Increment(ref _bestEffortDropped);
            LogPublishFailed(message.Id, -1, ex.GetType().Name, ex.Message);
            WakeConnectionLoop();
        }
    }

    private MqttApplicationMessage BuildMessage(TransportMessage message, uint expiryOverride = 0)
    {
        var builder = new MqttApplicationMessageBuilder()
            .WithTopic(message.Topic)
            .WithPayload(new ReadOnlySequence<byte>(message.Payload))
            .WithQualityOfServiceLevel(message.Qos == MessageQos.AtLeastOnce ? MqttQualityOfServiceLevel.AtLeastOnce : MqttQualityOfServiceLevel.AtMostOnce)
            .WithRetainFlag(message.Retain);
        if (_options.ProtocolVersion == MqttProtocolLevel.V500)
        {
            // MQTT 3.1.1 has no properties: the id must also be in the JSON payload for de-duplication there.
            builder = builder
                .WithContentType(JsonContentType)
                .WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData)
                .WithUserProperty(MessageIdProperty, (ReadOnlyMemory<byte>)System.Text.Encoding.UTF8.GetBytes(message.Id));
            var expiry = expiryOverride > 0 ? expiryOverride : message.ExpirySeconds;
            if (expiry > 0) builder = builder.WithMessageExpiryInterval(expiry);
        }
        return builder.Build();
    }

    private MqttApplicationMessage BuildStatusMessage(bool online, string? reason)
    {
        var builder = new MqttApplicationMessageBuilder()
            .WithTopic(Topics.Status)
            .WithPayload(StatusPayload(online, reason))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(true);
        if (_options.ProtocolVersion == MqttProtocolLevel.V500)
            builder = builder.WithContentType(JsonContentType).WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData);
        return builder.Build();
    }

    /// <summary>JSON of the status topic (<see cref="StatusMessage"/>, docs/mqtt.md).</summary>
    internal byte[] StatusPayload(bool online, string? reason) =>
        StatusMessage.Write(online, _options.DeviceId, _options.EffectiveClientId, reason, _time.GetUtcNow(), _status);

    // ------------------------------------------------------------------ logging (no secrets: endpoints never carry credentials)

    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT status update deferred to the next connect: {Reason}")]
    private partial void LogStatusDeferred(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT connected to {Endpoint} as {ClientId} ({Protocol}); {Pending} outbox message(s) pending")]
    private partial void LogConnected(string endpoint, string clientId, MqttProtocolLevel protocol, int pending);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT connect to {Endpoint} failed (attempt {Attempt}): {Error}: {Reason}; next attempt in {DelayMs:F0} ms to {Next}")]
    private partial void LogConnectFailed(string endpoint, int attempt, string error, string reason, double delayMs, string next);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT connection lasted less than one keep-alive period; reconnecting in {DelayMs:F0} ms")]
    private partial void LogFlapping(double delayMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT connection to {Endpoint} lost ({Why}); {Pending} outbox message(s) pending")]
    private partial void LogConnectionLost(string endpoint, string why, int pending);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT publish of {Id} (sequence {Sequence}) got no PUBACK: {Error}: {Reason}; it stays in the outbox")]
    private partial void LogPublishFailed(string id, long sequence, string error, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "MQTT broker rejected {Id} (sequence {Sequence}) with {ReasonCode} {ReasonString}; it stays in the outbox and is retried")]
    private partial void LogRejected(string id, long sequence, MqttClientPublishReasonCode reasonCode, string reasonString);

    [LoggerMessage(Level = LogLevel.Critical, Message = "MQTT broker refused {Id} (sequence {Sequence}, topic {Topic}) {Times} times with {Reason}: NOT DELIVERED, moved to the dead-letter file {File} so that the messages behind it can go")]
    private partial void LogDeadLettered(string id, long sequence, string topic, int times, string reason, string file);

    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT message {Id} (sequence {Sequence}) delivered after retry")]
    private partial void LogDeliveredAfterRetry(string id, long sequence);

    [LoggerMessage(Level = LogLevel.Error, Message = "MQTT sender loop error: {Error}: {Reason}")]
    private partial void LogSenderError(string error, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT clean shutdown incomplete: {Error}: {Reason}")]
    private partial void LogShutdownFailed(string error, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT publisher stopped; {Pending} outbox message(s) pending for the next start")]
    private partial void LogStopped(int pending);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT broker certificate accepted WITHOUT validation (Mqtt:Tls:AllowUntrusted); policy errors: {Errors}")]
    private partial void LogUntrusted(string errors);

    [LoggerMessage(Level = LogLevel.Error, Message = "MQTT broker certificate rejected by the configured CA: {Status}")]
    private partial void LogCertificateRejected(string status);

    [LoggerMessage(Level = LogLevel.Critical, Message = "MQTT broker certificate refused by the revocation check (Mqtt:Tls:CrlFile): {Kind}: {Detail}")]
    private partial void LogCertificateRevocation(CertificateFailureKind kind, string detail);
}

/// <summary>The broker answered CONNECT with a failure code.</summary>
public sealed class MqttConnectRefusedException(string message) : Exception(message);
