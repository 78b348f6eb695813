namespace EcgEdge.Inference.Rhythm;

/// <summary>
/// The rhythm evidence a cardiologist reads from a strip, computed on the device for every model window from the beats
/// of the last <see cref="RhythmEvidence.ContextSeconds"/> seconds — or of a shorter context, while a stream is younger
/// than that (names in <see cref="Names"/>, the order of the vector).
/// </summary>
public static class RhythmFeatures
{
    /// <summary>Feature names, in vector order (the fusion model in the manifest names the ones it reads).</summary>
    public static readonly string[] Names =
    [
        "beats",          // beats in the context (0..)
        "hr",             // median heart rate / 100 bpm
        "irr",            // share of successive RR differences > 50 ms, all intervals
        "irr_clean",      // the same without the intervals next to an ectopic-looking beat
        "nrmssd_clean",   // RMS of successive differences / mean RR, clean intervals
        "ectopic",        // share of beats that look ectopic (premature with a pause after, or a QRS unlike the patient's)
        "p_present",      // share of non-ectopic beats with a P wave (of those whose P region is measurable)
        "p_corr",         // median correlation of the P segment with the patient's sinus P template (non-ectopic beats)
        "p_corr_high",    // share of non-ectopic beats whose P segment correlates ≥ 0.7 with the template
        "pr_sd",          // SD of the R − P-peak interval of non-ectopic beats with a P wave, s × 10
        "dia_extrema",    // median diastolic oscillations per second / 10
        "dia_rms",        // median diastolic RMS relative to the R amplitude
        "measurable",     // share of beats whose P region is measurable (long enough diastole)
        "irr32",          // the plain RR rule's statistic: share of successive |ΔRR| > 50 ms over the last 32 intervals
        "cosen",          // coefficient of sample entropy of the RR intervals (Lake & Moorman 2011; m = 1, r = 30 ms)
        "sd_ratio",       // Poincaré SD1 / SD2 of the RR intervals (a round cloud in AF, elongated or clustered otherwise)
        "noise",          // median high-frequency residual of the P regions relative to the R amplitude (signal quality)
        "atrial_df",      // dominant frequency of the window's atrial activity after QRST cancellation, Hz / 10 (AtrialSpectrum)
        "atrial_oi",      // its organization (share of the 3–12 Hz power at the dominant frequency and its harmonic)
        "atrial_rms",     // its 3–12 Hz magnitude relative to the R amplitude
        "p_template",     // share of non-ectopic beats compared with a sinus P template (0: the patient has shown none yet)
        "net_af",         // the network's AF/flutter posterior for the window
        "net_noise",      // the network's noise posterior for the window
    ];

    public const int Beats = 0, Hr = 1, Irr = 2, IrrClean = 3, NrmssdClean = 4, Ectopic = 5, PPresent = 6, PCorr = 7,
        PCorrHigh = 8, PrSd = 9, DiaExtrema = 10, DiaRms = 11, Measurable = 12, Irr32 = 13, Cosen = 14, SdRatio = 15, Noise = 16,
        AtrialDf = 17, AtrialOi = 18, AtrialRms = 19, PTemplate = 20, NetAf = 21, NetNoise = 22;

    public static int Count => Names.Length;

    /// <summary>Index of <paramref name="name"/>, or −1.</summary>
    public static int IndexOf(string name) => Array.IndexOf(Names, name);
}

/// <summary>
/// Per-beat evidence for the beat decision (S and V against the patient's own rhythm and dominant beat), computed on the
/// device (<see cref="RhythmEvidence.BeatFeatures"/>; names in order).
/// </summary>
public static class BeatFeatures
{
    public static readonly string[] Names =
    [
        "rr_pre",          // RR before the beat / the local normal RR (median of the last 16 intervals between dominant beats)
        "rr_post",         // RR after it / the local normal RR (the pre interval when the next beat is not known yet)
        "rr_ratio",        // RR after / RR before (a compensatory pause: ≥ 1.1 after a premature beat)
        "rr_local",        // the local normal RR, seconds − 0.8
        "qrs_corr",        // QRS correlation with the patient's dominant beat (1 when none is learned yet)
        "qrs_width",       // QRS width, seconds × 10
        "qrs_width_ratio", // QRS width / the dominant beat's
        "qrs_amp",         // ln(QRS peak-to-peak / the dominant beat's)
        "qrs_dominant",    // the beat joined the dominant cluster (1) or not (0)
        "p_present",       // a P wave precedes it (1) or not (0)
        "p_corr",          // its P segment's correlation with the sinus P template (0 without a template)
        "p_template",      // a sinus P template exists (1) or not (0)
        "p_amp_ratio",     // its P amplitude / the median of the recent sinus P waves (0 without P)
        "pr_dev",          // |R − P peak| minus the recent sinus median, seconds × 10 (0 without P)
        "irr_context",     // RR irregularity of the window it was decided in (irr_clean of the rhythm evidence)
        "af_context",      // P(AF) of the rhythm decision for that window (the fusion's, else the network's)
    ];

    public const int RrPre = 0, RrPost = 1, RrRatio = 2, RrLocal = 3, QrsCorr = 4, QrsWidth = 5, QrsWidthRatio = 6, QrsAmp = 7,
        QrsDominant = 8, PPresent = 9, PCorr = 10, PTemplate = 11, PAmpRatio = 12, PrDev = 13, IrrContext = 14, AfContext = 15;

    public static int Count => Names.Length;

    public static int IndexOf(string name) => Array.IndexOf(Names, name);
}

/// <summary>
/// Per-beat physiological evidence (<see cref="AtrialActivity"/>: P wave, likeness to the patient's sinus P, diastolic
/// oscillation; QRS likeness to the patient's recent beats through <see cref="BeatShapeFeatures"/>; prematurity), kept
/// for the beats of the last minute, and summarised per model window into <see cref="RhythmFeatures"/>: RR irregularity
/// with and without the intervals next to ectopic-looking beats (so that frequent PACs/PVCs do not read as AF), P-wave
/// presence and consistency, PR stability and diastolic activity. Beats come from the detector (positions at the pipeline
/// rate, shifted to the conditioned signal); each beat is measured once, in the first window that holds its P region and
/// QRS whole. Fixed buffers: nothing is allocated per beat or per window.
/// </summary>
public sealed class RhythmEvidence
{
    /// <summary>Seconds of beats a window's features summarise (ending at the window's end).</summary>
    public const double ContextSeconds = 30;

    private const double IrrThresholdS = 0.05;
    private const int Capacity = 512;
    private readonly double _rate;
    private readonly AtrialActivity _atrial;
    private readonly AtrialSpectrum _spectrum;
    private readonly int[] _windowBeats = new int[96];
    private readonly bool[] _windowEctopic = new bool[96];
    private AtrialSpectrumResult _lastSpectrum;
    private readonly BeatShapeFeatures _shape;
    private readonly double[] _t = new double[Capacity];
    private readonly bool[] _measured = new bool[Capacity];
    private readonly AtrialMeasure[] _m = new AtrialMeasure[Capacity];
    private readonly float[] _qrsUnlike = new float[Capacity];
    private readonly float[] _rAmp = new float[Capacity];
    private readonly QrsMeasure[] _qrs = new QrsMeasure[Capacity];
    private readonly DominantBeat _dominant;
    private readonly float[] _recent = new float[16], _recent2 = new float[16];
    private float _irrContext, _afContext;
    private readonly float[] _shapeOut = new float[BeatShapeSettings.Channels];
    private readonly double[] _rr = new double[Capacity], _scratch = new double[Capacity], _scratch2 = new double[Capacity];
    private readonly bool[] _ectopic = new bool[Capacity];
    private long _count;
    private double _from = double.NegativeInfinity;
    private long _streamFirst;
    private int _lead = -1;

    /// <param name="pipelineRateHz">Rate of the beat positions and window starts.</param>
    /// <param name="modelRateHz">Rate of the window signal.</param>
    public RhythmEvidence(double pipelineRateHz, double modelRateHz, AtrialSettings? atrial = null)
    {
        if (!(pipelineRateHz > 0) || !(modelRateHz > 0)) throw new ArgumentOutOfRangeException(nameof(pipelineRateHz));
        _rate = pipelineRateHz;
        ModelRateHz = modelRateHz;
        _atrial = new AtrialActivity(atrial ?? new AtrialSettings(), modelRateHz);
        _spectrum = new AtrialSpectrum(modelRateHz, (int)Math.Ceiling(12 * modelRateHz), _windowBeats.Length);
        _dominant = new DominantBeat(modelRateHz);
        _shape = new BeatShapeFeatures(new BeatShapeSettings(), Capacity);
    }

    public double ModelRateHz { get; }

    /// <summary>
    /// Raised once per beat when its atrial activity has been measured (its position, at the pipeline rate in the
    /// conditioned signal's time, and the measure): for validation against reference P-wave marks.
    /// </summary>
    public Action<double, AtrialMeasure>? Measured { get; set; }

    /// <summary>The per-beat atrial analysis (its settings, its template state).</summary>
    public AtrialActivity Atrial => _atrial;

    /// <summary>Beats added since the start.</summary>
    public long Count => _count;

    private int Slot(long i) => (int)(i % Capacity);

    private double At(long i) => _t[Slot(i)];

    /// <summary>Adds a beat (positions at the pipeline rate, increasing; an earlier or equal one is ignored).</summary>
    public void Add(double position)
    {
        if (_count > 0 && !(position > At(_count - 1))) return;
        var s = Slot(_count);
        _t[s] = position;
        _measured[s] = false;
        _shape.Forget(_count);
        _count++;
    }

    /// <summary>A new stream starts at <paramref name="position"/>: intervals across a gap mean nothing; the P template is kept.</summary>
    public void StartStream(double position)
    {
        _from = position;
        var i = _count;
        while (i > Math.Max(0, _count - Capacity) && At(i - 1) >= position) i--;
        _streamFirst = i;
    }

    /// <summary>First beat of the current stream still remembered.</summary>
    private long First
    {
        get
        {
            var first = Math.Max(_streamFirst, Math.Max(0, _count - Capacity + 1));
            while (first < _count && At(first) < _from) first++;
            return first;
        }
    }

    /// <summary>
    /// Measures every beat of the current stream that this window holds whole and that is not measured yet.
    /// <paramref name="window"/>: [channel * windowSamples + t] at the model rate, starting at pipeline index
    /// <paramref name="windowStart"/>, <paramref name="decimation"/> pipeline samples per model sample, the first
    /// <paramref name="validSamples"/> real. Beats at or after <paramref name="limit"/> belong to a later stream.
    /// </summary>
    public void Observe(ReadOnlySpan<float> window, ReadOnlySpan<float> leadPresent, long windowStart, int decimation, int windowSamples,
        int validSamples, double limit)
    {
        _lastSpectrum = default;
        var lead = _shape.SelectLead(leadPresent);
        if (lead != _lead)
        {
            // Another lead: neither the P template nor the QRS history carry over.
            _atrial.Reset();
            _dominant.Reset();
            _lead = lead;
        }
        if (lead < 0) return;
        var signal = window.Slice(lead * windowSamples, Math.Min(validSamples, windowSamples));
        var first = First;
        var margin = (int)Math.Ceiling(0.2 * ModelRateHz);
        for (var i = Math.Max(first, _count - Capacity + 1); i < _count; i++)
        {
            var pos = At(i);
            if (pos >= limit) break;
            var m = (long)Math.Floor((pos - windowStart) / decimation);
            if (m < 0) continue;
            if (m + margin >= signal.Length) break;
            _shape.Keep(i, m, signal, signal.Length);
            var s = Slot(i);
            if (_measured[s]) continue;
            var rrPre = i > first ? (pos - At(i - 1)) / _rate : double.NaN;
            // QRS likeness to the patient's recent beats (0 = alike); before a history exists, taken as alike.
            _shape.Write(i, first, _shapeOut);
            _qrsUnlike[s] = _shapeOut[0];
            var rAmp = MaxAbs(signal, (int)m, 3);
            _rAmp[s] = rAmp;
            var sinusLike = i > first + 1 && IsRegular(i, first) && _qrsUnlike[s] < 0.2f;
            _qrs[s] = _dominant.Observe(signal, (int)m);
            var qtRr = i > first + 1 ? (At(i - 1) - At(i - 2)) / _rate : double.NaN;
            _m[s] = _atrial.Measure(signal, (int)m, rrPre, rAmp, sinusLike, qtRr);
            _measured[s] = true;
            Measured?.Invoke(pos, _m[s]);
        }

        // The window's atrial spectrum, with the beats it holds (those that look ectopic blanked, not cancelled).
        var nb = 0;
        for (var i = first; i < _count && nb < _windowBeats.Length; i++)
        {
            var pos = At(i);
            if (pos >= limit) break;
            var m = (long)Math.Floor((pos - windowStart) / decimation);
            if (m < 0) continue;
            if (m >= signal.Length) break;
            _windowBeats[nb] = (int)m;
            var pre = i > first ? pos - At(i - 1) : double.NaN;
            var post = i + 1 < _count && At(i + 1) < limit ? At(i + 1) - pos : double.NaN;
            double sum = 0;
            var c = 0;
            for (var k = i - 1; k > first && c < 8; k--, c++) sum += At(k) - At(k - 1);
            var premature = c >= 3 && double.IsFinite(pre) && pre < 0.85 * sum / c && double.IsFinite(post) && post > 1.1 * pre;
            _windowEctopic[nb] = premature || (_measured[Slot(i)] && _qrsUnlike[Slot(i)] >= 0.3f);
            nb++;
        }
        _lastSpectrum = _spectrum.Analyse(signal, _windowBeats.AsSpan(0, nb), _windowEctopic.AsSpan(0, nb));
    }

    private static float MaxAbs(ReadOnlySpan<float> x, int c, int h)
    {
        var best = 0f;
        for (var k = Math.Max(0, c - h); k <= Math.Min(x.Length - 1, c + h); k++) best = Math.Max(best, Math.Abs(x[k]));
        return best;
    }

    /// <summary>RRpre of beat i within 15 % below and 20 % above the median of the 8 intervals before it.</summary>
    private bool IsRegular(long i, long first)
    {
        var n = 0;
        for (var j = i - 1; j > first && n < 8; j--) _scratch[n++] = At(j) - At(j - 1);
        if (n < 3) return false;
        var med = Median(_scratch.AsSpan(0, n));
        var pre = At(i) - At(i - 1);
        return pre >= 0.85 * med && pre <= 1.2 * med;
    }

    private static double Median(Span<double> x)
    {
        x.Sort();
        var n = x.Length;
        return n == 0 ? double.NaN : n % 2 == 1 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
    }

    /// <summary>
    /// Writes the <see cref="RhythmFeatures"/> of the beats in [<paramref name="end"/> − context, <paramref name="end"/>)
    /// (pipeline positions) into <paramref name="dst"/>; <paramref name="networkProbabilities"/> are the window's rhythm
    /// posteriors in the manifest's class order (<paramref name="afClass"/>, <paramref name="noiseClass"/>: their indices,
    /// −1 when the model has none). Features without enough beats are 0 (and <c>beats</c> says how many there were).
    /// </summary>
    public void Features(Span<float> dst, double end, ReadOnlySpan<float> networkProbabilities, int afClass, int noiseClass,
        double contextSeconds = ContextSeconds)
    {
        if (dst.Length < RhythmFeatures.Count) throw new ArgumentException("too short", nameof(dst));
        dst[..RhythmFeatures.Count].Clear();
        dst[RhythmFeatures.NetAf] = afClass >= 0 && afClass < networkProbabilities.Length ? networkProbabilities[afClass] : 0f;
        dst[RhythmFeatures.NetNoise] = noiseClass >= 0 && noiseClass < networkProbabilities.Length ? networkProbabilities[noiseClass] : 0f;
        var first = First;
        var from = end - contextSeconds * _rate;
        // beats of the context: [a, b)
        var b = _count;
        while (b > first && At(b - 1) >= end) b--;
        var a = b;
        while (a > first && At(a - 1) >= from) a--;
        var n = (int)(b - a);
        dst[RhythmFeatures.Beats] = n;
        if (_lastSpectrum.Valid)
        {
            dst[RhythmFeatures.AtrialDf] = _lastSpectrum.DominantHz / 10f;
            dst[RhythmFeatures.AtrialOi] = _lastSpectrum.Organization;
            dst[RhythmFeatures.AtrialRms] = _lastSpectrum.RelativeRms;
        }

        // The plain RR rule: the last 32 intervals ending before the window's end (stream beats only).
        {
            var k0 = Math.Max(first, b - 33);
            int big = 0, pairs = 0;
            for (var k = k0 + 2; k < b; k++)
            {
                var d = Math.Abs((At(k) - At(k - 1)) - (At(k - 1) - At(k - 2))) / _rate;
                pairs++;
                if (d > IrrThresholdS) big++;
            }
            dst[RhythmFeatures.Irr32] = pairs > 0 ? (float)big / pairs : 0f;
        }
        if (n < 4) return;

        // RR intervals ending at each beat of the context (index j = beat a + j), and the ectopic-looking beats.
        var rr = _rr.AsSpan(0, n);
        for (var j = 0; j < n; j++)
        {
            var i = a + j;
            rr[j] = i > first ? (At(i) - At(i - 1)) / _rate : double.NaN;
        }
        var ect = _ectopic.AsSpan(0, n);
        var ectopic = 0;
        for (var j = 0; j < n; j++)
        {
            var i = a + j;
            var s = Slot(i);
            // Prematurity against the local rhythm: the mean of up to 8 intervals before it, with a longer one after.
            var c = 0;
            double sum = 0;
            for (var k = i - 1; k > first && c < 8; k--, c++) sum += (At(k) - At(k - 1)) / _rate;
            var pre = rr[j];
            var post = i + 1 < _count && At(i + 1) < end ? (At(i + 1) - At(i)) / _rate : double.NaN;
            var premature = c >= 3 && double.IsFinite(pre) && pre < 0.85 * (sum / c) && double.IsFinite(post) && post > 1.1 * pre;
            var unlike = _measured[s] && _qrsUnlike[s] >= 0.3f;
            ect[j] = premature || unlike;
            if (ect[j]) ectopic++;
        }
        dst[RhythmFeatures.Ectopic] = (float)ectopic / n;

        // Heart rate and irregularity.
        var valid = _scratch.AsSpan(0, 0);
        {
            var m = 0;
            for (var j = 0; j < n; j++) if (double.IsFinite(rr[j])) _scratch[m++] = rr[j];
            valid = _scratch.AsSpan(0, m);
        }
        if (valid.Length >= 3)
        {
            var med = Median(valid);
            dst[RhythmFeatures.Hr] = med > 0 ? (float)(60.0 / med / 100.0) : 0f;
        }
        int bigAll = 0, pairsAll = 0;
        for (var j = 1; j < n; j++)
        {
            if (!double.IsFinite(rr[j]) || !double.IsFinite(rr[j - 1])) continue;
            pairsAll++;
            if (Math.Abs(rr[j] - rr[j - 1]) > IrrThresholdS) bigAll++;
        }
        dst[RhythmFeatures.Irr] = pairsAll > 0 ? (float)bigAll / pairsAll : 0f;

        // Ectopy handled: spans between consecutive non-ectopic beats, each with the number of ectopic-looking beats inside
        // it; successive spans are compared only when they hold the same number. Bigeminy (N V N V …) gives regular N–N
        // spans over one ectopic beat each, sinus with PVCs regular direct spans, while in AF every kind of span stays
        // irregular.
        {
            var spans = _scratch.AsSpan(0, n);
            var kinds = _scratch2.AsSpan(0, n);
            var m = 0;
            long lastNormal = -1;
            var between = 0;
            for (var j = 0; j < n; j++)
            {
                var i = a + j;
                if (ect[j]) { between++; continue; }
                if (lastNormal >= 0) { spans[m] = (At(i) - At(lastNormal)) / _rate; kinds[m] = between; m++; }
                else if (i > first)
                {
                    // a predecessor before the context: only count it when it is the previous beat
                    spans[m] = (At(i) - At(i - 1)) / _rate;
                    kinds[m] = between == 0 ? 0 : -1;
                    m++;
                }
                lastNormal = i;
                between = 0;
            }
            int bigClean = 0, pairsClean = 0;
            double ssd = 0, sumSpan = 0;
            for (var k = 1; k < m; k++)
            {
                if (kinds[k] < 0 || kinds[k] != kinds[k - 1]) continue;
                var d = Math.Abs(spans[k] - spans[k - 1]) / (kinds[k] + 1);
                pairsClean++;
                if (d > IrrThresholdS) bigClean++;
                ssd += d * d;
                sumSpan += spans[k] / (kinds[k] + 1);
            }
            if (pairsClean >= 3)
            {
                dst[RhythmFeatures.IrrClean] = (float)bigClean / pairsClean;
                dst[RhythmFeatures.NrmssdClean] = (float)(Math.Sqrt(ssd / pairsClean) / (sumSpan / pairsClean));
            }
        }

        // Coefficient of sample entropy and the Poincaré shape, on every RR interval of the context.
        {
            var x = _scratch.AsSpan(0, 0);
            var m = 0;
            for (var j = 0; j < n; j++) if (double.IsFinite(rr[j])) _scratch[m++] = rr[j];
            x = _scratch.AsSpan(0, m);
            if (m >= 6)
            {
                dst[RhythmFeatures.Cosen] = (float)Cosen(x);
                dst[RhythmFeatures.SdRatio] = (float)SdRatio(x);
            }
        }

        // Atrial activity of the non-ectopic beats.
        int measurable = 0, considered = 0, withP = 0, corrN = 0, corrHigh = 0, prN = 0;
        double prSum = 0, prSq = 0;
        var corr = _scratch.AsSpan(0, n);
        var ext = _scratch2.AsSpan(0, n);
        var nExt = 0;
        for (var j = 0; j < n; j++)
        {
            var s = Slot(a + j);
            if (!_measured[s]) continue;
            ref readonly var m = ref _m[s];
            if (!m.Measurable) continue;
            measurable++;
            if (float.IsFinite(m.DiastolicExtremaPerS)) ext[nExt++] = m.DiastolicExtremaPerS;
            if (ect[j]) continue;
            considered++;
            if (m.PPresent)
            {
                withP++;
                prSum += m.PeakToRS;
                prSq += m.PeakToRS * (double)m.PeakToRS;
                prN++;
            }
            if (float.IsFinite(m.TemplateCorrelation))
            {
                corr[corrN++] = m.TemplateCorrelation;
                if (m.TemplateCorrelation >= 0.7f) corrHigh++;
            }
        }
        dst[RhythmFeatures.Measurable] = (float)measurable / n;
        if (considered > 0) dst[RhythmFeatures.PPresent] = (float)withP / considered;
        if (considered > 0) dst[RhythmFeatures.PTemplate] = (float)corrN / considered;
        if (corrN > 0)
        {
            dst[RhythmFeatures.PCorr] = (float)Median(corr[..corrN]);
            dst[RhythmFeatures.PCorrHigh] = (float)corrHigh / corrN;
        }
        if (prN >= 2)
        {
            var mean = prSum / prN;
            dst[RhythmFeatures.PrSd] = (float)(Math.Sqrt(Math.Max(0, prSq / prN - mean * mean)) * 10);
        }
        if (nExt > 0) dst[RhythmFeatures.DiaExtrema] = (float)(Median(ext[..nExt]) / 10);
        // Signal quality: the P regions' high-frequency residual relative to the R amplitude.
        var noiseN = 0;
        for (var j = 0; j < n; j++)
        {
            var s = Slot(a + j);
            if (_measured[s] && _m[s].Measurable && _rAmp[s] > 1e-3f) ext[noiseN++] = _m[s].NoiseMv / _rAmp[s];
        }
        if (noiseN > 0) dst[RhythmFeatures.Noise] = (float)Median(ext[..noiseN]);
        // Diastolic RMS: median over measurable beats.
        var rmsN = 0;
        for (var j = 0; j < n; j++)
        {
            var s = Slot(a + j);
            if (_measured[s] && _m[s].Measurable && float.IsFinite(_m[s].DiastolicRmsRel)) ext[rmsN++] = _m[s].DiastolicRmsRel;
        }
        if (rmsN > 0) dst[RhythmFeatures.DiaRms] = (float)Median(ext[..rmsN]);
    }

    /// <summary>
    /// Coefficient of sample entropy (Lake &amp; Moorman, Am J Physiol 2011): SampEn(m = 1, r = 30 ms) + ln(2r) − ln(mean RR),
    /// intervals in seconds. Templates that never match (very irregular, short series) take SampEn = ln of the
    /// number of length-1 matches plus one, its largest finite value.
    /// </summary>
    private static double Cosen(ReadOnlySpan<double> x)
    {
        const double r = 0.03;
        var n = x.Length;
        long b = 0, a = 0;
        for (var i = 0; i < n - 1; i++)
            for (var j = i + 1; j < n - 1; j++)
            {
                if (Math.Abs(x[i] - x[j]) > r) continue;
                b++;
                if (Math.Abs(x[i + 1] - x[j + 1]) <= r) a++;
            }
        double mean = 0;
        foreach (var v in x) mean += v;
        mean /= n;
        var sampEn = b == 0 ? Math.Log(n) : a == 0 ? Math.Log(b + 1.0) : -Math.Log((double)a / b);
        return sampEn + Math.Log(2 * r) - Math.Log(mean);
    }

    /// <summary>Poincaré SD1 / SD2 (capped at 3): SD1² = var(ΔRR)/2, SD2² = 2 var(RR) − var(ΔRR)/2.</summary>
    private static double SdRatio(ReadOnlySpan<double> x)
    {
        var n = x.Length;
        double m = 0;
        foreach (var v in x) m += v;
        m /= n;
        double vr = 0;
        foreach (var v in x) vr += (v - m) * (v - m);
        vr /= n;
        double md = 0;
        for (var k = 1; k < n; k++) md += x[k] - x[k - 1];
        md /= n - 1;
        double vd = 0;
        for (var k = 1; k < n; k++) { var d = x[k] - x[k - 1] - md; vd += d * d; }
        vd /= n - 1;
        var sd1 = Math.Sqrt(vd / 2);
        var sd2sq = 2 * vr - vd / 2;
        if (sd2sq <= 1e-12) return sd1 > 1e-6 ? 3 : 0;
        return Math.Min(3, sd1 / Math.Sqrt(sd2sq));
    }

    /// <summary>The rhythm context later beat decisions read: the window's RR irregularity and P(AF).</summary>
    public void SetContext(float irregularity, float afProbability)
    {
        _irrContext = irregularity;
        _afContext = afProbability;
    }

    /// <summary>
    /// Writes the <see cref="BeatFeatures"/> of the beat at <paramref name="position"/> (pipeline positions, as added)
    /// into <paramref name="dst"/>; false when the beat is not remembered or not measured yet (then <paramref name="dst"/>
    /// holds neutral values: an average beat in the local rhythm).
    /// </summary>
    public bool BeatFeaturesOf(double position, Span<float> dst)
    {
        if (dst.Length < BeatFeatures.Count) throw new ArgumentException("too short", nameof(dst));
        var f = dst[..BeatFeatures.Count];
        f.Clear();
        f[BeatFeatures.RrPre] = f[BeatFeatures.RrPost] = f[BeatFeatures.RrRatio] = 1f;
        f[BeatFeatures.QrsCorr] = f[BeatFeatures.QrsWidthRatio] = 1f;
        f[BeatFeatures.IrrContext] = _irrContext;
        f[BeatFeatures.AfContext] = _afContext;
        var first = First;
        var oldest = Math.Max(first, _count - Capacity + 1);
        var i = BeatAt(position);
        if (i < 0) return false;
        var s = Slot(i);

        // the local normal RR: intervals between two beats of the dominant cluster, the last 16 before this beat
        var n = 0;
        for (var j = i - 1; j > first && n < _recent.Length; j--)
        {
            if (!_measured[Slot(j)] || !_measured[Slot(j - 1)] || !_qrs[Slot(j)].InDominant || !_qrs[Slot(j - 1)].InDominant) continue;
            _recent[n++] = (float)((At(j) - At(j - 1)) / _rate);
        }
        if (n < 3)
        {
            n = 0;
            for (var j = i - 1; j > first && n < _recent.Length; j--) _recent[n++] = (float)((At(j) - At(j - 1)) / _rate);
        }
        var local = n > 0 ? MedianF(_recent.AsSpan(0, n)) : 0.8f;
        var pre = i > first ? (At(i) - At(i - 1)) / _rate : local;
        var post = i + 1 < _count ? (At(i + 1) - At(i)) / _rate : pre;
        f[BeatFeatures.RrPre] = (float)(pre / local);
        f[BeatFeatures.RrPost] = (float)(post / local);
        f[BeatFeatures.RrRatio] = (float)(post / Math.Max(pre, 1e-3));
        f[BeatFeatures.RrLocal] = local - 0.8f;
        if (!_measured[s]) return false;

        ref readonly var q = ref _qrs[s];
        f[BeatFeatures.QrsWidth] = q.WidthS * 10;
        if (q.Valid)
        {
            f[BeatFeatures.QrsCorr] = q.Correlation;
            f[BeatFeatures.QrsWidthRatio] = q.WidthRatio;
            f[BeatFeatures.QrsAmp] = q.LogAmplitudeRatio;
        }
        f[BeatFeatures.QrsDominant] = q.InDominant ? 1f : 0f;
        ref readonly var m = ref _m[s];
        f[BeatFeatures.PPresent] = m.PPresent ? 1f : 0f;
        if (float.IsFinite(m.TemplateCorrelation))
        {
            f[BeatFeatures.PCorr] = m.TemplateCorrelation;
            f[BeatFeatures.PTemplate] = 1f;
        }
        if (m.PPresent)
        {
            // the recent sinus P waves: P present before a beat of the dominant cluster
            var k = 0;
            for (var j = i - 1; j >= oldest && k < _recent.Length; j--)
            {
                var sj = Slot(j);
                if (!_measured[sj] || !_m[sj].PPresent || !_qrs[sj].InDominant) continue;
                _recent[k] = Math.Abs(_m[sj].AmplitudeMv);
                _recent2[k] = _m[sj].PeakToRS;
                k++;
            }
            if (k >= 3)
            {
                var amp = MedianF(_recent.AsSpan(0, k));
                var pr = MedianF(_recent2.AsSpan(0, k));
                f[BeatFeatures.PAmpRatio] = amp > 1e-4f ? Math.Abs(m.AmplitudeMv) / amp : 0f;
                f[BeatFeatures.PrDev] = Math.Abs(m.PeakToRS - pr) * 10;
            }
        }
        return true;
    }

    private static float MedianF(Span<float> x)
    {
        x.Sort();
        var n = x.Length;
        return n % 2 == 1 ? x[n / 2] : 0.5f * (x[n / 2 - 1] + x[n / 2]);
    }

    /// <summary>Seconds from the current stream's start (its first beat) to <paramref name="end"/> (pipeline positions).</summary>
    public double StreamSeconds(double end)
    {
        var first = First;
        if (first >= _count) return 0;
        var start = double.IsFinite(_from) ? Math.Min(_from, At(first)) : At(first);
        return Math.Max(0, (end - start) / _rate);
    }

    /// <summary>
    /// The QRS of the beat at <paramref name="position"/> (pipeline positions, as added) against the patient's dominant beat;
    /// false (and <paramref name="qrs"/> not valid) when the beat is not remembered or not measured yet.
    /// </summary>
    public bool TryGetQrs(double position, out QrsMeasure qrs)
    {
        qrs = default;
        var i = BeatAt(position);
        if (i < 0) return false;
        var s = Slot(i);
        if (!_measured[s]) return false;
        qrs = _qrs[s];
        return true;
    }

    /// <summary>The position of the beat after the one at <paramref name="position"/>; NaN when none is known yet (or it is forgotten).</summary>
    public double NextBeatAfter(double position)
    {
        var i = BeatAt(position);
        return i < 0 || i + 1 >= _count ? double.NaN : At(i + 1);
    }

    /// <summary>
    /// The number of the remembered beat at <paramref name="position"/> (within half a sample), searched from the newest
    /// (the beat asked about is recent); −1 when it is not remembered.
    /// </summary>
    private long BeatAt(double position)
    {
        var oldest = Math.Max(First, _count - Capacity + 1);
        var i = _count - 1;
        while (i >= oldest && At(i) > position + 0.5) i--;
        return i < oldest || Math.Abs(At(i) - position) > 0.5 ? -1 : i;
    }

    /// <summary>The measures of beat number <paramref name="beat"/> (for tests and the P-wave validation); false if not measured or forgotten.</summary>
    public bool TryGetMeasure(long beat, out AtrialMeasure measure, out double position)
    {
        measure = default;
        position = double.NaN;
        if (beat < 0 || beat >= _count || beat < _count - Capacity) return false;
        var s = Slot(beat);
        position = _t[s];
        if (!_measured[s]) return false;
        measure = _m[s];
        return true;
    }
}
