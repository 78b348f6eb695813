using System.Text.Json;
using EcgEdge.Strips;
using SkiaSharp;

namespace EcgEdge.Tests.Strips;

/// <summary>
/// The web page draws strips from web/src/strip-geometry.json; `ecgedge strip` from the constants of
/// <see cref="StripRenderer"/>. They must be the same paper (the pixels themselves are compared by web/test/e2e.mjs).
/// </summary>
public class StripGeometryContractTests
{
    private static JsonElement Geometry()
    {
        var path = Path.Combine(TestData.RepoRoot, "web", "src", "strip-geometry.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.Clone();
    }

    [Fact]
    public void The_web_page_uses_the_paper_geometry_of_ecgedge_strip()
    {
        var g = Geometry();
        double N(string name) => g.GetProperty(name).GetDouble();
        Assert.Equal(StripRenderer.PixelsPerMm, N("pixelsPerMm"));
        Assert.Equal(StripRenderer.PaperSpeedMmPerS, N("paperSpeedMmPerS"));
        Assert.Equal(StripRenderer.GainMmPerMv, N("gainMmPerMv"));
        Assert.Equal(StripRenderer.HeaderMm, N("headerMm"));
        Assert.Equal(StripRenderer.RowMm, N("rowMm"));
        Assert.Equal(StripRenderer.BaselineMm, N("baselineMm"));
        Assert.Equal(StripRenderer.FooterMm, N("footerMm"));
        Assert.Equal(StripRenderer.LabelWidthMm, N("labelWidthMm"));
        Assert.Equal(StripRenderer.CalibrationStartMm, N("calibrationStartMm"));
        Assert.Equal(StripRenderer.TraceLeftMm, N("traceLeftMm"));
        Assert.Equal(StripRenderer.RightMarginMm, N("rightMarginMm"));
        Assert.Equal(StripRenderer.CalibrationWidthS, N("calibrationWidthS"));
        Assert.Equal(StripRenderer.CalibrationMv, N("calibrationMv"));
        Assert.Equal(StripRenderer.MaxDurationS, N("maxDurationS"));
        Assert.Equal(StripRenderer.MaxLeads, N("maxLeads"));
        Assert.Equal(StripRenderer.MinorGridStrokePx, N("minorGridStrokePx"));
        Assert.Equal(StripRenderer.MajorGridStrokePx, N("majorGridStrokePx"));
        Assert.Equal(StripRenderer.TraceStrokePx, N("traceStrokePx"));
        Assert.Equal(StripRenderer.MarkerStrokePx, N("markerStrokePx"));
        Assert.Equal(StripRenderer.MarkerDashPx.ToArray(), g.GetProperty("markerDashPx").EnumerateArray().Select(e => e.GetSingle()).ToArray());
    }

    [Fact]
    public void The_web_page_uses_the_colours_of_ecgedge_strip()
    {
        var colors = Geometry().GetProperty("colors");
        static string Hex(SKColor c) => $"#{c.Red:x2}{c.Green:x2}{c.Blue:x2}";
        Assert.Equal(Hex(StripRenderer.PaperColor), colors.GetProperty("paper").GetString());
        Assert.Equal(Hex(StripRenderer.MinorGridColor), colors.GetProperty("minorGrid").GetString());
        Assert.Equal(Hex(StripRenderer.MajorGridColor), colors.GetProperty("majorGrid").GetString());
        Assert.Equal(Hex(StripRenderer.TraceColor), colors.GetProperty("trace").GetString());
        Assert.Equal(Hex(StripRenderer.MarkerColor), colors.GetProperty("marker").GetString());
        Assert.Equal(Hex(StripRenderer.TextColor), colors.GetProperty("text").GetString());
    }
}
