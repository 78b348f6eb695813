namespace EcgEdge.Inference.Rhythm;

/// <summary>What <see cref="AtrialSpectrum"/> found in one window.</summary>
public struct AtrialSpectrumResult
{
    /// <summary>Enough beats to cancel the ventricular activity and enough signal left to analyse.</summary>
    public bool Valid;

    /// <summary>Dominant frequency of the remaining (atrial) activity in 3.5–12 Hz, Hz.</summary>
    public float DominantHz;

    /// <summary>Organization: share of the 3–12 Hz power within ± 0.5 Hz of the dominant frequency and its first harmonic.</summary>
    public float Organization;

    /// <summary>The remaining activity's 3–12 Hz magnitude (√Σ bin power / samples) relative to the median beat's R amplitude.</summary>
    public float RelativeRms;
}

/// <summary>
/// Atrial activity of a whole window after cancelling the ventricular activity (average beat subtraction, as in the AF
/// literature): every sample near a beat loses the window's median beat (R − 0.30 s … R + 0.45 s, so a sinus P wave,
/// locked to its QRS, cancels too), the QRS cores are blanked, and so are the beats that look ectopic (they do not match
/// the median beat). What is left is fibrillatory or flutter activity — or noise — whose power spectrum in 3–12 Hz
/// (Goertzel at 0.25-Hz steps, Hann window) gives the dominant atrial frequency (AF ~5–9 Hz, flutter ~4–6 Hz), its
/// organization (flutter: one sharp peak; AF: a broader one; sinus: little power at all) and the remaining power.
/// Fixed buffers: nothing is allocated per window.
/// </summary>
public sealed class AtrialSpectrum
{
    private const double FromHz = 3.5, ToHz = 12.0, StepHz = 0.25, Before = 0.30, After = 0.45, CoreBefore = 0.06, CoreAfter = 0.10;
    private readonly double _fs;
    private readonly int _before, _after, _len, _coreBefore, _coreAfter, _bins;
    private readonly float[] _segments;     // [beat * len + k]
    private readonly float[] _template;
    private readonly float[] _column;
    private readonly float[] _residual;
    private readonly float[] _smooth;
    private readonly double[] _power;
    private readonly double[] _cos;

    public AtrialSpectrum(double sampleRateHz, int maxSamples, int maxBeats = 96)
    {
        _fs = sampleRateHz;
        _before = (int)Math.Round(Before * sampleRateHz);
        _after = (int)Math.Round(After * sampleRateHz);
        _len = _before + _after;
        _coreBefore = (int)Math.Round(CoreBefore * sampleRateHz);
        _coreAfter = (int)Math.Round(CoreAfter * sampleRateHz);
        MaxBeats = maxBeats;
        _segments = new float[maxBeats * _len];
        _template = new float[_len];
        _column = new float[maxBeats];
        _residual = new float[maxSamples];
        _smooth = new float[maxSamples];
        _bins = (int)Math.Round((ToHz - FromHz) / StepHz) + 1;
        _power = new double[_bins];
        _cos = new double[_bins];
        for (var b = 0; b < _bins; b++) _cos[b] = 2 * Math.Cos(2 * Math.PI * (FromHz + b * StepHz) / sampleRateHz);
    }

    /// <summary>Most beats one window may hold (more are ignored).</summary>
    public int MaxBeats { get; }

    /// <summary>Replaces each run of NaN by the straight line between its neighbours (the nearest value at an edge; 0 if all are NaN).</summary>
    private static void Bridge(Span<float> x)
    {
        var n = x.Length;
        var t = 0;
        while (t < n)
        {
            if (!float.IsNaN(x[t])) { t++; continue; }
            var a = t;
            while (t < n && float.IsNaN(x[t])) t++;
            var left = a > 0 ? x[a - 1] : (t < n ? x[t] : 0f);
            var right = t < n ? x[t] : left;
            var len = t - a + 1;
            for (var k = a; k < t; k++) x[k] = left + (right - left) * (k - a + 1) / len;
        }
    }

    /// <summary>x minus its centred moving average over <paramref name="length"/> samples (shorter at the edges).</summary>
    private static void HighPass(Span<float> x, Span<float> tmp, int length)
    {
        var h = length / 2;
        var n = x.Length;
        double sum = 0;
        int lo = 0, hi = -1;
        for (var t = 0; t < n; t++)
        {
            var wantLo = Math.Max(0, t - h);
            var wantHi = Math.Min(n - 1, t + h);
            while (hi < wantHi) sum += x[++hi];
            while (lo < wantLo) sum -= x[lo++];
            tmp[t] = (float)(sum / (hi - lo + 1));
        }
        for (var t = 0; t < n; t++) x[t] -= tmp[t];
    }

    /// <summary>
    /// Analyses <paramref name="signal"/> (one lead, model rate) whose beats are at <paramref name="beats"/> (sample
    /// indices, increasing); <paramref name="ectopic"/> marks beats to blank instead of cancel (may be empty).
    /// </summary>
    public AtrialSpectrumResult Analyse(ReadOnlySpan<float> signal, ReadOnlySpan<int> beats, ReadOnlySpan<bool> ectopic)
    {
        var result = default(AtrialSpectrumResult);
        var n = signal.Length;
        if (n < (int)(4 * _fs) || n > _residual.Length) return result;
        var nb = Math.Min(beats.Length, MaxBeats);
        // The median beat of the non-ectopic beats held whole.
        var count = 0;
        for (var i = 0; i < nb; i++)
        {
            var r = beats[i];
            if (r - _before < 0 || r + _after > n || (ectopic.Length > i && ectopic[i])) continue;
            signal.Slice(r - _before, _len).CopyTo(_segments.AsSpan(count * _len, _len));
            count++;
        }
        if (count < 4) return result;
        var col = _column.AsSpan(0, count);
        for (var k = 0; k < _len; k++)
        {
            for (var i = 0; i < count; i++) col[i] = _segments[i * _len + k];
            col.Sort();
            _template[k] = count % 2 == 1 ? col[count / 2] : 0.5f * (col[count / 2 - 1] + col[count / 2]);
        }
        var rAmp = Math.Max(Math.Abs(_template[_before]), 1e-3f);

        // Residual: each sample against the nearest beat's template; QRS cores and ectopic beats blanked; samples far
        // from any beat (a long pause) kept as they are.
        var res = _residual.AsSpan(0, n);
        var j = 0;
        var kept = 0;
        for (var t = 0; t < n; t++)
        {
            while (j + 1 < nb && Math.Abs(beats[j + 1] - t) <= Math.Abs(beats[j] - t)) j++;
            var d = nb > 0 ? t - beats[j] : int.MaxValue;
            float v;
            if (nb == 0 || d < -_before || d >= _after) v = signal[t];
            else if (d >= -_coreBefore && d < _coreAfter) v = float.NaN;
            else if (ectopic.Length > j && ectopic[j]) v = float.NaN;
            else v = signal[t] - _template[d + _before];
            res[t] = v;
            if (!float.IsNaN(v)) kept++;
        }
        if (kept < (int)(2 * _fs)) return result;
        // Blanked stretches bridged by straight lines (a step would spread power over every frequency), then the
        // slow remainder (T-wave differences, baseline) removed by subtracting a centred 160-ms moving average, which
        // keeps ~35 % at 3 Hz and > 90 % from 6 Hz up; then the Hann window.
        Bridge(res);
        HighPass(res, _smooth.AsSpan(0, n), (int)Math.Round(0.16 * _fs));
        for (var t = 0; t < n; t++) res[t] *= (float)(0.5 - 0.5 * Math.Cos(2 * Math.PI * t / (n - 1)));

        // Power spectrum by Goertzel with a Hann window.
        double total = 0;
        var best = 0;
        for (var b = 0; b < _bins; b++)
        {
            double s1 = 0, s2 = 0;
            var c = _cos[b];
            for (var t = 0; t < n; t++)
            {
                var s0 = res[t] + c * s1 - s2;
                s2 = s1;
                s1 = s0;
            }
            var p = s1 * s1 + s2 * s2 - c * s1 * s2;
            _power[b] = p;
            total += p;
            if (p > _power[best]) best = b;
        }
        if (!(total > 0)) return result;
        var df = FromHz + best * StepHz;
        double peak = 0;
        for (var b = 0; b < _bins; b++)
        {
            var f = FromHz + b * StepHz;
            if (Math.Abs(f - df) <= 0.5 || Math.Abs(f - 2 * df) <= 0.5) peak += _power[b];
        }
        // A relative measure of the 3–12 Hz power (the sum of the bins' squared magnitudes, per sample), not a calibrated RMS.
        var bandRms = Math.Sqrt(total) / n;
        result.Valid = true;
        result.DominantHz = (float)df;
        result.Organization = (float)(peak / total);
        result.RelativeRms = (float)(bandRms / rAmp);
        return result;
    }
}
