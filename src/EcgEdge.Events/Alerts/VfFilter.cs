namespace EcgEdge.Events.Alerts;

/// <summary>
/// The "VF filter" of Kuo &amp; Dillman (Computers in Cardiology 1978), as described by Amann, Tratnig &amp; Unterkofler (BioMed Eng OnLine 2005, 4:60):
/// a segment is treated as a sinusoid whose half period N (samples) is estimated from the ratio of its mean absolute
/// value to its mean absolute difference, N = ⌊π Σ|vᵢ| / Σ|vᵢ − vᵢ₋₁| + ½⌋; the leakage of a band-stop at that
/// frequency, l = Σ|vᵢ + vᵢ₋N| / Σ(|vᵢ| + |vᵢ₋N|), is small for the quasi-sinusoidal VF waveform and large for
/// organised QRS complexes. Kuo &amp; Dillman's threshold: VF when l &lt; 0.406. Allocation-free.
/// </summary>
public static class VfFilter
{
    /// <summary>Leakage of <paramref name="segment"/> (NaN when the segment is flat or too short).</summary>
    public static double Leakage(ReadOnlySpan<float> segment)
    {
        if (segment.Length < 8) return double.NaN;
        double sumAbs = 0, sumDiff = 0;
        for (var i = 1; i < segment.Length; i++)
        {
            sumAbs += Math.Abs(segment[i]);
            sumDiff += Math.Abs(segment[i] - segment[i - 1]);
        }
        if (sumDiff <= 0) return double.NaN;
        var n = (int)Math.Floor(Math.PI * sumAbs / sumDiff + 0.5);
        if (n < 1 || n >= segment.Length / 2) return double.NaN;
        double num = 0, den = 0;
        for (var i = n; i < segment.Length; i++)
        {
            num += Math.Abs(segment[i] + segment[i - n]);
            den += Math.Abs(segment[i]) + Math.Abs(segment[i - n]);
        }
        return den <= 0 ? double.NaN : num / den;
    }
}
