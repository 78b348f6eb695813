namespace EcgEdge.Core.Dsp;

/// <summary>
/// Streaming cascade of second-order sections in transposed direct form II, with double-precision state
/// (the 0.5 Hz high-pass has poles within 0.5 % of the unit circle at 500 Hz, where float state drifts).
/// One instance filters one channel; processing allocates nothing.
/// </summary>
public sealed class BiquadCascade
{
    private readonly double[] _c; // b0 b1 b2 a1 a2 per section
    private readonly double[] _z; // z1 z2 per section

    public BiquadCascade(ReadOnlySpan<Biquad> sections)
    {
        if (sections.IsEmpty) throw new ArgumentException("At least one section is required.", nameof(sections));
        Sections = sections.ToArray();
        _c = new double[sections.Length * 5];
        _z = new double[sections.Length * 2];
        for (var i = 0; i < sections.Length; i++)
        {
            var s = sections[i];
            _c[5 * i] = s.B0; _c[5 * i + 1] = s.B1; _c[5 * i + 2] = s.B2; _c[5 * i + 3] = s.A1; _c[5 * i + 4] = s.A2;
        }
    }

    /// <summary>The sections, first applied first.</summary>
    public IReadOnlyList<Biquad> Sections { get; }

    /// <summary>Filters one sample.</summary>
    public float Process(float input)
    {
        double x = input;
        var c = _c;
        var z = _z;
        for (int i = 0, ci = 0, zi = 0; zi < z.Length; i++, ci += 5, zi += 2)
        {
            var y = c[ci] * x + z[zi];
            z[zi] = c[ci + 1] * x - c[ci + 3] * y + z[zi + 1];
            z[zi + 1] = c[ci + 2] * x - c[ci + 4] * y;
            x = y;
        }
        return (float)x;
    }

    /// <summary>Filters <paramref name="data"/> in place.</summary>
    public void Process(Span<float> data)
    {
        var c = _c;
        var z = _z;
        var n = z.Length / 2;
        for (var s = 0; s < n; s++)
        {
            double b0 = c[5 * s], b1 = c[5 * s + 1], b2 = c[5 * s + 2], a1 = c[5 * s + 3], a2 = c[5 * s + 4];
            double z1 = z[2 * s], z2 = z[2 * s + 1];
            for (var i = 0; i < data.Length; i++)
            {
                double x = data[i];
                var y = b0 * x + z1;
                z1 = b1 * x - a1 * y + z2;
                z2 = b2 * x - a2 * y;
                data[i] = (float)y;
            }
            z[2 * s] = z1;
            z[2 * s + 1] = z2;
        }
    }

    /// <summary>Clears the state (as if the input had been zero forever).</summary>
    public void Reset() => Array.Clear(_z);

    /// <summary>
    /// Sets the state to the steady state for a constant input <paramref name="x0"/> (SciPy: <c>sosfilt_zi(sos) * x0</c>),
    /// so that a signal starting at an arbitrary offset does not ring.
    /// </summary>
    public void ResetSteadyState(float x0)
    {
        double x = x0;
        for (var s = 0; s < _z.Length / 2; s++)
        {
            double b0 = _c[5 * s], b1 = _c[5 * s + 1], b2 = _c[5 * s + 2], a1 = _c[5 * s + 3], a2 = _c[5 * s + 4];
            var y = x * (b0 + b1 + b2) / (1 + a1 + a2);
            var z2 = b2 * x - a2 * y;
            var z1 = b1 * x - a1 * y + z2;
            _z[2 * s] = z1;
            _z[2 * s + 1] = z2;
            x = y;
        }
    }
}
