using System.Collections.Concurrent;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EcgEdge.Evaluation;
using EcgEdge.Inference.Execution;
using EcgEdge.Inference.Model;
using EcgEdge.Pipeline;
using EcgEdge.Wfdb;
using Microsoft.Extensions.Options;

namespace EcgEdge.Verbs;

/// <summary>
/// <c>ecgedge pwave --db DIR --annotator q1c|ludb</c>: validates the device's per-beat P-wave detection (the atrial
/// analysis the rhythm decision reads) against reference waveform marks (<see cref="PWaveScoring"/>). <c>q1c</c>: the QT
/// Database's first annotator, on the lead the device analyses (II, else the record's first signal). <c>ludb</c>: LUDB's
/// per-lead marks, every one of the 12 leads replayed alone as the analysed lead. Prints found / missed / false P waves
/// and the peak and onset errors per lead; <c>--json FILE</c> keeps them.
/// </summary>
public static class PWaveVerb
{
    private static readonly string[] LudbLeads = ["i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6"];

    /// <summary>pwave's options.</summary>
    private sealed class Options
    {
        public Option<string> Db { get; } = VerbOptions.Db("a folder of WFDB records with reference P-wave marks");
        public Option<string> Annotator { get; } = new("--annotator")
        {
            Description = "the reference marks: q1c (QT Database, first annotator) or ludb (LUDB, per lead, all 12 leads)",
            HelpName = "q1c|ludb",
            DefaultValueFactory = _ => "q1c",
        };
        public Option<string?> Records { get; } = VerbOptions.Records();
        public Option<double> Mains { get; } = VerbOptions.RecordingMains();
        public Option<string?> Json { get; } = VerbOptions.JsonFile();
        public Option<int> Jobs { get; } = VerbOptions.Jobs();
        public Option<string?> Model { get; } = VerbOptions.Model();
        public Option<bool> Quiet { get; } = VerbOptions.Quiet();

        public Options() => Annotator.AcceptOnlyFromAmong("q1c", "ludb");

        public Option[] All => [Db, Annotator, Records, Mains, Json, Jobs, Model, Quiet];
    }

    /// <summary><c>ecgedge pwave</c>'s command line.</summary>
    public static Command CreateCommand()
    {
        var o = new Options();
        var command = new Command("pwave",
            "validate the device's P-wave detection against reference marks: found, missed and false P waves, peak and onset " +
            "errors per lead");
        foreach (var option in o.All) command.Options.Add(option);
        command.SetVerbAction(p => RunAsync(p, o));
        return command;
    }

    /// <summary>Runs pwave with the command line <paramref name="args"/> (as <c>ecgedge pwave ARGS</c>).</summary>
    public static Task<int> RunAsync(string[] args) => Cli.RunAsync(CreateCommand(), args);

    private static async Task<int> RunAsync(ParseResult p, Options o)
    {
        var db = p.GetValue(o.Db)!;
        if (!Directory.Exists(db)) throw new UsageException($"--db '{db}' is not a directory");
        var annotator = p.GetValue(o.Annotator)!;
        List<string> overrides = [$"--Conditioning:MainsHz={VerbOptions.Invariant(p.GetValue(o.Mains))}"];
        if (p.GetValue(o.Model) is { } model) overrides.Add($"--Inference:Model={model}");
        PipelineSettings settings;
        InferenceOptions inference;
        try
        {
            var config = AppConfiguration.Build([.. overrides]);
            settings = AppConfiguration.BindPipeline(config);
            inference = AppConfiguration.BindInference(config);
        }
        catch (OptionsValidationException e)
        {
            throw new UsageException("invalid configuration: " + string.Join("; ", e.Failures));
        }
        var records = p.GetValue(o.Records) is { } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList()
            : WfdbRecordPath.ListRecords(db).Where(n => File.Exists(Path.Combine(db, n + (annotator == "ludb" ? ".ii" : ".q1c"))))
                .Distinct().Order(StringComparer.Ordinal).ToList();
        // One run per record (q1c) or per record and lead (ludb): (record, lead label, --leads spec or null, annotation file).
        var runs = new List<(string Record, string Lead, string? Spec, string Annotations)>();
        foreach (var rec in records)
        {
            var path = Path.Combine(db, rec);
            if (annotator == "q1c") runs.Add((rec, "device lead", null, path + ".q1c"));
            else
            {
                var header = WfdbHeader.Parse(WfdbRecordPath.ToHeaderPath(path));
                for (var s = 0; s < header.Signals.Count; s++)
                {
                    var label = (header.Signals[s].Description ?? "").Trim().ToLowerInvariant();
                    if (Array.IndexOf(LudbLeads, label) < 0 || !File.Exists(path + "." + label)) continue;
                    // this signal alone, as lead II (the analysed lead); the others not acquired
                    var spec = string.Join(",", Enumerable.Range(0, s + 1).Select(k => k == s ? "II" : "-"));
                    runs.Add((rec, label, spec, path + "." + label));
                }
            }
        }
        var jobs = Math.Max(1, p.GetValue(o.Jobs));
        var progress = new ProgressReporter(runs.Count, !Console.IsErrorRedirected && !p.GetValue(o.Quiet));
        var tallies = new ConcurrentDictionary<string, PWaveTally>();
        var errors = new ConcurrentBag<string>();
        // One model (ONNX session) per worker: a session's bound buffers serve one run at a time.
        var models = new ConcurrentBag<EcgNatModel>();
        try
        {
            await Parallel.ForEachAsync(runs, new ParallelOptions { MaxDegreeOfParallelism = jobs }, async (r, ct) =>
            {
                if (!models.TryTake(out var m)) m = ModelLoader.Load(inference.Model, inference);
                try
                {
                    var run = await RecordRunner.RunAsync(Path.Combine(db, r.Record), r.Spec, settings, inference, progress, ct,
                        atrial: true, sharedModel: m).ConfigureAwait(false);
                    var reference = AnnotationReader.Read(r.Annotations);
                    var t = PWaveScoring.Score(reference, run.Atrial, run.RecordRateHz);
                    var pooled = tallies.GetOrAdd(r.Lead, _ => new PWaveTally());
                    lock (pooled) pooled.Add(t);
                }
                catch (Exception e) when (e is WfdbFormatException or IOException or ArgumentException)
                {
                    errors.Add($"{r.Record} ({r.Lead}): {e.Message}");
                }
                finally
                {
                    models.Add(m);
                }
                progress.Done(r.Record);
            }).ConfigureAwait(false);
        }
        finally
        {
            foreach (var m in models) m.Dispose();
        }
        progress.Finish();
        var order = annotator == "ludb" ? LudbLeads.Where(tallies.ContainsKey).ToList() : [.. tallies.Keys];
        var all = new PWaveTally();
        foreach (var k in order) all.Add(tallies[k]);
        Console.WriteLine($"P-wave detection against {(annotator == "ludb" ? "LUDB's per-lead" : "the QT Database's q1c")} marks, {records.Count} records " +
            $"(found: peak within {PWaveScoring.ToleranceMs:F0} ms of the reference peak)");
        Console.WriteLine($"{"lead",-12} {"beats",6} {"matched",7} {"ref P",6} {"found",6} {"missed",6} {"false",6} {"Se %",6} {"+P %",6} {"peak err ms",14} {"onset err ms",14} {"|peak| med",10}");
        foreach (var (k, t) in order.Select(k => (k, tallies[k])).Append(("all", all)))
            Console.WriteLine(Row(k, t));
        foreach (var e in errors.Order(StringComparer.Ordinal)) Console.Error.WriteLine($"ecgedge pwave: {e}");
        if (p.GetValue(o.Json) is { } json)
        {
            var rows = order.Select(k => (k, tallies[k])).Append(("all", all)).Select(x => Json(x.Item1, x.Item2)).ToList();
            var dir = Path.GetDirectoryName(Path.GetFullPath(json));
            if (dir is not null) Directory.CreateDirectory(dir);
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(rows, PWaveJsonContext.Default.ListDictionaryStringObject)).ConfigureAwait(false);
        }
        return errors.IsEmpty ? 0 : 1;
    }

    private static (double Mean, double Sd, double MedianAbs) Stats(List<double> x)
    {
        if (x.Count == 0) return (double.NaN, double.NaN, double.NaN);
        var mean = x.Average();
        var sd = Math.Sqrt(x.Sum(v => (v - mean) * (v - mean)) / Math.Max(1, x.Count - 1));
        var abs = x.Select(Math.Abs).Order().ToList();
        return (mean, sd, abs[abs.Count / 2]);
    }

    private static string Row(string lead, PWaveTally t)
    {
        var p = Stats(t.PeakErrorMs);
        var o = Stats(t.OnsetErrorMs);
        return string.Create(CultureInfo.InvariantCulture,
            $"{lead,-12} {t.ReferenceBeats,6} {t.MatchedBeats,7} {t.ReferenceP,6} {t.Found,6} {t.Missed,6} {t.False,6} {t.Se,6:F1} {t.Ppv,6:F1} {p.Mean,6:F1} ± {p.Sd,5:F1} {o.Mean,6:F1} ± {o.Sd,5:F1} {p.MedianAbs,10:F1}");
    }

    private static Dictionary<string, object> Json(string lead, PWaveTally t)
    {
        var p = Stats(t.PeakErrorMs);
        var o = Stats(t.OnsetErrorMs);
        static object R(double v) => double.IsNaN(v) ? "nan" : Math.Round(v, 2);
        return new Dictionary<string, object>
        {
            ["lead"] = lead, ["reference_beats"] = t.ReferenceBeats, ["matched_beats"] = t.MatchedBeats, ["reference_p"] = t.ReferenceP,
            ["found"] = t.Found, ["missed"] = t.Missed, ["false"] = t.False, ["not_measurable"] = t.NotMeasurable,
            ["se"] = R(t.Se), ["ppv"] = R(t.Ppv), ["peak_error_ms_mean"] = R(p.Mean), ["peak_error_ms_sd"] = R(p.Sd),
            ["peak_error_ms_median_abs"] = R(p.MedianAbs), ["onset_error_ms_mean"] = R(o.Mean), ["onset_error_ms_sd"] = R(o.Sd),
        };
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(List<Dictionary<string, object>>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
[System.Text.Json.Serialization.JsonSerializable(typeof(int))]
[System.Text.Json.Serialization.JsonSerializable(typeof(double))]
internal sealed partial class PWaveJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
