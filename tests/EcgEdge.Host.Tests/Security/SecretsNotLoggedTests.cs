using System.Text;

namespace EcgEdge.Tests.Security;

/// <summary>
/// Secrets (Mqtt:Password) never reach the console/journal log, the health file, the alert audit log, the outbox or
/// the output of <c>ecgedge health</c>. The worker runs as a child process (<c>dotnet ecgedge.dll run</c>: its real
/// console logging, which an in-process run would share with parallel tests) on the bundled record with the
/// embedded broker on a free port, so the publisher really connects with the credentials.
/// </summary>
public sealed class SecretsNotLoggedTests : IDisposable
{
    private const string Secret = "S3cr3t-Pa55w0rd-do-not-log-7f1c";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ecgedge-secrets-" + Guid.NewGuid().ToString("N"));

    public SecretsNotLoggedTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static Task<(int Code, string Output)> Ecgedge(IReadOnlyDictionary<string, string> env, params string[] args) =>
        EcgEdgeProcess.RunAsync(TimeSpan.FromMinutes(3), env, args);

    [Fact]
    public async Task The_mqtt_password_appears_in_no_log_health_file_audit_log_outbox_or_health_output()
    {
        var outbox = Path.Combine(_dir, "state", "mqtt-outbox");
        var health = Path.Combine(_dir, "state", "health.json");
        var alertLog = Path.Combine(_dir, "log", "alerts.jsonl");
        // The password from the environment (the documented way: systemd EnvironmentFile / secret store), the user
        // name on the command line; Debug logging so that every log statement of the run is exercised.
        var env = new Dictionary<string, string> { ["ECGEDGE_Mqtt__Password"] = Secret };
        var run = await Ecgedge(env, "run", "--realtime", "false", "--loop", "false", "--Inference:Enabled=false",
            "--Mqtt:Mode=Embedded", "--Mqtt:EmbeddedPort=0", "--Mqtt:EmbeddedWebSocketPort=0", "--Mqtt:DeviceId=dev-secret", "--Mqtt:Username=dev-secret",
            $"--Mqtt:Outbox:Directory={outbox}", $"--Pipeline:HealthFile={health}", $"--Events:AlertLogFile={alertLog}",
            "--Logging:LogLevel:Default=Debug");
        Assert.True(run.Code == 0, run.Output[^Math.Min(4000, run.Output.Length)..]);
        // The settings were logged (so the check below is not vacuous), with the password masked.
        Assert.Contains("MQTT settings:", run.Output, StringComparison.Ordinal);
        Assert.Contains("Username = dev-secret, Password = ***", run.Output, StringComparison.Ordinal);
        Assert.Contains("MQTT connected to", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, run.Output, StringComparison.Ordinal);

        Assert.True(File.Exists(health));
        Assert.True(File.Exists(alertLog));
        foreach (var file in Directory.EnumerateFiles(_dir, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".lock", StringComparison.Ordinal)))
            Assert.False(Encoding.UTF8.GetString(await File.ReadAllBytesAsync(file)).Contains(Secret, StringComparison.Ordinal), file);

        foreach (var args in new[] { new[] { "health", "--file", health }, ["health", "--file", health, "--json"] })
        {
            var h = await Ecgedge(env, args);
            Assert.DoesNotContain(Secret, h.Output, StringComparison.Ordinal);
            Assert.Contains(args.Length == 4 ? "\"outboxPending\"" : "outbox", h.Output, StringComparison.Ordinal);
        }

        // A refused configuration echoes the offending settings: a password put in an endpoint URI is masked there too.
        var refused = await Ecgedge(env, "run", "--realtime", "false", "--loop", "false", "--Inference:Enabled=false",
            "--Mqtt:Mode=External", $"--Mqtt:Endpoints:0=mqtt://dev-secret:{Secret}@127.0.0.1:1", "--Mqtt:Username=dev-secret",
            $"--Mqtt:Outbox:Directory={outbox}");
        Assert.Equal(2, refused.Code);
        Assert.Contains("credentials must not be in the URI", refused.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, refused.Output, StringComparison.Ordinal);
    }
}
