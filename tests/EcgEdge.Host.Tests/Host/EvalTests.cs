using System.Text.Json;
using EcgEdge.Evaluation;
using EcgEdge.Verbs;
using EcgEdge.Wfdb;

namespace EcgEdge.Tests.Host;

public class EvalTests
{
    [SkippableFact]
    public async Task Eval_scores_real_records_and_writes_the_stable_json_and_wfdb_annotations()
    {
        var db = TestData.Require("mitdb");
        using var dir = new Wfdb.TempDirectory();
        var json = dir.File("eval.json");
        var annDir = dir.File("ann");
        var code = await EvalVerb.RunAsync(["--db", db, "--records", "101,208", "--json", json, "--annotations-out", annDir, "--mains", "60", "--quiet"]);
        Assert.Equal(0, code);

        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var records = doc.RootElement.GetProperty("records");
        Assert.Equal(2, records.GetArrayLength());
        long tp = 0, fn = 0, fp = 0;
        foreach (var r in records.EnumerateArray())
        {
            var q = r.GetProperty("qrs");
            tp += q.GetProperty("tp").GetInt64(); fn += q.GetProperty("fn").GetInt64(); fp += q.GetProperty("fp").GetInt64();
            Assert.True(q.GetProperty("se").GetDouble() > 99.0);
            Assert.True(q.GetProperty("ppv").GetDouble() > 99.0);
        }
        var gross = doc.RootElement.GetProperty("gross").GetProperty("qrs");
        Assert.Equal(tp, gross.GetProperty("tp").GetInt64());
        Assert.Equal(fn, gross.GetProperty("fn").GetInt64());
        Assert.Equal(fp, gross.GetProperty("fp").GetInt64());
        Assert.Equal(Math.Round(100.0 * tp / (tp + fn), 3), gross.GetProperty("se").GetDouble(), 6);
        // The model block names the exact model: its label carries the manifest's hash, and the key that signed it.
        var model = doc.RootElement.GetProperty("model");
        var manifest = Path.Combine(TestData.RepoRoot, "models", "ecg-nat.manifest.json");
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(manifest)));
        Assert.Equal($"ecg-nat {model.GetProperty("version").GetString()}+sha256:{hash[..12]} (ecg-nat-int8.onnx)", model.GetProperty("label").GetString());
        Assert.Equal(hash, model.GetProperty("manifest_sha256").GetString());
        Assert.Equal(EcgEdge.Inference.Model.ModelTrust.PublishedTestKeyId, model.GetProperty("signed_by").GetString());

        // The written annotations are standard WFDB files; re-scoring them with the same scorer gives the same figures.
        // With the model, beats carry its class (N, A, V, F, Q) and rhythm changes are '+' annotations with AUX strings.
        var ours = AnnotationReader.Read(Path.Combine(annDir, "101.ecgedge"));
        Assert.All(ours, a => Assert.Contains(a.Code, new[] { AnnotationCode.Normal, AnnotationCode.Apc, AnnotationCode.Pvc,
            AnnotationCode.Fusion, AnnotationCode.Unknown, AnnotationCode.Rhythm }));
        Assert.Contains(ours, a => a.Code == AnnotationCode.Rhythm && a.Sample == 0 && a.Aux is "(N" or "(AFIB" or "(NOISE" or "(VT");
        var reference = AnnotationReader.Read(Path.Combine(db, "101.atr"));
        var again = Ec57.ScoreQrs(reference, ours.Where(a => a.IsBeat).Select(a => a.Sample).ToArray(), 360, new Ec57Settings());
        var first = records[0].GetProperty("qrs");
        Assert.Equal(first.GetProperty("tp").GetInt64(), again.Tp);
        Assert.Equal(first.GetProperty("fp").GetInt64(), again.Fp);
        // Reference beats of 101 from 5 min: the scorer saw all of them.
        var refBeats = reference.Count(a => a.IsBeat && a.Sample >= 300 * 360);
        Assert.Equal(refBeats, again.Tp + again.Fn);
    }

    [SkippableFact]
    public async Task Eval_reports_a_corrupt_record_as_an_error_and_scores_the_rest()
    {
        var db = TestData.Require("mitdb");
        using var dir = new Wfdb.TempDirectory();
        foreach (var rec in new[] { "101", "118" })
            foreach (var ext in new[] { "hea", "dat", "atr" })
                File.Copy(Path.Combine(db, $"{rec}.{ext}"), dir.File($"{rec}.{ext}"));
        using (var f = File.OpenWrite(dir.File("118.dat"))) f.SetLength(1000);
        var code = await EvalVerb.RunAsync(["--db", dir.Path, "--json", dir.File("e.json"), "--quiet"]);
        Assert.Equal(1, code);
        using var doc = JsonDocument.Parse(File.ReadAllText(dir.File("e.json")));
        Assert.Equal("101", doc.RootElement.GetProperty("records")[0].GetProperty("record").GetString());
        Assert.Equal(1, doc.RootElement.GetProperty("records").GetArrayLength());
    }

    [Fact]
    public async Task Bad_usage_is_a_usage_error()
    {
        await Assert.ThrowsAsync<UsageException>(() => EvalVerb.RunAsync([]));
        await Assert.ThrowsAsync<UsageException>(() => EvalVerb.RunAsync(["--db", "/nonexistent-dir"]));
        await Assert.ThrowsAsync<UsageException>(() => EvalVerb.RunAsync(["--db", ".", "--bogus", "1"]));
        await Assert.ThrowsAsync<UsageException>(() => EvalVerb.RunAsync(["--db", ".", "--mains", "55"]));
        await Assert.ThrowsAsync<UsageException>(() => EvalVerb.RunAsync(["--db", ".", "--source", "ads1298"]));
        await Assert.ThrowsAsync<UsageException>(() => EvalVerb.RunAsync(["--db", ".", "--Conditioning:LowPassHz=400"]));
        // the alarm settings eval scores with are the configured ones, validated like run's (not silently the defaults)
        var e = await Assert.ThrowsAsync<UsageException>(() => EvalVerb.RunAsync(["--db", ".", "--Events:BradyHighBpm=50"]));
        Assert.Contains("BradyHighBpm must be below BradyBpm", e.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_rhythm_only_reference_gets_episode_and_alarm_scores_and_no_beat_score()
    {
        // MIT-BIH 207 (ventricular flutter, VT) with its beat labels removed: as a malignant-arrhythmia database ships.
        var db = TestData.Require("mitdb");
        using var dir = new Wfdb.TempDirectory();
        foreach (var ext in new[] { ".hea", ".dat" }) File.Copy(Path.Combine(db, "207" + ext), dir.File("207" + ext));
        var rhythm = AnnotationReader.Read(Path.Combine(db, "207.atr")).Where(a => a.Code == AnnotationCode.Rhythm).ToList();
        AnnotationWriter.Write(dir.File("207.atr"), rhythm);
        var json = dir.File("eval.json");
        Assert.Equal(0, await EvalVerb.RunAsync(["--db", dir.Path, "--json", json, "--mains", "60", "--quiet"]));
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var r = doc.RootElement.GetProperty("records")[0];
        Assert.Equal(JsonValueKind.Null, r.GetProperty("qrs").ValueKind); // no beat is scored
        var vf = doc.RootElement.GetProperty("gross").GetProperty("episodes").GetProperty("vf");
        Assert.True(vf.GetProperty("reference_episodes").GetInt32() >= 1);  // 207's ventricular flutter
        foreach (var k in new[] { "detected", "se", "se_min10s", "ppv", "dur_se", "dur_ppv" }) Assert.True(vf.TryGetProperty(k, out _), k);
        var alarms = doc.RootElement.GetProperty("gross").GetProperty("alarms");
        foreach (var t in new[] { "VentricularTachycardia", "VentricularFibrillation", "AtrialFibrillation" })
            foreach (var k in new[] { "count", "false", "false_per_hour", "latency_median_s", "latency_max_s" })
                Assert.True(alarms.GetProperty(t).TryGetProperty(k, out _), $"{t}.{k}");
    }
}
