using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EcgEdge.Events.Alerts;
using EcgEdge.Strips;
using EcgEdge.Tests.Wfdb;
using EcgEdge.Transport.Mqtt;
using EcgEdge.Verbs;

namespace EcgEdge.Tests.Fuzz;

/// <summary>
/// Mutated alert JSON through the clinician-side decoders: <c>ecgedge watch</c> (<see cref="AlertWatcher.TryParseAlert"/>,
/// <see cref="WatchVerb.Format"/>, the file name of a saved alert) and <c>ecgedge strip</c> (<see cref="StripVerb.LoadAlert"/>,
/// <see cref="StripRenderer"/>). Contract: the watcher rejects what is not an alert with an id (false) and formats any
/// object without throwing; the strip path reports every bad input as a <see cref="StripFormatException"/>.
/// </summary>
public class AlertMessageFuzzTests
{
    private const int MaxRenders = 15;

    private static readonly string[] JsonTokens =
    [
        "null", "[]", "{}", "\"\"", "[null]", "1.5", "1e400", "-1e400", "-1", "0", "true", "\"x\"", ",", ":", "\"", "[", "]", "{", "}",
        "\"2026-13-45T99:00:00Z\"", "\"mV\"", "\"uV\"", "\"kPa\"", "\"NaN\"", "\"Infinity\"", "12", "13", "2147483648", "\"../x\"",
        "\"a/b\"", "\"..\"", "\"\\u0000\"", " 99999999999", " -2147483648", "\"AtrialFibrillation\"", "\"onset\"", "\"high\"",
    ];

    private static readonly Func<Random, JsonNode?>[] Values =
    [
        _ => null,
        _ => new JsonArray(),
        _ => new JsonObject(),
        _ => JsonValue.Create(""),
        _ => JsonValue.Create("x"),
        r => JsonValue.Create(r.Next(-3, 14)),
        _ => JsonValue.Create(1.5),
        _ => JsonValue.Create(1e300),
        _ => JsonValue.Create(-1e-300),
        _ => JsonValue.Create(long.MaxValue),
        _ => JsonValue.Create(true),
        _ => JsonValue.Create("../../escape"),
        _ => JsonValue.Create("a/b\\c"),
        _ => JsonValue.Create(".."),
        _ => JsonValue.Create("1 2 3 x"),
        _ => JsonValue.Create("2147483648 1"),
        _ => JsonValue.Create(" "),
        _ => new JsonArray(null, JsonValue.Create(1)),
    ];

    [Fact]
    public void Mutated_alerts_are_watched_or_rejected_without_crashing()
    {
        string[] seeds = [SeedAlert(2, 500), SeedAlert(1, 3), "{\"id\":\"a\"}"];
        string saveDir = Path.Combine(Path.GetTempPath(), "ecgedge-watch-save");
        int accepted = 0;
        int executed = Mutator.Check(seed: 42, count: 20000,
            (rng, i) => Mutate(seeds[rng.Next(seeds.Length)], rng, i),
            text =>
            {
                if (!AlertWatcher.TryParseAlert(text, out var alert, out var id)) return;
                accepted++;
                _ = WatchVerb.Format(alert);
                string file = Path.Combine(saveDir, WatchVerb.SaveFileName(id));
                Assert.Equal(saveDir, Path.GetDirectoryName(Path.GetFullPath(file)));
            },
            _ => false, text => text);
        Assert.True(executed >= 20000);
        Assert.InRange(accepted, 100, executed - 1);
    }

    [Fact]
    public void Mutated_alert_files_load_and_render_or_fail_with_a_StripFormatException()
    {
        using var dir = new TempDirectory();
        string[] seeds = [SeedAlert(2, 500), SeedAlert(12, 40), SeedAlert(1, 1)];
        string path = dir.File("alert.json");
        int renders = 0;
        int executed = Mutator.Check(seed: 7, count: 8000,
            (rng, i) => Mutate(seeds[rng.Next(seeds.Length)], rng, i),
            text =>
            {
                File.WriteAllText(path, text);
                Alert alert = StripVerb.LoadAlert(path);
                StripRenderer.Parse(alert.Strip);
                if (renders++ < MaxRenders) StripRenderer.RenderPng(alert);
            },
            e => e is StripFormatException, text => text);
        Assert.True(executed >= 8000);
    }

    // ---- regressions for crashes found by the fuzzer ----

    [Theory]
    [InlineData("true")] // was InvalidOperationException from TryGetProperty on a non-object
    [InlineData("[]")]
    [InlineData("\"a\"")]
    [InlineData("{\"id\": 5}")]
    [InlineData("{")]
    public void A_payload_that_is_not_an_object_with_a_string_id_is_malformed(string payload)
    {
        Assert.False(AlertWatcher.TryParseAlert(payload, out _, out _));
    }

    [Theory]
    [InlineData("{\"id\":\"a\",\"onset\":true}", "-")] // was InvalidOperationException
    [InlineData("{\"id\":\"a\",\"onset\":{\"utc\":5}}", "-")] // was InvalidOperationException from GetString
    [InlineData("{\"id\":\"a\",\"onset\":{\"utc\":\"t\"}}", "t")]
    [InlineData("{\"id\":\"a\",\"durationS\":1e400}", "-")]
    public void Format_accepts_any_alert_object(string payload, string onset)
    {
        Assert.True(AlertWatcher.TryParseAlert(payload, out var alert, out _));
        Assert.StartsWith(onset + " ", WatchVerb.Format(alert), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../../etc/cron.d/x")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("")]
    [InlineData("a\0b")]
    public void An_alert_id_cannot_name_a_file_outside_the_save_folder(string id)
    {
        // Was: Path.Combine(saveDir, id + ".json"), so an id from the network chose where the alert was written.
        string dir = Path.Combine(Path.GetTempPath(), "save");
        string name = WatchVerb.SaveFileName(id);
        Assert.Equal(dir, Path.GetDirectoryName(Path.GetFullPath(Path.Combine(dir, name))));
        Assert.EndsWith(".json", name, StringComparison.Ordinal);
        Assert.DoesNotContain('/', name);
        Assert.False(name.StartsWith('.'));
    }

    private static string Mutate(string seed, Random rng, int i) => (i % 3) switch
    {
        0 => Mutator.MutateText(seed, rng, JsonTokens),
        1 => Mutator.MutateJson(seed, rng, Values, mayReplaceRoot: true, mayRemoveArrayItems: false, maxArrayDescend: 50),
        _ => Encoding.UTF8.GetString(Mutator.MutateBytes(Encoding.UTF8.GetBytes(seed), rng)),
    };

    /// <summary>A serialized alert with a strip of <paramref name="leads"/> leads and <paramref name="frames"/> samples each.</summary>
    private static string SeedAlert(int leads, int frames)
    {
        var rng = new Random(leads * 1000 + frames);
        var data = new StringBuilder();
        for (int i = 0; i < leads * frames; i++)
        {
            if (i > 0) data.Append(' ');
            data.Append(rng.Next(-400, 400).ToString(CultureInfo.InvariantCulture));
        }

        string[] names = ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6", "III", "aVR", "aVL", "aVF"];
        var origin = new DateTimeOffset(2026, 3, 14, 9, 26, 50, 0, TimeSpan.Zero);
        var strip = new Strip(new TimePoint(origin, 1000), 4, 0.005, "mV", names[..leads], leads, 1.0, data.ToString());
        var alert = new Alert(Alert.SchemaId, "a-7f3c", "wear-0042", AlertType.AtrialFibrillation, AlertPhase.Onset, AlertSeverity.High, "ep-19",
            new TimePoint(origin.AddSeconds(1), 1500), new TimePoint(origin.AddSeconds(2), 2000), 30, 118, 0.93, "ecg-rhythm 1.4.0",
            new Dictionary<string, string> { ["II"] = "ok" }, "AF for 30 s", strip);
        return JsonSerializer.Serialize(alert, MessageJsonContext.Default.Alert);
    }
}
