using System.Collections.Concurrent;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using EcgEdge.Evaluation;
using EcgEdge.Inference;
using EcgEdge.Inference.Execution;
using EcgEdge.Inference.Model;
using EcgEdge.Inference.Rhythm;
using EcgEdge.Pipeline;
using EcgEdge.Wfdb;
using Microsoft.Extensions.Options;

namespace EcgEdge.Verbs;

/// <summary>
/// <c>ecgedge analyze</c>: a Holter-style summary of every record of a WFDB folder from the device pipeline with the
/// model — no reference annotations needed. Per record: duration analysed, beats per AAMI class, heart rate
/// (min/mean/max), rhythm episodes, AF/VEB/SVEB/noise burden.
/// </summary>
public static class AnalyzeVerb
{
    /// <summary>analyze's options.</summary>
    private sealed class Options
    {
        public Option<string> Db { get; } = VerbOptions.Db();
        public Option<string?> Records { get; } = VerbOptions.Records();
        public Option<string?> Json { get; } = VerbOptions.JsonFile();
        public Option<string?> Model { get; } = VerbOptions.Model();
        public Option<string?> Variant { get; } = VerbOptions.Variant();
        public Option<double?> From { get; } = VerbOptions.From("analyse from this many seconds into each record");
        public Option<double?> To { get; } = VerbOptions.To("analyse up to this many seconds into each record");
        public Option<string?> AnnotationsOut { get; } = VerbOptions.AnnotationsOut(
            "write WFDB beat and rhythm annotations (RECORD.ecgedge) for rdann, bxb and epicmp");
        public Option<double> Mains { get; } = VerbOptions.RecordingMains();
        public Option<double?> Rate { get; } = VerbOptions.Rate();
        public Option<string?> Leads { get; } = VerbOptions.Leads();
        public Option<int> Jobs { get; } = VerbOptions.Jobs();
        public Option<string?> RhythmFeatures { get; } = new("--rhythm-features")
        { Description = "developer output: the rhythm evidence of every window as CSV (tools/train/rhythm)", HelpName = "FILE" };
        public Option<string?> BeatFeatures { get; } = new("--beat-features")
        { Description = "developer output: the evidence of every beat as CSV (tools/train/beats)", HelpName = "FILE" };
        public Option<bool> Quiet { get; } = VerbOptions.Quiet();

        public Option[] All => [Db, Records, Json, Model, Variant, From, To, AnnotationsOut, Mains, Rate, Leads, Jobs, RhythmFeatures, BeatFeatures, Quiet];
    }

    /// <summary>Seconds over which the heart rate is averaged for its minimum and maximum (Holter convention: short averages, not single RR).</summary>
    public const double HeartRateAverageSeconds = EcgEdge.Reports.HolterAnalysis.HeartRateAverageSeconds;

    /// <summary><c>ecgedge analyze</c>'s command line.</summary>
    public static Command CreateCommand()
    {
        var o = new Options();
        var command = new Command("analyze",
            "a Holter-style summary per record, no reference annotations needed: beats per AAMI class, heart rate, rhythm " +
            "episodes, AF/VEB/SVEB/noise burden. Any --Section:Key=value sets a configuration key.");
        foreach (var option in o.All) command.Options.Add(option);
        command.SetConfigurableAction((p, configuration) => RunAsync(p, o, configuration));
        return command;
    }

    /// <summary>Runs analyze with the command line <paramref name="args"/> (as <c>ecgedge analyze ARGS</c>).</summary>
    public static Task<int> RunAsync(string[] args) => Cli.RunAsync(CreateCommand(), args);

    private static async Task<int> RunAsync(ParseResult p, Options o, string[] configArgs)
    {
        var db = p.GetValue(o.Db)!;
        if (!Directory.Exists(db)) throw new UsageException($"--db '{db}' is not a directory");
        var overrides = AppConfiguration.RecordingOverrides(configArgs, p.GetValue(o.Mains), p.GetValue(o.Rate), p.GetValue(o.Model), p.GetValue(o.Variant));
        PipelineSettings settings;
        InferenceOptions inference;
        try
        {
            var config = AppConfiguration.Build([.. overrides]);
            settings = AppConfiguration.BindPipeline(config);
            inference = AppConfiguration.BindInference(config);
            // The summary raises no alarms, but the configuration is the device's: alarm settings that run and eval would
            // refuse (--Events:... on the command line, the file, the environment) are refused here too, not ignored.
            AppConfiguration.BindEvents(config);
        }
        catch (OptionsValidationException e)
        {
            throw new UsageException("invalid configuration: " + string.Join("; ", e.Failures));
        }
        if (!inference.Enabled) throw new UsageException("analyze needs the model (Inference:Enabled=true)");
        TrainingMembership membership;
        using (var probe = ModelLoader.Load(inference.Model, inference)) // refuse a bad model before reading any record
            membership = new TrainingMembership(probe.Manifest);

        var segment = ReportVerb.Segment(p.GetValue(o.From), p.GetValue(o.To), loopHours: null);
        var annotationsOut = p.GetValue(o.AnnotationsOut);
        var records = p.GetValue(o.Records) is { } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList()
            : WfdbRecordPath.ListRecords(db).Where(n => File.Exists(WfdbRecordPath.ToHeaderPath(Path.Combine(db, n))))
                .Distinct().Order(StringComparer.Ordinal).ToList();
        var jobs = p.GetValue(o.Jobs);
        var leads = p.GetValue(o.Leads);
        var progress = new ProgressReporter(records.Count, !Console.IsErrorRedirected && !p.GetValue(o.Quiet));
        var results = new ConcurrentDictionary<string, RecordSummary>();
        var evidence = new ConcurrentDictionary<string, RecordRun>();
        var warnings = new ConcurrentDictionary<string, IReadOnlyList<string>>();
        var featuresPath = p.GetValue(o.RhythmFeatures);
        var beatFeaturesPath = p.GetValue(o.BeatFeatures);
        var errors = new ConcurrentDictionary<string, string>();
        await Parallel.ForEachAsync(records, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, jobs) }, async (rec, ct) =>
        {
            try
            {
                var run = await RecordRunner.RunAsync(Path.Combine(db, rec), leads, settings, inference, progress, ct, segment: segment)
                    .ConfigureAwait(false);
                if (annotationsOut is not null) AnnotationExport.Write(annotationsOut, run);
                results[rec] = Summarise(run) with { InTraining = membership.PartsTrainedOn(run.Signature) };
                if (run.Warnings.Count > 0) warnings[rec] = run.Warnings;
                if (featuresPath is not null || beatFeaturesPath is not null) evidence[rec] = run;
            }
            catch (Exception e) when (e is WfdbFormatException or IOException or ArgumentException)
            {
                errors[rec] = e.Message;
            }
            progress.Done(rec);
        }).ConfigureAwait(false);
        progress.Finish();

        var ordered = records.Where(results.ContainsKey).Select(r => results[r]).ToList();
        Print(Console.Out, ordered);
        Console.Out.WriteLine(membership.Summary(ordered.Select(r => r.InTraining).ToList()));
        foreach (var (rec, found) in warnings.OrderBy(e => e.Key, StringComparer.Ordinal))
            foreach (var warning in found) Console.Error.WriteLine($"ecgedge: record {rec}: warning (read anyway, as WFDB reads it): {warning}");
        foreach (var (rec, msg) in errors.OrderBy(e => e.Key, StringComparer.Ordinal))
            Console.Error.WriteLine($"ecgedge: record {rec}: {msg}");
        if (p.GetValue(o.Json) is { } jsonPath)
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(jsonPath));
            if (dir is not null) Directory.CreateDirectory(dir);
            await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(new AnalyzeReport(ordered), AnalyzeJsonContext.Default.AnalyzeReport)).ConfigureAwait(false);
        }
        if (featuresPath is not null) WriteRhythmFeatures(featuresPath, records.Where(evidence.ContainsKey).Select(r => (r, evidence[r])));
        if (beatFeaturesPath is not null) WriteBeatFeatures(beatFeaturesPath, records.Where(evidence.ContainsKey).Select(r => (r, evidence[r])));
        if (ordered.Count == 0)
        {
            Console.Error.WriteLine($"ecgedge: no record in '{db}' could be analysed");
            return 1;
        }
        return errors.IsEmpty ? 0 : 1;
    }

    /// <summary>
    /// Developer output (<c>--rhythm-features FILE</c>): one CSV row per analysed window — record, window start and end in
    /// seconds, the stream's age, its <see cref="EcgEdge.Inference.Rhythm.RhythmFeatures"/> (the fusion's context, 30 s
    /// without one) and the same over 10 s (prefix s10_), the network's rhythm posteriors, the posteriors after fusion and
    /// the fusion's P(AF) — the input of tools/train's rhythm stage (fitting and leave-one-database-out validation).
    /// </summary>
    public static void WriteRhythmFeatures(string path, IEnumerable<(string Record, RecordRun Run)> runs)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        using var w = new StreamWriter(path);
        var inv = CultureInfo.InvariantCulture;
        var names = EcgEdge.Inference.Rhythm.RhythmFeatures.Names;
        w.WriteLine("record,from_s,to_s,stream_s," + string.Join(",", names) + "," + string.Join(",", names.Select(n => "s10_" + n))
            + ",net_sinus_other,net_af_afl,net_noise_p,net_vt_vf,p_sinus_other,p_af_afl,p_noise,p_vt_vf,fused_af");
        foreach (var (rec, run) in runs)
            foreach (var e in run.Evidence)
            {
                w.Write(rec);
                w.Write(string.Create(inv, $",{e.From / run.RecordRateHz:F3},{e.To / run.RecordRateHz:F3},{e.StreamSeconds:F3}"));
                foreach (var f in e.Features) w.Write(string.Create(inv, $",{f:G6}"));
                foreach (var f in e.ShortFeatures) w.Write(string.Create(inv, $",{f:G6}"));
                for (var k = 0; k < 4; k++) w.Write(string.Create(inv, $",{(k < e.NetworkProbabilities.Length ? e.NetworkProbabilities[k] : 0f):G6}"));
                for (var k = 0; k < 4; k++) w.Write(string.Create(inv, $",{(k < e.Probabilities.Length ? e.Probabilities[k] : 0f):G6}"));
                w.WriteLine(string.Create(inv, $",{(double.IsNaN(e.FusedAf) ? "" : e.FusedAf.ToString("G6", inv))}"));
            }
    }

    /// <summary>
    /// Developer output (<c>--beat-features FILE</c>): one CSV row per classified beat — record, R peak in record samples,
    /// its beat-decision inputs (<see cref="EcgEdge.Inference.Rhythm.BeatFusion.InputNames"/>: the patient-relative beat
    /// features and the network's posteriors) and the class it got — the input of tools/train's beat stage.
    /// </summary>
    public static void WriteBeatFeatures(string path, IEnumerable<(string Record, RecordRun Run)> runs)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        using var w = new StreamWriter(path);
        var inv = CultureInfo.InvariantCulture;
        w.WriteLine("record,sample," + string.Join(",", EcgEdge.Inference.Rhythm.BeatFusion.InputNames) + ",decided");
        foreach (var (rec, run) in runs)
            foreach (var (sample, inputs, decided) in run.BeatEvidence)
            {
                w.Write(rec);
                w.Write(string.Create(inv, $",{sample}"));
                foreach (var f in inputs) w.Write(string.Create(inv, $",{f:G6}"));
                w.WriteLine("," + ClassNames.Of(decided));
            }
    }

    /// <summary>The Holter summary of one pipeline run.</summary>
    public static RecordSummary Summarise(RecordRun run)
    {
        var fs = run.RecordRateHz;
        var classes = run.Classes ?? throw new ArgumentException("the run has no beat classes");
        var counts = new long[5];
        foreach (var c in classes) counts[(int)c]++;
        var total = Math.Max(1, classes.Length);

        // Heart rate: min and max of 10-s averages (≥ 3 beats, RR from consecutive detections; intervals in noise-decided
        // stretches are skipped), and the mean of those intervals.
        // One pass over the beats (they are sorted), so that a 24-hour recording costs no more than its beats.
        var noise = run.Rhythm.Where(r => r.Class == RhythmClass.Noise).Select(r => new Interval(r.From, r.To)).OrderBy(n => n.From).ToList();
        var rates = new List<double>();
        double rrSum = 0;
        long rrCount = 0;
        var binLen = (long)Math.Round(HeartRateAverageSeconds * fs);
        var binSum = new Dictionary<long, (double Sum, int Count)>();
        var open = new List<Interval>(); // noise intervals that started at or before the current beat
        var next = 0;
        for (var i = 1; i < run.Beats.Length; i++)
        {
            var t = run.Beats[i];
            if (t < 0 || t >= run.RecordLength + binLen - 1 - (run.RecordLength + binLen - 1) % binLen) continue; // the bins cover [0, RecordLength) rounded up
            while (next < noise.Count && noise[next].From <= t) open.Add(noise[next++]);
            open.RemoveAll(n => n.To <= t);
            if (open.Count > 0) continue;
            var bin = t / binLen;
            var (sum, count) = binSum.GetValueOrDefault(bin);
            binSum[bin] = (sum + (t - run.Beats[i - 1]) / fs, count + 1);
        }
        foreach (var (_, (sum, count)) in binSum.OrderBy(kv => kv.Key))
        {
            if (count < 2) continue;
            rates.Add(60.0 / (sum / count));
            rrSum += sum;
            rrCount += count;
        }
        // The mean of the same intervals the minimum and maximum are drawn from (a count-weighted mean of the bins), so that
        // min ≤ mean ≤ max always holds; a record shorter than one bin reports one rate three times.
        double? mean = rrCount > 0 ? 60.0 / (rrSum / rrCount) : null;

        var episodes = new List<Episode>();
        // Rhythm episodes and burdens with the AF episode logic (AfEpisodes), as eval scores AF; the noise skipped for
        // heart rate above is the decisions' own.
        var rhythm = AfEpisodes.Relabel(run.Rhythm, fs);
        foreach (var r in rhythm)
        {
            var type = ClassNames.Of(r.Class);
            if (episodes.Count > 0 && episodes[^1].Type == type && Math.Abs(episodes[^1].OffsetS * fs - r.From) < 1)
                episodes[^1] = episodes[^1] with { OffsetS = Math.Round(r.To / fs, 2) };
            else episodes.Add(new Episode(type, Math.Round(r.From / fs, 2), Math.Round(r.To / fs, 2)));
        }
        double Share(RhythmClass k) => run.DurationS <= 0 ? 0 : 100.0 * rhythm.Where(r => r.Class == k).Sum(r => (r.To - r.From) / fs) / run.DurationS;
        return new RecordSummary(
            run.Name, Math.Round(run.DurationS, 2), run.Leads,
            new BeatCounts(counts[0], counts[1], counts[2], counts[3], counts[4]),
            new HeartRate(rates.Count > 0 ? Math.Round(rates.Min(), 1) : null, mean is { } m ? Math.Round(m, 1) : null, rates.Count > 0 ? Math.Round(rates.Max(), 1) : null),
            episodes.Where(e => e.Type != ClassNames.Of(RhythmClass.SinusOther)).ToList(),
            new Burden(Math.Round(Share(RhythmClass.AfAfl), 2), Math.Round(100.0 * counts[(int)BeatClass.V] / total, 2),
                Math.Round(100.0 * counts[(int)BeatClass.S] / total, 2), Math.Round(Share(RhythmClass.Noise), 2)));
    }

    private static void Print(TextWriter w, List<RecordSummary> rows)
    {
        var inv = CultureInfo.InvariantCulture;
        w.WriteLine($"{"record",-12} {"dur s",8} {"N",6} {"S",5} {"V",5} {"F",4} {"Q",5} {"HR min",6} {"mean",5} {"max",5} {"AF %",6} {"VEB %",6} {"SVEB %",6} {"noise %",7} {"trained",-8} episodes");
        foreach (var r in rows)
        {
            var epi = string.Join(" ", r.Episodes.Take(4).Select(e => string.Create(inv, $"{e.Type}@{e.OnsetS:F0}-{e.OffsetS:F0}s")))
                + (r.Episodes.Count > 4 ? $" (+{r.Episodes.Count - 4})" : "");
            w.WriteLine(string.Create(inv, $"{r.Record,-12} {r.DurationS,8:F1} {r.Beats.N,6} {r.Beats.S,5} {r.Beats.V,5} {r.Beats.F,4} {r.Beats.Q,5} {F(r.Hr.Min),6} {F(r.Hr.Mean),5} {F(r.Hr.Max),5} {r.Burden.Af,6:F1} {r.Burden.Veb,6:F1} {r.Burden.Sveb,6:F1} {r.Burden.Noise,7:F1} {TrainingMembership.Cell(r.InTraining),-8} {epi}"));
        }
        static string F(double? x) => x is { } v ? v.ToString("F0", CultureInfo.InvariantCulture) : "-";
    }
}

public sealed record BeatCounts(
    [property: JsonPropertyName("N")] long N, [property: JsonPropertyName("S")] long S, [property: JsonPropertyName("V")] long V,
    [property: JsonPropertyName("F")] long F, [property: JsonPropertyName("Q")] long Q);

public sealed record HeartRate(double? Min, double? Mean, double? Max);

public sealed record Episode(string Type, double OnsetS, double OffsetS);

/// <summary>Burden in %: AF and noise of the analysed time, VEB and SVEB of all beats.</summary>
public sealed record Burden(double Af, double Veb, double Sveb, double Noise);

public sealed record RecordSummary(string Record, double DurationS, IReadOnlyList<string> Leads, BeatCounts Beats, HeartRate Hr,
    IReadOnlyList<Episode> Episodes, Burden Burden)
{
    /// <summary>The parts of the model fitted on this record (empty: none; null: the manifest does not say).</summary>
    public IReadOnlyList<string>? InTraining { get; init; }
}

/// <summary><c>{"records":[{"record":..,"duration_s":..,"beats":{..},"hr":{..},"episodes":[..],"burden":{..}}]}</c>.</summary>
public sealed record AnalyzeReport(IReadOnlyList<RecordSummary> Records);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(AnalyzeReport))]
public sealed partial class AnalyzeJsonContext : JsonSerializerContext;
