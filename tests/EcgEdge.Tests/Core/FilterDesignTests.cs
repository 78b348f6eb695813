using System.Numerics;
using EcgEdge.Core.Dsp;

namespace EcgEdge.Tests.Core;

public class FilterDesignTests
{
    // Bilinear-transform Butterworth: |H(e^jw)|^2 = 1 / (1 + (tan(w/2) / tan(wc/2))^(2N)) exactly (low-pass).
    private static double AnalyticLowPass(double f, double fc, double fs, int n) =>
        1 / Math.Sqrt(1 + Math.Pow(Math.Tan(Math.PI * f / fs) / Math.Tan(Math.PI * fc / fs), 2 * n));

    private static double AnalyticHighPass(double f, double fc, double fs, int n) =>
        f == 0 ? 0 : 1 / Math.Sqrt(1 + Math.Pow(Math.Tan(Math.PI * fc / fs) / Math.Tan(Math.PI * f / fs), 2 * n));

    [Theory]
    [InlineData(1, 40.0, 500.0)]
    [InlineData(2, 40.0, 500.0)]
    [InlineData(4, 40.0, 500.0)]
    [InlineData(5, 20.0, 360.0)]
    [InlineData(4, 100.0, 250.0)]
    public void ButterworthLowPass_matches_analytic_magnitude(int order, double fc, double fs)
    {
        var sos = FilterDesign.ButterworthLowPass(order, fc, fs);
        Assert.Equal((order + 1) / 2, sos.Length);
        for (var f = 0.0; f < fs / 2; f += fs / 397)
            Assert.Equal(AnalyticLowPass(f, fc, fs, order), SosResponse.At(sos, f, fs).Magnitude, 9);
        Assert.Equal(1 / Math.Sqrt(2), SosResponse.At(sos, fc, fs).Magnitude, 9);
    }

    [Theory]
    [InlineData(2, 0.5, 500.0)]
    [InlineData(1, 0.67, 360.0)]
    [InlineData(3, 5.0, 250.0)]
    public void ButterworthHighPass_matches_analytic_magnitude(int order, double fc, double fs)
    {
        var sos = FilterDesign.ButterworthHighPass(order, fc, fs);
        for (var f = 0.0; f < fs / 2; f += fs / 401)
            Assert.Equal(AnalyticHighPass(f, fc, fs, order), SosResponse.At(sos, f, fs).Magnitude, 9);
        Assert.Equal(1 / Math.Sqrt(2), SosResponse.At(sos, fc, fs).Magnitude, 9);
    }

    [Theory]
    [InlineData(50.0, 30.0, 500.0)]
    [InlineData(60.0, 30.0, 500.0)]
    [InlineData(60.0, 10.0, 360.0)]
    public void Notch_zero_at_mains_unity_far_away_and_bandwidth_f0_over_q(double f0, double q, double fs)
    {
        var n = FilterDesign.Notch(f0, q, fs);
        Assert.True(n.Response(f0, fs).Magnitude < 1e-9);
        Assert.Equal(1.0, n.Response(0, fs).Magnitude, 9);
        Assert.Equal(1.0, n.Response(fs / 2 - 1e-9, fs).Magnitude, 6);
        // -3 dB band edges: the analog prototype's edges, pre-warped; their distance is f0/Q up to warping.
        var lo = Bisect(f => n.Response(f, fs).Magnitude - 1 / Math.Sqrt(2), 0.1, f0);
        var hi = Bisect(f => n.Response(f, fs).Magnitude - 1 / Math.Sqrt(2), fs / 2 - 0.1, f0);
        Assert.Equal(f0 / q, hi - lo, f0 / q * 0.05);
    }

    [Fact]
    public void Cascade_sinusoid_steady_state_equals_frequency_response()
    {
        const double fs = 500;
        var sos = FilterDesign.ButterworthLowPass(4, 40, fs);
        foreach (var f in new[] { 5.0, 25.0, 40.0, 60.0 })
        {
            var h = SosResponse.At(sos, f, fs);
            var cascade = new BiquadCascade(sos);
            var n = 5000;
            double maxErr = 0;
            for (var i = 0; i < n; i++)
            {
                var y = cascade.Process((float)Math.Sin(2 * Math.PI * f * i / fs));
                if (i < 2000) continue;
                var expected = h.Magnitude * Math.Sin(2 * Math.PI * f * i / fs + h.Phase);
                maxErr = Math.Max(maxErr, Math.Abs(y - expected));
            }
            Assert.True(maxErr < 1e-5, $"{f} Hz: max error {maxErr}");
        }
    }

    [Fact]
    public void Steady_state_start_gives_no_transient_on_an_offset()
    {
        var sos = FilterDesign.ButterworthHighPass(2, 0.5, 500);
        var c = new BiquadCascade(sos);
        c.ResetSteadyState(1000f);
        for (var i = 0; i < 1000; i++) Assert.True(Math.Abs(c.Process(1000f)) < 1e-3);
        var lp = new BiquadCascade(FilterDesign.ButterworthLowPass(4, 40, 500));
        lp.ResetSteadyState(-250f);
        for (var i = 0; i < 100; i++) Assert.Equal(-250f, lp.Process(-250f), 2);
    }

    [Fact]
    public void Block_and_sample_processing_agree()
    {
        var sos = FilterDesign.ButterworthLowPass(4, 40, 500);
        var a = new BiquadCascade(sos);
        var b = new BiquadCascade(sos);
        var rng = new Random(3);
        var x = new float[777];
        for (var i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() - 0.5) * 1000;
        var y = (float[])x.Clone();
        b.Process(y.AsSpan(0, 300));
        b.Process(y.AsSpan(300));
        // The block path rounds to float between sections, the sample path does not: equal to float precision.
        for (var i = 0; i < x.Length; i++) Assert.Equal(a.Process(x[i]), y[i], 1e-3);
    }

    [Fact]
    public void Invalid_designs_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FilterDesign.ButterworthLowPass(4, 260, 500));
        Assert.Throws<ArgumentOutOfRangeException>(() => FilterDesign.ButterworthLowPass(0, 40, 500));
        Assert.Throws<ArgumentOutOfRangeException>(() => FilterDesign.Notch(50, 0, 500));
        Assert.Throws<ArgumentOutOfRangeException>(() => FilterDesign.Notch(50, 30, double.NaN));
    }

    private static double Bisect(Func<double, double> g, double a, double b)
    {
        var ga = g(a);
        for (var i = 0; i < 200; i++)
        {
            var m = 0.5 * (a + b);
            var gm = g(m);
            if (Math.Sign(gm) == Math.Sign(ga)) { a = m; ga = gm; } else b = m;
        }
        return 0.5 * (a + b);
    }
}
