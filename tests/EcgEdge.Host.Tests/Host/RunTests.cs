using System.Text.Json;
using EcgEdge.Events.Alerts;
using EcgEdge.Verbs;

namespace EcgEdge.Tests.Host;

public class RunTests
{
    /// <summary>Each run gets its own outbox folder and free ports for the embedded broker (tests run in parallel).</summary>
    internal static string[] Isolated(params string[] args) =>
        [.. args, $"--Mqtt:Outbox:Directory={Path.Combine(Path.GetTempPath(), "ecgedge-run-" + Guid.NewGuid().ToString("N"))}", "--Mqtt:EmbeddedPort=0",
            "--Mqtt:EmbeddedWebSocketPort=0"];

    [Fact]
    public async Task Run_replays_the_bundled_record_to_its_end_and_exits_cleanly()
    {
        // The embedded default (bundled MIT-BIH 201), once and as fast as possible instead of looping in real time.
        var code = await RunVerb.RunAsync(Isolated("--realtime", "false", "--loop", "false"));
        Assert.Equal(0, code);
    }

    [Fact]
    public async Task Invalid_configuration_is_refused_at_start_with_exit_code_2()
    {
        Assert.Equal(2, await RunVerb.RunAsync(Isolated("--Conditioning:LowPassHz=500")));
        Assert.Equal(2, await RunVerb.RunAsync(Isolated("--mains", "55")));
        Assert.Equal(2, await RunVerb.RunAsync(Isolated("--Pipeline:BlockFrames=0")));
        Assert.Equal(2, await RunVerb.RunAsync(Isolated("--record", "")));
        Assert.Equal(2, await RunVerb.RunAsync(Isolated("--leads", "II,II", "--realtime", "false")));
    }

    [Fact]
    public async Task A_tampered_model_or_an_unavailable_strict_provider_stops_the_worker_before_it_starts()
    {
        using var f = new Inference.ModelFiles();
        var bytes = File.ReadAllBytes(f.Int8);
        bytes[^10] ^= 0xFF;
        f.ReplaceInt8(bytes, updateManifest: false);
        Assert.Equal(2, await RunVerb.RunAsync(Isolated("--realtime", "false", "--loop", "false", "--model", f.Manifest)));
        Assert.Equal(2, await RunVerb.RunAsync(Isolated("--realtime", "false", "--loop", "false", "--provider", "cuda")));
        Assert.Equal(2, await RunVerb.RunAsync(Isolated("--realtime", "false", "--Inference:RhythmSmoothingWindows=2")));
        // Without the model the worker still runs (QRS and heart rate).
        Assert.Equal(0, await RunVerb.RunAsync(Isolated("--realtime", "false", "--loop", "false", "--Inference:Enabled=false", "--model", f.Manifest)));
    }

    [Fact]
    public async Task A_missing_record_is_a_runtime_error_with_exit_code_1()
    {
        Assert.Equal(1, await RunVerb.RunAsync(Isolated("--record", "/nonexistent/rec", "--realtime", "false")));
    }

    private static string Bundled201 => Path.Combine(TestData.RepoRoot, "src", "EcgEdge", "Resources", "mitdb", "201");

    [Fact]
    public async Task A_truncated_recording_ends_with_an_interrupted_monitoring_offset_for_every_open_episode()
    {
        // MIT-BIH 201 cut at 1,700 s (format 212: 3 bytes per frame of its 2 signals): its last AF episode (1,596 s to the
        // end of the record) is open when the file runs out.
        var dir = Directory.CreateTempSubdirectory("ecgedge-truncated-").FullName;
        try
        {
            File.Copy(Bundled201 + ".hea", Path.Combine(dir, "201.hea"));
            var dat = File.ReadAllBytes(Bundled201 + ".dat");
            File.WriteAllBytes(Path.Combine(dir, "201.dat"), dat[..(1700 * 360 * 3)]);
            var log = Path.Combine(dir, "alerts.jsonl");
            var code = await RunVerb.RunAsync(Isolated("--record", Path.Combine(dir, "201"), "--realtime", "false", "--loop", "false",
                "--mains", "60", "--Mqtt:Mode=Off", $"--Events:AlertLogFile={log}"));
            Assert.Equal(1, code); // the source failed

            var alerts = File.ReadAllLines(log).Select(l => JsonSerializer.Deserialize(l, MessageJsonContext.Default.Alert)!).ToList();
            var af = alerts.Where(a => a.Type == AlertType.AtrialFibrillation).ToList();
            var lastOnset = af.Last(a => a.Phase == AlertPhase.Onset);
            Assert.InRange(lastOnset.Onset.SampleIndex / 500.0, 1596 - 15, 1596 + 15);
            var end = Assert.Single(alerts, a => a.EpisodeId == lastOnset.EpisodeId && a.Phase == AlertPhase.Offset);
            Assert.Equal(Alert.MonitoringInterrupted, end.EndedBy);
            Assert.Contains("truncated", end.Criteria, StringComparison.Ordinal);
            Assert.InRange(end.Offset!.SampleIndex / 500.0, 1690, 1700); // the last analysed sample
            // No episode is left open.
            Assert.Empty(alerts.Where(a => a.Phase == AlertPhase.Onset).Select(a => a.EpisodeId)
                .Except(alerts.Where(a => a.Phase == AlertPhase.Offset).Select(a => a.EpisodeId)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_bad_header_is_refused_before_the_broker_and_the_outbox_start()
    {
        var dir = Directory.CreateTempSubdirectory("ecgedge-badheader-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "bad.hea"), "bad two 360 650000\nthis is not a signal line\n");
            var outbox = Path.Combine(dir, "outbox");
            var code = await RunVerb.RunAsync(["--record", Path.Combine(dir, "bad"), "--realtime", "false", "--loop", "false",
                $"--Mqtt:Outbox:Directory={outbox}", "--Mqtt:EmbeddedPort=0"]);
            Assert.Equal(1, code);
            Assert.False(Directory.Exists(outbox)); // nothing was started
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
