namespace EcgEdge.Inference.Rhythm;

/// <summary>
/// Settings of the per-beat atrial-activity analysis (<see cref="AtrialActivity"/>). Times are seconds relative to the
/// beat's R peak (positive = before it); the defaults follow the textbook timing of a sinus P wave: PR interval
/// 120–200 ms (up to ~300 ms with first-degree AV block), P duration ≤ 120 ms, QRS onset ~40 ms before R.
/// </summary>
/// <param name="SearchFromS">Earliest P peak: this long before R.</param>
/// <param name="SearchToS">Latest P peak: this long before R (inside the PR segment, before the QRS onset).</param>
/// <param name="TemplateFromS">The P segment compared with the patient's sinus P template starts this long before R (where
/// a P wave with a PR interval up to ~200 ms lies, clear of the previous T wave up to ~110 bpm) …</param>
/// <param name="TemplateToS">… and ends this long before R.</param>
/// <param name="TEndPerSqrtRr">End of the previous beat's T wave: R + this × √RR (Bazett-like, QTc ≈ 0.40 s); the P search
/// never reaches into it.</param>
/// <param name="MinRegionS">A P region (or diastolic region) shorter than this is not measurable (P on T at high rates).</param>
/// <param name="SmoothS">Moving-average length applied before measuring (P waves are below ~25 Hz).</param>
/// <param name="MinAmplitudeMv">A P wave is at least this large …</param>
/// <param name="MinSnr">… and at least this many times the high-frequency noise of its region.</param>
/// <param name="MinWidthS">Width at half amplitude of a P wave: at least this …</param>
/// <param name="MaxWidthS">… and at most this.</param>
/// <param name="TemplateBeats">The sinus P template is the per-sample median of this many recent sinus-like P segments.</param>
/// <param name="MinTemplateBeats">With fewer, no correlation is reported (NaN).</param>
/// <param name="MaxShiftS">The P segment is aligned to the template within ± this.</param>
public sealed record AtrialSettings(
    double SearchFromS = 0.34, double SearchToS = 0.07,
    double TemplateFromS = 0.25, double TemplateToS = 0.05,
    double TEndPerSqrtRr = 0.40, double MinRegionS = 0.10,
    double SmoothS = 0.02, double MinAmplitudeMv = 0.02, double MinSnr = 3.0,
    double MinWidthS = 0.02, double MaxWidthS = 0.16,
    int TemplateBeats = 16, int MinTemplateBeats = 4, double MaxShiftS = 0.02)
{
    /// <summary>Problems with the settings (empty when valid).</summary>
    public IEnumerable<string> Problems()
    {
        if (!(SearchFromS > SearchToS && SearchToS > 0 && SearchFromS <= 0.6)) yield return "atrial: 0 < search_to_s < search_from_s <= 0.6 is required";
        if (!(TemplateFromS > TemplateToS && TemplateToS >= 0 && TemplateFromS <= 0.6)) yield return "atrial: 0 <= template_to_s < template_from_s <= 0.6 is required";
        if (!(TEndPerSqrtRr is > 0.2 and < 0.7)) yield return "atrial: t_end_per_sqrt_rr must be in (0.2, 0.7)";
        if (!(MinRegionS is > 0.02 and < 0.4)) yield return "atrial: min_region_s must be in (0.02, 0.4)";
        if (!(SmoothS is >= 0 and <= 0.06)) yield return "atrial: smooth_s must be in [0, 0.06]";
        if (!(MinAmplitudeMv >= 0) || !(MinSnr >= 0)) yield return "atrial: min_amplitude_mv and min_snr must be >= 0";
        if (!(MinWidthS > 0 && MaxWidthS > MinWidthS)) yield return "atrial: 0 < min_width_s < max_width_s is required";
        if (TemplateBeats is < 1 or > 64 || MinTemplateBeats < 1 || MinTemplateBeats > TemplateBeats) yield return "atrial: 1 <= min_template_beats <= template_beats <= 64 is required";
        if (!(MaxShiftS is >= 0 and <= 0.06)) yield return "atrial: max_shift_s must be in [0, 0.06]";
    }
}

/// <summary>What <see cref="AtrialActivity"/> measured before one beat.</summary>
public struct AtrialMeasure
{
    /// <summary>The P region (from the previous T wave's end to the QRS) was long enough and inside the signal.</summary>
    public bool Measurable;

    /// <summary>A P wave: a deflection of P size and width, clear of the region's noise.</summary>
    public bool PPresent;

    /// <summary>Signed amplitude of the largest deflection in the P region against its baseline, mV.</summary>
    public float AmplitudeMv;

    /// <summary>R peak minus the deflection's peak, seconds.</summary>
    public float PeakToRS;

    /// <summary>R peak minus the deflection's onset (where it rises above 20 % of its amplitude), seconds.</summary>
    public float OnsetToRS;

    /// <summary>R peak minus the deflection's end (where it falls below 20 % of its amplitude), seconds.</summary>
    public float EndToRS;

    /// <summary>Width at half amplitude, seconds.</summary>
    public float WidthS;

    /// <summary>High-frequency residual (signal minus its smoothed version) in the region, RMS, mV.</summary>
    public float NoiseMv;

    /// <summary>Correlation of the P segment with the patient's sinus P template (best within ± the shift); NaN without a template.</summary>
    public float TemplateCorrelation;

    /// <summary>Oscillations (extrema of prominence above the noise) per second in the diastolic region; NaN when too short.</summary>
    public float DiastolicExtremaPerS;

    /// <summary>RMS of the detrended, smoothed diastolic region relative to the beat's R amplitude; NaN when too short.</summary>
    public float DiastolicRmsRel;
}

/// <summary>
/// Atrial activity before each beat, in one lead, patient-relative: the P wave (presence, amplitude, peak, onset, end,
/// width; the largest deflection between the previous T wave's end and the QRS onset, against a straight baseline through
/// the region's ends, smoothed over 20 ms), its likeness to the patient's own sinus P wave (correlation with the
/// per-sample median of the last sinus-like P segments: P present, interval not premature), and, for the diastole
/// (T end to QRS), how much it oscillates (fibrillatory waves: many extrema; sinus: a P bump, else flat).
/// <para>Works on a window of the conditioned signal at the model's rate (the same windows the model reads). Fixed
/// buffers: nothing is allocated per beat.</para>
/// </summary>
public sealed class AtrialActivity
{
    private readonly AtrialSettings _s;
    private readonly double _fs;
    private readonly int _smooth, _searchFrom, _searchTo, _segFrom, _segTo, _segLen, _shift, _minRegion;
    private readonly float[] _work;       // smoothed region
    private readonly float[] _seg;        // the beat's P segment, detrended
    private readonly float[] _history;    // [k * segLen + j] ring of sinus-like P segments
    private readonly float[] _template;
    private readonly float[] _column;
    private int _historyCount, _historyNext;
    private bool _templateStale = true;

    public AtrialActivity(AtrialSettings settings, double sampleRateHz)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Problems().FirstOrDefault() is { } p) throw new ArgumentException(p, nameof(settings));
        if (!(sampleRateHz >= 100)) throw new ArgumentOutOfRangeException(nameof(sampleRateHz), "at least 100 Hz");
        _s = settings;
        _fs = sampleRateHz;
        _smooth = Math.Max(1, (int)Math.Round(settings.SmoothS * sampleRateHz));
        _searchFrom = (int)Math.Round(settings.SearchFromS * sampleRateHz);
        _searchTo = (int)Math.Round(settings.SearchToS * sampleRateHz);
        _segFrom = (int)Math.Round(settings.TemplateFromS * sampleRateHz);
        _segTo = (int)Math.Round(settings.TemplateToS * sampleRateHz);
        _segLen = _segFrom - _segTo;
        _shift = (int)Math.Round(settings.MaxShiftS * sampleRateHz);
        _minRegion = Math.Max(3, (int)Math.Round(settings.MinRegionS * sampleRateHz));
        _work = new float[(int)Math.Ceiling(2.5 * sampleRateHz) + 4 * _smooth];
        _seg = new float[_segLen + 2 * _shift];
        _history = new float[settings.TemplateBeats * _segLen];
        _template = new float[_segLen];
        _column = new float[settings.TemplateBeats];
    }

    public AtrialSettings Settings => _s;

    /// <summary>Sinus-like P segments in the template history.</summary>
    public int TemplateBeats => _historyCount;

    /// <summary>Forgets the patient's P template (a new stream, another patient).</summary>
    public void Reset()
    {
        _historyCount = 0;
        _historyNext = 0;
        _templateStale = true;
    }

    /// <summary>
    /// Measures the atrial activity before the beat whose R peak is at <paramref name="r"/> (sample of
    /// <paramref name="signal"/>), the previous R peak being <paramref name="rrPreS"/> seconds earlier (NaN when unknown).
    /// <paramref name="rAmplitudeMv"/> scales the diastolic RMS. When <paramref name="sinusLike"/> and a P wave is found,
    /// the P segment joins the patient's template history. <paramref name="qtRrS"/>: the interval before the previous
    /// beat, which sets that beat's QT (NaN: <paramref name="rrPreS"/>).
    /// </summary>
    public AtrialMeasure Measure(ReadOnlySpan<float> signal, int r, double rrPreS, float rAmplitudeMv, bool sinusLike, double qtRrS = double.NaN)
    {
        var m = new AtrialMeasure
        {
            TemplateCorrelation = float.NaN, DiastolicExtremaPerS = float.NaN, DiastolicRmsRel = float.NaN,
        };
        // The previous T wave's end bounds the region; without a previous beat, the search window's own start. The
        // previous beat's QT follows the interval before that beat (qtRrS), not the coupling interval of this one: a
        // premature beat comes early, the T wave before it does not shorten.
        var qtRr = double.IsFinite(qtRrS) && qtRrS > 0 ? qtRrS : rrPreS;
        var tEnd = double.IsFinite(rrPreS) && rrPreS > 0
            ? r - (int)Math.Round((rrPreS - _s.TEndPerSqrtRr * Math.Sqrt(qtRr)) * _fs)
            : r - _searchFrom;
        var regionFrom = Math.Max(tEnd, r - _searchFrom);
        var regionTo = r - _searchTo;
        if (regionFrom - _smooth < 0 || regionTo + _smooth >= signal.Length || regionTo - regionFrom < _minRegion) return m;
        m.Measurable = true;

        // Smoothed region (a centred moving average), its high-frequency residual and a straight baseline through its ends.
        var n = regionTo - regionFrom + 1;
        var w = _work.AsSpan(0, n);
        Smooth(signal, regionFrom, n, w);
        double noise = 0;
        for (var k = 0; k < n; k++)
        {
            var e = signal[regionFrom + k] - w[k];
            noise += e * e;
        }
        noise = Math.Sqrt(noise / n);
        m.NoiseMv = (float)noise;
        var ends = Math.Max(1, _smooth);
        var b0 = Mean(w[..ends]);
        var b1 = Mean(w[(n - ends)..]);
        var best = -1;
        var bestAbs = 0.0;
        for (var k = 0; k < n; k++)
        {
            var d = w[k] - (b0 + (b1 - b0) * k / (n - 1));
            w[k] = (float)d;
            if (Math.Abs(d) > bestAbs) { bestAbs = Math.Abs(d); best = k; }
        }
        if (best >= 0)
        {
            var a = w[best];
            m.AmplitudeMv = a;
            m.PeakToRS = (float)((r - (regionFrom + best)) / _fs);
            // onset / end at 20 % of the amplitude, half width at 50 %
            int on = best, off = best;
            while (on > 0 && w[on - 1] * Math.Sign(a) > 0.2 * Math.Abs(a)) on--;
            while (off < n - 1 && w[off + 1] * Math.Sign(a) > 0.2 * Math.Abs(a)) off++;
            int h0 = best, h1 = best;
            while (h0 > 0 && w[h0 - 1] * Math.Sign(a) > 0.5 * Math.Abs(a)) h0--;
            while (h1 < n - 1 && w[h1 + 1] * Math.Sign(a) > 0.5 * Math.Abs(a)) h1++;
            m.OnsetToRS = (float)((r - (regionFrom + on)) / _fs);
            m.EndToRS = (float)((r - (regionFrom + off)) / _fs);
            m.WidthS = (float)((h1 - h0 + 1) / _fs);
            // A P wave: clear of the noise, of P width, a real bump (it falls back on both sides inside the region) and
            // alone: at least twice any other deflection of the region (fibrillatory waves make several bumps alike).
            var inside = on > 0 && off < n - 1;
            var guard = Math.Max(1, (int)Math.Round(0.02 * _fs));
            var other = 0.0;
            for (var k = 0; k < n; k++)
                if (k < on - guard || k > off + guard) other = Math.Max(other, Math.Abs(w[k]));
            m.PPresent = inside && Math.Abs(a) >= _s.MinAmplitudeMv && Math.Abs(a) >= _s.MinSnr * noise
                && m.WidthS >= _s.MinWidthS && m.WidthS <= _s.MaxWidthS && Math.Abs(a) >= 2 * other;
        }

        // Diastolic oscillation: extrema of the smoothed, detrended region whose prominence exceeds the noise.
        var dur = n / _fs;
        // A turn counts when it is well clear of the noise and at least 15 µV (fine fibrillatory waves are ~20–50 µV,
        // flutter waves 100–200 µV): small wiggles of a flat diastole do not count.
        var step = Math.Max(3.0 * noise, 0.75 * _s.MinAmplitudeMv);
        var extrema = CountExtrema(w, step);
        m.DiastolicExtremaPerS = (float)(extrema / dur);
        double rms = 0;
        for (var k = 0; k < n; k++) rms += w[k] * w[k];
        rms = Math.Sqrt(rms / n);
        m.DiastolicRmsRel = rAmplitudeMv > 1e-3f ? (float)(rms / rAmplitudeMv) : float.NaN;

        // The P segment against the patient's sinus template — only when it is clear of the previous T wave: at fast
        // rates the segment would hold the T wave's end, which is alike from beat to beat and would pass for a
        // consistent P wave (fast AF looked "P-consistent" that way).
        var segStart = r - _segFrom - _shift;
        var clearOfT = tEnd <= segStart;
        if (clearOfT && segStart - _smooth >= 0 && r - _segTo + _shift + _smooth < signal.Length)
        {
            var seg = _seg.AsSpan();
            Smooth(signal, segStart, seg.Length, seg);
            Detrend(seg);
            if (_historyCount >= _s.MinTemplateBeats)
            {
                if (_templateStale) BuildTemplate();
                m.TemplateCorrelation = (float)BestCorrelation(seg);
            }
            if (sinusLike && m.PPresent)
            {
                seg.Slice(_shift, _segLen).CopyTo(_history.AsSpan(_historyNext * _segLen, _segLen));
                Detrend(_history.AsSpan(_historyNext * _segLen, _segLen));
                _historyNext = (_historyNext + 1) % _s.TemplateBeats;
                _historyCount = Math.Min(_historyCount + 1, _s.TemplateBeats);
                _templateStale = true;
            }
        }
        return m;
    }

    private void Smooth(ReadOnlySpan<float> x, int from, int n, Span<float> dst)
    {
        var h = _smooth / 2;
        for (var k = 0; k < n; k++)
        {
            var c = from + k;
            var lo = Math.Max(0, c - h);
            var hi = Math.Min(x.Length - 1, c - h + _smooth - 1);
            double s = 0;
            for (var j = lo; j <= hi; j++) s += x[j];
            dst[k] = (float)(s / (hi - lo + 1));
        }
    }

    private static double Mean(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (var v in x) s += v;
        return x.Length == 0 ? 0 : s / x.Length;
    }

    /// <summary>Removes the straight line through the first and last samples.</summary>
    private static void Detrend(Span<float> x)
    {
        if (x.Length < 2) return;
        double a = x[0], b = x[^1];
        for (var k = 0; k < x.Length; k++) x[k] -= (float)(a + (b - a) * k / (x.Length - 1));
    }

    /// <summary>
    /// Turning points confirmed by a rise and a fall of at least <paramref name="step"/> on either side (a hysteresis
    /// count): a single P bump counts 1, fibrillatory waves several per second, a flat diastole 0.
    /// </summary>
    private static int CountExtrema(ReadOnlySpan<float> x, double step)
    {
        if (x.Length < 3) return 0;
        double mn = x[0], mx = x[0], ext = 0;
        int dir = 0, count = 0;
        for (var k = 1; k < x.Length; k++)
        {
            double v = x[k];
            if (dir == 0)
            {
                mn = Math.Min(mn, v);
                mx = Math.Max(mx, v);
                if (v - mn >= step) { dir = 1; ext = v; }
                else if (mx - v >= step) { dir = -1; ext = v; }
            }
            else if (dir > 0)
            {
                if (v > ext) ext = v;
                else if (ext - v >= step) { count++; dir = -1; ext = v; }
            }
            else
            {
                if (v < ext) ext = v;
                else if (v - ext >= step) { count++; dir = 1; ext = v; }
            }
        }
        return count;
    }

    private void BuildTemplate()
    {
        var n = _historyCount;
        var col = _column.AsSpan(0, n);
        for (var j = 0; j < _segLen; j++)
        {
            for (var k = 0; k < n; k++) col[k] = _history[k * _segLen + j];
            col.Sort();
            _template[j] = n % 2 == 1 ? col[n / 2] : 0.5f * (col[n / 2 - 1] + col[n / 2]);
        }
        _templateStale = false;
    }

    private double BestCorrelation(ReadOnlySpan<float> seg)
    {
        var best = double.NegativeInfinity;
        for (var s = 0; s <= 2 * _shift; s++)
        {
            var c = Correlation(seg.Slice(s, _segLen), _template);
            if (c > best) best = c;
        }
        return best;
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
