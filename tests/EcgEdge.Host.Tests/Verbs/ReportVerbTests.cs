using System.Diagnostics;
using EcgEdge.Evaluation;
using EcgEdge.Verbs;
using EcgEdge.Wfdb;
using SkiaSharp;

namespace EcgEdge.Tests.Verbs;

public class ReportVerbTests
{
    private static string Bundled201 => Path.Combine(TestData.RepoRoot, "src", "EcgEdge", "Resources", "mitdb", "201");

    [Fact]
    public async Task A_record_segment_becomes_a_pdf_with_summary_tables_and_strips()
    {
        using var dir = new EcgEdge.Tests.Wfdb.TempDirectory();
        var pdf = dir.File("r.pdf");
        Assert.Equal(0, await ReportVerb.RunAsync([Bundled201, "--mains", "60", "--to", "600", "-o", pdf, "--quiet"]));
        var bytes = File.ReadAllBytes(pdf);
        Assert.Equal("%PDF-"u8.ToArray(), bytes[..5]);
        var pages = System.Text.RegularExpressions.Regex.Matches(System.Text.Encoding.Latin1.GetString(bytes), @"/Type\s*/Page\b").Count;
        Assert.InRange(pages, 3, 6); // summary, tables, 1-3 pages of strips (10 min of 201 has AF, pauses, brady)
    }

    [SkippableFact]
    public async Task A_folder_becomes_png_pages_with_one_row_per_record()
    {
        var db = TestData.Require("cinc2021-sample");
        using var dir = new EcgEdge.Tests.Wfdb.TempDirectory();
        var png = dir.File("folder.png");
        Assert.Equal(0, await ReportVerb.RunAsync([db, "--records", "E07500,E07501,E07502", "-o", png, "--quiet", "--strips", "2"]));
        var pages = Directory.GetFiles(dir.Path, "folder-*.png").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(2, pages.Count); // the records' table, one page of two strips
        using var first = SKBitmap.Decode(pages[0]);
        Assert.Equal((1754, 1240), (first.Width, first.Height)); // A4 landscape at 150 dpi
    }

    [Fact]
    public async Task Bad_usage_is_refused_before_any_work()
    {
        await Assert.ThrowsAsync<UsageException>(() => ReportVerb.RunAsync([Bundled201]));
        await Assert.ThrowsAsync<UsageException>(() => ReportVerb.RunAsync([Bundled201, "-o", "x.svg"]));
        await Assert.ThrowsAsync<UsageException>(() => ReportVerb.RunAsync([Bundled201, "-o", "x.pdf", "--from", "60", "--to", "30"]));
        await Assert.ThrowsAsync<UsageException>(() => ReportVerb.RunAsync(["/nonexistent/record", "-o", "x.pdf"]));
        await Assert.ThrowsAsync<UsageException>(() => ReportVerb.RunAsync([Bundled201, "-o", "x.pdf", "--loop-hours", "0"]));
    }

    [Fact]
    public async Task A_start_after_the_record_is_a_problem_named_in_the_output_not_a_crash()
    {
        using var dir = new EcgEdge.Tests.Wfdb.TempDirectory();
        Assert.Equal(1, await ReportVerb.RunAsync([Bundled201, "--from", "99999", "-o", dir.File("x.pdf"), "--quiet"]));
        Assert.False(File.Exists(dir.File("x.pdf")));
    }

    /// <summary>
    /// 24 hours of signal (the bundled 30-min record looped) give a report whose memory does not grow with the length:
    /// the worker keeps per-beat results (a few tens of bytes each) and per-period aggregates, never the signal.
    /// The time it takes is a benchmark (docs/report.md), not a pass/fail criterion.
    /// </summary>
    [Fact]
    public async Task Twenty_four_hours_of_signal_make_a_report_in_bounded_memory()
    {
        using var dir = new EcgEdge.Tests.Wfdb.TempDirectory();
        var oneHour = await RunMeasured(dir.File("1h.pdf"), 1);
        var day = await RunMeasured(dir.File("24h.pdf"), 24);
        Assert.Equal(0, oneHour.Code);
        Assert.Equal(0, day.Code);
        Assert.Contains("24 h 0 min analysed", day.Output, StringComparison.Ordinal);
        Assert.True(new FileInfo(dir.File("24h.pdf")).Length > 10_000);
        // Measured: ~170 MB peak for 24 h; 24x the signal may not cost more than 150 MB over 1 h.
        Assert.True(day.PeakBytes < 400L << 20, $"peak resident memory for 24 h: {day.PeakBytes >> 20} MB");
        Assert.True(day.PeakBytes - oneHour.PeakBytes < 150L << 20,
            $"peak resident memory: 1 h {oneHour.PeakBytes >> 20} MB, 24 h {day.PeakBytes >> 20} MB");
    }

    private static async Task<(int Code, string Output, long PeakBytes)> RunMeasured(string output, double hours)
    {
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ecgedge.dll"));
        foreach (var a in (string[])["report", Bundled201, "--mains", "60", "--loop-hours", hours.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--jobs", "1", "--quiet", "-o", output])
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        long peak = 0;
        // VmHWM (the kernel's high-water mark of resident memory) only grows: the last reading before exit is the peak
        // but for the final moments, which write the file.
        while (!p.HasExited)
        {
            try
            {
                var line = File.ReadLines($"/proc/{p.Id}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
                if (line is not null) peak = Math.Max(peak, long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024);
            }
            catch (IOException) { }
            await Task.WhenAny(p.WaitForExitAsync(), Task.Delay(200));
        }
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout + "\n" + await stderr, peak);
    }

    [Fact]
    public async Task Strip_of_any_record_moment_renders_the_requested_seconds()
    {
        using var dir = new EcgEdge.Tests.Wfdb.TempDirectory();
        var png = dir.File("s.png");
        Assert.Equal(0, await StripVerb.RunAsync(["--record", Bundled201, "--at", "120", "--seconds", "6", "--mains", "60", "-o", png]));
        using var bmp = SKBitmap.Decode(png);
        Assert.Equal(EcgEdge.Strips.StripRenderer.ImageSize(6, 2), (bmp.Width, bmp.Height));
        Assert.Equal(1, await StripVerb.RunAsync(["--record", Bundled201, "--at", "99999", "-o", dir.File("late.png")]));
        await Assert.ThrowsAsync<UsageException>(() => StripVerb.RunAsync(["--record", Bundled201, "-o", png]));
        await Assert.ThrowsAsync<UsageException>(() => StripVerb.RunAsync(["--record", Bundled201, "--at", "1", "--seconds", "31", "-o", png]));
    }

    [Fact]
    public async Task A_value_given_twice_on_the_command_line_is_read_twice()
    {
        // "--jobs 1 --from 1": the second "1" was dropped as a duplicate (a set difference) and --from read "--to".
        using var dir = new EcgEdge.Tests.Wfdb.TempDirectory();
        var db = Path.GetDirectoryName(Bundled201)!;
        Assert.Equal(0, await AnalyzeVerb.RunAsync(["--db", db, "--records", "201", "--jobs", "1", "--from", "1", "--to", "31", "--mains", "60",
            "--json", dir.File("a.json"), "--quiet"]));
        Assert.Contains("\"duration_s\": 30", File.ReadAllText(dir.File("a.json")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Analyze_writes_wfdb_annotations_of_a_segment_that_read_back_in_record_samples()
    {
        using var dir = new EcgEdge.Tests.Wfdb.TempDirectory();
        var db = Path.GetDirectoryName(Bundled201)!;
        var annDir = dir.File("ann");
        Assert.Equal(0, await AnalyzeVerb.RunAsync(["--db", db, "--records", "201", "--mains", "60", "--from", "100", "--to", "200", "--annotations-out", annDir,
            "--json", dir.File("a.json"), "--quiet"]));
        var anns = AnnotationReader.Read(Path.Combine(annDir, "201." + AnnotationExport.Annotator));
        var beats = anns.Where(a => a.IsBeat).ToList();
        Assert.InRange(beats.Count, 80, 250); // 100 s of a human heart
        // Sample numbers are the record's (the segment starts 100 s in), so rdann/bxb line them up with 201.atr.
        Assert.All(beats, b => Assert.InRange(b.Sample, 100 * 360, 200 * 360));
        Assert.Contains(anns, a => a.Code == AnnotationCode.Rhythm && a.Aux is "(AFIB" or "(N");
        // Within 150 ms of a reference beat for almost all of them.
        var reference = AnnotationReader.Read(Bundled201 + ".atr").Where(a => a.IsBeat).Select(a => a.Sample).ToArray();
        var matched = beats.Count(b => reference.Any(r => Math.Abs(r - b.Sample) <= 54));
        Assert.True(matched >= 0.95 * beats.Count, $"{matched} of {beats.Count} beats match the reference");
    }
}
