namespace EcgEdge.Inference.Rhythm;

/// <summary>A beat's QRS against the patient's dominant beat (<see cref="DominantBeat"/>).</summary>
public struct QrsMeasure
{
    /// <summary>A dominant beat exists (enough beats have been seen) and the snippet was inside the signal.</summary>
    public bool Valid;

    /// <summary>Correlation with the dominant template, best within ± the alignment shift (1: identical shape).</summary>
    public float Correlation;

    /// <summary>QRS width (above 30 % of its peak deflection) relative to the dominant beat's.</summary>
    public float WidthRatio;

    /// <summary>ln(peak-to-peak / the dominant beat's).</summary>
    public float LogAmplitudeRatio;

    /// <summary>The beat's own QRS width, seconds.</summary>
    public float WidthS;

    /// <summary>The cluster the beat joined is the dominant one.</summary>
    public bool InDominant;
}

/// <summary>
/// The patient's own dominant beat, learned online without labels: QRS snippets (R − 100 ms … R + 150 ms, median removed)
/// are clustered by shape — a beat joins the template it correlates with best if that reaches 0.9 (the template then
/// moves 1/16 towards it), else starts a new cluster in place of the least used one — and the dominant beat is the
/// cluster with the most beats in a decaying count (half-life ~140 beats), so that it follows a slow change of shape and
/// is re-learned when the patient's normal beat changes (a bundle-branch block appearing, an electrode moved). Frequent
/// ectopy (bigeminy) does not displace it as long as the normal beats are more. Fixed buffers, no allocation per beat.
/// </summary>
public sealed class DominantBeat
{
    private const int Clusters = 6, MinBeats = 8;
    private const double JoinCorrelation = 0.9, Learn = 1.0 / 16, Decay = 0.995;
    private readonly int _before, _after, _len, _shift;
    private readonly double _fs;
    private readonly float[] _templates;   // [k * len + j]
    private readonly double[] _counts = new double[Clusters];
    private readonly int[] _seen = new int[Clusters];
    private readonly float[] _snippet;     // wide: len + 2 shift
    private readonly float[] _sorted;
    private int _beats;

    public DominantBeat(double sampleRateHz)
    {
        _fs = sampleRateHz;
        _before = (int)Math.Round(0.10 * sampleRateHz);
        _after = (int)Math.Round(0.15 * sampleRateHz);
        _len = _before + _after;
        _shift = Math.Max(1, (int)Math.Round(0.012 * sampleRateHz));
        _templates = new float[Clusters * _len];
        _snippet = new float[_len + 2 * _shift];
        _sorted = new float[_len + 2 * _shift];
    }

    /// <summary>Beats seen since the last reset.</summary>
    public int Beats => _beats;

    public void Reset()
    {
        Array.Clear(_counts);
        Array.Clear(_seen);
        _beats = 0;
    }

    /// <summary>Compares the beat at <paramref name="r"/> (sample of <paramref name="signal"/>) with the dominant beat, then learns from it.</summary>
    public QrsMeasure Observe(ReadOnlySpan<float> signal, int r)
    {
        var m = default(QrsMeasure);
        var from = r - _before - _shift;
        if (from < 0 || from + _snippet.Length > signal.Length) return m;
        var wide = _snippet.AsSpan();
        signal.Slice(from, wide.Length).CopyTo(wide);
        // median removed (the baseline under the QRS)
        wide.CopyTo(_sorted);
        _sorted.AsSpan().Sort();
        var med = _sorted[_sorted.Length / 2];
        for (var k = 0; k < wide.Length; k++) wide[k] -= med;
        var centre = wide.Slice(_shift, _len);
        m.WidthS = (float)(Width(centre) / _fs);

        // best cluster
        int best = -1, bestShift = 0;
        var bestCorr = double.NegativeInfinity;
        for (var c = 0; c < Clusters; c++)
        {
            if (_seen[c] == 0) continue;
            var t = _templates.AsSpan(c * _len, _len);
            for (var s = 0; s <= 2 * _shift; s++)
            {
                var corr = Correlation(wide.Slice(s, _len), t);
                if (corr > bestCorr) { bestCorr = corr; best = c; bestShift = s; }
            }
        }
        var dominant = Dominant();
        if (dominant >= 0 && _beats >= MinBeats)
        {
            var t = _templates.AsSpan(dominant * _len, _len);
            var dc = double.NegativeInfinity;
            var ds = _shift;
            for (var s = 0; s <= 2 * _shift; s++)
            {
                var corr = Correlation(wide.Slice(s, _len), t);
                if (corr > dc) { dc = corr; ds = s; }
            }
            var aligned = wide.Slice(ds, _len);
            m.Valid = true;
            m.Correlation = (float)dc;
            var tw = Width(t);
            // In floating point: the widths are sample counts, and an integer quotient read 1.9x as wide as 1x (until 2026-12-07).
            m.WidthRatio = tw > 0 ? (float)((double)Width(aligned) / tw) : 1f;
            var tp = PeakToPeak(t);
            m.LogAmplitudeRatio = (float)Math.Log((PeakToPeak(aligned) + 1e-3) / (tp + 1e-3));
        }

        // learn
        for (var c = 0; c < Clusters; c++) _counts[c] *= Decay;
        if (best >= 0 && bestCorr >= JoinCorrelation)
        {
            var t = _templates.AsSpan(best * _len, _len);
            var x = wide.Slice(bestShift, _len);
            for (var k = 0; k < _len; k++) t[k] += (float)(Learn * (x[k] - t[k]));
            _counts[best] += 1;
            _seen[best]++;
            m.InDominant = best == dominant;
        }
        else
        {
            // a new cluster: an unused slot, else the one with the fewest recent beats
            var slot = Array.IndexOf(_seen, 0);
            if (slot < 0)
            {
                slot = 0;
                for (var c = 1; c < Clusters; c++) if (_counts[c] < _counts[slot]) slot = c;
            }
            centre.CopyTo(_templates.AsSpan(slot * _len, _len));
            _counts[slot] = 1;
            _seen[slot] = 1;
        }
        _beats++;
        return m;
    }

    private int Dominant()
    {
        var d = -1;
        for (var c = 0; c < Clusters; c++)
            if (_seen[c] > 0 && (d < 0 || _counts[c] > _counts[d])) d = c;
        return d;
    }

    /// <summary>Samples where the deflection exceeds 30 % of its largest absolute value (the QRS's extent).</summary>
    private static int Width(ReadOnlySpan<float> x)
    {
        var peak = 0f;
        foreach (var v in x) peak = Math.Max(peak, Math.Abs(v));
        if (peak <= 0) return 0;
        int first = -1, last = -1;
        for (var k = 0; k < x.Length; k++)
        {
            if (Math.Abs(x[k]) < 0.3f * peak) continue;
            if (first < 0) first = k;
            last = k;
        }
        return first < 0 ? 0 : last - first + 1;
    }

    private static double PeakToPeak(ReadOnlySpan<float> x)
    {
        float lo = float.PositiveInfinity, hi = float.NegativeInfinity;
        foreach (var v in x) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        return hi - lo;
    }

    private static double Correlation(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double ma = 0, mb = 0;
        for (var k = 0; k < a.Length; k++) { ma += a[k]; mb += b[k]; }
        ma /= a.Length;
        mb /= b.Length;
        double sab = 0, saa = 0, sbb = 0;
        for (var k = 0; k < a.Length; k++)
        {
            var x = a[k] - ma;
            var y = b[k] - mb;
            sab += x * y;
            saa += x * x;
            sbb += y * y;
        }
        return saa <= 0 || sbb <= 0 ? 0 : sab / Math.Sqrt(saa * sbb);
    }
}
