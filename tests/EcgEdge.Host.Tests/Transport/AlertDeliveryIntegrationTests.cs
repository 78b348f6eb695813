using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using EcgEdge.Events.Alerts;
using EcgEdge.Evaluation;
using EcgEdge.Strips;
using EcgEdge.Verbs;
using EcgEdge.Wfdb;
using NJsonSchema;

namespace EcgEdge.Tests.Transport;

/// <summary>
/// The whole path against a real mosquitto (started by the test on a free loopback port): a real recording through the
/// worker, alerts over MQTT, every message checked against its JSON Schema; a broker outage with a worker crash.
/// </summary>
public sealed partial class AlertDeliveryIntegrationTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ecgedge-delivery-" + Guid.NewGuid().ToString("N"));

    private readonly Xunit.Abstractions.ITestOutputHelper _out;

    public AlertDeliveryIntegrationTests(Xunit.Abstractions.ITestOutputHelper output)
    {
        _out = output;
        Directory.CreateDirectory(_dir);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static readonly string Schemas = Path.Combine(TestData.RepoRoot, "docs", "schemas");

    internal static async Task<Dictionary<string, JsonSchema>> LoadSchemasAsync() => new()
    {
        ["alerts"] = await JsonSchema.FromFileAsync(Path.Combine(Schemas, "alert.schema.json")),
        ["events"] = await JsonSchema.FromFileAsync(Path.Combine(Schemas, "trend.schema.json")),
        ["vitals"] = await JsonSchema.FromFileAsync(Path.Combine(Schemas, "vitals.schema.json")),
        ["status"] = await JsonSchema.FromFileAsync(Path.Combine(Schemas, "status.schema.json")),
        ["active"] = await JsonSchema.FromFileAsync(Path.Combine(Schemas, "active.schema.json")),
    };

    [SkippableFact]
    public async Task Af_alerts_of_mit_bih_201_reach_mosquitto_match_the_reference_and_every_message_fits_its_schema()
    {
        var db = TestData.Require("mitdb");
        await using var broker = await MosquittoFixture.StartNewAsync();
        await using var sub = await TestSubscriber.ConnectAsync(broker.Port, "ecgedge/dev-201/#");
        var code = await RunVerb.RunAsync([
            "--record", Path.Combine(db, "201"), "--realtime", "false", "--loop", "false", "--mains", "60",
            "--Mqtt:Mode=External", $"--Mqtt:Endpoints:0={broker.Endpoint}", "--Mqtt:DeviceId=dev-201",
            $"--Mqtt:Outbox:Directory={Path.Combine(_dir, "outbox")}", "--Pipeline:VitalsIntervalSeconds=60"]);
        Assert.Equal(0, code);
        // The worker drained its outbox before exiting; the offline status comes last.
        var messages = await sub.WaitForAsync(m => m.Any(x => x.Topic.EndsWith("/status") && x.Payload.Contains("\"offline\"")), TimeSpan.FromSeconds(20));

        var schemas = await LoadSchemasAsync();
        Assert.Contains(messages, m => m.Topic.EndsWith("/vitals"));
        Assert.Contains(messages, m => m.Topic.EndsWith("/events"));
        foreach (var m in messages)
        {
            var kind = m.Topic.Split('/')[^1];
            var errors = schemas[kind].Validate(m.Payload);
            Assert.True(errors.Count == 0, $"{m.Topic}: {string.Join("; ", errors)}\n{m.Payload[..Math.Min(400, m.Payload.Length)]}");
            Assert.Equal("application/json", m.ContentType);
        }

        var alerts = messages.Where(m => m.Topic.EndsWith("/alerts"))
            .Select(m => JsonSerializer.Deserialize(m.Payload, MessageJsonContext.Default.Alert)!).ToList();
        Assert.All(messages.Where(m => m.Topic.EndsWith("/alerts")), m => Assert.Equal(m.MessageId, m.JsonString("id")));
        var reference = AnnotationReader.Read(Path.Combine(db, "201.atr"));
        var refAf = RhythmScoring.ReferenceIntervals(reference, 650000, RhythmScoring.IsAf).Select(i => (From: i.From / 360.0, To: i.To / 360.0)).ToList();
        var af = alerts.Where(a => a.Type == AlertType.AtrialFibrillation).ToList();
        var onsets = af.Where(a => a.Phase == AlertPhase.Onset).ToList();
        // Tolerance 20 s: rhythm decisions cover 5 s, smoothed over 3 windows, from evidence over the last 10 and 30 s of
        // beats (docs/events.md, docs/rhythm.md).
        Assert.Equal(refAf.Count(r => r.To - r.From >= 30), onsets.Count);
        foreach (var r in refAf.Where(r => r.To - r.From >= 30))
            Assert.Contains(onsets, a => Math.Abs(a.Onset.SampleIndex / 500.0 - r.From) <= 20);
        foreach (var o in af.Where(a => a.Phase == AlertPhase.Offset && a.EndedBy is null))
            Assert.Contains(refAf, r => Math.Abs(o.Offset!.SampleIndex / 500.0 - r.To) <= 15);
        // An episode still open when the replay ends is closed by the end of monitoring, saying so, at the record's end.
        foreach (var ended in af.Where(a => a.Phase == AlertPhase.Offset && a.EndedBy is not null))
        {
            Assert.Equal(Alert.MonitoringStopped, ended.EndedBy);
            Assert.InRange(ended.Offset!.SampleIndex / 500.0, 650000 / 360.0 - 1, 650000 / 360.0 + 0.5);
        }
        // Every episode opened was closed: none stays "ongoing" on a clinician's screen.
        Assert.Empty(alerts.Where(a => a.Phase == AlertPhase.Onset).Select(a => a.EpisodeId)
            .Except(alerts.Where(a => a.Phase == AlertPhase.Offset).Select(a => a.EpisodeId)));
        var finalStatus = messages.Last(m => m.Topic.EndsWith("/status"));
        Assert.Contains("\"monitoring\":\"stopped\"", finalStatus.Payload);

        // The retained list of open episodes, as a page opened now would get it: empty, since the end of the replay closed
        // every episode (an episode open mid-run is shown by web/test/e2e-demo.mjs).
        var open = alerts.Where(a => a.Phase != AlertPhase.Offset).Select(a => a.EpisodeId).Distinct()
            .Except(alerts.Where(a => a.Phase == AlertPhase.Offset).Select(a => a.EpisodeId)).ToList();
        Assert.Empty(open);
        await using (var late = await TestSubscriber.ConnectAsync(broker.Port, "ecgedge/dev-201/active"))
        {
            var retained = Assert.Single(await late.WaitForAsync(m => m.Count > 0, TimeSpan.FromSeconds(10)));
            Assert.True(retained.Retain);
            using var doc = JsonDocument.Parse(retained.Payload);
            Assert.Equal(open, doc.RootElement.GetProperty("episodes").EnumerateArray().Select(e => e.GetProperty("episodeId").GetString()));
        }

        // A strip of a real alert as a printout (looked at: docs/images/af-onset-201-strip.png is this rendering).
        var png = StripRenderer.RenderPng(onsets.Last());
        var path = Path.Combine(Path.GetTempPath(), "ecgedge-af-onset-201-strip.png");
        await File.WriteAllBytesAsync(path, png);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
    }

    [GeneratedRegex("\"id\":\"([0-9a-f]{32})\"")]
    private static partial Regex IdPattern();

    private static HashSet<string> LoggedIds(string file) => File.Exists(file)
        ? File.ReadAllLines(file).Select(l => IdPattern().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToHashSet()
        : [];

    private Process StartWorker(string record, string endpoint, string outbox, string alertLog, string output)
    {
        var exe = Path.Combine(AppContext.BaseDirectory, "ecgedge.dll");
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { exe, "run", "--record", record, "--realtime", "true", "--Replay:Speed=40", "--loop", "false", "--mains", "60",
                     "--Mqtt:Mode=External", $"--Mqtt:Endpoints:0={endpoint}", "--Mqtt:DeviceId=dev-outage", $"--Mqtt:Outbox:Directory={outbox}",
                     "--Mqtt:KeepAliveSeconds=5", "--Mqtt:ReconnectMinDelay=00:00:00.200", "--Mqtt:ReconnectMaxDelay=00:00:01",
                     $"--Events:AlertLogFile={alertLog}", "--Pipeline:VitalsIntervalSeconds=600" })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        var log = new StreamWriter(output) { AutoFlush = true };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    [SkippableFact]
    public async Task A_30_s_broker_outage_with_a_worker_crash_loses_no_alert()
    {
        var db = TestData.Require("mitdb");
        await using var broker = await MosquittoFixture.StartNewAsync();
        await using var sub = await TestSubscriber.ConnectAsync(broker.Port, "ecgedge/dev-outage/alerts", "clinician-1");
        var outbox = Path.Combine(_dir, "outbox");
        var logA = Path.Combine(_dir, "alerts-a.jsonl");
        var logB = Path.Combine(_dir, "alerts-b.jsonl");
        var record = Path.Combine(db, "201");

        // Worker A replays 201 at 40x real time (45 s); the first AF onset reaches the broker.
        using var a = StartWorker(record, broker.Endpoint, outbox, logA, Path.Combine(_dir, "worker-a.log"));
        await sub.WaitForAsync(m => m.Count >= 1, TimeSpan.FromSeconds(30));
        var clock = Stopwatch.StartNew();
        await broker.StopAsync();                       // outage begins
        await Task.Delay(TimeSpan.FromSeconds(13));     // A goes on producing alerts into its outbox
        a.Kill();                                       // SIGKILL during the outage
        await a.WaitForExitAsync();
        var producedByA = LoggedIds(logA);
        Assert.True(producedByA.Count >= 3, $"A produced {producedByA.Count} alerts");
        var deliveredBeforeOutage = sub.Messages.Count;
        Assert.True(producedByA.Count > deliveredBeforeOutage, "some of A's alerts must be pending at the kill");

        // Worker B restarts on the same outbox while the broker is still down, then the broker comes back at 30 s.
        using var b = StartWorker(record, broker.Endpoint, outbox, logB, Path.Combine(_dir, "worker-b.log"));
        var rest = TimeSpan.FromSeconds(30) - clock.Elapsed;
        if (rest > TimeSpan.Zero) await Task.Delay(rest);
        await broker.StartAsync();
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
            await b.WaitForExitAsync(cts.Token);
        Assert.Equal(0, b.ExitCode);

        var produced = producedByA.Union(LoggedIds(logB)).ToHashSet();
        var received = await sub.WaitForAsync(m => m.Select(x => x.JsonString("id")).ToHashSet().SetEquals(produced), TimeSpan.FromSeconds(20));
        var receivedIds = received.Select(x => x.JsonString("id")!).ToList();
        _out.WriteLine($"A produced {producedByA.Count} alerts ({deliveredBeforeOutage} delivered before the outage), B {produced.Count - producedByA.Count}; " +
            $"received {receivedIds.Count} messages, {receivedIds.Distinct().Count()} distinct");
        Assert.Empty(produced.Except(receivedIds));              // nothing lost
        Assert.Empty(receivedIds.ToHashSet().Except(produced));  // nothing invented
        // A's alerts arrive in the order A produced them (one in flight at a time, resent in order after the restart).
        var orderA = File.ReadAllLines(logA).Select(l => IdPattern().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        var arrivalA = receivedIds.Distinct().Where(producedByA.Contains).ToList();
        Assert.Equal(orderA, arrivalA);
        // Duplicates only as at-least-once allows: each id at most twice (one resend after a lost PUBACK).
        Assert.All(receivedIds.GroupBy(x => x), g => Assert.InRange(g.Count(), 1, 2));
    }
}
