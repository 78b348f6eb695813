using System.Globalization;
using EcgEdge.Events.Alerts;
using SkiaSharp;

namespace EcgEdge.Strips;

/// <summary>An alert's strip decoded: one array of millivolts per lead, in <see cref="Leads"/> order.</summary>
/// <param name="Leads">The lead names ("I", "II", "V1", ...), one per array of <paramref name="Millivolts"/>.</param>
/// <param name="Millivolts">The samples in mV, <c>Millivolts[lead][sample]</c>; every lead has the same length (at least 1).</param>
/// <param name="PeriodMs">Milliseconds between consecutive samples.</param>
/// <param name="EventOffsetS">Where the event's onset lies, seconds from the first sample (may lie outside the strip).</param>
public sealed record StripSignal(IReadOnlyList<string> Leads, float[][] Millivolts, double PeriodMs, double EventOffsetS)
{
    /// <summary>Samples per lead.</summary>
    public int SampleCount => Millivolts[0].Length;

    /// <summary>The time the strip covers: <see cref="SampleCount"/> sample periods.</summary>
    public double DurationS => SampleCount * PeriodMs / 1000;

    /// <summary>Samples per second.</summary>
    public double SampleRateHz => 1000 / PeriodMs;
}

/// <summary>
/// Renders an alert's ECG strip as a standard ECG printout: pink paper with 1 mm minor and 5 mm major lines, 25 mm/s,
/// 10 mm/mV, at a fixed 10 pixels per millimetre (so 250 px per second and 100 px per millivolt). One row per lead with
/// its name and a 1 mV, 200 ms calibration pulse at the left, a dashed marker at the event's onset, a header line
/// describing the alert and a footer with the paper speed and gain.
/// </summary>
/// <remarks>
/// Layout, top to bottom: a white header band (<see cref="HeaderMm"/>), one row of <see cref="RowMm"/> per lead on the
/// grid, a white footer band (<see cref="FooterMm"/>). Left to right: the lead-name column, the calibration pulse,
/// then the trace from <see cref="TraceLeftMm"/> (a major grid line, so every second starts on one), then
/// <see cref="RightMarginMm"/>. The trace is clipped to its row. Bad input is reported as
/// <see cref="StripFormatException"/>. The clinician web page draws the same paper (web/src/stripCanvas.ts) from the
/// constants in web/src/strip-geometry.json, which StripGeometryContractTests keeps equal to the ones here.
/// </remarks>
public static class StripRenderer
{
    /// <summary>Output resolution.</summary>
    public const int PixelsPerMm = 10;

    /// <summary>Standard paper speed.</summary>
    public const double PaperSpeedMmPerS = 25;

    /// <summary>Standard gain.</summary>
    public const double GainMmPerMv = 10;

    /// <summary>Horizontal scale of the trace: 250 px per second.</summary>
    public const double PixelsPerSecond = PixelsPerMm * PaperSpeedMmPerS;

    /// <summary>Vertical scale of the trace: 100 px per millivolt.</summary>
    public const double PixelsPerMillivolt = PixelsPerMm * GainMmPerMv;

    /// <summary>Height of the white band holding the header line.</summary>
    public const int HeaderMm = 15;

    /// <summary>Height of one lead's row on the grid.</summary>
    public const int RowMm = 35;

    /// <summary>Where a row's 0 mV baseline lies, from the row's top: 2 mV of room above it and 1.5 mV below.</summary>
    public const int BaselineMm = 20;

    /// <summary>Height of the white band holding the footer line.</summary>
    public const int FooterMm = 10;

    /// <summary>Width of the lead-name column at the left of every row.</summary>
    public const int LabelWidthMm = 10;

    /// <summary>Where the calibration pulse rises (it is 5 mm, i.e. 200 ms, wide).</summary>
    public const double CalibrationStartMm = 12.5;

    /// <summary>Where the trace's first sample is drawn: after the label column and the calibration pulse, on a major line.</summary>
    public const int TraceLeftMm = 20;

    /// <summary>Paper after the trace's last sample.</summary>
    public const int RightMarginMm = 5;

    /// <summary>Width of the calibration pulse (standard: 200 ms).</summary>
    public const double CalibrationWidthS = 0.2;

    /// <summary>Height of the calibration pulse (standard: 1 mV).</summary>
    public const double CalibrationMv = 1;

    /// <summary>
    /// Longest strip rendered; longer strips are refused as bad input. A 30 s strip of <see cref="MaxLeads"/> leads is a
    /// 7,750 × 4,450 px bitmap (about 140 MB), the most this renderer allocates on an edge device.
    /// </summary>
    public const double MaxDurationS = 30;

    /// <summary>Most leads rendered (a standard 12-lead ECG); strips with more are refused as bad input.</summary>
    public const int MaxLeads = 12;

    /// <summary>Width of the 1 mm grid lines.</summary>
    public const float MinorGridStrokePx = 1;

    /// <summary>Width of the 5 mm grid lines.</summary>
    public const float MajorGridStrokePx = 2;

    /// <summary>Width of the traces and calibration pulses.</summary>
    public const float TraceStrokePx = 2.5f;

    /// <summary>Width of the dashed onset marker.</summary>
    public const float MarkerStrokePx = 3;

    /// <summary>The onset marker's dash pattern: drawn, gap (pixels).</summary>
    public static ReadOnlySpan<float> MarkerDashPx => [24, 12];

    /// <summary>The paper under the grid.</summary>
    public static readonly SKColor PaperColor = new(0xFF, 0xF0, 0xF0);

    /// <summary>The 1 mm lines.</summary>
    public static readonly SKColor MinorGridColor = new(0xF4, 0xB6, 0xB6);

    /// <summary>The 5 mm lines.</summary>
    public static readonly SKColor MajorGridColor = new(0xDC, 0x64, 0x64);

    /// <summary>The ECG trace and the calibration pulses.</summary>
    public static readonly SKColor TraceColor = SKColors.Black;

    /// <summary>The event marker and its label.</summary>
    public static readonly SKColor MarkerColor = new(0x1E, 0x4E, 0xD8);

    /// <summary>Header, footer and lead names.</summary>
    public static readonly SKColor TextColor = new(0x20, 0x20, 0x20);

    private static readonly Lazy<SKTypeface> Regular = new(() => FindTypeface(SKFontStyle.Normal));
    private static readonly Lazy<SKTypeface> Bold = new(() => FindTypeface(SKFontStyle.Bold));

    /// <summary>Height of the header band in pixels.</summary>
    public static int HeaderPx => HeaderMm * PixelsPerMm;

    /// <summary>Height of one row in pixels.</summary>
    public static int RowPx => RowMm * PixelsPerMm;

    /// <summary>X of the trace's first sample in pixels.</summary>
    public static int TraceLeftPx => TraceLeftMm * PixelsPerMm;

    /// <summary>Top of row <paramref name="lead"/> (0-based) in pixels.</summary>
    public static int RowTopPx(int lead) => HeaderPx + lead * RowPx;

    /// <summary>The 0 mV line of row <paramref name="lead"/> (0-based) in pixels.</summary>
    public static int BaselinePx(int lead) => RowTopPx(lead) + BaselineMm * PixelsPerMm;

    /// <summary>X in pixels of the time <paramref name="seconds"/> from the strip's first sample.</summary>
    public static double XForSeconds(double seconds) => TraceLeftPx + seconds * PixelsPerSecond;

    /// <summary>The size of the image for a strip of <paramref name="durationS"/> seconds and <paramref name="leadCount"/> leads.</summary>
    public static (int Width, int Height) ImageSize(double durationS, int leadCount) =>
        (TraceLeftPx + (int)Math.Round(durationS * PixelsPerSecond) + RightMarginMm * PixelsPerMm,
         HeaderPx + leadCount * RowPx + FooterMm * PixelsPerMm);

    /// <summary>Renders the strip of <paramref name="alert"/> and encodes it as PNG.</summary>
    /// <exception cref="StripFormatException">The alert has no strip, or the strip is malformed.</exception>
    public static byte[] RenderPng(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        using var bitmap = Render(alert);
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException("SkiaSharp could not encode the strip as PNG");
        return png.ToArray();
    }

    /// <summary>Renders the strip of <paramref name="alert"/> into a new bitmap (the caller disposes it).</summary>
    /// <exception cref="StripFormatException">The alert has no strip, or the strip is malformed.</exception>
    public static SKBitmap Render(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var signal = Parse(alert.Strip);
        return Render(signal, HeaderText(alert), FooterDetails(alert, signal));
    }

    /// <summary>
    /// Renders <paramref name="signal"/> with a header line and the footer's details (right of the paper speed and gain)
    /// into a new bitmap — a strip of any record segment (<c>ecgedge strip --record</c>) as well as an alert's.
    /// </summary>
    /// <exception cref="StripFormatException">The signal is longer than <see cref="MaxDurationS"/> or has more than <see cref="MaxLeads"/> leads.</exception>
    public static SKBitmap Render(StripSignal signal, string header, string footerDetails)
    {
        ArgumentNullException.ThrowIfNull(signal);
        var inv = CultureInfo.InvariantCulture;
        if (signal.Leads.Count is < 1 or > MaxLeads) throw new StripFormatException(string.Create(inv, $"a strip has 1 to {MaxLeads} leads, not {signal.Leads.Count}"));
        if (signal.DurationS > MaxDurationS) throw new StripFormatException(string.Create(inv, $"strip lasts {signal.DurationS:F1} s; at most {MaxDurationS} s are rendered"));
        var (width, height) = ImageSize(signal.DurationS, signal.Leads.Count);
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        try
        {
            using var canvas = new SKCanvas(bitmap);
            canvas.Clear(SKColors.White);
            DrawBody(canvas, width, signal);
            DrawHeader(canvas, width, header);
            DrawFooter(canvas, width, height, footerDetails);
            canvas.Flush();
            return bitmap;
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
    }

    /// <summary>Encodes a bitmap as PNG.</summary>
    public static byte[] EncodePng(SKBitmap bitmap)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100) ?? throw new InvalidOperationException("SkiaSharp could not encode the strip as PNG");
        return png.ToArray();
    }

    /// <summary>
    /// Draws the paper, the rows (lead names, calibration pulses, traces) and the onset marker of <paramref name="signal"/>
    /// — a strip without its header and footer bands — between y = <see cref="HeaderPx"/> and
    /// <see cref="RowTopPx"/>(lead count), <paramref name="width"/> pixels wide (<see cref="ImageSize"/>). The report draws
    /// its strips with it, scaled so that a millimetre of this paper is a millimetre of the printed page.
    /// </summary>
    public static void DrawBody(SKCanvas canvas, int width, StripSignal signal)
    {
        ArgumentNullException.ThrowIfNull(canvas);
        ArgumentNullException.ThrowIfNull(signal);
        var gridBottom = RowTopPx(signal.Leads.Count);
        DrawGrid(canvas, width, HeaderPx, gridBottom);
        var markerX = MarkerX(signal);
        // The marker goes under the traces so that it never hides the QRS it marks; its label goes over them.
        if (markerX is float x) DrawMarkerLine(canvas, x, HeaderPx, gridBottom);
        for (var lead = 0; lead < signal.Leads.Count; lead++) DrawRow(canvas, width, lead, signal);
        if (markerX is float lx) DrawMarkerLabel(canvas, width, lx, HeaderPx);
    }

    /// <summary>The sans-serif face the strips use (regular or bold), for other drawings that must match them.</summary>
    public static SKTypeface Typeface(bool bold) => bold ? Bold.Value : Regular.Value;

    /// <summary>Checks a strip's fields and decodes its <c>data</c> into millivolts.</summary>
    /// <exception cref="StripFormatException">
    /// The strip is missing; <c>dimensions</c> is not 1..<see cref="MaxLeads"/> or differs from the number of lead names;
    /// <c>periodMs</c>, <c>factor</c> or <c>eventOffsetS</c> is not a usable number; the unit is not a voltage; the data is
    /// malformed (see <see cref="ParseData"/>); or the strip is longer than <see cref="MaxDurationS"/>.
    /// </exception>
    public static StripSignal Parse(Strip? strip)
    {
        // Fields the JSON omitted arrive as null or 0 whatever the record's annotations say, hence the null checks.
        if (strip is null) throw new StripFormatException("the alert has no strip");
        var inv = CultureInfo.InvariantCulture;
        if (strip.Dimensions is < 1 or > MaxLeads)
            throw new StripFormatException(string.Create(inv, $"strip dimensions must be 1 to {MaxLeads}, not {strip.Dimensions}"));
        var leads = strip.Leads;
        if (leads is null || leads.Count != strip.Dimensions)
            throw new StripFormatException(string.Create(inv, $"strip has {leads?.Count ?? 0} lead names for {strip.Dimensions} dimensions"));
        if (!double.IsFinite(strip.PeriodMs) || strip.PeriodMs <= 0)
            throw new StripFormatException(string.Create(inv, $"strip periodMs must be a positive number, not {strip.PeriodMs}"));
        if (!double.IsFinite(strip.Factor) || strip.Factor == 0)
            throw new StripFormatException(string.Create(inv, $"strip factor must be a non-zero number, not {strip.Factor}"));
        if (!double.IsFinite(strip.EventOffsetS))
            throw new StripFormatException(string.Create(inv, $"strip eventOffsetS must be a number, not {strip.EventOffsetS}"));
        if (strip.Data is null) throw new StripFormatException("strip has no data");
        var millivolts = ParseData(strip.Data, strip.Dimensions, strip.Factor * MillivoltsPerUnit(strip.Unit));
        var durationS = millivolts[0].Length * strip.PeriodMs / 1000;
        if (durationS > MaxDurationS)
            throw new StripFormatException(string.Create(inv, $"strip lasts {durationS:F1} s; at most {MaxDurationS} s are rendered"));
        var names = leads.Select(n => string.IsNullOrWhiteSpace(n) ? "?" : n.Trim()).ToArray();
        return new StripSignal(names, millivolts, strip.PeriodMs, strip.EventOffsetS);
    }

    /// <summary>
    /// Decodes SampledData-style <paramref name="data"/>: integers separated by spaces, interleaved by lead
    /// (sample 0 of every lead, then sample 1 of every lead, ...). Returns <c>result[lead][sample] = factor × integer</c>.
    /// </summary>
    /// <remarks>
    /// Runs of whitespace count as one separator and leading or trailing whitespace is ignored. The text is scanned twice
    /// (count and check, then convert) so that the only allocations are the result arrays.
    /// </remarks>
    /// <exception cref="StripFormatException">
    /// <paramref name="dimensions"/> is below 1; the data holds no value; a value is not a 32-bit integer (FHIR's
    /// "E", "L" and "U" included); or the number of values is not a multiple of <paramref name="dimensions"/>.
    /// </exception>
    public static float[][] ParseData(ReadOnlySpan<char> data, int dimensions, double factor = 1)
    {
        var inv = CultureInfo.InvariantCulture;
        if (dimensions < 1) throw new StripFormatException(string.Create(inv, $"strip dimensions must be at least 1, not {dimensions}"));
        var count = 0;
        for (var pos = 0; NextToken(data, ref pos, out var token); count++)
        {
            if (!int.TryParse(token, NumberStyles.AllowLeadingSign, inv, out _))
                throw new StripFormatException(string.Create(inv, $"strip data value {count + 1} ('{Shorten(token)}') is not an integer"));
        }
        if (count == 0) throw new StripFormatException("strip data holds no samples");
        if (count % dimensions != 0)
            throw new StripFormatException(string.Create(inv,
                $"strip data holds {count} values, not a multiple of its {dimensions} dimensions (leads)"));

        var frames = count / dimensions;
        var result = new float[dimensions][];
        for (var lead = 0; lead < dimensions; lead++) result[lead] = new float[frames];
        var index = 0;
        for (var pos = 0; NextToken(data, ref pos, out var token); index++)
        {
            var value = int.Parse(token, NumberStyles.AllowLeadingSign, inv);
            result[index % dimensions][index / dimensions] = (float)(value * factor);
        }
        return result;
    }

    private static bool NextToken(ReadOnlySpan<char> data, ref int pos, out ReadOnlySpan<char> token)
    {
        while (pos < data.Length && char.IsWhiteSpace(data[pos])) pos++;
        var start = pos;
        while (pos < data.Length && !char.IsWhiteSpace(data[pos])) pos++;
        token = data[start..pos];
        return pos > start;
    }

    private static string Shorten(ReadOnlySpan<char> token) => token.Length <= 20 ? token.ToString() : token[..20].ToString() + "…";

    /// <summary>The factor from the strip's unit to millivolts (a missing unit means mV, as documented for the field).</summary>
    private static double MillivoltsPerUnit(string? unit) => unit?.Trim() switch
    {
        null or "" or "mV" or "mv" => 1,
        "uV" or "µV" or "μV" or "uv" => 0.001,
        "V" => 1000,
        _ => throw new StripFormatException($"strip unit '{unit}' is not a voltage (expected mV)"),
    };

    private static void DrawGrid(SKCanvas canvas, int width, int top, int bottom)
    {
        using var paper = new SKPaint { Color = PaperColor, Style = SKPaintStyle.Fill };
        canvas.DrawRect(0, top, width, bottom - top, paper);
        using var minor = new SKPaint { Color = MinorGridColor, StrokeWidth = MinorGridStrokePx, IsAntialias = false, Style = SKPaintStyle.Stroke };
        using var major = new SKPaint { Color = MajorGridColor, StrokeWidth = MajorGridStrokePx, IsAntialias = false, Style = SKPaintStyle.Stroke };
        // Minor lines first so that the major ones are drawn over them; x = 0 and y = top are major lines.
        for (var pass = 0; pass < 2; pass++)
        {
            var isMajorPass = pass == 1;
            var paint = isMajorPass ? major : minor;
            var offset = isMajorPass ? 0f : 0.5f; // a 1 px line at +0.5 fills exactly one pixel column or row
            for (var mm = 0; mm * PixelsPerMm <= width; mm++)
            {
                if ((mm % 5 == 0) != isMajorPass) continue;
                float x = mm * PixelsPerMm + offset;
                canvas.DrawLine(x, top, x, bottom, paint);
            }
            for (var mm = 0; top + mm * PixelsPerMm <= bottom; mm++)
            {
                if ((mm % 5 == 0) != isMajorPass) continue;
                float y = top + mm * PixelsPerMm + offset;
                canvas.DrawLine(0, y, width, y, paint);
            }
        }
    }

    private static void DrawRow(SKCanvas canvas, int width, int lead, StripSignal signal)
    {
        var rowTop = RowTopPx(lead);
        float baseline = BaselinePx(lead);
        using var pen = new SKPaint
        {
            Color = TraceColor, StrokeWidth = TraceStrokePx, IsAntialias = true, Style = SKPaintStyle.Stroke,
            StrokeJoin = SKStrokeJoin.Round, StrokeCap = SKStrokeCap.Round,
        };

        // Lead name, shrunk if it does not fit its column.
        using var textPaint = new SKPaint { Color = TextColor, IsAntialias = true };
        using var labelFont = NewFont(Bold.Value, 4.5f * PixelsPerMm);
        FitWidth(labelFont, signal.Leads[lead], (LabelWidthMm - 1.5f) * PixelsPerMm);
        canvas.DrawText(signal.Leads[lead], 1 * PixelsPerMm, baseline - 2 * PixelsPerMm, SKTextAlign.Left, labelFont, textPaint);

        // Calibration pulse: 1 mV high, 200 ms wide, standing on the baseline.
        float rise = (float)(CalibrationStartMm * PixelsPerMm);
        float fall = rise + (float)(CalibrationWidthS * PixelsPerSecond);
        float top = baseline - (float)(CalibrationMv * PixelsPerMillivolt);
        using (var pulse = new SKPath())
        {
            pulse.MoveTo(LabelWidthMm * PixelsPerMm, baseline);
            pulse.LineTo(rise, baseline);
            pulse.LineTo(rise, top);
            pulse.LineTo(fall, top);
            pulse.LineTo(fall, baseline);
            pulse.LineTo(TraceLeftPx - 0.5f * PixelsPerMm, baseline);
            canvas.DrawPath(pulse, pen);
        }

        // The trace, clipped to its row so that a large deflection does not run over the neighbouring leads.
        var samples = signal.Millivolts[lead];
        var secondsPerSample = signal.PeriodMs / 1000;
        using var trace = new SKPath();
        for (var i = 0; i < samples.Length; i++)
        {
            var x = (float)XForSeconds(i * secondsPerSample);
            var y = baseline - (float)(samples[i] * PixelsPerMillivolt);
            if (i == 0) trace.MoveTo(x, y);
            else trace.LineTo(x, y);
        }
        if (samples.Length == 1) trace.LineTo((float)XForSeconds(secondsPerSample), baseline - (float)(samples[0] * PixelsPerMillivolt));
        canvas.Save();
        canvas.ClipRect(new SKRect(TraceLeftPx - PixelsPerMm, rowTop, width, rowTop + RowPx));
        canvas.DrawPath(trace, pen);
        canvas.Restore();
    }

    /// <summary>X of the onset marker, or null when the onset lies outside the strip (the footer says so instead).</summary>
    private static float? MarkerX(StripSignal signal) =>
        signal.EventOffsetS < 0 || signal.EventOffsetS > signal.DurationS ? null : (float)Math.Round(XForSeconds(signal.EventOffsetS));

    private static void DrawMarkerLine(SKCanvas canvas, float x, int top, int bottom)
    {
        using var dash = SKPathEffect.CreateDash(MarkerDashPx.ToArray(), 0);
        using var line = new SKPaint
        {
            Color = MarkerColor, StrokeWidth = MarkerStrokePx, IsAntialias = false, Style = SKPaintStyle.Stroke, PathEffect = dash,
        };
        canvas.DrawLine(x, top, x, bottom, line);
    }

    private static void DrawMarkerLabel(SKCanvas canvas, int width, float x, int top)
    {
        using var font = NewFont(Bold.Value, 3.5f * PixelsPerMm);
        const string Label = "onset";
        var textWidth = font.MeasureText(Label);
        // The label goes right of the line unless that would leave the image.
        var left = x + 8 + textWidth + 8 <= width ? x + 8 : x - 8 - textWidth;
        using var backing = new SKPaint { Color = PaperColor, Style = SKPaintStyle.Fill };
        canvas.DrawRect(left - 4, top + 6, textWidth + 8, 4.5f * PixelsPerMm, backing);
        using var textPaint = new SKPaint { Color = MarkerColor, IsAntialias = true };
        canvas.DrawText(Label, left, top + 4 * PixelsPerMm, SKTextAlign.Left, font, textPaint);
    }

    private static string HeaderText(Alert alert)
    {
        var inv = CultureInfo.InvariantCulture;
        var onset = alert.Onset is { } o ? FormatUtc(o.Utc) : "n/a";
        var heartRate = alert.HeartRateBpm is double hr && double.IsFinite(hr) ? string.Create(inv, $"{hr:F0} bpm") : "n/a";
        return $"{TypeName(alert.Type)}  ·  severity {Lower(alert.Severity)}  ·  phase {Lower(alert.Phase)}  ·  onset {onset}" +
               $"  ·  HR {heartRate}  ·  device {Or(alert.DeviceId)}  ·  model {Or(alert.ModelVersion)}";
    }

    private static string FooterDetails(Alert alert, StripSignal signal)
    {
        var inv = CultureInfo.InvariantCulture;
        var start = alert.Strip?.Origin is { } origin ? FormatUtc(origin.Utc) : "n/a";
        var details = string.Create(inv, $"strip {start}, {signal.DurationS:0.0#} s at {signal.SampleRateHz:0.#} Hz  ·  alert {Or(alert.Id)}");
        if (signal.EventOffsetS < 0 || signal.EventOffsetS > signal.DurationS)
            details = string.Create(inv, $"onset outside the strip ({signal.EventOffsetS:0.0#} s)  ·  ") + details;
        return details;
    }

    private static void DrawHeader(SKCanvas canvas, int width, string text)
    {
        using var font = NewFont(Bold.Value, 4f * PixelsPerMm);
        FitWidth(font, text, width - 2 * PixelsPerMm);
        using var paint = new SKPaint { Color = TextColor, IsAntialias = true };
        canvas.DrawText(text, 1 * PixelsPerMm, 9.5f * PixelsPerMm, SKTextAlign.Left, font, paint);
    }

    private static void DrawFooter(SKCanvas canvas, int width, int height, string details)
    {
        const string Scale = "25 mm/s  10 mm/mV";
        using var paint = new SKPaint { Color = TextColor, IsAntialias = true };
        using var scaleFont = NewFont(Bold.Value, 3.5f * PixelsPerMm);
        float y = height - 3.5f * PixelsPerMm;
        canvas.DrawText(Scale, 1 * PixelsPerMm, y, SKTextAlign.Left, scaleFont, paint);
        using var detailFont = NewFont(Regular.Value, 3f * PixelsPerMm);
        var room = width - 2 * PixelsPerMm - scaleFont.MeasureText(Scale) - 4 * PixelsPerMm;
        if (room <= 0) return;
        FitWidth(detailFont, details, room);
        canvas.DrawText(details, width - 1 * PixelsPerMm, y, SKTextAlign.Right, detailFont, paint);
    }

    private static string FormatUtc(DateTimeOffset utc) =>
        utc.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture) + " UTC";

    private static string Or(string? value) => string.IsNullOrWhiteSpace(value) ? "n/a" : value;

    private static string Lower<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();

    private static string TypeName(AlertType type) => type switch
    {
        AlertType.AtrialFibrillation => "AF (atrial fibrillation)",
        AlertType.VentricularTachycardia => "VT (ventricular tachycardia)",
        AlertType.VentricularFibrillation => "VF (ventricular fibrillation)",
        AlertType.Pause => "Pause",
        AlertType.Asystole => "Asystole",
        AlertType.Bradycardia => "Bradycardia",
        AlertType.Tachycardia => "Tachycardia",
        AlertType.LeadOff => "Lead off",
        AlertType.SignalQuality => "Signal quality",
        _ => type.ToString(),
    };

    private static SKFont NewFont(SKTypeface typeface, float size) =>
        new(typeface, size) { Edging = SKFontEdging.Antialias, Subpixel = true };

    /// <summary>Shrinks <paramref name="font"/> until <paramref name="text"/> fits <paramref name="maxWidth"/> pixels.</summary>
    private static void FitWidth(SKFont font, string text, float maxWidth)
    {
        // Widths do not scale exactly with the size (hinting, rounding of advances): shrink until it fits.
        for (var attempt = 0; attempt < 8; attempt++)
        {
            var measured = font.MeasureText(text);
            if (measured <= maxWidth || measured <= 0 || font.Size <= 1) return;
            font.Size = Math.Max(1, font.Size * maxWidth / measured * 0.98f);
        }
    }

    /// <summary>
    /// A sans-serif face from the system's fonts (SkiaSharp's Linux assets without dependencies read the font folders
    /// directly, no fontconfig); falls back to Skia's default face. Without any installed font the text is not drawn but
    /// the strip still is.
    /// </summary>
    private static SKTypeface FindTypeface(SKFontStyle style)
    {
        foreach (var family in (string[])["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica"])
        {
            if (SKFontManager.Default.MatchFamily(family, style) is { } face) return face;
        }
        return SKFontManager.Default.MatchFamily(null, style) ?? SKTypeface.Default;
    }
}
