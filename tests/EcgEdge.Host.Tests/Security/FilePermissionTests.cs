using System.Text;
using EcgEdge.Events.Alerts;
using EcgEdge.Hosting;
using EcgEdge.Transport;
using EcgEdge.Transport.Mqtt;
using EcgEdge.Verbs;
using MQTTnet;
using MQTTnet.Protocol;

namespace EcgEdge.Tests.Security;

/// <summary>Files with patient data or worker state are owner-only: 0600 files in folders created 0700 (Linux; skipped on Windows).</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class FilePermissionTests : IDisposable
{
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Mode0700 = Mode0600 | UnixFileMode.UserExecute;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ecgedge-perm-" + Guid.NewGuid().ToString("N"));

    public FilePermissionTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [SkippableFact]
    public void The_alert_audit_log_is_0600_in_a_folder_created_0700_and_an_existing_log_is_tightened()
    {
        Skip.If(OperatingSystem.IsWindows(), "POSIX permissions");
        var path = Path.Combine(_dir, "new", "sub", "alerts.jsonl");
        using (var sink = new AlertLogSink(path)) { }
        Assert.Equal(Mode0600, File.GetUnixFileMode(path));
        Assert.Equal(Mode0700, File.GetUnixFileMode(Path.Combine(_dir, "new", "sub")));
        Assert.Equal(Mode0700, File.GetUnixFileMode(Path.Combine(_dir, "new")));

        // A log left world-readable by an older version is tightened and still appended to.
        var old = Path.Combine(_dir, "old.jsonl");
        File.WriteAllText(old, "{}\n");
        File.SetUnixFileMode(old, Mode0600 | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        using (var sink = new AlertLogSink(old)) { }
        Assert.Equal(Mode0600, File.GetUnixFileMode(old));
        Assert.Equal("{}\n", File.ReadAllText(old));
    }

    [SkippableFact]
    public void The_health_file_is_0600_in_a_folder_created_0700()
    {
        Skip.If(OperatingSystem.IsWindows(), "POSIX permissions");
        var path = Path.Combine(_dir, "state", "health.json");
        var now = DateTimeOffset.UtcNow;
        WorkerHealth.Write(path, new HealthSnapshot(now, now, 1, 1, 0, 0, 0, 0, null, null, 0, "off", 0, "running"));
        WorkerHealth.Write(path, new HealthSnapshot(now, now, 2, 1, 0, 0, 0, 0, null, null, 0, "off", 0, "running")); // replaced
        Assert.Equal(Mode0600, File.GetUnixFileMode(path));
        Assert.Equal(Mode0700, File.GetUnixFileMode(Path.GetDirectoryName(path)!));
        Assert.False(File.Exists(path + ".tmp"));
    }

    [SkippableFact]
    public async Task Alerts_saved_by_watch_are_0600_in_a_save_dir_created_0700()
    {
        Skip.If(OperatingSystem.IsWindows(), "POSIX permissions");
        await using var broker = await EmbeddedBroker.StartAsync(0);
        var saveDir = Path.Combine(_dir, "alerts");
        var watch = WatchVerb.RunAsync(["--broker", broker.Endpoint, "--save-dir", saveDir, "--count", "1", "--timeout", "20",
            "--client-id", "perm-" + Guid.NewGuid().ToString("N")[..8]]);
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port).Build());
        // Until the watcher has subscribed and saved it (same id: de-duplicated on its side).
        while (!watch.IsCompleted)
        {
            await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("ecgedge/dev1/alerts")
                .WithPayload("{\"id\":\"perm-alert-1\",\"type\":\"atrialFibrillation\",\"phase\":\"onset\"}")
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            await Task.WhenAny(watch, Task.Delay(200));
        }
        Assert.Equal(0, await watch);
        var file = Path.Combine(saveDir, "perm-alert-1.json");
        Assert.True(File.Exists(file));
        Assert.Equal(Mode0600, File.GetUnixFileMode(file));
        Assert.Equal(Mode0700, File.GetUnixFileMode(saveDir));
        Assert.Contains("perm-alert-1", await File.ReadAllTextAsync(file, Encoding.UTF8), StringComparison.Ordinal);
    }
}
