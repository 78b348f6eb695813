using System.Collections.Concurrent;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EcgEdge.Acquisition.Ads1298;
using EcgEdge.Acquisition.Replay;
using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Evaluation;
using EcgEdge.Events.Alerts;
using EcgEdge.Inference;
using EcgEdge.Inference.Execution;
using EcgEdge.Inference.Model;
using EcgEdge.Inference.Rhythm;
using EcgEdge.Pipeline;
using EcgEdge.Wfdb;
using Microsoft.Extensions.Options;

namespace EcgEdge.Verbs;

/// <summary>
/// <c>ecgedge eval</c>: replays each record of a WFDB folder at full speed through the device pipeline
/// (<see cref="EcgPipeline"/>, the same code as <c>run</c>) and scores the detected beats against the reference
/// annotations, EC57 style (<see cref="Ec57"/>): QRS detection, and with the model (default: the configured
/// Inference:Model, int8) VEB and SVEB beat by beat (<see cref="BeatConfusion"/>) and AF episodes and windows
/// (<see cref="RhythmScoring"/>).
/// </summary>
public static class EvalVerb
{
    /// <summary>eval's options.</summary>
    private sealed class Options
    {
        public Option<string> Db { get; } = VerbOptions.Db("a folder of WFDB records with reference annotations");
        public Option<string?> Records { get; } = VerbOptions.Records();
        public Option<string?> Leads { get; } = VerbOptions.Leads();
        public Option<string?> Json { get; } = VerbOptions.JsonFile();
        public Option<string?> AnnotationsOut { get; } = VerbOptions.AnnotationsOut("write the device's beats as WFDB annotation files (RECORD.ecgedge) for bxb/rdann");
        public Option<string> Annotator { get; } = new("--annotator") { Description = "the reference annotation files' extension", HelpName = "atr", DefaultValueFactory = _ => "atr" };
        public Option<double> From { get; } = new("--from") { Description = "score beats from this many seconds into each record (EC57: 300)", HelpName = "S", DefaultValueFactory = _ => 300 };
        public Option<double> Mains { get; } = VerbOptions.RecordingMains();
        public Option<double?> Rate { get; } = VerbOptions.Rate();
        public Option<int> Jobs { get; } = VerbOptions.Jobs();
        public Option<string?> Source { get; } = VerbOptions.Source("replay the recordings, or drive the ADS1298 emulator with them", "replay", "emulator");
        public Option<double?> AdsRate { get; } = new("--ads-rate") { Description = "the emulated ADS1298's data rate in samples per second (Ads1298:DataRateHz)", HelpName = "SPS" };
        public Option<string?> Model { get; } = VerbOptions.Model();
        public Option<string?> Variant { get; } = VerbOptions.Variant();
        public Option<bool> NoModel { get; } = VerbOptions.NoModel("score QRS detection only, without the model");
        public Option<bool> Quiet { get; } = VerbOptions.Quiet();

        public Option[] All => [Db, Records, Leads, Json, AnnotationsOut, Annotator, From, Mains, Rate, Jobs, Source, AdsRate, Model, Variant, NoModel, Quiet];
    }

    /// <summary><c>ecgedge eval</c>'s command line.</summary>
    public static Command CreateCommand()
    {
        var o = new Options();
        var command = new Command("eval",
            "score the pipeline's beats against a WFDB database's reference annotations (ANSI/AAMI EC57): QRS detection, and " +
            "with the model (default) VEB and SVEB beat by beat and AF (episodes, duration, windows). Any --Section:Key=value " +
            "sets a configuration key (e.g. --ads-rate 8000 --Ads1298:SpiClockHz=4096000).");
        foreach (var option in o.All) command.Options.Add(option);
        command.SetConfigurableAction((p, configuration) => RunAsync(p, o, configuration));
        return command;
    }

    /// <summary>Runs eval with the command line <paramref name="args"/> (as <c>ecgedge eval ARGS</c>).</summary>
    public static Task<int> RunAsync(string[] args) => Cli.RunAsync(CreateCommand(), args);

    private static async Task<int> RunAsync(ParseResult p, Options o, string[] configArgs)
    {
        var db = p.GetValue(o.Db)!;
        if (!Directory.Exists(db)) throw new UsageException($"--db '{db}' is not a directory");
        var annotator = p.GetValue(o.Annotator)!;
        var from = p.GetValue(o.From);
        if (from < 0) throw new UsageException("--from must be >= 0");
        var overrides = AppConfiguration.RecordingOverrides(configArgs, p.GetValue(o.Mains), p.GetValue(o.Rate), p.GetValue(o.Model), p.GetValue(o.Variant));
        if (p.GetValue(o.AdsRate) is { } adsRate) overrides.Add($"--Ads1298:DataRateHz={VerbOptions.Invariant(adsRate)}");
        if (p.GetValue(o.NoModel)) overrides.Add("--Inference:Enabled=false");
        var sourceKind = (p.GetValue(o.Source) ?? "replay").ToLowerInvariant() switch
        {
            "replay" => SourceKind.Replay,
            "emulator" => SourceKind.Emulator,
            var other => throw new UsageException($"--source '{other}': eval replays recordings ('replay') or drives the ADS1298 emulator with them ('emulator')"),
        };
        PipelineSettings settings;
        Ads1298Options ads;
        InferenceOptions inference;
        EventOptions events;
        try
        {
            var config = AppConfiguration.Build([.. overrides]);
            settings = AppConfiguration.BindPipeline(config);
            ads = AppConfiguration.BindAds1298(config);
            inference = AppConfiguration.BindInference(config);
            // The alarms eval scores are the configured ones (--Events:... on the command line, the file, the environment),
            // validated like run's: a changed threshold is never silently replaced by the default.
            events = AppConfiguration.BindEvents(config);
        }
        catch (OptionsValidationException e)
        {
            throw new UsageException("invalid configuration: " + string.Join("; ", e.Failures));
        }
        catch (Ads1298ConfigurationException e)
        {
            throw new UsageException("invalid configuration: " + e.Message);
        }

        var explicitRecords = p.GetValue(o.Records) is { } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList()
            : null;
        var records = explicitRecords ?? ListRecords(db);
        var jobs = p.GetValue(o.Jobs);
        var annOut = p.GetValue(o.AnnotationsOut);
        if (annOut is not null) Directory.CreateDirectory(annOut);
        var leads = p.GetValue(o.Leads);
        var interactive = !Console.IsErrorRedirected && !p.GetValue(o.Quiet);
        ModelJson? modelInfo = null;
        var membership = new TrainingMembership(null);
        if (inference.Enabled)
        {
            // Validate the model once up front (a refused model is a usage error, before any record is read).
            using var probe = ModelLoader.Load(inference.Model, inference);
            membership = new TrainingMembership(probe.Manifest);
            modelInfo = new ModelJson(probe.Manifest.Name, probe.Manifest.Version, Path.GetFileName(probe.ModelPath), probe.Sha256,
                probe.Selection.Provider.ToString(), 0, null, null, null, null,
                probe.VersionLabel, probe.ManifestSha256, probe.Signature.Verified ? probe.Signature.KeyId : null);
        }

        var results = new ConcurrentDictionary<string, RecordResult>();
        var errors = new ConcurrentDictionary<string, string>();
        var progress = new ProgressReporter(records.Count, interactive);
        await Parallel.ForEachAsync(records, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, jobs) }, async (rec, ct) =>
        {
            var annPath = WfdbRecordPath.AnnotationPath(db, rec, annotator);
            if (!File.Exists(annPath))
            {
                if (explicitRecords is not null) errors[rec] = $"no reference annotations '{annPath}'";
                progress.Done(rec);
                return;
            }
            try
            {
                results[rec] = await EvaluateRecordAsync(Path.Combine(db, rec), annPath, leads, settings, from, annOut, progress, ct,
                    sourceKind, ads, inference.Enabled ? inference : null, events).ConfigureAwait(false);
            }
            catch (Exception e) when (e is WfdbFormatException or IOException or ArgumentException or Ads1298Exception)
            {
                errors[rec] = e.Message;
            }
            progress.Done(rec);
        }).ConfigureAwait(false);
        progress.Finish();

        var ordered = records.Where(results.ContainsKey).Select(r => results[r]).ToList();
        var gross = ordered.Aggregate(default(DetectionCounts), (s, r) => s + r.Qrs);
        var grossEpisodes = new Dictionary<string, EpisodeTally>();
        var grossAlarms = new Dictionary<string, AlarmTally>();
        foreach (var r in ordered)
        {
            foreach (var (k, t) in r.Episodes)
            {
                if (!grossEpisodes.TryGetValue(k, out var g)) grossEpisodes[k] = g = new EpisodeTally { SampleRateHz = t.SampleRateHz };
                g.Add(t);
            }
            foreach (var (k, t) in r.Alarms)
            {
                if (!grossAlarms.TryGetValue(k, out var g)) grossAlarms[k] = g = new AlarmTally();
                g.Add(t);
            }
        }
        GrossReport grossReport;
        if (modelInfo is not null)
        {
            var classes = new BeatConfusion();
            var windows = new long[4, 4];
            var af = default(EpisodeCounts);
            var latencies = new List<double>();
            foreach (var r in ordered)
            {
                classes.Add(r.Model!.Beats);
                af += r.Model.Af;
                for (var i = 0; i < 4; i++) for (var j = 0; j < 4; j++) windows[i, j] += r.Model.Windows[i, j];
                latencies.AddRange(r.Model.LatenciesS);
            }
            var fs = ordered.Count > 0 ? ordered[0].Model!.RecordRateHz : 1;
            grossReport = new GrossReport(CountsJson.From(gross), CountsJson.From(classes.Veb), CountsJson.From(classes.Sveb),
                AfJson.From(af, AfWindowCounts(windows), fs), BeatConfusionJson.From(classes), WindowRhythmJson(windows));
            latencies.Sort();
            double? Q(double q) => latencies.Count == 0 ? null : Math.Round(latencies[(int)Math.Min(latencies.Count - 1, Math.Floor(q * latencies.Count))] * 1e3, 3);
            modelInfo = modelInfo with
            {
                Windows = latencies.Count,
                LatencyMsMean = latencies.Count == 0 ? null : Math.Round(latencies.Average() * 1e3, 3),
                LatencyMsP50 = Q(0.5), LatencyMsP99 = Q(0.99), LatencyMsMax = Q(1.0),
            };
            PrintModelTable(Console.Out, ordered, classes, af, windows, modelInfo, membership);
        }
        else grossReport = new GrossReport(CountsJson.From(gross));
        grossReport = grossReport with
        {
            Episodes = grossEpisodes.ToDictionary(kv => kv.Key, kv => EpisodeJson.From(kv.Value)),
            Alarms = grossAlarms.ToDictionary(kv => kv.Key, kv => AlarmJson.From(kv.Value)),
        };
        var report = new EvalReport(ordered.Select(r => ToReport(r, inference.Enabled ? membership : null)).ToList(), grossReport, modelInfo);
        PrintTable(Console.Out, ordered, gross, from);
        PrintEpisodes(Console.Out, grossEpisodes, grossAlarms);
        foreach (var r in ordered)
            foreach (var warning in r.Warnings) Console.Error.WriteLine($"ecgedge: record {r.Record}: warning (read anyway, as WFDB reads it): {warning}");
        foreach (var (rec, msg) in errors.OrderBy(e => e.Key, StringComparer.Ordinal))
            Console.Error.WriteLine($"ecgedge: record {rec}: {msg}");
        if (p.GetValue(o.Json) is { } jsonPath)
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(jsonPath));
            if (dir is not null) Directory.CreateDirectory(dir);
            await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(report, EvalJsonContext.Default.EvalReport)).ConfigureAwait(false);
        }
        if (ordered.Count == 0)
        {
            Console.Error.WriteLine($"ecgedge: no record in '{db}' could be evaluated (annotator '{annotator}')");
            return 1;
        }
        return errors.IsEmpty ? 0 : 1;
    }

    /// <summary>Runs one record through the pipeline (<see cref="RecordRunner"/>) and scores it.</summary>
    public static async Task<RecordResult> EvaluateRecordAsync(string recordPath, string annotationPath, string? leads,
        PipelineSettings settings, double scoreFromSeconds, string? annotationsOut, ProgressReporter? progress, CancellationToken ct,
        SourceKind sourceKind = SourceKind.Replay, Ads1298Options? ads = null, InferenceOptions? inference = null, EventOptions? events = null)
    {
        var reference = AnnotationReader.Read(annotationPath);
        var run = await RecordRunner.RunAsync(recordPath, leads, settings, inference, progress, ct, sourceKind, ads,
            events: events ?? new EventOptions()).ConfigureAwait(false);
        var fs = run.RecordRateHz;
        var from = run.DurationS > scoreFromSeconds ? scoreFromSeconds : 0;
        var settingsEc57 = new Ec57Settings { ScoreFromSeconds = from };
        var detected = run.Beats;
        // Rhythm-only references (no beat annotations, e.g. the malignant-ventricular-arrhythmia databases): no beat is
        // scored (every detection would count as extra); their episodes and alarms are.
        var hasBeats = reference.Any(x => x.IsBeat);
        var counts = hasBeats ? Ec57.ScoreQrs(reference, detected, fs, settingsEc57) : default;
        var fromSample = (long)Math.Round(from * fs);
        var (episodes, alarms) = EpisodeScoring.Score(reference, run.Alerts, run.RecordLength, fs);
        ModelScores? scores = null;
        if (run.Classes is { } classes)
        {
            var beats = hasBeats
                ? BeatConfusion.Score(reference, detected, classes, (long)Math.Round(settingsEc57.MatchWindowSeconds * fs), fromSample)
                : new BeatConfusion();
            var refAf = RhythmScoring.ReferenceIntervals(reference, run.RecordLength, RhythmScoring.IsAf);
            var refVt = RhythmScoring.ReferenceIntervals(reference, run.RecordLength, RhythmScoring.IsVt);
            // Detected AF: the device's AF episodes (AfEpisodes: noise and VT/VF stretches between AF decisions bridged).
            var detAf = AfEpisodes.Intervals(run.Rhythm, fs).Select(i => new Interval(i.From, i.To)).ToList();
            var af = RhythmScoring.CompareEpisodes(refAf, detAf, fromSample, run.RecordLength);
            var windows = new long[4, 4];
            foreach (var w in run.Windows)
            {
                if (w.From < fromSample) continue;
                windows[(int)RhythmScoring.WindowLabel(refAf, refVt, w.From, w.To, fs), (int)w.Class]++;
            }
            scores = new ModelScores(beats, af, windows, run.Windows.Select(w => w.LatencyS).ToList(), fs, run.BeatsClassified);
        }
        if (annotationsOut is not null) AnnotationExport.Write(annotationsOut, run);
        return new RecordResult(run.Name, counts, run.DurationS, run.Leads, detected.Length, from, scores)
        {
            Signature = run.Signature, Warnings = run.Warnings, HasBeats = hasBeats, Episodes = episodes, Alarms = alarms,
        };
    }

    /// <summary>MIT-BIH rhythm AUX string written for a rhythm class ("(N", "(AFIB", "(NOISE", "(VT").</summary>
    public static string RhythmAux(RhythmClass c) => AnnotationExport.RhythmAux(c);

    private static DetectionCounts AfWindowCounts(long[,] w)
    {
        const int af = (int)RhythmClass.AfAfl;
        long tp = w[af, af], fn = 0, fp = 0;
        for (var k = 0; k < 4; k++)
        {
            if (k == af) continue;
            fn += w[af, k];
            fp += w[k, af];
        }
        return new DetectionCounts(tp, fn, fp);
    }

    private static WindowRhythmJson WindowRhythmJson(long[,] w) => new(
        Enum.GetValues<RhythmClass>().Select(ClassNames.Of).ToArray(),
        Enumerable.Range(0, 4).Select(i => Enumerable.Range(0, 4).Select(j => w[i, j]).ToArray()).ToArray());

    private static RecordReport ToReport(RecordResult r, TrainingMembership? membership)
    {
        var basic = new RecordReport(r.Record, r.HasBeats ? CountsJson.From(r.Qrs) : null, Math.Round(r.DurationS, 3), r.Leads, r.BeatsDetected,
            InTraining: membership?.PartsTrainedOn(r.Signature),
            Episodes: r.Episodes.ToDictionary(kv => kv.Key, kv => EpisodeJson.From(kv.Value)),
            Alarms: r.Alarms.ToDictionary(kv => kv.Key, kv => AlarmJson.From(kv.Value)));
        if (r.Model is not { } m) return basic;
        return basic with
        {
            Veb = CountsJson.From(m.Beats.Veb),
            Sveb = CountsJson.From(m.Beats.Sveb),
            Af = AfJson.From(m.Af, AfWindowCounts(m.Windows), m.RecordRateHz),
            BeatClasses = BeatConfusionJson.From(m.Beats),
            WindowRhythm = WindowRhythmJson(m.Windows),
            BeatsClassified = m.BeatsClassified,
        };
    }

    private static void PrintModelTable(TextWriter w, List<RecordResult> rows, BeatConfusion gross, EpisodeCounts af, long[,] windows, ModelJson model,
        TrainingMembership membership)
    {
        var inv = CultureInfo.InvariantCulture;
        w.WriteLine($"Model {model.Label ?? $"{model.Name} {model.Version} ({model.File})"} on {model.Provider}: {model.Windows} windows, latency mean {model.LatencyMsMean?.ToString("F2", inv)} ms, p99 {model.LatencyMsP99?.ToString("F2", inv)} ms");
        w.WriteLine($"{"record",-10} {"VEB Se",7} {"VEB +P",7} {"SVEB Se",8} {"SVEB +P",8} {"AF epi Se",9} {"AF epi +P",9} {"AF dur Se",9} {"AF dur +P",9}  trained");
        var parts = new List<IReadOnlyList<string>?>();
        foreach (var r in rows)
        {
            var m = r.Model!;
            var p = membership.PartsTrainedOn(r.Signature);
            parts.Add(p);
            w.WriteLine(string.Create(inv, $"{r.Record,-10} {Pct(m.Beats.Veb.Se),7} {Pct(m.Beats.Veb.Ppv),7} {Pct(m.Beats.Sveb.Se),8} {Pct(m.Beats.Sveb.Ppv),8} {Pct(m.Af.EpisodeSe),9} {Pct(m.Af.EpisodePpv),9} {Pct(m.Af.DurationSe),9} {Pct(m.Af.DurationPpv),9}  {TrainingMembership.Cell(p)}"));
        }
        var aw = AfWindowCounts(windows);
        w.WriteLine(string.Create(inv, $"{"gross",-10} {Pct(gross.Veb.Se),7} {Pct(gross.Veb.Ppv),7} {Pct(gross.Sveb.Se),8} {Pct(gross.Sveb.Ppv),8} {Pct(af.EpisodeSe),9} {Pct(af.EpisodePpv),9} {Pct(af.DurationSe),9} {Pct(af.DurationPpv),9}"));
        w.WriteLine(string.Create(inv, $"VEB TP/FN/FP {gross.Veb.Tp}/{gross.Veb.Fn}/{gross.Veb.Fp}; SVEB {gross.Sveb.Tp}/{gross.Sveb.Fn}/{gross.Sveb.Fp}; AF windows Se {Pct(aw.Se)} +P {Pct(aw.Ppv)} ({aw.Tp}/{aw.Fn}/{aw.Fp})"));
        w.WriteLine(membership.Summary(parts));
        w.WriteLine();
        static string Pct(double x) => double.IsNaN(x) ? "-" : x.ToString("F1", CultureInfo.InvariantCulture);
    }

    private static void PrintEpisodes(TextWriter w, Dictionary<string, EpisodeTally> episodes, Dictionary<string, AlarmTally> alarms)
    {
        var inv = CultureInfo.InvariantCulture;
        static string P(double x) => double.IsNaN(x) ? "-" : x.ToString("F1", CultureInfo.InvariantCulture);
        w.WriteLine();
        w.WriteLine("Episodes against the reference rhythm (alarms: AF for af; VT or VF for vt and vf; whole records)");
        w.WriteLine($"{"kind",-5} {"episodes",8} {"detected",8} {"Se %",6} {"Se≥10s %",9} {"alarms",6} {"+P %",6} {"dur Se %",8} {"dur +P %",8}");
        foreach (var k in EpisodeScoring.Kinds.Where(episodes.ContainsKey))
        {
            var t = episodes[k];
            w.WriteLine(string.Create(inv, $"{k,-5} {t.ReferenceEpisodes,8} {t.Detected,8} {P(t.Se),6} {P(t.SeMin10s),9} {t.AlarmEpisodes,6} {P(t.Ppv),6} {P(t.DurSe),8} {P(t.DurPpv),8}"));
        }
        w.WriteLine($"{"alarm",-26} {"count",6} {"false",6} {"false/h",8} {"latency median s",17} {"max s",6}");
        foreach (var (k, t) in alarms.OrderBy(x => x.Key, StringComparer.Ordinal))
        {
            var j = AlarmJson.From(t);
            w.WriteLine(string.Create(inv, $"{k,-26} {t.Count,6} {t.False,6} {P(t.FalsePerHour),8} {(j.LatencyMedianS?.ToString("F1", inv) ?? "-"),17} {(j.LatencyMaxS?.ToString("F1", inv) ?? "-"),6}"));
        }
    }

    private static List<string> ListRecords(string db) =>
        WfdbRecordPath.ListRecords(db).Where(n => File.Exists(WfdbRecordPath.ToHeaderPath(Path.Combine(db, n))))
            .Distinct().Order(StringComparer.Ordinal).ToList();

    private static void PrintTable(TextWriter w, List<RecordResult> rows, DetectionCounts gross, double from)
    {
        var inv = CultureInfo.InvariantCulture;
        w.WriteLine($"EC57 QRS detection (match window 150 ms, scored from {from.ToString(inv)} s)");
        w.WriteLine($"{"record",-10} {"TP",8} {"FN",6} {"FP",6} {"Se %",8} {"+P %",8}");
        foreach (var r in rows)
        {
            var note = r.ScoredFromS < from ? $"  (scored from {r.ScoredFromS.ToString(inv)} s: record too short)" : "";
            w.WriteLine(string.Create(inv, $"{r.Record,-10} {r.Qrs.Tp,8} {r.Qrs.Fn,6} {r.Qrs.Fp,6} {Pct(r.Qrs.Se),8} {Pct(r.Qrs.Ppv),8}{note}"));
        }
        w.WriteLine(string.Create(inv, $"{"gross",-10} {gross.Tp,8} {gross.Fn,6} {gross.Fp,6} {Pct(gross.Se),8} {Pct(gross.Ppv),8}"));
        static string Pct(double x) => double.IsNaN(x) ? "-" : x.ToString("F2", CultureInfo.InvariantCulture);
    }

    /// <summary>One record's outcome.</summary>
    public sealed record RecordResult(string Record, DetectionCounts Qrs, double DurationS, IReadOnlyList<string> Leads, long BeatsDetected,
        double ScoredFromS, ModelScores? Model = null)
    {
        /// <summary>The record's identity (<see cref="WfdbHeader.Signature"/>).</summary>
        public string Signature { get; init; } = "";

        /// <summary>Header problems the record was read despite (checksum, initial value).</summary>
        public IReadOnlyList<string> Warnings { get; init; } = [];

        /// <summary>False for a rhythm-only reference: no beat score.</summary>
        public bool HasBeats { get; init; } = true;

        /// <summary>Episodes per kind (af, vt, vf) and alarms per type against the reference rhythm.</summary>
        public IReadOnlyDictionary<string, EpisodeTally> Episodes { get; init; } = new Dictionary<string, EpisodeTally>();

        public IReadOnlyDictionary<string, AlarmTally> Alarms { get; init; } = new Dictionary<string, AlarmTally>();
    }

    /// <summary>What the model scored on one record.</summary>
    public sealed record ModelScores(BeatConfusion Beats, EpisodeCounts Af, long[,] Windows, List<double> LatenciesS, double RecordRateHz, long BeatsClassified);
}

/// <summary>Progress of long runs on an interactive terminal (stderr); silent when output is redirected.</summary>
public sealed class ProgressReporter(int total, bool enabled)
{
    private readonly ConcurrentDictionary<string, double> _running = new();
    private int _done;
    private long _lastTicks;

    public void Update(string name, double fraction)
    {
        if (!enabled) return;
        _running[name] = fraction;
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastTicks);
        if (now - last < 250 || Interlocked.CompareExchange(ref _lastTicks, now, last) != last) return;
        var parts = string.Join(" ", _running.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key} {k.Value:P0}"));
        Console.Error.Write($"\r[{Volatile.Read(ref _done)}/{total}] {parts}".PadRight(79)[..79]);
    }

    public void Done(string name)
    {
        _running.TryRemove(name, out _);
        Interlocked.Increment(ref _done);
    }

    public void Finish()
    {
        if (enabled) Console.Error.Write("\r" + new string(' ', 79) + "\r");
    }
}
