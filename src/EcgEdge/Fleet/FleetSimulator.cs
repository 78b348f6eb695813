using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using EcgEdge.Events.Alerts;
using EcgEdge.Transport.Mqtt;
using EcgEdge.Transport.Outbox;

namespace EcgEdge.Fleet;

/// <summary>
/// Many devices in one process, each with the product's own transport — a <see cref="DurableOutbox"/> (fsync per
/// alert), an <see cref="MqttPublisher"/> (reconnect with backoff, failover across endpoints, retained status, last
/// will) — emitting the alerts and vitals that real recordings made the device pipeline produce
/// (<see cref="FleetEventStreams"/>), and one consumer (the clinician-side <see cref="AlertWatcher"/>, persistent session)
/// that checks every alert id arrives.
/// </summary>
public sealed class FleetSimulator(FleetSimOptions options, IReadOnlyList<FleetEventStream> streams, TextWriter? progress = null)
{
    private readonly ConcurrentDictionary<string, long> _sentAt = new();
    private readonly ConcurrentDictionary<string, byte> _received = new();
    private readonly List<double> _endToEndMs = [];
    private readonly List<double> _pubackMs = [];
    private long _unexpected, _notStored, _vitalsSent;
    private volatile bool _consumerConnected;

    public async Task<FleetReport> RunAsync(CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(streams);
        FleetSimOptionsValidator.ThrowIfInvalid(options);
        var alertPool = streams.SelectMany(s => s.Alerts).ToArray();
        if (options.AlertsPerDevicePerMinute > 0 && alertPool.Length == 0)
            throw new ArgumentException("fleet-sim: the recordings produced no alert to replay; add records with arrhythmias (--records)");
        var root = string.IsNullOrEmpty(options.OutboxRoot) ? Directory.CreateTempSubdirectory("ecgedge-fleet-").FullName : options.OutboxRoot;
        var ownsRoot = string.IsNullOrEmpty(options.OutboxRoot);
        var endpoints = options.Brokers;
        using var self = Process.GetCurrentProcess();

        // The consumer first: its persistent session must exist before the first alert is published.
        var consumer = new AlertWatcher(new AlertWatcherOptions
        {
            Brokers = [.. endpoints], TopicPrefix = options.TopicPrefix, Device = "+",
            ClientId = options.ConsumerClientId ?? "fleet-consumer-" + Guid.NewGuid().ToString("N")[..12],
            ProtocolVersion = options.ProtocolVersion, PingInterval = TimeSpan.FromSeconds(1),
        }, OnAlert);
        consumer.Connected += ep => { _consumerConnected = true; Log($"consumer connected to {ep}"); };
        consumer.Disconnected += (ep, why) => { _consumerConnected = false; Log($"consumer lost {ep}: {why}"); };
        using var consumerStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var consumerRun = consumer.RunAsync(consumerStop.Token);
        var devices = new Device[options.Devices];
        try
        {
            var waited = Stopwatch.StartNew();
            while (!_consumerConnected && waited.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            if (!_consumerConnected) throw new IOException($"fleet-sim: the consumer could not connect to {string.Join(", ", endpoints)} within 60 s");

            GC.Collect();
            self.Refresh();
            var baselineWs = self.WorkingSet64;
            var clock = Stopwatch.StartNew();
            var timeline = new List<FleetSample>();
            double? allConnected = null;
            long peakWs = baselineWs;

            // Ramp: connections spread over RampSeconds; device i starts on endpoint i mod n.
            for (var i = 0; i < devices.Length; i++)
            {
                devices[i] = Device.Create(i, options, root, endpoints, this);
                devices[i].Publisher.Start();
                var due = options.RampSeconds * (i + 1) / devices.Length;
                var wait = due - clock.Elapsed.TotalSeconds;
                if (wait > 0.005) await Task.Delay(TimeSpan.FromSeconds(wait), cancellationToken).ConfigureAwait(false);
            }
            Log($"{devices.Length} devices started in {clock.Elapsed.TotalSeconds:F1} s");
            using var samplerStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var sampler = Task.Run(async () =>
            {
                while (!samplerStop.IsCancellationRequested)
                {
                    var perEndpoint = new int[endpoints.Count];
                    var connected = 0;
                    foreach (var d in devices)
                        if (d.Publisher.ConnectedEndpoint is { } ep) { connected++; perEndpoint[d.EndpointIndexOf(ep)]++; }
                    if (connected == devices.Length) allConnected ??= clock.Elapsed.TotalSeconds;
                    self.Refresh();
                    peakWs = Math.Max(peakWs, self.WorkingSet64);
                    lock (timeline) timeline.Add(new FleetSample(Math.Round(clock.Elapsed.TotalSeconds, 1), connected, perEndpoint,
                        _sentAt.Count, _received.Count, _consumerConnected));
                    try { await Task.Delay(1000, samplerStop.Token).ConfigureAwait(false); } catch (OperationCanceledException) { break; }
                }
            }, CancellationToken.None);

            // Emission: devices partitioned over a few scheduler loops; each device is a Poisson process of alerts and a
            // periodic vitals stream, taken in order from its recording's event stream.
            Log($"emitting for {options.DurationSeconds:F0} s");
            var cpu0 = self.TotalProcessorTime;
            var emitStart = clock.Elapsed.TotalSeconds;
            var partitions = Math.Max(2, Environment.ProcessorCount);
            var emitters = Enumerable.Range(0, partitions).Select(p => Task.Run(() =>
                EmitAsync(devices.Where(d => d.Index % partitions == p).ToArray(), alertPool, clock, emitStart, new Random(options.Seed * 7919 + p), cancellationToken))).ToArray();
            await Task.WhenAll(emitters).ConfigureAwait(false);
            var emitSeconds = clock.Elapsed.TotalSeconds - emitStart;
            var cpuEmit = (self.TotalProcessorTime - cpu0).TotalSeconds;
            Log($"emission done: {_sentAt.Count} alerts, {Interlocked.Read(ref _vitalsSent)} vitals in {emitSeconds:F1} s; draining");

            // Drain: every outbox empty, then every sent id received (or the timeout).
            var drain = Stopwatch.StartNew();
            var limit = TimeSpan.FromSeconds(options.DrainTimeoutSeconds);
            while (drain.Elapsed < limit && devices.Any(d => d.Outbox.PendingCount > 0)) await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            while (drain.Elapsed < limit && _sentAt.Keys.Any(id => !_received.ContainsKey(id))) await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            var drainSeconds = drain.Elapsed.TotalSeconds;
            await samplerStop.CancelAsync().ConfigureAwait(false);
            await sampler.ConfigureAwait(false);

            var byEndpoint = devices.GroupBy(d => d.Publisher.ConnectedEndpoint?.ToString() ?? "disconnected").ToDictionary(g => g.Key, g => g.Count());
            var counters = devices.Select(d => d.Publisher.Counters).ToArray();
            var lost = _sentAt.Keys.Where(id => !_received.ContainsKey(id)).ToList();
            List<double> e2e, puback;
            lock (_endToEndMs) e2e = [.. _endToEndMs];
            lock (_pubackMs) puback = [.. _pubackMs];
            long sent = _sentAt.Count;
            var vitalsSent = Interlocked.Read(ref _vitalsSent);
            return new FleetReport
            {
                Devices = devices.Length, Brokers = [.. endpoints], Protocol = options.ProtocolVersion == MqttProtocolLevel.V311 ? "3.1.1" : "5.0",
                DurationS = Math.Round(emitSeconds, 1), AlertsPerDevicePerMinute = options.AlertsPerDevicePerMinute,
                VitalsIntervalS = options.VitalsIntervalSeconds, Records = [.. streams.Select(s => s.Record)],
                AllConnectedS = allConnected is { } ac ? Math.Round(ac, 1) : null,
                AlertsSent = sent, AlertsAcked = counters.Sum(c => c.Acknowledged), AlertsReceived = sent - lost.Count, AlertsLost = lost.Count,
                AlertsNotStored = Interlocked.Read(ref _notStored), Duplicates = consumer.Duplicates, Unexpected = Interlocked.Read(ref _unexpected),
                LostIdsSample = [.. lost.Take(20)],
                EndToEndMs = LatencySummary.Of(e2e), PubackMs = LatencySummary.Of(puback),
                VitalsSent = counters.Sum(c => c.BestEffortSent), VitalsDropped = counters.Sum(c => c.BestEffortDropped),
                MessagesPerS = Math.Round((sent + vitalsSent) / emitSeconds, 1),
                AlertsReceivedPerS = Math.Round((sent - lost.Count) / (emitSeconds + drainSeconds), 1),
                Reconnects = counters.Sum(c => c.Reconnects), ConnectionLosses = counters.Sum(c => c.ConnectionLosses), Resends = counters.Sum(c => c.Retries),
                DevicesByEndpointAtEnd = byEndpoint,
                CpuCorePercentTotal = Math.Round(100 * cpuEmit / emitSeconds, 1),
                CpuCorePercentPerDevice = Math.Round(100 * cpuEmit / emitSeconds / devices.Length, 4),
                PeakWorkingSetMb = Math.Round(peakWs / 1048576.0, 1),
                WorkingSetKbPerDevice = Math.Round((peakWs - baselineWs) / 1024.0 / devices.Length, 1),
                DrainS = Math.Round(drainSeconds, 1),
                Timeline = timeline,
            };
        }
        finally
        {
            // Orderly stop: each device publishes its retained "offline" (reason shutdown) and disconnects.
            await Task.WhenAll(devices.Where(d => d is not null).Select(d => d.StopAsync())).ConfigureAwait(false);
            await consumerStop.CancelAsync().ConfigureAwait(false);
            try { await consumerRun.ConfigureAwait(false); } catch (OperationCanceledException) { }
            await consumer.DisposeAsync().ConfigureAwait(false);
            if (ownsRoot) { try { Directory.Delete(root, recursive: true); } catch (IOException) { } }
        }
    }

    private async Task EmitAsync(Device[] devices, Alert[] alertPool, Stopwatch clock, double start, Random random, CancellationToken ct)
    {
        var end = start + options.DurationSeconds;
        var lambda = options.AlertsPerDevicePerMinute / 60.0;
        double NextAlert(double now) => lambda > 0 ? now - Math.Log(1 - random.NextDouble()) / lambda : double.PositiveInfinity;
        var queue = new PriorityQueue<(Device Device, bool Alert), double>();
        foreach (var d in devices)
        {
            queue.Enqueue((d, true), NextAlert(start));
            queue.Enqueue((d, false), start + random.NextDouble() * options.VitalsIntervalSeconds);
        }
        while (queue.TryPeek(out var item, out var due) && due < end)
        {
            var now = clock.Elapsed.TotalSeconds;
            if (due > now)
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(due - now, 0.05)), ct).ConfigureAwait(false);
                continue;
            }
            queue.Dequeue();
            if (item.Alert)
            {
                EmitAlert(item.Device, alertPool);
                queue.Enqueue(item, NextAlert(due));
            }
            else
            {
                EmitVitals(item.Device);
                queue.Enqueue(item, due + options.VitalsIntervalSeconds);
            }
        }
        var rest = end - clock.Elapsed.TotalSeconds;
        if (rest > 0) await Task.Delay(TimeSpan.FromSeconds(rest), ct).ConfigureAwait(false);
    }

    private void EmitAlert(Device d, Alert[] pool)
    {
        var template = pool[(d.Index * 7 + d.AlertCursor++) % pool.Length];
        var now = DateTimeOffset.UtcNow;
        // A new episode id per onset (offsets and updates reuse their onset's), a new alert id per message.
        if (template.Phase == AlertPhase.Onset || !d.Episodes.TryGetValue(template.EpisodeId, out var episode))
            d.Episodes[template.EpisodeId] = episode = Guid.CreateVersion7(now).ToString("N");
        var alert = template with
        {
            Id = Guid.CreateVersion7(now).ToString("N"), DeviceId = d.Id, EpisodeId = episode,
            Onset = new TimePoint(now, template.Onset.SampleIndex),
        };
        var payload = JsonSerializer.SerializeToUtf8Bytes(alert, MessageJsonContext.Default.Alert);
        // Registered before the hand-over: the sender loop may deliver (and the consumer receive) it before Publish returns.
        _sentAt[alert.Id] = Stopwatch.GetTimestamp();
        try
        {
            d.Publisher.Publish(new TransportMessage
            {
                Id = alert.Id, Topic = d.Publisher.Topics.Alerts, Payload = payload, Qos = MessageQos.AtLeastOnce,
                Priority = MessagePriority.Alert, CreatedAt = now,
            });
        }
        catch (Exception e) when (e is OutboxFullException or IOException)
        {
            _sentAt.TryRemove(alert.Id, out _);
            Interlocked.Increment(ref _notStored);
            return;
        }
    }

    private void EmitVitals(Device d)
    {
        var stream = streams[d.Index % streams.Count];
        if (stream.Vitals.Count == 0) return;
        var template = stream.Vitals[d.VitalsCursor++ % stream.Vitals.Count];
        var now = DateTimeOffset.UtcNow;
        var message = template with { Id = Guid.CreateVersion7(now).ToString("N"), DeviceId = d.Id, At = new TimePoint(now, template.At.SampleIndex) };
        d.Publisher.Publish(new TransportMessage
        {
            Id = message.Id, Topic = d.Publisher.Topics.Vitals, Payload = JsonSerializer.SerializeToUtf8Bytes(message, MessageJsonContext.Default.VitalsMessage),
            Qos = MessageQos.AtMostOnce, Priority = MessagePriority.Trend, CreatedAt = now,
        });
        Interlocked.Increment(ref _vitalsSent);
    }

    private Task OnAlert(string topic, JsonElement alert)
    {
        var id = alert.GetProperty("id").GetString()!;
        if (!_sentAt.TryGetValue(id, out var t)) { Interlocked.Increment(ref _unexpected); return Task.CompletedTask; }
        if (_received.TryAdd(id, 0))
        {
            lock (_endToEndMs) _endToEndMs.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
        }
        return Task.CompletedTask;
    }

    private void OnAcknowledged(string id)
    {
        if (_sentAt.TryGetValue(id, out var t))
            lock (_pubackMs) _pubackMs.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
    }

    private void Log(string message) => progress?.WriteLine($"fleet-sim: {message}");

    /// <summary>One simulated device: its outbox, its publisher and its place in the event streams.</summary>
    private sealed class Device
    {
        public required int Index { get; init; }
        public required string Id { get; init; }
        public required DurableOutbox Outbox { get; init; }
        public required MqttPublisher Publisher { get; init; }
        /// <summary>The run's endpoints in canonical form (as <see cref="MqttEndpoint.ToString"/> prints them), in the run's order.</summary>
        public required string[] EndpointNames { get; init; }
        public int AlertCursor { get; set; }
        public int VitalsCursor { get; set; }
        public Dictionary<string, string> Episodes { get; } = [];

        public static Device Create(int index, FleetSimOptions o, string root, IReadOnlyList<string> endpoints, FleetSimulator sim)
        {
            var id = $"sim-{index:D5}";
            // Device i tries endpoint i mod n first, then the next ones in order.
            var rotated = endpoints.Skip(index % endpoints.Count).Concat(endpoints.Take(index % endpoints.Count)).ToList();
            var outboxOptions = new DurableOutboxOptions { Directory = Path.Combine(root, id), SegmentBytes = 256 * 1024, MaxBytes = 16L * 1024 * 1024 };
            var outbox = DurableOutbox.Open(outboxOptions);
            var transport = new MqttTransportOptions
            {
                Mode = MqttMode.External, DeviceId = id, TopicPrefix = o.TopicPrefix, Endpoints = rotated, ProtocolVersion = o.ProtocolVersion,
                KeepAliveSeconds = o.KeepAliveSeconds, ReconnectMinDelay = TimeSpan.FromMilliseconds(500), ReconnectMaxDelay = TimeSpan.FromSeconds(10),
                Outbox = outboxOptions,
            };
            var publisher = new MqttPublisher(transport, outbox,
                new MqttStatusInfo(DateTimeOffset.UtcNow, new Dictionary<string, string> { ["software"] = "ecgedge fleet-sim", ["device"] = id }));
            publisher.Acknowledged += sim.OnAcknowledged;
            var names = endpoints.Select(e => MqttEndpoint.TryParse(e, out var parsed, out _) ? parsed!.ToString() : e).ToArray();
            return new Device { Index = index, Id = id, Outbox = outbox, Publisher = publisher, EndpointNames = names };
        }

        public int EndpointIndexOf(MqttEndpoint endpoint) => Math.Max(0, Array.IndexOf(EndpointNames, endpoint.ToString()));

        public async Task StopAsync()
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try { await Publisher.StopAsync(cts.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { }
            await Publisher.DisposeAsync().ConfigureAwait(false);
            Outbox.Dispose();
        }
    }
}
