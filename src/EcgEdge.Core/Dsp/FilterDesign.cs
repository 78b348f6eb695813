namespace EcgEdge.Core.Dsp;

/// <summary>
/// Digital IIR designs by the bilinear transform with frequency pre-warping, expressed as second-order sections.
/// The Butterworth designs have the same poles and zeros as SciPy's <c>butter(order, fc, btype, fs=fs, output='sos')</c>
/// and the notch equals <c>iirnotch(f0, Q, fs)</c>, so offline tools can reproduce the device's signal chain.
/// </summary>
public static class FilterDesign
{
    /// <summary>Butterworth low-pass of <paramref name="order"/> (1..12) with -3 dB cut-off <paramref name="cutoffHz"/>.</summary>
    public static Biquad[] ButterworthLowPass(int order, double cutoffHz, double sampleRateHz) =>
        Butterworth(order, cutoffHz, sampleRateHz, highPass: false);

    /// <summary>Butterworth high-pass of <paramref name="order"/> (1..12) with -3 dB cut-off <paramref name="cutoffHz"/>.</summary>
    public static Biquad[] ButterworthHighPass(int order, double cutoffHz, double sampleRateHz) =>
        Butterworth(order, cutoffHz, sampleRateHz, highPass: true);

    /// <summary>
    /// Second-order notch at <paramref name="notchHz"/> with quality factor <paramref name="q"/> (-3 dB bandwidth
    /// notchHz / q), unity gain at DC and Nyquist; identical to SciPy's <c>iirnotch</c>.
    /// </summary>
    public static Biquad Notch(double notchHz, double q, double sampleRateHz)
    {
        ValidateCutoff(notchHz, sampleRateHz, nameof(notchHz));
        if (!(q > 0) || double.IsInfinity(q)) throw new ArgumentOutOfRangeException(nameof(q), q, "Q must be positive.");
        var w0 = 2 * Math.PI * notchHz / sampleRateHz;
        var bw = w0 / q;
        var beta = Math.Tan(bw / 2);
        var gain = 1 / (1 + beta);
        var c = Math.Cos(w0);
        return new Biquad(gain, -2 * gain * c, gain, -2 * gain * c, 2 * gain - 1);
    }

    private static Biquad[] Butterworth(int order, double cutoffHz, double sampleRateHz, bool highPass)
    {
        if (order is < 1 or > 12) throw new ArgumentOutOfRangeException(nameof(order), order, "Order must be 1..12.");
        ValidateCutoff(cutoffHz, sampleRateHz, nameof(cutoffHz));
        // Pre-warped analog cut-off, normalised by 2*fs: K = tan(pi*fc/fs).
        var k = Math.Tan(Math.PI * cutoffHz / sampleRateHz);
        var k2 = k * k;
        var sections = new List<Biquad>((order + 1) / 2);
        // Conjugate pole pairs of the analog prototype at angles theta = pi(2i+1)/(2N) from the imaginary axis;
        // each pair is s^2 + 2 sin(theta) s + 1, i.e. Q = 1 / (2 sin(theta)).
        for (var i = 0; i < order / 2; i++)
        {
            var theta = Math.PI * (2 * i + 1) / (2.0 * order);
            var invQ = 2 * Math.Sin(theta);
            var norm = 1 / (1 + k * invQ + k2);
            var a1 = 2 * (k2 - 1) * norm;
            var a2 = (1 - k * invQ + k2) * norm;
            sections.Add(highPass
                ? new Biquad(norm, -2 * norm, norm, a1, a2)
                : new Biquad(k2 * norm, 2 * k2 * norm, k2 * norm, a1, a2));
        }
        if (order % 2 == 1)
        {
            var norm = 1 / (1 + k);
            var a1 = (k - 1) * norm;
            sections.Add(highPass
                ? new Biquad(norm, -norm, 0, a1, 0)
                : new Biquad(k * norm, k * norm, 0, a1, 0));
        }
        // Poles closest to the unit circle last (SciPy orders sections the same way), which keeps
        // intermediate signals small.
        sections.Sort((x, y) => x.A2.CompareTo(y.A2));
        return [.. sections];
    }

    private static void ValidateCutoff(double hz, double fs, string name)
    {
        if (!(fs > 0) || double.IsInfinity(fs)) throw new ArgumentOutOfRangeException(nameof(fs), fs, "Sampling rate must be positive.");
        if (!(hz > 0) || !(hz < fs / 2)) throw new ArgumentOutOfRangeException(name, hz, $"Frequency must be in (0, {fs / 2}) Hz for fs = {fs} Hz.");
    }
}
