using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using EcgEdge.Acquisition.Ads1298;
using EcgEdge.Acquisition.Replay;
using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Evaluation;
using EcgEdge.Pipeline;
using EcgEdge.Wfdb;
using Microsoft.Extensions.Options;

namespace EcgEdge.Verbs;

/// <summary>
/// <c>ecgedge eval</c>: replays each record of a WFDB folder at full speed through the device pipeline
/// (<see cref="EcgPipeline"/>, the same code as <c>run</c>) and scores the detected beats against the reference
/// annotations, EC57 style (<see cref="Ec57"/>).
/// </summary>
public static class EvalVerb
{
    private static readonly string[] ValueOptions = ["--db", "--records", "--leads", "--json", "--annotations-out", "--annotator", "--from", "--mains", "--rate", "--jobs", "--source", "--ads-rate"];

    public static async Task<int> RunAsync(string[] args)
    {
        // "--Section:Key=value" arguments override configuration (as for run); the rest are eval's own options.
        var configArgs = args.Where(x => x.StartsWith("--", StringComparison.Ordinal) && x.Contains(':', StringComparison.Ordinal)).ToArray();
        var a = new ArgReader(args.Except(configArgs).ToArray(), ValueOptions, ["--quiet"]);
        var db = a.Require("--db");
        if (!Directory.Exists(db)) throw new UsageException($"--db '{db}' is not a directory");
        var annotator = a.Get("--annotator") ?? "atr";
        var from = a.GetDouble("--from", 300);
        if (from < 0) throw new UsageException("--from must be >= 0");
        var overrides = new List<string>(configArgs);
        if (a.Get("--mains") is { } mains) overrides.Add($"--Conditioning:MainsHz={mains}");
        if (a.Get("--rate") is { } rate) overrides.Add($"--Pipeline:SampleRateHz={rate}");
        if (a.Get("--ads-rate") is { } adsRate) overrides.Add($"--Ads1298:DataRateHz={adsRate}");
        var sourceKind = (a.Get("--source") ?? "replay").ToLowerInvariant() switch
        {
            "replay" => SourceKind.Replay,
            "emulator" => SourceKind.Emulator,
            var other => throw new UsageException($"--source '{other}': eval replays recordings ('replay') or drives the ADS1298 emulator with them ('emulator')"),
        };
        PipelineSettings settings;
        Ads1298Options ads;
        try
        {
            var config = AppConfiguration.Build([.. overrides]);
            settings = AppConfiguration.BindPipeline(config);
            ads = AppConfiguration.BindAds1298(config);
        }
        catch (OptionsValidationException e)
        {
            throw new UsageException("invalid configuration: " + string.Join("; ", e.Failures));
        }
        catch (Ads1298ConfigurationException e)
        {
            throw new UsageException("invalid configuration: " + e.Message);
        }

        var explicitRecords = a.Get("--records") is { } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList()
            : null;
        var records = explicitRecords ?? ListRecords(db);
        var jobs = (int)a.GetDouble("--jobs", Environment.ProcessorCount);
        var annOut = a.Get("--annotations-out");
        if (annOut is not null) Directory.CreateDirectory(annOut);
        var interactive = !Console.IsErrorRedirected && !a.Flag("--quiet");

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
                results[rec] = await EvaluateRecordAsync(Path.Combine(db, rec), annPath, a.Get("--leads"), settings, from, annOut, progress, ct,
                    sourceKind, ads).ConfigureAwait(false);
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
        var report = new EvalReport(
            ordered.Select(r => new RecordReport(r.Record, CountsJson.From(r.Qrs), Math.Round(r.DurationS, 3), r.Leads, r.BeatsDetected)).ToList(),
            new GrossReport(CountsJson.From(gross)));
        PrintTable(Console.Out, ordered, gross, from);
        foreach (var (rec, msg) in errors.OrderBy(e => e.Key, StringComparer.Ordinal))
            Console.Error.WriteLine($"ecgedge: record {rec}: {msg}");
        if (a.Get("--json") is { } jsonPath)
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

    /// <summary>
    /// Runs one record through the pipeline and scores it. With <see cref="SourceKind.Emulator"/> the record feeds the
    /// ADS1298 emulator and the real driver delivers the frames (same lead mapping and time base as replay).
    /// </summary>
    public static async Task<RecordResult> EvaluateRecordAsync(string recordPath, string annotationPath, string? leads,
        PipelineSettings settings, double scoreFromSeconds, string? annotationsOut, ProgressReporter? progress, CancellationToken ct,
        SourceKind sourceKind = SourceKind.Replay, Ads1298Options? ads = null)
    {
        var options = new ReplayOptions { Record = recordPath, Leads = leads, RealTime = false, Loop = false };
        var rate = settings.Pipeline.SampleRateHz;
        // The replay source also gives the record's header and the index mapping back to record samples.
        await using var replay = new ReplaySource(options, rate);
        await using var source = sourceKind == SourceKind.Replay
            ? null
            : AppConfiguration.OpenSource(sourceKind, options, ads ?? new Ads1298Options(), rate, TimeProvider.System);
        ISampleSource input = (ISampleSource?)source ?? replay;
        var reference = AnnotationReader.Read(annotationPath);
        var pipeline = new EcgPipeline(input.Info, settings.Conditioning, settings.Detection, settings.Pipeline.BlockFrames);
        var name = replay.Header.RecordName;
        var collector = new BeatCollector(progress, name, replay.Header.SampleCount is long n && n > 0 ? n * rate / replay.RecordRateHz : 0);
        await pipeline.RunAsync(input, collector, ct).ConfigureAwait(false);

        var detected = new long[collector.Beats.Count];
        for (var i = 0; i < detected.Length; i++) detected[i] = replay.ToRecordSample(collector.Beats[i].SampleIndex);
        Array.Sort(detected);
        var fs = replay.RecordRateHz;
        var duration = pipeline.Stats.Samples / rate;
        var from = duration > scoreFromSeconds ? scoreFromSeconds : 0;
        var counts = Ec57.ScoreQrs(reference, detected, fs, new Ec57Settings { ScoreFromSeconds = from });
        if (annotationsOut is not null)
        {
            var anns = detected.Select(t => new WfdbAnnotation(t, AnnotationCode.Normal));
            AnnotationWriter.Write(Path.Combine(annotationsOut, name + ".ecgedge"), anns);
        }
        var leadNames = new List<string>();
        for (var c = 0; c < Leads.Count; c++)
            if (input.Info.Present[c]) leadNames.Add($"{Leads.Name(c)}={input.Info.SourceLabels[c]}");
        return new RecordResult(name, counts, duration, leadNames, detected.Length, from);
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
    public sealed record RecordResult(string Record, DetectionCounts Qrs, double DurationS, IReadOnlyList<string> Leads, long BeatsDetected, double ScoredFromS);

    private sealed class BeatCollector(ProgressReporter? progress, string name, double expectedSamples) : IPipelineObserver
    {
        public List<DetectedBeat> Beats { get; } = new(4096);

        public void OnBeat(in DetectedBeat beat) => Beats.Add(beat);

        public void OnBlockProcessed(SampleBlock conditioned)
        {
            if (progress is not null && expectedSamples > 0)
                progress.Update(name, (conditioned.StartIndex + conditioned.Count) / expectedSamples);
        }
    }
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
