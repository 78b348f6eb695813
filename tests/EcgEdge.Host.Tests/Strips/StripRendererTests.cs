using System.Globalization;
using System.Text;
using System.Text.Json;
using EcgEdge.Events.Alerts;
using EcgEdge.Strips;
using EcgEdge.Tests.Wfdb;
using EcgEdge.Verbs;
using EcgEdge.Wfdb;
using SkiaSharp;

namespace EcgEdge.Tests.Strips;

public class StripRendererTests
{
    private const double Fs = 250;
    private const double Seconds = 10;
    private const double OnsetS = 3.0;
    private static readonly List<double> RPeaks = Synthetic.Regular(72, Seconds);

    /// <summary>Set to a file path to also write the MIT-BIH 201 strip there (for looking at it).</summary>
    private const string ExampleVariable = "ECGEDGE_STRIP_EXAMPLE";

    [Fact]
    public void Png_has_the_signature_and_the_size_of_25_mm_per_s_paper_with_one_row_per_lead()
    {
        var png = StripRenderer.RenderPng(SyntheticAlert());
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        using var bmp = SKBitmap.Decode(png);
        Assert.NotNull(bmp);
        // 10 s at 25 mm/s and 10 px/mm is 2500 px of trace, plus the label/calibration column and the right margin.
        Assert.Equal(2500 + (StripRenderer.TraceLeftMm + StripRenderer.RightMarginMm) * 10, bmp.Width);
        // Three leads, one row each, between the header and footer bands.
        Assert.Equal((StripRenderer.HeaderMm + 3 * StripRenderer.RowMm + StripRenderer.FooterMm) * 10, bmp.Height);
    }

    [Fact]
    public void R_peaks_are_drawn_at_25_mm_per_s_and_10_mm_per_mV()
    {
        var alert = SyntheticAlert();
        var signal = StripRenderer.Parse(alert.Strip);
        using var bmp = Decode(alert);
        const int lead = 1; // II, 1 mV R waves
        var baseline = StripRenderer.BaselinePx(lead);
        foreach (var r in RPeaks)
        {
            var x = (int)Math.Round(StripRenderer.TraceLeftPx + r * 250); // 25 mm/s × 10 px/mm
            var i = (int)Math.Round(r * Fs);
            var peakMv = signal.Millivolts[lead][Math.Max(0, i - 2)..Math.Min(signal.SampleCount, i + 3)].Max();
            Assert.InRange(peakMv, 0.9, 1.05);
            var top = TopmostDark(bmp, x - 1, x + 1, StripRenderer.RowTopPx(lead), StripRenderer.RowTopPx(lead + 1));
            Assert.InRange(top, baseline - peakMv * 100 - 4, baseline - peakMv * 100 + 3); // 10 mm/mV × 10 px/mm
        }
        // Between beats (after T, before the next P) the trace lies on the baseline.
        var quiet = (int)Math.Round(StripRenderer.TraceLeftPx + (RPeaks[2] + 0.5) * 250);
        var quietTop = TopmostDark(bmp, quiet, quiet, StripRenderer.RowTopPx(lead), StripRenderer.RowTopPx(lead + 1));
        Assert.InRange(quietTop, baseline - 4, baseline + 1);
    }

    [Fact]
    public void A_flat_lead_is_drawn_on_its_baseline_and_nowhere_else_in_its_row()
    {
        var alert = SyntheticAlert();
        using var bmp = Decode(alert);
        const int lead = 2; // V1: all zeros
        var baseline = StripRenderer.BaselinePx(lead);
        var onBaseline = 0;
        for (var x = StripRenderer.TraceLeftPx + 2; x < bmp.Width - 60; x += 7)
        {
            for (var y = StripRenderer.RowTopPx(lead) + 60; y < StripRenderer.RowTopPx(lead + 1); y++)
            {
                if (!IsDark(bmp.GetPixel(x, y))) continue;
                Assert.InRange(y, baseline - 2, baseline + 2);
                onBaseline++;
            }
        }
        Assert.True(onBaseline > 300, $"only {onBaseline} trace pixels on the flat lead's baseline");
    }

    [Fact]
    public void Every_row_starts_with_a_1_mV_200_ms_calibration_pulse()
    {
        using var bmp = Decode(SyntheticAlert());
        for (var lead = 0; lead < 3; lead++)
        {
            var baseline = StripRenderer.BaselinePx(lead);
            // Across the middle of the pulse: dark only at the rising and falling edges.
            var mid = baseline - 50;
            var dark = Enumerable.Range(StripRenderer.LabelWidthMm * 10, StripRenderer.TraceLeftPx - StripRenderer.LabelWidthMm * 10)
                .Where(x => IsDark(bmp.GetPixel(x, mid))).ToList();
            Assert.NotEmpty(dark);
            Assert.InRange(dark.Max() - dark.Min(), 48, 52); // 200 ms × 250 px/s = 50 px
            // Its top is 1 mV (100 px) above the baseline.
            var centre = (dark.Max() + dark.Min()) / 2;
            Assert.InRange(TopmostDark(bmp, centre, centre, StripRenderer.RowTopPx(lead), baseline), baseline - 102, baseline - 98);
        }
    }

    [Fact]
    public void The_onset_marker_column_has_the_marker_colour_and_other_columns_do_not()
    {
        using var bmp = Decode(SyntheticAlert());
        var top = StripRenderer.HeaderPx;
        var bottom = StripRenderer.RowTopPx(3);
        var markerX = (int)Math.Round(StripRenderer.XForSeconds(OnsetS));
        Assert.Equal(StripRenderer.TraceLeftPx + 750, markerX);
        var blue = CountColumn(bmp, markerX, top, bottom, IsMarker);
        Assert.True(blue > 0.5 * (bottom - top), $"{blue} of {bottom - top} pixels of the marker column are marker-coloured");
        foreach (var other in new[] { markerX - 250, markerX + 250, markerX + 1000 })
            Assert.Equal(0, CountColumn(bmp, other, top, bottom, IsMarker));
    }

    [Fact]
    public void The_paper_has_minor_lines_every_mm_and_major_lines_every_5_mm()
    {
        using var bmp = Decode(SyntheticAlert());
        // A horizontal scan between two minor lines, near the top of the flat lead's row, well away from any trace.
        var y = StripRenderer.RowTopPx(2) + 33;
        var minor = new List<int>();
        var major = new List<int>();
        for (var x = StripRenderer.TraceLeftPx; x < StripRenderer.TraceLeftPx + 500; x++)
        {
            var c = bmp.GetPixel(x, y);
            if (c == StripRenderer.MajorGridColor) major.Add(x);
            else if (c == StripRenderer.MinorGridColor) minor.Add(x);
            else Assert.Equal(StripRenderer.PaperColor, c);
        }
        // Major lines (2 px) at every 50 px (5 mm), minor lines (1 px) at every other 10 px (1 mm).
        var left = StripRenderer.TraceLeftPx;
        Assert.Equal(Enumerable.Range(0, 11).SelectMany(k => new[] { left + 50 * k - 1, left + 50 * k }).Where(x => x >= left && x < left + 500), major);
        Assert.Equal(Enumerable.Range(0, 50).Where(k => k % 5 != 0).Select(k => left + 10 * k), minor);
    }

    [SkippableFact]
    public void Header_footer_and_lead_names_are_written()
    {
        Skip.If(SKFontManager.Default.FontFamilyCount == 0, "no font installed: SkiaSharp draws no text");
        using var bmp = Decode(SyntheticAlert());
        // Header band: text on white.
        Assert.True(CountArea(bmp, 0, bmp.Width, 0, StripRenderer.HeaderPx, IsDark) > 500);
        // Footer band.
        Assert.True(CountArea(bmp, 0, bmp.Width, StripRenderer.RowTopPx(3), bmp.Height, IsDark) > 300);
        // Every lead's name in the label column, above the baseline.
        for (var lead = 0; lead < 3; lead++)
            Assert.True(CountArea(bmp, 0, StripRenderer.LabelWidthMm * 10, StripRenderer.RowTopPx(lead), StripRenderer.BaselinePx(lead), IsDark) > 50);
        // The header line is shrunk to fit rather than cut at the right edge, also on a 2 s strip.
        var strip = SyntheticAlert().Strip!;
        var twoSeconds = string.Join(' ', strip.Data.Split(' ').Take(3 * 500));
        using var narrow = Decode(SyntheticAlert() with { Strip = strip with { Data = twoSeconds, EventOffsetS = 1 } });
        foreach (var b in new[] { bmp, narrow })
        {
            Assert.Equal(0, CountArea(b, b.Width - 8, b.Width, 0, StripRenderer.HeaderPx, IsDark));
            Assert.True(CountArea(b, 0, b.Width, 0, StripRenderer.HeaderPx, IsDark) > 300);
        }
    }

    [Fact]
    public void An_onset_outside_the_strip_draws_no_marker()
    {
        var alert = SyntheticAlert();
        using var bmp = Decode(alert with { Strip = alert.Strip! with { EventOffsetS = 12.5 } });
        Assert.Equal(0, CountArea(bmp, 0, bmp.Width, StripRenderer.HeaderPx, StripRenderer.RowTopPx(3), IsMarker));
    }

    [Fact]
    public void ParseData_deinterleaves_the_leads_and_applies_the_factor()
    {
        var mv = StripRenderer.ParseData(" 1 -2 3  4\n5 +6 ", 2, 0.005);
        Assert.Equal(2, mv.Length);
        Assert.Equal(new[] { 0.005f, 0.015f, 0.025f }, mv[0]);
        Assert.Equal(new[] { -0.010f, 0.020f, 0.030f }, mv[1]);
    }

    [Theory]
    [InlineData("1 2 x 4", 2, "value 3 ('x') is not an integer")]
    [InlineData("1 2 3", 2, "3 values, not a multiple of its 2 dimensions")]
    [InlineData("1.5 2", 1, "value 1 ('1.5') is not an integer")]
    [InlineData("E 1", 1, "value 1 ('E') is not an integer")]
    [InlineData("1 99999999999", 1, "value 2 ('99999999999') is not an integer")]
    [InlineData("   ", 1, "no samples")]
    [InlineData("1 2", 0, "dimensions must be at least 1")]
    public void Malformed_data_is_a_StripFormatException(string data, int dimensions, string expected)
    {
        var e = Assert.Throws<StripFormatException>(() => StripRenderer.ParseData(data, dimensions, 0.005));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_or_inconsistent_strip_is_a_StripFormatException()
    {
        Assert.Contains("no strip", Assert.Throws<StripFormatException>(() => StripRenderer.RenderPng(SyntheticAlert() with { Strip = null })).Message, StringComparison.Ordinal);
        var strip = SyntheticAlert().Strip!;
        Assert.Throws<StripFormatException>(() => StripRenderer.Parse(strip with { Leads = ["I", "II"] }));
        Assert.Throws<StripFormatException>(() => StripRenderer.Parse(strip with { PeriodMs = 0 }));
        Assert.Throws<StripFormatException>(() => StripRenderer.Parse(strip with { Factor = double.NaN }));
        Assert.Throws<StripFormatException>(() => StripRenderer.Parse(strip with { Unit = "mmHg" }));
        Assert.Throws<StripFormatException>(() => StripRenderer.Parse(strip with { PeriodMs = 100 })); // 2500 frames = 250 s
    }

    [Fact]
    public async Task Verb_writes_the_png_and_exits_0_for_a_good_alert()
    {
        using var dir = new TempDirectory();
        var input = dir.Write("alert.json", JsonSerializer.Serialize(SyntheticAlert(), MessageJsonContext.Default.Alert));
        var output = dir.File("strip.png");
        Assert.Equal(0, await StripVerb.RunAsync([input, "-o", output]));
        using var bmp = SKBitmap.Decode(output);
        Assert.Equal(StripRenderer.ImageSize(Seconds, 3), (bmp.Width, bmp.Height));
    }

    [Fact]
    public async Task Verb_exits_2_with_one_line_for_bad_files()
    {
        using var dir = new TempDirectory();
        var good = JsonSerializer.Serialize(SyntheticAlert(), MessageJsonContext.Default.Alert);
        var cases = new Dictionary<string, string>
        {
            ["not-json.json"] = "this is not JSON",
            ["binary.json"] = "\u0001\u0002\u00ff",
            ["wrong-enum.json"] = good.Replace("\"af\"", "\"flutter\"", StringComparison.Ordinal),
            ["no-strip.json"] = JsonSerializer.Serialize(SyntheticAlert() with { Strip = null }, MessageJsonContext.Default.Alert),
            ["bad-data.json"] = JsonSerializer.Serialize(SyntheticAlert() with { Strip = SyntheticAlert().Strip! with { Data = "1 2 3 zz 5 6" } }, MessageJsonContext.Default.Alert),
            ["odd-count.json"] = JsonSerializer.Serialize(SyntheticAlert() with { Strip = SyntheticAlert().Strip! with { Data = "1 2 3 4" } }, MessageJsonContext.Default.Alert),
            ["null.json"] = "null",
        };
        var paths = cases.Select(c => dir.Write(c.Key, c.Value)).Append(dir.File("does-not-exist.json"));
        foreach (var input in paths)
        {
            var output = dir.File(Path.GetFileName(input) + ".png");
            var (code, stderr) = await CaptureStderr(() => StripVerb.RunAsync([input, "-o", output]));
            Assert.Equal(1, code);
            Assert.False(File.Exists(output), input);
            var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains(input, StringComparison.Ordinal)).ToList();
            var line = Assert.Single(lines);
            Assert.StartsWith("ecgedge: strip: ", line, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Verb_usage_errors_are_UsageExceptions()
    {
        await Assert.ThrowsAsync<UsageException>(() => StripVerb.RunAsync(["alert.json"]));
        await Assert.ThrowsAsync<UsageException>(() => StripVerb.RunAsync(["-o", "x.png"]));
        await Assert.ThrowsAsync<UsageException>(() => StripVerb.RunAsync(["a.json", "b.json", "-o", "x.png"]));
        await Assert.ThrowsAsync<UsageException>(() => StripVerb.RunAsync(["a.json", "-o", "x.png", "--lead", "II"]));
    }

    [Fact]
    public void A_real_strip_of_mit_bih_201_around_an_af_onset_renders_both_leads()
    {
        var alert = RecordAlert();
        var png = StripRenderer.RenderPng(alert);
        var example = Environment.GetEnvironmentVariable(ExampleVariable);
        if (!string.IsNullOrEmpty(example)) File.WriteAllBytes(example, png);
        using var bmp = SKBitmap.Decode(png);
        Assert.Equal(StripRenderer.ImageSize(10, 2), (bmp.Width, bmp.Height));
        for (var lead = 0; lead < 2; lead++)
        {
            // QRS complexes leave the baseline by more than 0.3 mV many times in 10 s.
            var baseline = StripRenderer.BaselinePx(lead);
            var away = CountArea(bmp, StripRenderer.TraceLeftPx, bmp.Width, StripRenderer.RowTopPx(lead), StripRenderer.RowTopPx(lead + 1),
                (c, _, y) => IsDark(c) && Math.Abs(y - baseline) > 30);
            Assert.True(away > 200, $"lead {lead}: {away} trace pixels more than 0.3 mV from the baseline");
        }
        var markerX = (int)Math.Round(StripRenderer.XForSeconds(alert.Strip!.EventOffsetS));
        Assert.True(CountColumn(bmp, markerX, StripRenderer.HeaderPx, StripRenderer.RowTopPx(2), IsMarker) > 300);
    }

    // ---- test alerts ----

    private static Alert SyntheticAlert()
    {
        var leadI = Synthetic.Ecg(Fs, Seconds, RPeaks, amplitudeUv: 500);
        var leadII = Synthetic.Ecg(Fs, Seconds, RPeaks, amplitudeUv: 1000);
        var leadV1 = new float[leadII.Length];
        var data = Interleave([leadI, leadII, leadV1]);
        var origin = new DateTimeOffset(2026, 3, 14, 9, 26, 50, 120, TimeSpan.Zero);
        var strip = new Strip(new TimePoint(origin, 1_000_000), 1000 / Fs, 0.005, "mV", ["I", "II", "V1"], 3, OnsetS, data);
        return NewAlert(strip, origin.AddSeconds(OnsetS));
    }

    /// <summary>10 s of MIT-BIH 201 (MLII, V1 at 360 Hz) from 3 s before a reference "(AFIB" rhythm annotation.</summary>
    private static Alert RecordAlert()
    {
        var path = Path.Combine(TestData.RepoRoot, "src", "EcgEdge", "Resources", "mitdb", "201");
        var record = WfdbRecord.Load(path);
        var fs = record.Header.SamplingFrequency;
        var annotations = AnnotationReader.Read(path + ".atr");
        var onset = annotations.First(a => a.Aux == "(AFIB" && a.Sample >= 3 * fs).Sample;
        var start = (int)(onset - 3 * fs);
        var frames = (int)(10 * fs);
        var leads = new float[2][];
        for (var s = 0; s < 2; s++)
        {
            leads[s] = new float[frames];
            for (var i = 0; i < frames; i++) leads[s][i] = record.Header.Signals[s].ToMicrovolts(record.Samples[s][start + i]);
        }
        var origin = new DateTimeOffset(2026, 3, 14, 9, 26, 50, 0, TimeSpan.Zero);
        var strip = new Strip(new TimePoint(origin, start), 1000 / fs, 0.005, "mV", ["II", "V1"], 2, (onset - start) / fs, Interleave(leads));
        return NewAlert(strip, origin.AddSeconds((onset - start) / fs));
    }

    private static Alert NewAlert(Strip strip, DateTimeOffset onset) => new(
        Alert.SchemaId, "a-7f3c", "wear-0042", AlertType.AtrialFibrillation, AlertPhase.Onset, AlertSeverity.High, "ep-19",
        new TimePoint(onset, strip.Origin.SampleIndex + (long)(strip.EventOffsetS * 500)), null, null, 118, 0.93, "ecg-rhythm 1.4.0",
        new Dictionary<string, string> { ["II"] = "good" }, "AF for 30 s", strip);

    /// <summary>Counts of 5 µV, interleaved by lead, in the strip's <c>data</c> form.</summary>
    private static string Interleave(float[][] leadsUv)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < leadsUv[0].Length; i++)
            foreach (var lead in leadsUv)
            {
                if (sb.Length > 0) sb.Append(' ');
                sb.Append(((int)Math.Round(lead[i] / 5)).ToString(CultureInfo.InvariantCulture));
            }
        return sb.ToString();
    }

    // ---- pixels ----

    private static SKBitmap Decode(Alert alert) => SKBitmap.Decode(StripRenderer.RenderPng(alert));

    private static bool IsDark(SKColor c) => c.Red < 90 && c.Green < 90 && c.Blue < 90;

    private static bool IsMarker(SKColor c) =>
        Math.Abs(c.Red - StripRenderer.MarkerColor.Red) < 40 && Math.Abs(c.Green - StripRenderer.MarkerColor.Green) < 40
        && Math.Abs(c.Blue - StripRenderer.MarkerColor.Blue) < 40;

    /// <summary>The smallest y in [y0, y1) with a dark pixel in any column x0..x1, or int.MaxValue.</summary>
    private static int TopmostDark(SKBitmap bmp, int x0, int x1, int y0, int y1)
    {
        for (var y = y0; y < y1; y++)
            for (var x = x0; x <= x1; x++)
                if (IsDark(bmp.GetPixel(x, y))) return y;
        return int.MaxValue;
    }

    private static int CountColumn(SKBitmap bmp, int x, int y0, int y1, Func<SKColor, bool> match) =>
        Enumerable.Range(y0, y1 - y0).Count(y => match(bmp.GetPixel(x, y)));

    private static int CountArea(SKBitmap bmp, int x0, int x1, int y0, int y1, Func<SKColor, bool> match) =>
        CountArea(bmp, x0, x1, y0, y1, (c, _, _) => match(c));

    private static int CountArea(SKBitmap bmp, int x0, int x1, int y0, int y1, Func<SKColor, int, int, bool> match)
    {
        var n = 0;
        for (var y = y0; y < y1; y++)
            for (var x = x0; x < x1; x++)
                if (match(bmp.GetPixel(x, y), x, y)) n++;
        return n;
    }

    private static async Task<(int Code, string Stderr)> CaptureStderr(Func<Task<int>> run)
    {
        var old = Console.Error;
        var w = new StringWriter();
        Console.SetError(w);
        try { return (await run(), w.ToString()); }
        finally { Console.SetError(old); }
    }
}
