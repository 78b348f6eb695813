using EcgEdge.Events.Alerts;
using EcgEdge.Reports;
using EcgEdge.Strips;
using SkiaSharp;

namespace EcgEdge.Tests.Reports;

/// <summary>
/// The report's layout against golden pages (tests/EcgEdge.Host.Tests/Resources/report-golden-*.png), with a pixel
/// tolerance for anti-aliasing and font-rasteriser differences between machines. A deliberate layout change
/// regenerates them: <c>ECGEDGE_UPDATE_GOLDEN=1 dotnet test --filter HolterReportTests</c>, then look at the pages.
/// </summary>
public class HolterReportTests
{
    /// <summary>A pixel differs when a channel moves by more than this (of 255).</summary>
    private const int ChannelTolerance = 60;

    /// <summary>Share of the page's pixels allowed to differ (text rendered by another FreeType moves a few edges).</summary>
    private const double PixelShareTolerance = 0.004;

    internal static ReportContent Content(bool folder = false)
    {
        var trend = Enumerable.Range(0, 24).Select(h => new TrendBin(h * 3600, (h + 1) * 3600, 50 + h % 7, 70 + 10 * Math.Sin(h / 4.0), 110 + h % 5,
            4200, 4000, 100 + h, 50 + 2 * h, 3, h is >= 10 and < 13 ? 1800 : 0, h == 20 ? 120 : 0)).ToList();
        var episodes = new List<EpisodeRow>
        {
            new(AlertType.AtrialFibrillation, AlertSeverity.Medium, 10.5 * 3600, 5400, 124, "AF/flutter (model rhythm) for 30 s (≥ 30 s)"),
            new(AlertType.VentricularTachycardia, AlertSeverity.High, 15.25 * 3600, 18, 172, "≥ 15 V beats at ≥ 120 bpm"),
            new(AlertType.Pause, AlertSeverity.Medium, 3.1 * 3600, 3.4, 55, "no QRS for ≥ 3.0 s"),
        };
        var analysis = new HolterAnalysis("golden", 0, 24 * 3600, 360, ["II=MLII", "V1=V1"], 100_800, 96_000, 2_700, 1_752, 72, 276,
            41, 3 * 3600 + 1200, 71, 168, 15.25 * 3600, 3.4, 3.1 * 3600, new HrvSummary(80_000, 845, 121, 38, 12.5),
            new BeatRuns(14, 3, 19, 15.25 * 3600, 172, 181, 9 * 3600), new BeatRuns(40, 6, 7, 2 * 3600, 128, 140, 5 * 3600),
            5400, 1, 5400, 120, new Dictionary<string, double> { ["II"] = 0, ["V1"] = 95 }, 3600, trend, episodes,
            [new SignificantEvent("VT, 18 s, 172 bpm", 15.25 * 3600, 90_018), new SignificantEvent("AF onset, 1 h 30 min, 124 bpm", 10.5 * 3600, 50_000)]);
        var strips = analysis.Events.Select(e => new ReportStrip("golden", e, Strip(e.AtS == 15.25 * 3600 ? 0.4 : 0.9), e.AtS - 3)).ToList();
        var records = folder
            ? Enumerable.Range(0, 3).Select(i => new ReportRecord(analysis with { Record = $"rec{i}" }, i == 0 ? ["network"] : [])).ToList()
            : [new ReportRecord(analysis, [])];
        return new ReportContent(folder ? "folder golden (3 records)" : "record golden", "ecg-nat 0.3.0+sha256:0123456789ab (ecg-nat-int8.onnx)",
            new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero), records, strips, folder ? ["bad: the file is truncated"] : [], IsFolder: folder);
    }

    /// <summary>10 s of two synthetic leads at 500 Hz with R peaks every <paramref name="rrS"/> seconds.</summary>
    private static StripSignal Strip(double rrS)
    {
        const double Fs = 500;
        var peaks = new List<double>();
        for (var t = 0.3; t < 10; t += rrS) peaks.Add(t);
        var ii = Synthetic.Ecg(Fs, 10, peaks, amplitudeUv: 1200).Select(v => v / 1000f).ToArray();
        var v1 = Synthetic.Ecg(Fs, 10, peaks, amplitudeUv: -800).Select(v => v / 1000f).ToArray();
        return new StripSignal(["II", "V1"], [ii, v1], 1000 / Fs, 3);
    }

    private static bool HasFonts() => SKFontManager.Default.MatchFamily("DejaVu Sans") is not null;

    [SkippableTheory]
    [InlineData(false, 0, "report-golden-summary.png")]
    [InlineData(false, 1, "report-golden-tables.png")]
    [InlineData(false, 2, "report-golden-strips.png")]
    [InlineData(true, 0, "report-golden-folder.png")]
    public void Pages_match_their_golden_images(bool folder, int page, string golden)
    {
        Skip.IfNot(HasFonts(), "the golden pages were drawn with DejaVu Sans (Debian fonts-dejavu-core), which this machine lacks");
        var content = Content(folder);
        var pages = HolterReport.Pages(content);
        using var actual = HolterReport.RenderBitmap(pages[page]);
        var path = Path.Combine(TestData.RepoRoot, "tests", "EcgEdge.Host.Tests", "Resources", golden);
        if (Environment.GetEnvironmentVariable("ECGEDGE_UPDATE_GOLDEN") == "1")
        {
            using var png = actual.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(path, png.ToArray());
        }
        using var expected = SKBitmap.Decode(path);
        Assert.Equal((expected.Width, expected.Height), (actual.Width, actual.Height));
        long differing = 0;
        for (var y = 0; y < expected.Height; y++)
            for (var x = 0; x < expected.Width; x++)
            {
                var e = expected.GetPixel(x, y);
                var a = actual.GetPixel(x, y);
                if (Math.Abs(e.Red - a.Red) > ChannelTolerance || Math.Abs(e.Green - a.Green) > ChannelTolerance || Math.Abs(e.Blue - a.Blue) > ChannelTolerance)
                    differing++;
            }
        var share = (double)differing / (expected.Width * expected.Height);
        Assert.True(share <= PixelShareTolerance, $"{golden}: {share:P3} of the pixels differ (at most {PixelShareTolerance:P1} allowed)");
    }

    [Fact]
    public void A_single_record_report_has_summary_tables_and_two_strips_per_page()
    {
        var content = Content();
        var pages = HolterReport.Pages(content);
        Assert.Equal(3, pages.Count); // summary, tables, one page of two strips
        using var stream = new MemoryStream();
        HolterReport.WritePdf(content, stream);
        var pdf = stream.ToArray();
        Assert.Equal("%PDF-"u8.ToArray(), pdf[..5]);
        Assert.Equal(3, CountPdfPages(pdf));
    }

    [Fact]
    public void Strips_are_drawn_at_true_scale_on_the_page()
    {
        // 10 s at 25 mm/s is 250 mm of trace; at 10 px/mm on the page the two QRS rows must span that width.
        var content = Content();
        var page = HolterReport.Pages(content)[2];
        using var bmp = HolterReport.RenderBitmap(page, 10);
        var (width, _) = StripRenderer.ImageSize(10, 2);
        var left = (int)Math.Round((HolterReport.PageWidthMm - width / 10.0) / 2 * 10);
        // Dark trace pixels exist from the first second to the last second of the strip's trace area.
        int FirstDark(Func<int, int> column, int from, int to)
        {
            for (var i = from; i != to; i += Math.Sign(to - from))
                for (var y = 250; y < 1100; y++)
                {
                    var c = bmp.GetPixel(column(i), y);
                    if (c.Red < 60 && c.Green < 60 && c.Blue < 60) return i;
                }
            return -1;
        }
        var traceLeft = left + StripRenderer.TraceLeftMm * 10;
        var firstTrace = FirstDark(i => i, traceLeft, traceLeft + 500);
        var lastTrace = FirstDark(i => i, traceLeft + 2550, traceLeft);
        Assert.InRange(firstTrace, traceLeft - 5, traceLeft + 10);
        Assert.InRange(lastTrace - firstTrace, 2480, 2510); // 250 mm ± 3 mm of a 10-px/mm page
    }

    [Fact]
    public void A_folder_report_lists_every_record_and_its_problems()
    {
        var content = Content(folder: true);
        var pages = HolterReport.Pages(content);
        Assert.Equal(2, pages.Count); // the records' table, then the strips
        var many = content with { Records = Enumerable.Range(0, 100).Select(i => content.Records[0] with { Analysis = content.Records[0].Analysis with { Record = $"r{i}" } }).ToList() };
        Assert.True(HolterReport.Pages(many).Count >= 4, "100 records flow over several pages");
    }

    [Theory]
    [InlineData(0, "0:00:00")]
    [InlineData(59.6, "0:01:00")]
    [InlineData(3 * 3600 + 61, "3:01:01")]
    [InlineData(30 * 3600, "30:00:00")]
    public void Clock_times_are_elapsed_hours(double s, string text) => Assert.Equal(text, HolterReport.Clock(s));

    private static int CountPdfPages(byte[] pdf)
    {
        var text = System.Text.Encoding.Latin1.GetString(pdf);
        return System.Text.RegularExpressions.Regex.Matches(text, @"/Type\s*/Page\b").Count;
    }
}
