using System.Globalization;
using EcgEdge.Evaluation;
using EcgEdge.Reports;
using EcgEdge.Wfdb;
using Microsoft.Extensions.Options;

namespace EcgEdge.Verbs;

/// <summary>
/// <c>ecgedge report RECORD|FOLDER -o report.pdf|report.png</c>: a Holter report of a record (summary with heart-rate
/// and ectopy trends, trend and alarm tables, strips of the most significant events) or of a folder (one row per record,
/// the folder's most significant strips), as a PDF or as PNG pages (report-1.png, report-2.png …).
/// </summary>
public static class ReportVerb
{
    public const string Usage = "usage: ecgedge report RECORD|FOLDER -o OUT.pdf|OUT.png [--from S] [--to S] [--leads II,V1] [--mains HZ] " +
        "[--records a,b] [--strips N] [--jobs N] [--model PATH] [--loop-hours H] [--quiet] [--Section:Key=value ...]";

    private static readonly string[] ValueOptions = ["-o", "--out", "--from", "--to", "--leads", "--mains", "--rate", "--records", "--strips", "--jobs",
        "--model", "--variant", "--loop-hours"];

    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var (configArgs, rest) = AppConfiguration.SplitArguments(args);
        string? input = null;
        var options = new List<string>();
        for (var i = 0; i < rest.Length; i++)
        {
            if (ValueOptions.Contains(rest[i])) { options.Add(rest[i]); if (i + 1 < rest.Length) options.Add(rest[++i]); }
            else if (!rest[i].StartsWith('-'))
            {
                if (input is not null) throw new UsageException($"unexpected argument '{rest[i]}'; {Usage}");
                input = rest[i];
            }
            else options.Add(rest[i]);
        }
        var a = new ArgReader([.. options], ValueOptions, ["--quiet"]);
        if (input is null) throw new UsageException($"the record or folder is missing; {Usage}");
        var output = a.Get("-o") ?? a.Get("--out") ?? throw new UsageException($"option -o is required; {Usage}");
        var ext = Path.GetExtension(output).ToLowerInvariant();
        if (ext is not (".pdf" or ".png")) throw new UsageException($"-o must name a .pdf or a .png file, not '{output}'");

        var overrides = AppConfiguration.RecordingOverrides(configArgs, a);
        ReportRequest request;
        try
        {
            var config = AppConfiguration.Build([.. overrides]);
            var settings = AppConfiguration.BindPipeline(config);
            var inference = AppConfiguration.BindInference(config);
            var events = AppConfiguration.BindEvents(config);
            if (!inference.Enabled) throw new UsageException("report needs the model (Inference:Enabled=true)");
            var segment = Segment(a);
            var (title, records, isFolder) = Inputs(input, a.Get("--records"));
            request = new ReportRequest(title, records, a.Get("--leads"), settings, inference, events, segment,
                (int)a.GetDouble("--jobs", Environment.ProcessorCount), isFolder, (int)a.GetDouble("--strips", HolterAnalysis.MaxEvents));
        }
        catch (OptionsValidationException e)
        {
            throw new UsageException("invalid configuration: " + string.Join("; ", e.Failures));
        }

        var progress = new ProgressReporter(request.Records.Count, !Console.IsErrorRedirected && !a.Flag("--quiet"));
        var content = await ReportBuilder.BuildAsync(request, progress, TimeProvider.System, CancellationToken.None).ConfigureAwait(false);
        progress.Finish();
        foreach (var problem in content.Problems) Console.Error.WriteLine($"ecgedge: report: {problem}");
        if (content.Records.Count == 0)
        {
            Console.Error.WriteLine($"ecgedge: report: no record of '{input}' could be analysed");
            return 1;
        }

        var dir = Path.GetDirectoryName(Path.GetFullPath(output));
        if (dir is not null) Directory.CreateDirectory(dir);
        var written = new List<string>();
        try
        {
            if (ext == ".pdf")
            {
                await using (var file = File.Create(output)) HolterReport.WritePdf(content, file);
                written.Add(output);
            }
            else
            {
                var pages = HolterReport.Pages(content);
                var stem = Path.Combine(dir ?? ".", Path.GetFileNameWithoutExtension(output));
                for (var i = 0; i < pages.Count; i++)
                {
                    using var bitmap = HolterReport.RenderBitmap(pages[i]);
                    var path = $"{stem}-{i + 1}.png";
                    await File.WriteAllBytesAsync(path, EcgEdge.Strips.StripRenderer.EncodePng(bitmap)).ConfigureAwait(false);
                    written.Add(path);
                }
            }
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException)
        {
            // The device bundle (deploy/publish.sh, -p:EcgEdgeDevice=true) leaves SkiaSharp's native library out.
            await Console.Error.WriteLineAsync("ecgedge: report: drawing needs SkiaSharp's native library, which the device bundle does not include; " +
                "make reports on a workstation build").ConfigureAwait(false);
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"ecgedge: report: cannot write {output}: {e.Message.ReplaceLineEndings(" ")}").ConfigureAwait(false);
            return 1;
        }
        var seconds = content.Records.Sum(r => r.Analysis.DurationS);
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ecgedge: report: {content.Records.Count} record(s), {HolterReport.Duration(seconds)} analysed, {content.Strips.Count} strip(s): {string.Join(", ", written)}"));
        return content.Problems.Count == 0 ? 0 : 1;
    }

    /// <summary>The <c>--from/--to</c> segment, or a loop of <c>--loop-hours</c> (soak and benchmark: a long recording from a short one).</summary>
    public static ReplaySegment? Segment(ArgReader a)
    {
        var from = a.GetDouble("--from", 0);
        double? to = a.Get("--to") is null ? null : a.GetDouble("--to", 0);
        if (from < 0) throw new UsageException("--from must be >= 0 seconds");
        if (to is { } t && t <= from) throw new UsageException($"--to ({t}) must lie after --from ({from})");
        double? loop = a.Get("--loop-hours") is null ? null : a.GetDouble("--loop-hours", 0);
        if (loop is { } h && !(h > 0 && h <= 24 * 14)) throw new UsageException("--loop-hours must lie in (0, 336]");
        if (from == 0 && to is null && loop is null) return null;
        return new ReplaySegment(from, to, loop is not null, loop * 3600);
    }

    private static (string Title, List<string> Records, bool IsFolder) Inputs(string input, string? only)
    {
        if (Directory.Exists(input))
        {
            var names = only is not null
                ? only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList()
                : WfdbRecordPath.ListRecords(input).Where(n => File.Exists(WfdbRecordPath.ToHeaderPath(Path.Combine(input, n))))
                    .Distinct().Order(StringComparer.Ordinal).ToList();
            if (names.Count == 0) throw new UsageException($"folder '{input}' holds no WFDB record (.hea)");
            var folder = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(input)));
            return ($"folder {folder} ({names.Count} records)", names.Select(n => Path.Combine(input, n)).ToList(), true);
        }
        if (only is not null) throw new UsageException("--records needs a folder");
        var record = AppConfiguration.ResolveRecord(input.EndsWith(".hea", StringComparison.OrdinalIgnoreCase) ? input[..^4] : input);
        if (!File.Exists(WfdbRecordPath.ToHeaderPath(record))) throw new UsageException($"no such record or folder: '{input}'");
        return ($"record {Path.GetFileName(record)}", [record], false);
    }
}
