using System.Numerics;

namespace EcgEdge.Core.Dsp;

/// <summary>
/// One second-order IIR section with a0 normalised to 1:
/// H(z) = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2).
/// Row layout matches SciPy's <c>sos</c> arrays ([b0, b1, b2, 1, a1, a2]).
/// </summary>
public readonly record struct Biquad(double B0, double B1, double B2, double A1, double A2)
{
    /// <summary>Complex frequency response at <paramref name="frequencyHz"/> for sampling rate <paramref name="sampleRateHz"/>.</summary>
    public Complex Response(double frequencyHz, double sampleRateHz)
    {
        var w = 2 * Math.PI * frequencyHz / sampleRateHz;
        var z1 = Complex.FromPolarCoordinates(1, -w);
        var z2 = z1 * z1;
        return (B0 + B1 * z1 + B2 * z2) / (1 + A1 * z1 + A2 * z2);
    }

    /// <summary>Gain at DC, H(1).</summary>
    public double DcGain => (B0 + B1 + B2) / (1 + A1 + A2);
}

/// <summary>Frequency response of a cascade of sections.</summary>
public static class SosResponse
{
    /// <summary>Product of the sections' responses at <paramref name="frequencyHz"/>.</summary>
    public static Complex At(ReadOnlySpan<Biquad> sections, double frequencyHz, double sampleRateHz)
    {
        Complex h = Complex.One;
        foreach (var s in sections) h *= s.Response(frequencyHz, sampleRateHz);
        return h;
    }

    /// <summary>
    /// Group delay in samples at <paramref name="frequencyHz"/>, by numerical differentiation of the unwrapped phase.
    /// </summary>
    public static double GroupDelaySamples(ReadOnlySpan<Biquad> sections, double frequencyHz, double sampleRateHz)
    {
        var df = Math.Max(1e-4, frequencyHz * 1e-4);
        var f0 = Math.Max(0, frequencyHz - df);
        var f1 = frequencyHz + df;
        var p0 = At(sections, f0, sampleRateHz).Phase;
        var p1 = At(sections, f1, sampleRateHz).Phase;
        var dp = p1 - p0;
        while (dp > Math.PI) dp -= 2 * Math.PI;
        while (dp < -Math.PI) dp += 2 * Math.PI;
        var dw = 2 * Math.PI * (f1 - f0) / sampleRateHz;
        return -dp / dw;
    }
}
