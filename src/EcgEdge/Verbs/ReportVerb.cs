using System.CommandLine;
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
    /// <summary>report's options.</summary>
    private sealed class Options
    {
        public Argument<string> Input { get; } = new("RECORD|FOLDER") { Description = "a WFDB record (path without extension), or a folder of records" };
        public Option<string> Out { get; } = VerbOptions.Out("the report: a PDF, or PNG pages (OUT-1.png, OUT-2.png ...)", "OUT.pdf|OUT.png");
        public Option<double?> From { get; } = VerbOptions.From("report from this many seconds into the record");
        public Option<double?> To { get; } = VerbOptions.To("report up to this many seconds into the record");
        public Option<string?> Leads { get; } = VerbOptions.Leads();
        public Option<double> Mains { get; } = VerbOptions.RecordingMains();
        public Option<double?> Rate { get; } = VerbOptions.Rate();
        public Option<string?> Records { get; } = VerbOptions.Records("with a folder: only these records (comma-separated names)");
        public Option<int> Strips { get; } = new("--strips")
        { Description = "strips of the most significant events", HelpName = "N", DefaultValueFactory = _ => HolterAnalysis.MaxEvents };
        public Option<int> Jobs { get; } = VerbOptions.Jobs();
        public Option<string?> Model { get; } = VerbOptions.Model();
        public Option<string?> Variant { get; } = VerbOptions.Variant();
        public Option<double?> LoopHours { get; } = new("--loop-hours")
        { Description = "replay the record in a loop for this many hours (soak and benchmark: a long recording from a short one)", HelpName = "H" };
        public Option<bool> Quiet { get; } = VerbOptions.Quiet();

        public Option[] All => [Out, From, To, Leads, Mains, Rate, Records, Strips, Jobs, Model, Variant, LoopHours, Quiet];
    }

    /// <summary><c>ecgedge report</c>'s command line.</summary>
    public static Command CreateCommand()
    {
        var o = new Options();
        var command = new Command("report",
            "a Holter report a clinician can print: monitoring time and quality, heart-rate trend and HRV, beats and ectopy per " +
            "period, AF burden, the device's alarm episodes, strips of the most significant events (25 mm/s, 10 mm/mV); a folder " +
            "gives one row per record and the folder's most significant strips (docs/report.md). Any --Section:Key=value sets a " +
            "configuration key.")
        {
            o.Input,
        };
        foreach (var option in o.All) command.Options.Add(option);
        command.SetConfigurableAction((p, configuration) => RunAsync(p, o, configuration));
        return command;
    }

    /// <summary>Runs report with the command line <paramref name="args"/> (as <c>ecgedge report ARGS</c>).</summary>
    public static Task<int> RunAsync(string[] args) => Cli.RunAsync(CreateCommand(), args);

    private static async Task<int> RunAsync(ParseResult p, Options o, string[] configArgs)
    {
        var input = p.GetValue(o.Input)!;
        var output = p.GetValue(o.Out)!;
        var ext = Path.GetExtension(output).ToLowerInvariant();
        if (ext is not (".pdf" or ".png")) throw new UsageException($"-o must name a .pdf or a .png file, not '{output}'");

        var overrides = AppConfiguration.RecordingOverrides(configArgs, p.GetValue(o.Mains), p.GetValue(o.Rate), p.GetValue(o.Model), p.GetValue(o.Variant));
        ReportRequest request;
        try
        {
            var config = AppConfiguration.Build([.. overrides]);
            var settings = AppConfiguration.BindPipeline(config);
            var inference = AppConfiguration.BindInference(config);
            var events = AppConfiguration.BindEvents(config);
            if (!inference.Enabled) throw new UsageException("report needs the model (Inference:Enabled=true)");
            var segment = Segment(p.GetValue(o.From), p.GetValue(o.To), p.GetValue(o.LoopHours));
            var (title, records, isFolder) = Inputs(input, p.GetValue(o.Records));
            request = new ReportRequest(title, records, p.GetValue(o.Leads), settings, inference, events, segment,
                p.GetValue(o.Jobs), isFolder, p.GetValue(o.Strips));
        }
        catch (OptionsValidationException e)
        {
            throw new UsageException("invalid configuration: " + string.Join("; ", e.Failures));
        }

        var progress = new ProgressReporter(request.Records.Count, !Console.IsErrorRedirected && !p.GetValue(o.Quiet));
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
    public static ReplaySegment? Segment(double? fromSeconds, double? to, double? loopHours)
    {
        var from = fromSeconds ?? 0;
        if (from < 0) throw new UsageException("--from must be >= 0 seconds");
        if (to is { } t && t <= from) throw new UsageException($"--to ({t}) must lie after --from ({from})");
        var loop = loopHours;
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
