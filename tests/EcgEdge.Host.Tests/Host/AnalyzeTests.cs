using System.Text.Json;
using EcgEdge.Inference.Model;
using EcgEdge.Verbs;

namespace EcgEdge.Tests.Host;

public class AnalyzeTests
{
    [SkippableFact]
    public async Task Analyze_summarises_records_without_annotations_in_the_documented_json_shape()
    {
        // PhysioNet/CinC 2021 records: 12-lead .mat + .hea, no beat annotations.
        var db = TestData.Require("cinc2021-sample");
        using var dir = new Wfdb.TempDirectory();
        var json = dir.File("analyze.json");
        Assert.Equal(0, await AnalyzeVerb.RunAsync(["--db", db, "--records", "E07500,E07501", "--json", json, "--quiet"]));
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var recs = doc.RootElement.GetProperty("records");
        Assert.Equal(2, recs.GetArrayLength());
        foreach (var r in recs.EnumerateArray())
        {
            Assert.Equal(10.0, r.GetProperty("duration_s").GetDouble(), 1);
            var beats = r.GetProperty("beats");
            var total = new[] { "N", "S", "V", "F", "Q" }.Sum(k => beats.GetProperty(k).GetInt64());
            Assert.InRange(total, 5, 30); // 10 s of a human heart
            var hr = r.GetProperty("hr");
            Assert.InRange(hr.GetProperty("min").GetDouble(), 30, hr.GetProperty("max").GetDouble());
            Assert.InRange(hr.GetProperty("mean").GetDouble(), 30, 220);
            Assert.Equal(JsonValueKind.Array, r.GetProperty("episodes").ValueKind);
            foreach (var k in new[] { "af", "veb", "sveb", "noise" }) Assert.InRange(r.GetProperty("burden").GetProperty(k).GetDouble(), 0, 100);
        }
    }

    [SkippableFact]
    public async Task Analyze_finds_the_af_of_mit_bih_201_where_the_reference_has_it()
    {
        var db = TestData.Require("mitdb");
        using var dir = new Wfdb.TempDirectory();
        var json = dir.File("analyze.json");
        Assert.Equal(0, await AnalyzeVerb.RunAsync(["--db", db, "--records", "201", "--mains", "60", "--json", json, "--quiet"]));
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var r = doc.RootElement.GetProperty("records")[0];
        // Reference (201.atr): AF/flutter for 606 s of 1806 s = 33.6 %. The shipped model was trained on 201, so this
        // checks the plumbing (episodes in record seconds, burden arithmetic), not the model's generalisation.
        Assert.InRange(r.GetProperty("burden").GetProperty("af").GetDouble(), 25, 45);
        var af = r.GetProperty("episodes").EnumerateArray().Where(e => e.GetProperty("type").GetString() == "af_afl").ToList();
        Assert.NotEmpty(af);
        Assert.All(af, e => Assert.True(e.GetProperty("offset_s").GetDouble() > e.GetProperty("onset_s").GetDouble()));
    }

    [Fact]
    public async Task Analyze_binds_and_validates_the_alarm_settings_like_eval()
    {
        using var dir = new Wfdb.TempDirectory();
        // a cross-field rule of the Events section: refused before any model or record is read
        var e = await Assert.ThrowsAsync<UsageException>(() => AnalyzeVerb.RunAsync(["--db", dir.Path, "--Events:BradyHighBpm=50"]));
        Assert.Contains("BradyHighBpm must be below BradyBpm", e.Message, StringComparison.Ordinal);
        // a value out of its range, likewise
        e = await Assert.ThrowsAsync<UsageException>(() => AnalyzeVerb.RunAsync(["--db", dir.Path, "--Events:PauseS=-1"]));
        Assert.Contains("PauseS", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Analyze_refuses_a_tampered_model_before_reading_records()
    {
        using var f = new Inference.ModelFiles();
        var bytes = File.ReadAllBytes(f.Int8);
        bytes[100] ^= 0x10;
        f.ReplaceInt8(bytes, updateManifest: false);
        using var dir = new Wfdb.TempDirectory();
        var e = await Assert.ThrowsAsync<ModelLoadException>(() => AnalyzeVerb.RunAsync(["--db", dir.Path, "--model", f.Manifest]));
        Assert.Equal(ModelLoadFailure.HashMismatch, e.Failure);
    }

    [Fact]
    public async Task Model_info_prints_the_manifest_providers_and_a_timing()
    {
        var old = Console.Out;
        using var w = new StringWriter();
        Console.SetOut(w);
        try { Assert.Equal(0, await ModelVerb.RunAsync(["info", Path.Combine(TestData.RepoRoot, "models", "ecg-nat-fp32.onnx"), "--runs", "3"])); }
        finally { Console.SetOut(old); }
        var text = w.ToString();
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(TestData.RepoRoot, "models", "ecg-nat-fp32.onnx"))));
        Assert.Contains(sha + " (verified against the manifest)", text);
        Assert.Contains("CPUExecutionProvider", text);
        Assert.Contains("n=3 mean=", text);
    }

    [Fact]
    public async Task Headers_with_a_zero_checksum_and_a_wrong_initial_value_are_read_with_a_warning_as_wfdb_reads_them()
    {
        // The PhysioNet/CinC 2017 headers carry a checksum field of 0 (and some a wrong initial value): MIT-BIH 201's signal
        // under such a header.
        using var dir = new Wfdb.TempDirectory();
        var bundled = Path.Combine(TestData.RepoRoot, "src", "EcgEdge", "Resources", "mitdb", "201");
        File.Copy(bundled + ".dat", dir.File("A00201.dat"));
        File.WriteAllText(dir.File("A00201.hea"), "A00201 2 360 650000\nA00201.dat 212 200 11 1024 0 0 0 MLII\nA00201.dat 212 200 11 1024 982 0 0 V1\n");
        var settings = AppConfiguration.BindPipeline(AppConfiguration.Build(["--Conditioning:MainsHz=60"]));
        var run = await EcgEdge.Evaluation.RecordRunner.RunAsync(dir.File("A00201"), null, settings, null, null, CancellationToken.None);
        Assert.True(run.Beats.Length > 1500); // read to the end
        Assert.Equal(3, run.Warnings.Count);  // signal 0's initial value, both checksums
        Assert.All(run.Warnings, w => Assert.Contains("A00201.dat", w, StringComparison.Ordinal));
        Assert.Equal(0, await AnalyzeVerb.RunAsync(["--db", dir.Path, "--mains", "60", "--quiet"]));
    }
}
