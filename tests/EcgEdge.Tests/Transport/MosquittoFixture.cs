using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace EcgEdge.Tests.Transport;

/// <summary>
/// A real mosquitto broker for one test: free loopback port, temporary config and persistence directory.
/// <see cref="StopAsync"/> (SIGTERM: saves persistence) and <see cref="StartAsync"/> reuse the same port;
/// <see cref="Kill"/> is SIGKILL. Tests call <see cref="StartNewAsync"/>, which skips them when mosquitto is missing.
/// </summary>
public sealed partial class MosquittoFixture : IAsyncDisposable
{
    private readonly string _executable;
    private Process? _process;

    private MosquittoFixture(string executable, string? listenerConfig, bool allowAnonymous = true, string? preamble = null, Func<MosquittoFixture, string>? extraConfig = null)
    {
        _executable = executable;
        Directory = Path.Combine(Path.GetTempPath(), "ecgedge-mosquitto-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        Port = FreePort();
        var user = Environment.UserName;
        File.WriteAllText(ConfigFile, $"""
            {preamble ?? ""}
            listener {Port} 127.0.0.1
            {listenerConfig ?? ""}
            allow_anonymous {(allowAnonymous ? "true" : "false")}
            persistence true
            persistence_location {Directory}/
            persistence_file mosquitto.db
            log_dest file {Directory}/mosquitto.log
            log_type error
            log_type warning
            log_type notice
            log_type information
            user {user}
            max_queued_messages 10000

            """ + (extraConfig?.Invoke(this) ?? ""));
    }

    public string Directory { get; }
    public int Port { get; }
    public string Endpoint => $"mqtt://127.0.0.1:{Port}";
    public string ConfigFile => Path.Combine(Directory, "mosquitto.conf");
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>mosquitto's path, or null when it is not installed.</summary>
    public static string? FindExecutable()
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin", "/opt/homebrew/sbin"]);
        return dirs.Select(d => Path.Combine(d, "mosquitto")).FirstOrDefault(File.Exists);
    }

    /// <summary>Starts a broker, or skips the calling test when mosquitto is not installed.</summary>
    /// <param name="listenerConfig">Extra lines for the listener (e.g. cafile / certfile / keyfile for TLS).</param>
    /// <param name="allowAnonymous">mosquitto's allow_anonymous (false: every client must authenticate).</param>
    /// <param name="preamble">Lines before the first listener (e.g. per_listener_settings true).</param>
    /// <param name="extraConfig">Lines after the rest, given the fixture (e.g. a second listener on <see cref="FreePort"/>).</param>
    public static async Task<MosquittoFixture> StartNewAsync(string? listenerConfig = null, bool allowAnonymous = true, string? preamble = null,
        Func<MosquittoFixture, string>? extraConfig = null)
    {
        var exe = FindExecutable();
        // In CI (.ci/run installs it) a missing broker is a failure, not a quiet skip of every broker test.
        if (exe is null && string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException("CI=true but mosquitto is not installed: .ci/run must install it (apt-get install mosquitto)");
        Skip.If(exe is null, "mosquitto is not installed (apt-get install mosquitto)");
        var fixture = new MosquittoFixture(exe!, listenerConfig, allowAnonymous, preamble, extraConfig);
        await fixture.StartAsync();
        return fixture;
    }

    public async Task StartAsync()
    {
        if (IsRunning) return;
        var psi = new ProcessStartInfo(_executable) { UseShellExecute = false, RedirectStandardOutput = false, RedirectStandardError = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(ConfigFile);
        _process = Process.Start(psi) ?? throw new InvalidOperationException("mosquitto did not start");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"mosquitto exited with {_process.ExitCode}: {Log()}");
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(25);
            }
        }
    }

    /// <summary>Graceful stop (SIGTERM): mosquitto saves its persistence file and closes the connections.</summary>
    public async Task StopAsync()
    {
        if (!IsRunning) return;
        _ = Kill(_process!.Id, 15);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _process.WaitForExitAsync(cts.Token);
        _process.Dispose();
        _process = null;
    }

    /// <summary>Abrupt stop (SIGKILL).</summary>
    public void Kill()
    {
        if (!IsRunning) return;
        _process!.Kill();
        _process.WaitForExit(10_000);
        _process.Dispose();
        _process = null;
    }

    public string Log()
    {
        var path = Path.Combine(Directory, "mosquitto.log");
        try { return File.Exists(path) ? File.ReadAllText(path) : ""; }
        catch (IOException) { return ""; }
    }

    public async ValueTask DisposeAsync()
    {
        try { Kill(); } catch (InvalidOperationException) { }
        await Task.Yield();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }

    /// <summary>A free loopback TCP port.</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

/// <summary>A received message, as the test subscriber saw it.</summary>
public sealed record ReceivedMessage(string Topic, string Payload, bool Retain, string? MessageId, string? ContentType, uint MessageExpiry)
{
    public string? JsonString(string property)
    {
        using var doc = JsonDocument.Parse(Payload);
        return doc.RootElement.TryGetProperty(property, out var p) ? p.ToString() : null;
    }
}

/// <summary>An MQTTnet subscriber with a persistent session that reconnects on its own (the broker may restart).</summary>
public sealed class TestSubscriber : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly MqttClientOptions _options;
    private readonly string _filter;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<ReceivedMessage> _messages = new();
    private Task? _loop;

    private TestSubscriber(int port, string filter, string clientId, MqttProtocolVersion version)
    {
        _filter = filter;
        _client = new MqttClientFactory().CreateMqttClient();
        var b = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId(clientId)
            .WithProtocolVersion(version).WithCleanSession(false).WithKeepAlivePeriod(TimeSpan.FromSeconds(5));
        if (version == MqttProtocolVersion.V500) b = b.WithSessionExpiryInterval(300);
        _options = b.Build();
        _client.ApplicationMessageReceivedAsync += e =>
        {
            var m = e.ApplicationMessage;
            var id = m.UserProperties?.FirstOrDefault(p => p.Name == "message-id")?.ReadValueAsString();
            _messages.Enqueue(new ReceivedMessage(m.Topic, Encoding.UTF8.GetString(m.Payload), m.Retain, id, m.ContentType, m.MessageExpiryInterval));
            return Task.CompletedTask;
        };
    }

    public IReadOnlyList<ReceivedMessage> Messages => _messages.ToArray();

    public static async Task<TestSubscriber> ConnectAsync(int port, string filter, string? clientId = null, MqttProtocolVersion version = MqttProtocolVersion.V500)
    {
        var s = new TestSubscriber(port, filter, clientId ?? "sub-" + Guid.NewGuid().ToString("N")[..8], version);
        await s.EnsureConnectedAsync(CancellationToken.None);
        s._loop = Task.Run(() => s.LoopAsync(s._stop.Token));
        return s;
    }

    private async Task EnsureConnectedAsync(CancellationToken ct)
    {
        if (_client.IsConnected) return;
        var result = await _client.ConnectAsync(_options, ct);
        if (!result.IsSessionPresent)
            await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(f => f.WithTopic(_filter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)).Build(), ct);
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await EnsureConnectedAsync(ct);
                await Task.Delay(100, ct);
            }
            catch (OperationCanceledException) { break; }
            catch (Exception)
            {
                try { await Task.Delay(100, ct); } catch (OperationCanceledException) { break; }
            }
        }
    }

    public async Task<IReadOnlyList<ReceivedMessage>> WaitForAsync(Func<IReadOnlyList<ReceivedMessage>, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!done(Messages))
        {
            if (DateTime.UtcNow > deadline) return Messages;
            await Task.Delay(20);
        }
        return Messages;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null) await _loop;
        try
        {
            if (_client.IsConnected) await _client.DisconnectAsync();
        }
        catch (Exception) { }
        _client.Dispose();
        _stop.Dispose();
    }
}
