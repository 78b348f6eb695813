using EcgEdge.Inference.Rhythm;

namespace EcgEdge.Tests.Inference.Rhythm;

/// <summary><see cref="DominantBeat"/> on synthetic QRS complexes (Gaussian pulses at the model rate, 250 Hz).</summary>
public class DominantBeatTests
{
    private const double Fs = 250;

    private static float[] Pulse(double sigmaS, double amplitude = 1000)
    {
        var x = new float[(int)Fs];   // one second, R at 0.5 s
        for (var k = 0; k < x.Length; k++)
        {
            var t = (k - Fs / 2) / Fs;
            x[k] = (float)(amplitude * Math.Exp(-t * t / (2 * sigmaS * sigmaS)));
        }
        return x;
    }

    [Theory]
    [InlineData(1.5)]
    [InlineData(1.8)]
    [InlineData(2.5)]
    public void The_width_ratio_against_the_dominant_beat_is_not_rounded_down_to_a_whole_number(double factor)
    {
        var d = new DominantBeat(Fs);
        var normal = Pulse(0.010);
        for (var i = 0; i < 30; i++) d.Observe(normal, (int)(Fs / 2));
        var same = d.Observe(normal, (int)(Fs / 2));
        Assert.True(same.Valid);
        Assert.True(same.InDominant);
        Assert.InRange(same.WidthRatio, 0.99f, 1.01f);

        var wide = d.Observe(Pulse(0.010 * factor), (int)(Fs / 2));
        Assert.True(wide.Valid);
        // Widths are whole samples (4 ms; the normal pulse is 7 samples above 30 % of its peak), so the ratio is within
        // 10 % of the factor; an integer quotient gave 1, 1 and 2.
        Assert.InRange(wide.WidthRatio, 0.9 * factor, 1.1 * factor);
        Assert.InRange(wide.WidthS / same.WidthS, 0.9 * factor, 1.1 * factor);
    }
}
