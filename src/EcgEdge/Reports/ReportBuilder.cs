using System.Collections.Concurrent;
using EcgEdge.Evaluation;
using EcgEdge.Events.Alerts;
using EcgEdge.Inference.Execution;
using EcgEdge.Inference.Model;
using EcgEdge.Pipeline;
using EcgEdge.Strips;
using EcgEdge.Verbs;
using EcgEdge.Wfdb;

namespace EcgEdge.Reports;

/// <summary>What to analyse for a report and how.</summary>
/// <param name="Records">Record paths (without extension), one for a single-record report.</param>
/// <param name="Segment">The part of each record (<c>--from/--to</c>, or a loop to a length).</param>
/// <param name="IsFolder">A folder report (a summary row per record) even when the folder holds one record.</param>
public sealed record ReportRequest(string Title, IReadOnlyList<string> Records, string? Leads, PipelineSettings Settings, InferenceOptions Inference,
    EventOptions Events, ReplaySegment? Segment = null, int Jobs = 1, bool IsFolder = false, int MaxStrips = HolterAnalysis.MaxEvents);

/// <summary>Runs the device pipeline (with the model and the event engine) over records and gathers a report's content.</summary>
public static class ReportBuilder
{
    /// <summary>How long before an event its strip starts (seconds): the rhythm leading into it is part of the picture.</summary>
    public const double StripLeadS = 3;

    /// <summary>Strip length in a report (the standard 10 s).</summary>
    public const double StripSeconds = 10;

    /// <summary>Analyses the records and cuts the strips of the most significant events.</summary>
    /// <exception cref="ModelLoadException">The model is refused (checked before any record is read).</exception>
    public static async Task<ReportContent> BuildAsync(ReportRequest request, ProgressReporter? progress, TimeProvider time, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        TrainingMembership membership;
        string label;
        using (var probe = ModelLoader.Load(request.Inference.Model, request.Inference))
        {
            membership = new TrainingMembership(probe.Manifest);
            label = probe.VersionLabel;
        }
        var analyses = new ConcurrentDictionary<string, ReportRecord>();
        var problems = new ConcurrentDictionary<string, string>();
        await Parallel.ForEachAsync(request.Records, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, request.Jobs), CancellationToken = ct },
            async (path, token) =>
            {
                try
                {
                    var run = await RecordRunner.RunAsync(path, request.Leads, request.Settings, request.Inference, progress, token,
                        events: request.Events, segment: request.Segment).ConfigureAwait(false);
                    analyses[path] = new ReportRecord(HolterAnalysis.Of(run), membership.PartsTrainedOn(run.Signature));
                }
                catch (Exception e) when (e is WfdbFormatException or IOException or ArgumentException)
                {
                    problems[path] = $"{Path.GetFileName(path)}: {e.Message}";
                }
                progress?.Done(Path.GetFileName(path));
            }).ConfigureAwait(false);

        var records = request.Records.Where(analyses.ContainsKey).Select(r => (Path: r, Report: analyses[r])).ToList();
        // The strips: the most significant events of the report (across records for a folder), cut from the records
        // through the device's conditioning. A looped run's events lie beyond the record's end: cut from the first pass.
        var strips = new List<ReportStrip>();
        var candidates = records.SelectMany(r => r.Report.Analysis.Events.Select(e => (r.Path, r.Report.Analysis, Event: e)))
            .OrderByDescending(c => c.Event.Weight).ThenBy(c => c.Path, StringComparer.Ordinal).Take(Math.Max(0, request.MaxStrips)).ToList();
        foreach (var (path, analysis, e) in candidates)
        {
            var at = e.AtS;
            if (request.Segment is { Loop: true } loop)
            {
                // A looped run counts time on across passes (a one-sample gap between them): fold it back into the record.
                var header = WfdbHeader.Parse(WfdbRecordPath.ToHeaderPath(path));
                var end = loop.ToSeconds ?? (header.SampleCount is long n && n > 0 ? n / header.SamplingFrequency : double.NaN);
                if (double.IsFinite(end) && end > analysis.FirstS) at = analysis.FirstS + (at - analysis.FirstS) % (end - analysis.FirstS);
            }
            var start = Math.Max(analysis.FirstS, at - StripLeadS);
            try
            {
                var signal = await RecordStrip.ExtractAsync(path, request.Leads, start, StripSeconds, request.Settings, maxLeads: 2, eventS: at, ct)
                    .ConfigureAwait(false);
                strips.Add(new ReportStrip(analysis.Record, e, signal, start));
            }
            catch (Exception ex) when (ex is ArgumentException or WfdbFormatException or IOException)
            {
                problems[path + "#strip"] = $"{analysis.Record}: no strip at {HolterReport.Clock(e.AtS)} ({ex.Message})";
            }
        }
        return new ReportContent(request.Title, label, time.GetUtcNow(), records.Select(r => r.Report).ToList(), strips,
            problems.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Value).ToList(), request.IsFolder,
            request.Segment?.Loop ?? false);
    }
}
