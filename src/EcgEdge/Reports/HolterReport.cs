using System.Globalization;
using EcgEdge.Strips;
using SkiaSharp;

namespace EcgEdge.Reports;

/// <summary>A record's analysis with what the report needs beside it.</summary>
/// <param name="TrainedOn">The parts of the model fitted on this record (empty: none; null: the manifest does not say).</param>
public sealed record ReportRecord(HolterAnalysis Analysis, IReadOnlyList<string>? TrainedOn);

/// <summary>An event strip: what it shows, from which record, and the signal.</summary>
public sealed record ReportStrip(string Record, SignificantEvent Event, StripSignal Signal, double StartS);

/// <summary>Everything one report shows.</summary>
/// <param name="Title">"record 201" or "folder cinc2021-sample (50 records)".</param>
/// <param name="ModelLabel">The model's version label (name, version, manifest hash).</param>
/// <param name="Generated">When the report was made (printed in its header).</param>
public sealed record ReportContent(string Title, string ModelLabel, DateTimeOffset Generated, IReadOnlyList<ReportRecord> Records,
    IReadOnlyList<ReportStrip> Strips, IReadOnlyList<string> Problems, bool IsFolder = false, bool Looped = false);

/// <summary>
/// Lays out a Holter report on A4 landscape pages — summary (monitoring, heart rate, HRV, beats, ectopy, rhythm, alarms,
/// with the heart-rate trend and the ectopy per period plotted by ScottPlot), trend and episode tables, and the strips
/// of the most significant events on ECG paper at true scale (25 mm/s, 10 mm/mV: a millimetre of the strip is a
/// millimetre of the printed page) — and writes it as a PDF (SkiaSharp's PDF backend: vector text, grid and traces) or
/// as PNG pages. A folder gives one summary row per record instead of the single-record pages.
/// </summary>
public static class HolterReport
{
    /// <summary>A4 landscape, millimetres.</summary>
    public const float PageWidthMm = 297, PageHeightMm = 210;

    /// <summary>Outer margin.</summary>
    public const float MarginMm = 10;

    /// <summary>PNG pages: pixels per millimetre (150 dpi ≈ 5.9).</summary>
    public const float PngPixelsPerMm = 150 / 25.4f;

    /// <summary>Plots are drawn at this many of ScottPlot's pixels per millimetre (its default fonts then read as ~9 pt).</summary>
    private const float PlotPixelsPerMm = 4.5f;

    private const float TextMm = 3.1f, LineMm = 4.5f, HeadingMm = 3.9f;

    private static readonly SKColor Ink = new(0x20, 0x20, 0x20), Muted = new(0x60, 0x60, 0x60), Rule = new(0xC8, 0xC8, 0xC8),
        Accent = new(0x1E, 0x4E, 0xD8), Warn = new(0xB0, 0x20, 0x20);

    /// <summary>The pages of the report, each a drawing in millimetres.</summary>
    public static IReadOnlyList<Action<SKCanvas>> Pages(ReportContent content)
    {
        ArgumentNullException.ThrowIfNull(content);
        var pages = new List<Action<SKCanvas>>();
        if (!content.IsFolder && content.Records.Count == 1) SingleRecordPages(content, pages);
        else CohortPages(content, pages);
        for (var i = 0; i < content.Strips.Count; i += 2)
        {
            var pair = content.Strips.Skip(i).Take(2).ToList();
            pages.Add(c => StripPage(c, content, pair));
        }
        // Every page carries the header and the footer with its number.
        var total = pages.Count;
        return pages.Select((draw, index) => (Action<SKCanvas>)(c =>
        {
            c.Clear(SKColors.White);
            Header(c, content);
            draw(c);
            Footer(c, content, index + 1, total);
        })).ToList();
    }

    /// <summary>Writes the report as a PDF.</summary>
    public static void WritePdf(ReportContent content, Stream output)
    {
        var pages = Pages(content);
        var metadata = new SKDocumentPdfMetadata
        {
            Title = "Holter report — " + content.Title, Creator = "EcgEdge", Producer = "EcgEdge (SkiaSharp PDF)",
            Creation = content.Generated.UtcDateTime, Modified = content.Generated.UtcDateTime, RasterDpi = 150,
        };
        using var document = SKDocument.CreatePdf(output, metadata) ?? throw new InvalidOperationException("SkiaSharp could not create a PDF");
        const float PointsPerMm = 72 / 25.4f;
        foreach (var page in pages)
        {
            var canvas = document.BeginPage(PageWidthMm * PointsPerMm, PageHeightMm * PointsPerMm);
            canvas.Scale(PointsPerMm);
            page(canvas);
            document.EndPage();
        }
        document.Close();
    }

    /// <summary>Renders one page into a new bitmap (the caller disposes it).</summary>
    public static SKBitmap RenderBitmap(Action<SKCanvas> page, float pixelsPerMm = PngPixelsPerMm)
    {
        ArgumentNullException.ThrowIfNull(page);
        var bitmap = new SKBitmap(new SKImageInfo((int)Math.Round(PageWidthMm * pixelsPerMm), (int)Math.Round(PageHeightMm * pixelsPerMm),
            SKColorType.Rgba8888, SKAlphaType.Opaque));
        using var canvas = new SKCanvas(bitmap);
        canvas.Scale(pixelsPerMm);
        page(canvas);
        canvas.Flush();
        return bitmap;
    }

    // ---- pages -------------------------------------------------------------------------------------------------------

    private static void SingleRecordPages(ReportContent content, List<Action<SKCanvas>> pages)
    {
        var r = content.Records[0];
        pages.Add(c => SummaryPage(c, content, r));
        var a = r.Analysis;
        var trendRows = a.Trend.Select(b => new[]
        {
            Clock(b.StartS), Clock(b.EndS), N(b.Beats), Bpm(b.HrMin), Bpm(b.HrMean), Bpm(b.HrMax), N(b.N), N(b.S), N(b.V), N(b.Other),
            Minutes(b.AfS), Minutes(b.NoiseS),
        }).ToList();
        var episodeRows = a.Episodes.Select(e => new[]
        {
            Clock(e.OnsetS), TypeName(e.Type), e.Severity.ToString().ToLowerInvariant(), e.DurationS is { } d ? Duration(d) : "open",
            Bpm(e.HeartRateBpm), e.Criteria,
        }).ToList();
        var trendColumns = new[] { ("from", 20f), ("to", 20f), ("beats", 16f), ("HR min", 16f), ("mean", 14f), ("max", 14f), ("N", 16f), ("S", 13f),
            ("V", 13f), ("F/Q", 13f), ("AF min", 16f), ("noise min", 18f) };
        var episodeColumns = new[] { ("onset", 20f), ("episode", 30f), ("priority", 17f), ("duration", 20f), ("HR", 14f), ("criteria", 176f) };
        // Tables flow over as many pages as they need: trend first, then the device's alarm episodes.
        var blocks = new List<(string Title, (string, float)[] Columns, List<string[]> Rows, string Empty)>
        {
            ($"Trend per {Period(a.TrendBinSeconds)} (HR: min and max of 10-s averages, mean of the readable RR intervals)", trendColumns, trendRows, ""),
            ($"Alarm episodes raised by the device ({a.Episodes.Count})", episodeColumns, episodeRows, "No alarm was raised."),
        };
        var rowsPerPage = (int)((PageHeightMm - 2 * MarginMm - 30) / LineMm);
        var pageBlocks = new List<(string, (string, float)[], List<string[]>, string)>();
        var used = 0;
        foreach (var (title, columns, rows, empty) in blocks)
        {
            var start = 0;
            do
            {
                if (used + 4 > rowsPerPage) { var done = pageBlocks.ToList(); pages.Add(c => TablePage(c, done)); pageBlocks.Clear(); used = 0; }
                var take = Math.Min(rows.Count - start, rowsPerPage - used - 3);
                pageBlocks.Add((start == 0 ? title : title + " (continued)", columns, rows.GetRange(start, Math.Max(0, take)), empty));
                used += Math.Max(1, take) + 3;
                start += Math.Max(0, take);
            } while (start < rows.Count);
        }
        if (pageBlocks.Count > 0) { var last = pageBlocks.ToList(); pages.Add(c => TablePage(c, last)); }
    }

    private static void CohortPages(ReportContent content, List<Action<SKCanvas>> pages)
    {
        var columns = new[] { ("record", 30f), ("analysed", 18f), ("beats", 14f), ("HR min", 14f), ("mean", 12f), ("max", 12f), ("AF %", 12f),
            ("VEB %", 13f), ("SVEB %", 14f), ("noise %", 14f), ("V runs", 13f), ("alarms", 46f), ("trained on", 18f), ("leads", 37f) };
        var rows = content.Records.Select(r =>
        {
            var a = r.Analysis;
            var beats = Math.Max(1, a.Beats);
            var alarms = string.Join(" ", a.Episodes.GroupBy(e => e.Type).Select(g => $"{ShortType(g.Key)}×{g.Count()}"));
            return new[]
            {
                a.Record, Duration(a.DurationS), N(a.Beats), Bpm(a.HrMin), Bpm(a.HrMean), Bpm(a.HrMax), Pct(100 * a.AfS / Math.Max(1e-9, a.DurationS)),
                Pct(100.0 * a.V / beats), Pct(100.0 * a.S / beats), Pct(100 * a.NoiseS / Math.Max(1e-9, a.DurationS)), N(a.Ventricular.Runs),
                alarms.Length == 0 ? "-" : alarms, r.TrainedOn is null ? "?" : r.TrainedOn.Count == 0 ? "no" : "YES", string.Join(" ", a.Leads.Select(l => l.Split('=')[0])),
            };
        }).ToList();
        var rowsPerPage = (int)((PageHeightMm - 2 * MarginMm - 62) / LineMm);
        for (var start = 0; start < rows.Count || start == 0; start += rowsPerPage)
        {
            var first = start == 0;
            var slice = rows.Skip(start).Take(rowsPerPage).ToList();
            pages.Add(c =>
            {
                var y = MarginMm + 16;
                if (first) y = CohortSummary(c, content, y);
                Table(c, MarginMm, y, first ? "Records" : "Records (continued)", columns, slice, "No record could be analysed.");
            });
            if (rows.Count == 0) break;
        }
    }

    private static float CohortSummary(SKCanvas c, ReportContent content, float y)
    {
        var records = content.Records;
        var total = records.Sum(r => r.Analysis.DurationS);
        var beats = records.Sum(r => r.Analysis.Beats);
        var af = records.Count(r => r.Analysis.AfS > 0);
        var inv = CultureInfo.InvariantCulture;
        Heading(c, MarginMm, y, "Summary");
        y += LineMm + 1;
        var lines = new List<string>
        {
            string.Create(inv, $"{records.Count} records, {Duration(total)} of signal analysed, {beats:N0} beats; AF/flutter found in {af} record(s)"),
            string.Create(inv, $"Records with an alarm: {records.Count(r => r.Analysis.Episodes.Count > 0)};  unreadable (noise) time: {Duration(records.Sum(r => r.Analysis.NoiseS))}"),
            records.Any(r => r.TrainedOn is null)
                ? "The model's manifest does not list its training records: whether these figures are evidence is unknown."
                : string.Create(inv, $"Records the model was trained on (\"trained on\" YES): {records.Count(r => r.TrainedOn is { Count: > 0 })} of {records.Count} — their figures are not evidence."),
        };
        lines.AddRange(content.Problems.Take(3).Select(p => "Not analysed: " + p));
        if (content.Problems.Count > 3) lines.Add($"… and {content.Problems.Count - 3} more records not analysed (see the command's error output)");
        foreach (var line in lines) { Text(c, MarginMm, y, line, TextMm, Ink); y += LineMm; }
        return y + 3;
    }

    private static void SummaryPage(SKCanvas c, ReportContent content, ReportRecord record)
    {
        var a = record.Analysis;
        var inv = CultureInfo.InvariantCulture;
        var beats = Math.Max(1, a.Beats);
        var x = MarginMm;
        var y = MarginMm + 16;
        const float ValueX = 44, ColumnMm = 130;
        void Section(string title) { Heading(c, x, y, title); y += LineMm + 0.4f; }
        void Line(string key, string value, SKColor? color = null)
        {
            Text(c, x + 2, y, key, TextMm, Muted);
            Text(c, x + ValueX, y, value, TextMm, color ?? Ink, maxWidthMm: ColumnMm - ValueX);
            y += LineMm - 0.2f;
        }

        Section("Recording");
        Line("Record", a.Record + (a.RecordedAt is { } at ? $", recorded {at}" : ""));
        if (a.PatientNotes is { } notes) Line("Header notes", notes);
        Line("Leads", string.Join(", ", a.Leads));
        Line("Analysed", string.Create(inv, $"{Clock(a.FirstS)} to {Clock(a.FirstS + a.DurationS)} ({Duration(a.DurationS)}), {a.RecordRateHz:0.#} Hz")
            + (content.Looped ? ", the record replayed in a loop" : ""));
        Line("Model training", TrainingNote(record.TrainedOn), record.TrainedOn is { Count: > 0 } ? Warn : null);
        y += 2.2f;
        Section("Monitoring quality");
        Line("Readable", string.Create(inv, $"{Duration(a.DurationS - a.NoiseS)} ({Pct(100 * (a.DurationS - a.NoiseS) / Math.Max(1e-9, a.DurationS))} %)"));
        Line("Unreadable (noise)", Duration(a.NoiseS));
        Line("Lead off / flat", a.LeadOffS.Count == 0 ? "-" : string.Join(", ", a.LeadOffS.Select(kv => $"{kv.Key} {Duration(kv.Value)}")));
        y += 2.2f;
        Section("Heart rate (10-s averages)");
        Line("Minimum", a.HrMin is { } lo ? $"{Bpm(lo)} bpm at {Clock(a.HrMinAtS ?? 0)}" : "-");
        Line("Mean", a.HrMean is { } m ? $"{Bpm(m)} bpm" : "-");
        Line("Maximum", a.HrMax is { } hi ? $"{Bpm(hi)} bpm at {Clock(a.HrMaxAtS ?? 0)}" : "-");
        Line("Longest RR", a.LongestRrS is { } rr ? string.Create(inv, $"{rr:0.00} s at {Clock(a.LongestRrAtS ?? 0)}") : "-");
        y += 2.2f;
        Section("Heart-rate variability (normal-to-normal)");
        var h = a.Hrv;
        Line("NN intervals", N(h.NnCount) + (a.DurationS < 300 ? "  (under 5 min of signal: indicative only)" : "") + (a.AfS > 0 ? "  (AF time left out)" : ""));
        Line("Mean NN / SDNN", h.MeanNnMs is { } mnn ? string.Create(inv, $"{mnn:F0} ms / {h.SdnnMs:F0} ms") : "-");
        Line("RMSSD / pNN50", h.RmssdMs is { } rm ? string.Create(inv, $"{rm:F0} ms / {h.Pnn50:F1} %") : "-");
        y += 2.2f;
        Section("Beats");
        Line("Total", string.Create(inv, $"{a.Beats:N0}  (N {a.N:N0}, unclassified {a.Q:N0}, fusion {a.F:N0})"));
        Line("Ventricular (V)", string.Create(inv, $"{a.V:N0} ({Pct(100.0 * a.V / beats)} % of beats)"));
        Line("   couplets / runs", string.Create(inv, $"{a.Ventricular.Couplets} / {a.Ventricular.Runs} (≥ 3 beats)") + RunText(a.Ventricular));
        Line("Supraventricular (S)", string.Create(inv, $"{a.S:N0} ({Pct(100.0 * a.S / beats)} % of beats)"));
        Line("   couplets / runs", string.Create(inv, $"{a.Supraventricular.Couplets} / {a.Supraventricular.Runs} (≥ 3 beats)") + RunText(a.Supraventricular));
        y += 2.2f;
        Section("Rhythm and alarms");
        Line("AF/flutter burden", string.Create(inv, $"{Pct(100 * a.AfS / Math.Max(1e-9, a.DurationS))} % of the time ({Duration(a.AfS)})"));
        Line("   stretches", a.AfEpisodes == 0 ? "none" : $"{a.AfEpisodes}" + (a.LongestAfS is { } l ? $", the longest {Duration(l)}" : ""));
        var alarms = a.Episodes.GroupBy(e => e.Type).Select(g => $"{TypeName(g.Key)} {g.Count()}").ToList();
        Line("Alarm episodes", alarms.Count == 0 ? "none" : string.Join(", ", alarms));

        // Right column: the trend plots.
        var px = 146f;
        var pw = PageWidthMm - MarginMm - px;
        DrawPlot(c, HeartRatePlot(a), px, MarginMm + 16, pw, 80);
        DrawPlot(c, EctopyPlot(a), px, MarginMm + 100, pw, 72);
    }

    private static string RunText(BeatRuns runs) =>
        runs.Longest >= 3 ? string.Create(CultureInfo.InvariantCulture, $", longest {runs.Longest} beats at {Clock(runs.LongestAtS ?? 0)}") : "";

    private static void TablePage(SKCanvas c, List<(string Title, (string, float)[] Columns, List<string[]> Rows, string Empty)> blocks)
    {
        var y = MarginMm + 16;
        foreach (var (title, columns, rows, empty) in blocks) y = Table(c, MarginMm, y, title, columns, rows, empty) + 4;
    }

    private static void StripPage(SKCanvas c, ReportContent content, List<ReportStrip> strips)
    {
        var y = MarginMm + 14;
        foreach (var s in strips)
        {
            var inv = CultureInfo.InvariantCulture;
            var title = (content.IsFolder || content.Records.Count > 1 ? $"{s.Record}: " : "") + s.Event.Title + $"  —  onset {Clock(s.Event.AtS)}";
            Heading(c, MarginMm, y + 3, title);
            Text(c, PageWidthMm - MarginMm, y + 3, string.Create(inv, $"strip {Clock(s.StartS)}–{Clock(s.StartS + s.Signal.DurationS)}, 25 mm/s, 10 mm/mV, conditioned as on the device"),
                2.6f, Muted, align: SKTextAlign.Right);
            y += 5;
            // The strip's own paper at true scale: its 10 pixels per millimetre become one millimetre here.
            var (width, _) = StripRenderer.ImageSize(s.Signal.DurationS, s.Signal.Leads.Count);
            var bodyHeight = s.Signal.Leads.Count * StripRenderer.RowMm;
            var left = (PageWidthMm - width / (float)StripRenderer.PixelsPerMm) / 2;
            c.Save();
            c.ClipRect(new SKRect(left, y, left + width / (float)StripRenderer.PixelsPerMm, y + bodyHeight));
            c.Translate(left, y);
            c.Scale(1f / StripRenderer.PixelsPerMm);
            c.Translate(0, -StripRenderer.HeaderPx);
            StripRenderer.DrawBody(c, width, s.Signal);
            c.Restore();
            y += bodyHeight + 9;
        }
    }

    // ---- header, footer, text, tables, plots -------------------------------------------------------------------------

    private static void Header(SKCanvas c, ReportContent content)
    {
        Text(c, MarginMm, MarginMm + 4, "Holter report — " + content.Title, 5f, Ink, bold: true, maxWidthMm: 190);
        Text(c, PageWidthMm - MarginMm, MarginMm + 4, "EcgEdge · " + content.Generated.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
            3f, Muted, align: SKTextAlign.Right);
        using var rule = new SKPaint { Color = Rule, StrokeWidth = 0.3f, Style = SKPaintStyle.Stroke, IsAntialias = true };
        c.DrawLine(MarginMm, MarginMm + 7, PageWidthMm - MarginMm, MarginMm + 7, rule);
    }

    private static void Footer(SKCanvas c, ReportContent content, int page, int pages)
    {
        var y = PageHeightMm - MarginMm + 2;
        using var rule = new SKPaint { Color = Rule, StrokeWidth = 0.3f, Style = SKPaintStyle.Stroke, IsAntialias = true };
        c.DrawLine(MarginMm, y - 5, PageWidthMm - MarginMm, y - 5, rule);
        Text(c, MarginMm, y - 1.8f, "Research prototype, not a certified medical device: automated analysis, not reviewed by a clinician. " +
            "Figures on records the model was trained on are not evidence of its accuracy.", 2.4f, Muted, maxWidthMm: PageWidthMm - 2 * MarginMm - 22);
        Text(c, MarginMm, y + 1.4f, "Model " + content.ModelLabel, 2.4f, Muted, maxWidthMm: PageWidthMm - 2 * MarginMm - 22);
        Text(c, PageWidthMm - MarginMm, y - 1.8f, $"page {page} of {pages}", 2.4f, Muted, align: SKTextAlign.Right);
    }

    private static void Heading(SKCanvas c, float x, float y, string text) => Text(c, x, y, text, HeadingMm, Accent, bold: true, maxWidthMm: PageWidthMm - MarginMm - x);

    private static void Text(SKCanvas c, float x, float y, string text, float sizeMm, SKColor color, bool bold = false, float? maxWidthMm = null,
        SKTextAlign align = SKTextAlign.Left)
    {
        // Sizes are millimetres on a scaled canvas: hinting at a "size" of 3 would snap glyphs to a 3-pixel grid.
        using var font = new SKFont(StripRenderer.Typeface(bold), sizeMm) { Edging = SKFontEdging.Antialias, Subpixel = true, LinearMetrics = true, Hinting = SKFontHinting.None };
        using var paint = new SKPaint { Color = color, IsAntialias = true };
        if (maxWidthMm is { } max && font.MeasureText(text) > max)
        {
            // Cut at the last character that fits, with an ellipsis: a table cell never runs into the next one.
            var lo = 0;
            var hi = text.Length;
            while (lo < hi)
            {
                var mid = (lo + hi + 1) / 2;
                if (font.MeasureText(text[..mid] + "…") <= max) lo = mid;
                else hi = mid - 1;
            }
            text = text[..lo] + "…";
        }
        c.DrawText(text, x, y, align, font, paint);
    }

    /// <summary>Draws a titled table; returns the y below it.</summary>
    private static float Table(SKCanvas c, float x, float y, string title, (string Name, float Width)[] columns, List<string[]> rows, string empty)
    {
        Heading(c, x, y, title);
        y += LineMm + 0.5f;
        using var rule = new SKPaint { Color = Rule, StrokeWidth = 0.25f, Style = SKPaintStyle.Stroke, IsAntialias = true };
        var cx = x;
        foreach (var (name, width) in columns) { Text(c, cx, y, name, 2.8f, Muted, bold: true, maxWidthMm: width - 1.5f); cx += width; }
        c.DrawLine(x, y + 1.3f, cx, y + 1.3f, rule);
        y += LineMm;
        if (rows.Count == 0) { Text(c, x, y, empty, TextMm, Ink); return y + LineMm; }
        foreach (var row in rows)
        {
            cx = x;
            for (var k = 0; k < columns.Length && k < row.Length; k++)
            {
                Text(c, cx, y, row[k], 2.9f, Ink, maxWidthMm: columns[k].Width - 1.5f);
                cx += columns[k].Width;
            }
            y += LineMm - 0.4f;
        }
        return y;
    }

    private static void DrawPlot(SKCanvas c, ScottPlot.Plot plot, float x, float y, float widthMm, float heightMm)
    {
        c.Save();
        // ScottPlot clears its canvas before drawing: the clip keeps that to the plot's own rectangle.
        c.ClipRect(new SKRect(x, y, x + widthMm, y + heightMm));
        c.Translate(x, y);
        c.Scale(1f / PlotPixelsPerMm);
        plot.Font.Set(StripRenderer.Typeface(false).FamilyName);
        plot.Render(c, new ScottPlot.PixelRect(0, widthMm * PlotPixelsPerMm, heightMm * PlotPixelsPerMm, 0));
        c.Restore();
    }

    private static double AxisUnit(HolterAnalysis a) => a.TrendBinSeconds >= 900 ? 3600 : 60;

    private static ScottPlot.Plot HeartRatePlot(HolterAnalysis a)
    {
        var plot = new ScottPlot.Plot();
        var unit = AxisUnit(a);
        var bins = a.Trend.Where(b => b.HrMean is not null).ToList();
        double Mid(TrendBin b) => (b.StartS + b.EndS) / 2 / unit;
        if (bins.Count > 0)
        {
            var xs = bins.Select(Mid).ToArray();
            var band = plot.Add.FillY(xs, bins.Select(b => b.HrMin ?? b.HrMean!.Value).ToArray(), bins.Select(b => b.HrMax ?? b.HrMean!.Value).ToArray());
            band.FillColor = ScottPlot.Colors.SteelBlue.WithAlpha(0.25);
            band.LineWidth = 0;
            band.LegendText = "min–max of 10-s averages";
            var mean = plot.Add.Scatter(xs, bins.Select(b => b.HrMean!.Value).ToArray());
            mean.Color = ScottPlot.Colors.SteelBlue;
            mean.LineWidth = 2;
            mean.MarkerSize = bins.Count < 30 ? 4 : 0;
            mean.LegendText = "mean";
            plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        }
        plot.Title($"Heart rate per {Period(a.TrendBinSeconds)}");
        plot.YLabel("bpm");
        plot.XLabel(unit == 3600 ? "hours from the record's start" : "minutes from the record's start");
        plot.Axes.SetLimitsX(a.FirstS / unit, (a.FirstS + a.DurationS) / unit);
        var top = Math.Max(120, (bins.Select(b => b.HrMax ?? 0).DefaultIfEmpty(0).Max() + 10));
        plot.Axes.SetLimitsY(Math.Min(40, bins.Select(b => b.HrMin ?? 40).DefaultIfEmpty(40).Min() - 10), top);
        return plot;
    }

    private static ScottPlot.Plot EctopyPlot(HolterAnalysis a)
    {
        var plot = new ScottPlot.Plot();
        var unit = AxisUnit(a);
        var width = a.TrendBinSeconds / unit * 0.8;
        var bars = new List<ScottPlot.Bar>();
        foreach (var b in a.Trend)
        {
            var x = (b.StartS + b.EndS) / 2 / unit;
            if (b.V > 0) bars.Add(new ScottPlot.Bar { Position = x, ValueBase = 0, Value = b.V, FillColor = ScottPlot.Colors.OrangeRed, Size = width, LineWidth = 0 });
            if (b.S > 0) bars.Add(new ScottPlot.Bar { Position = x, ValueBase = b.V, Value = b.V + b.S, FillColor = ScottPlot.Colors.SteelBlue, Size = width, LineWidth = 0 });
        }
        if (bars.Count > 0) plot.Add.Bars(bars);
        plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = "V (ventricular)", FillColor = ScottPlot.Colors.OrangeRed });
        plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = "S (supraventricular)", FillColor = ScottPlot.Colors.SteelBlue });
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        plot.Title($"Ectopic beats per {Period(a.TrendBinSeconds)}");
        plot.YLabel("beats");
        plot.XLabel(unit == 3600 ? "hours from the record's start" : "minutes from the record's start");
        plot.Axes.SetLimitsX(a.FirstS / unit, (a.FirstS + a.DurationS) / unit);
        var max = a.Trend.Select(b => (double)(b.V + b.S)).DefaultIfEmpty(0).Max();
        plot.Axes.SetLimitsY(0, Math.Max(5, max * 1.15));
        return plot;
    }

    // ---- formatting --------------------------------------------------------------------------------------------------

    /// <summary>Elapsed time from the record's first sample, h:mm:ss.</summary>
    public static string Clock(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Max(0, Math.Round(seconds)));
        return string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}");
    }

    /// <summary>A duration as "4 s", "12 min 5 s" or "3 h 20 min".</summary>
    public static string Duration(double seconds)
    {
        var inv = CultureInfo.InvariantCulture;
        if (seconds < 60) return string.Create(inv, $"{seconds:0} s");
        var t = TimeSpan.FromSeconds(Math.Round(seconds));
        return t.TotalHours >= 1 ? string.Create(inv, $"{(int)t.TotalHours} h {t.Minutes} min") : string.Create(inv, $"{t.Minutes} min {t.Seconds} s");
    }

    private static string Period(double s) => s >= 3600 ? "hour" : string.Create(CultureInfo.InvariantCulture, $"{s / 60:0} min");
    private static string Bpm(double? v) => v is { } x ? x.ToString("F0", CultureInfo.InvariantCulture) : "-";
    private static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
    private static string Pct(double v) => v.ToString(v < 10 ? "0.0" : "0", CultureInfo.InvariantCulture);
    private static string Minutes(double s) => s <= 0 ? "-" : (s / 60).ToString("0.0", CultureInfo.InvariantCulture);

    private static string TrainingNote(IReadOnlyList<string>? parts) => parts is null
        ? "unknown (the model's manifest does not list its training records)"
        : parts.Count == 0 ? "not in the model's training data" : $"YES ({string.Join(", ", parts)}): figures are not evidence";

    private static string TypeName(EcgEdge.Events.Alerts.AlertType t) => t switch
    {
        EcgEdge.Events.Alerts.AlertType.AtrialFibrillation => "AF/flutter",
        EcgEdge.Events.Alerts.AlertType.VentricularTachycardia => "VT",
        EcgEdge.Events.Alerts.AlertType.VentricularFibrillation => "VF",
        EcgEdge.Events.Alerts.AlertType.Pause => "Pause",
        EcgEdge.Events.Alerts.AlertType.Asystole => "Asystole",
        EcgEdge.Events.Alerts.AlertType.Bradycardia => "Bradycardia",
        EcgEdge.Events.Alerts.AlertType.Tachycardia => "Tachycardia",
        EcgEdge.Events.Alerts.AlertType.LeadOff => "Lead off",
        EcgEdge.Events.Alerts.AlertType.SignalQuality => "Signal quality",
        _ => t.ToString(),
    };

    private static string ShortType(EcgEdge.Events.Alerts.AlertType t) => t switch
    {
        EcgEdge.Events.Alerts.AlertType.AtrialFibrillation => "AF",
        EcgEdge.Events.Alerts.AlertType.Bradycardia => "brady",
        EcgEdge.Events.Alerts.AlertType.Tachycardia => "tachy",
        EcgEdge.Events.Alerts.AlertType.LeadOff => "leadoff",
        EcgEdge.Events.Alerts.AlertType.SignalQuality => "quality",
        _ => TypeName(t),
    };
}
