namespace EcgEdge.Events.Alerts;

/// <summary>
/// Published shockable-rhythm (VF) features of one segment of the conditioned ECG, each as its authors define it
/// (<see cref="ShockableRhythm"/>). NaN where a feature is undefined (flat or too short a segment).
/// </summary>
/// <param name="Leakage">VF-filter leakage (Kuo &amp; Dillman 1978): small for a quasi-sinusoid. VF below 0.406.</param>
/// <param name="TciMs">Mean threshold-crossing interval in ms (Thakor, Zhu &amp; Pan 1990). VF below 400 ms.</param>
/// <param name="SpectralM">Barro et al. (1989) normalised first spectral moment (in units of the peak frequency). VF ≤ 1.55.</param>
/// <param name="SpectralA1">Barro: share of the amplitude spectrum between 0.5 Hz and half the peak frequency. VF &lt; 0.19.</param>
/// <param name="SpectralA2">Barro: share around the peak frequency (0.7–1.4 ×). VF ≥ 0.45.</param>
/// <param name="SpectralA3">Barro: share in ±0.3-Hz bands around the 2nd–8th harmonics. VF ≤ 0.09.</param>
/// <param name="PeakHz">Barro's peak frequency Ω: the largest spectral amplitude between 0.5 and 9 Hz.</param>
/// <param name="Complexity">Normalised Lempel–Ziv complexity of the segment's 0-1 string (Zhang et al. 1999). Grows from sinus to VT
/// to VF; no published threshold transfers to 4-s segments at 250 Hz (see <see cref="EventOptions.VfComplexityMin"/>).</param>
/// <param name="PhaseSpace">Time-delay method (Amann et al. 2007): share of the 40 × 40 boxes of the (x(t), x(t − 0.5 s)) plot
/// visited. VF above 0.15.</param>
/// <param name="MinBlockPeakToPeakUv">Smallest peak-to-peak amplitude among the segment's 1-s blocks (µV): VF never stops oscillating.</param>
/// <param name="MeanAbsUv">Mean absolute value of the segment after removing its mean (µV).</param>
public readonly record struct ShockableFeatures(double Leakage, double TciMs, double SpectralM, double SpectralA1, double SpectralA2,
    double SpectralA3, double PeakHz, double Complexity, double PhaseSpace, double MinBlockPeakToPeakUv, double MeanAbsUv);

/// <summary>The features that called a segment shockable (each on its published criterion).</summary>
[Flags]
public enum ShockableVotes
{
    None = 0,
    Leakage = 1,
    Tci = 2,
    Spectral = 4,
    Complexity = 8,
    PhaseSpace = 16,
}

/// <summary>
/// The thresholds each feature votes with and how the votes make a decision (defaults and sources:
/// <see cref="EventOptions"/>, docs/events.md).
/// </summary>
/// <param name="LeakageBelow">VF-filter leakage below this votes (Kuo &amp; Dillman: 0.406).</param>
/// <param name="TciBelowMs">TCI below this votes (Thakor et al.: 400 ms).</param>
/// <param name="SpectralMMax">Barro et al.: M ≤ 1.55 …</param>
/// <param name="SpectralA1Below">… A1 &lt; 0.19 …</param>
/// <param name="SpectralA2Min">… A2 ≥ 0.45 …</param>
/// <param name="SpectralA3Max">… A3 ≤ 0.09 in Barro's VF branch (1 = not applied: the harmonics it rejects are those of
/// ventricular flutter, which is shockable too).</param>
/// <param name="ComplexityMin">Normalised complexity at or above this votes.</param>
/// <param name="PhaseSpaceAbove">Share of phase-space boxes above this votes (Amann et al. 2007: 0.15).</param>
/// <param name="MinVotes">A segment is shockable with at least this many votes, one of them a narrow-band one (VF filter or
/// spectrum) …</param>
/// <param name="MinPeakToPeakUv">… every 1-s block of the segment at least this large peak to peak (coarse VF, AHA 1997:
/// ≥ 200 µV) …</param>
/// <param name="MinPeakHz">… and its dominant frequency Ω at least this (a slower oscillation is not VF).</param>
/// <param name="SingleSegmentVotes">A shockable segment with at least this many votes, both narrow-band ones among them,
/// is conclusive on its own (0: never).</param>
public readonly record struct ShockableCriteria(double LeakageBelow, double TciBelowMs, double SpectralMMax, double SpectralA1Below,
    double SpectralA2Min, double SpectralA3Max, double ComplexityMin, double PhaseSpaceAbove, int MinVotes, double MinPeakToPeakUv,
    double MinPeakHz, int SingleSegmentVotes)
{
    /// <summary>The criteria configured in <paramref name="o"/>.</summary>
    public static ShockableCriteria From(EventOptions o) => new(o.VfLeakageThreshold, o.VfTciMs, o.VfSpectralMMax, o.VfSpectralA1Max,
        o.VfSpectralA2Min, o.VfSpectralA3Max, o.VfComplexityMin, o.VfPhaseSpaceMin, o.VfMinVotes, o.VfMinPeakToPeakUv, o.VfMinPeakHz,
        o.VfSingleSegmentVotes);

    /// <summary>The defaults of <see cref="EventOptions"/>.</summary>
    public static ShockableCriteria Default { get; } = From(new EventOptions());
}

/// <summary>One segment's verdict (<see cref="ShockableRhythm.Decide"/>).</summary>
/// <param name="Votes">The features that called it shockable.</param>
/// <param name="Shockable">Enough votes, a narrow-band one among them, large and fast enough.</param>
/// <param name="Conclusive">Shockable with so much agreement that one segment suffices.</param>
public readonly record struct ShockableDecision(ShockableVotes Votes, bool Shockable, bool Conclusive)
{
    public int Count => ShockableRhythm.Count(Votes);
}

/// <summary>
/// Shockable-rhythm analysis on the signal, not on beats: computes, for one segment of the conditioned ECG (a few seconds
/// of one lead, µV, at <c>rateHz</c>), the features AED shock-advice algorithms are built from, each from its published
/// definition as Amann, Tratnig &amp; Unterkofler (BioMed Eng OnLine 2005, 4:60) describe and compare them on MIT-BIH,
/// CU and AHA data, after their preprocessing (mean removal, 5-point moving average):
/// <list type="bullet">
/// <item>VF-filter leakage, Kuo &amp; Dillman (Computers in Cardiology 1978) — <see cref="VfFilter"/>;</item>
/// <item>threshold-crossing intervals (TCI), Thakor, Zhu &amp; Pan (IEEE TBME 1990; 37:837);</item>
/// <item>the spectral algorithm of Barro, Ruiz, Cabello &amp; Mira (J Biomed Eng 1989; 11:320);</item>
/// <item>the complexity measure of Zhang, Zhu, Thakor &amp; Wang (IEEE TBME 1999; 46:548), after Lempel &amp; Ziv (1976);</item>
/// <item>the time-delay (phase-space) method of Amann, Tratnig &amp; Unterkofler (IEEE TBME 2007; 54:174).</item>
/// </list>
/// Each feature votes on its published threshold (<see cref="Vote"/>) and <see cref="Decide"/> combines the votes (a
/// documented voting rule, docs/events.md); which lead is judged, how many segments make an alarm and what noise does to
/// it are the event engine's. Segments of 4 s at 250 Hz are what the engine analyses; the definitions hold for 3–8 s (the
/// time-delay method's 0.15 was published for longer windows: docs/events.md gives what it separates on 4 s). The conditioning (0.5–40 Hz band-pass,
/// mains notch) stands in for the drift high-pass (1 Hz) and low-pass (30 Hz) of Amann et al.'s preprocessing; its mean
/// removal and 5-point moving average are done here. Every buffer is allocated at construction: <see cref="Analyse"/>
/// allocates nothing.
/// Not thread-safe (one instance per analysing thread).
/// </summary>
public sealed class ShockableRhythm
{
    /// <summary>Time delay of the phase-space plot (Amann et al. 2007: τ = 0.5 s).</summary>
    public const double PhaseSpaceDelayS = 0.5;

    /// <summary>Boxes per axis of the phase-space grid (Amann et al. 2007: 40 × 40).</summary>
    public const int PhaseSpaceGrid = 40;

    private readonly double _fs;
    private readonly int _n;
    private readonly int _block;          // samples per 1-s block (TCI, amplitude)
    private readonly int _blocks;
    private readonly float[] _x;           // the segment, smoothed, less its mean
    private readonly byte[] _bits;         // TCI pulses, then the complexity string
    private readonly double[] _hamming;
    private readonly int _nfft;
    private readonly double[] _re, _im, _cos, _sin, _amp;
    private readonly int[] _bitReverse;
    private readonly bool[] _grid = new bool[PhaseSpaceGrid * PhaseSpaceGrid];
    private readonly int _lag;

    /// <param name="rateHz">Sampling rate of the segments (the strip rate, 250 Hz).</param>
    /// <param name="segmentSamples">Samples per segment (at least 3 s: TCI needs three 1-s blocks).</param>
    public ShockableRhythm(double rateHz, int segmentSamples)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rateHz, 50.0);
        _fs = rateHz;
        _n = segmentSamples;
        _block = (int)Math.Round(rateHz);
        _blocks = segmentSamples / _block;
        ArgumentOutOfRangeException.ThrowIfLessThan(_blocks, 3, nameof(segmentSamples));
        _lag = (int)Math.Round(PhaseSpaceDelayS * rateHz);
        _x = new float[_n];
        _bits = new byte[_n];
        _hamming = new double[_n];
        for (var i = 0; i < _n; i++) _hamming[i] = 0.54 - 0.46 * Math.Cos(2 * Math.PI * i / (_n - 1));
        // Zero-padded to at least 8 s of bins (0.125 Hz at 250 Hz and 2048 points): the ±0.3-Hz harmonic bands of
        // Barro's A3 then hold several bins.
        _nfft = 1;
        while (_nfft < Math.Max(_n, 8 * rateHz)) _nfft <<= 1;
        _re = new double[_nfft];
        _im = new double[_nfft];
        _cos = new double[_nfft / 2];
        _sin = new double[_nfft / 2];
        for (var k = 0; k < _nfft / 2; k++)
        {
            _cos[k] = Math.Cos(-2 * Math.PI * k / _nfft);
            _sin[k] = Math.Sin(-2 * Math.PI * k / _nfft);
        }
        _bitReverse = new int[_nfft];
        var bits = System.Numerics.BitOperations.Log2((uint)_nfft);
        for (var i = 0; i < _nfft; i++)
        {
            int r = 0, v = i;
            for (var b = 0; b < bits; b++) { r = (r << 1) | (v & 1); v >>= 1; }
            _bitReverse[i] = r;
        }
        _amp = new double[_nfft / 2 + 1];
    }

    /// <summary>Samples per segment.</summary>
    public int SegmentSamples => _n;

    public double RateHz => _fs;

    /// <summary>All features of <paramref name="segment"/> (µV, <see cref="SegmentSamples"/> long). Allocates nothing.</summary>
    public ShockableFeatures Analyse(ReadOnlySpan<float> segment)
    {
        if (segment.Length != _n) throw new ArgumentException($"a segment of {_n} samples is expected, got {segment.Length}", nameof(segment));
        // Amann et al.'s preprocessing: mean removed, then a 5-point moving average (centred; shorter at the ends), which at
        // 250 Hz is -3 dB at 22 Hz and nulls 50 Hz; the conditioning already did their 1-Hz high-pass / 30-Hz low-pass.
        double mean = 0;
        for (var i = 0; i < _n; i++) mean += segment[i];
        mean /= _n;
        double mav = 0;
        float min = float.MaxValue, max = float.MinValue;
        for (var i = 0; i < _n; i++)
        {
            int a = Math.Max(0, i - 2), b = Math.Min(_n - 1, i + 2);
            double sum = 0;
            for (var j = a; j <= b; j++) sum += segment[j];
            var v = (float)(sum / (b - a + 1) - mean);
            _x[i] = v;
            mav += Math.Abs(v);
            if (v < min) min = v;
            if (v > max) max = v;
        }
        mav /= _n;
        var minBlockPp = double.MaxValue;
        for (var b = 0; b < _blocks; b++)
        {
            float lo = float.MaxValue, hi = float.MinValue;
            for (var i = b * _block; i < (b + 1) * _block; i++)
            {
                if (_x[i] < lo) lo = _x[i];
                if (_x[i] > hi) hi = _x[i];
            }
            minBlockPp = Math.Min(minBlockPp, hi - lo);
        }
        if (!(max > min))
            return new ShockableFeatures(double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN,
                double.NaN, 0, 0);
        var leak = VfFilter.Leakage(_x);
        var tci = Tci();
        var (m, a1, a2, a3, peak) = Spectral();
        var cm = Complexity(max, min);
        var ps = PhaseSpace(min, max);
        return new ShockableFeatures(leak, tci, m, a1, a2, a3, peak, cm, ps, minBlockPp, mav);
    }

    /// <summary>Which features call <paramref name="f"/> shockable on the thresholds <paramref name="c"/>.</summary>
    public static ShockableVotes Vote(in ShockableFeatures f, in ShockableCriteria c)
    {
        var v = ShockableVotes.None;
        if (f.Leakage < c.LeakageBelow) v |= ShockableVotes.Leakage;
        if (f.TciMs < c.TciBelowMs) v |= ShockableVotes.Tci;
        if (f.SpectralM <= c.SpectralMMax && f.SpectralA1 < c.SpectralA1Below && f.SpectralA2 >= c.SpectralA2Min && f.SpectralA3 <= c.SpectralA3Max)
            v |= ShockableVotes.Spectral;
        if (f.Complexity >= c.ComplexityMin) v |= ShockableVotes.Complexity;
        if (f.PhaseSpace > c.PhaseSpaceAbove) v |= ShockableVotes.PhaseSpace;
        return v;
    }

    /// <summary>The votes narrow-band features cast: a quasi-sinusoid (VF, flutter) rather than broad-band artefact.</summary>
    public const ShockableVotes NarrowBand = ShockableVotes.Leakage | ShockableVotes.Spectral;

    /// <summary>
    /// The combined decision on one segment: it is shockable when at least <see cref="ShockableCriteria.MinVotes"/> of the
    /// five features vote, at least one of them narrow-band (VF filter or spectrum), every 1-s block is at least
    /// <see cref="ShockableCriteria.MinPeakToPeakUv"/> peak to peak and the dominant frequency is at least
    /// <see cref="ShockableCriteria.MinPeakHz"/>. The three other features (TCI, complexity, phase space) measure rate and
    /// disorder and also vote for broad-band artefact (muscle, electrode motion); the narrow-band vote is what separates VF
    /// from it. Conclusive: shockable with at least <see cref="ShockableCriteria.SingleSegmentVotes"/> votes including both
    /// narrow-band ones.
    /// </summary>
    public static ShockableDecision Decide(in ShockableFeatures f, in ShockableCriteria c)
    {
        var votes = Vote(f, c);
        var n = Count(votes);
        var shockable = n >= c.MinVotes && (votes & NarrowBand) != 0
            && f.MinBlockPeakToPeakUv >= c.MinPeakToPeakUv && f.PeakHz >= c.MinPeakHz;
        var conclusive = shockable && c.SingleSegmentVotes > 0 && n >= c.SingleSegmentVotes && (votes & NarrowBand) == NarrowBand;
        return new ShockableDecision(votes, shockable, conclusive);
    }

    /// <summary>Number of features that voted.</summary>
    public static int Count(ShockableVotes v) => System.Numerics.BitOperations.PopCount((uint)v);

    /// <summary>
    /// Threshold-crossing intervals (Thakor, Zhu &amp; Pan 1990, as described by Amann et al. 2005): in every 1-s block
    /// a pulse train marks where the signal exceeds 20 % of the block's maximum. For each 3-s window the middle block's N
    /// pulses give TCI = 1000 / ((N − 1) + t2/(t1 + t2) + t3/(t3 + t4)) ms, where t1 is the time from the end of the
    /// last pulse in the previous block to the middle block's start, t2 from that start to the first pulse, t3 from the
    /// end of the last pulse to the block's end and t4 from there to the next pulse in the following block (a missing
    /// pulse counts as 1 s). The segment's TCI is the mean over its 3-s windows (two in a 4-s segment).
    /// </summary>
    private double Tci()
    {
        // pulse train, threshold per 1-s block
        for (var b = 0; b < _blocks; b++)
        {
            float max = float.MinValue;
            for (var i = b * _block; i < (b + 1) * _block; i++) max = Math.Max(max, _x[i]);
            var th = 0.2f * max;
            for (var i = b * _block; i < (b + 1) * _block; i++) _bits[i] = (byte)(max > 0 && _x[i] > th ? 1 : 0);
        }
        double sum = 0;
        var count = 0;
        for (var mid = 1; mid + 1 < _blocks; mid++)
        {
            int start = mid * _block, end = start + _block;
            var n = _bits[start];                    // a pulse running into the block counts
            int first = -1, last = -1;
            for (var i = start; i < end; i++)
            {
                if (_bits[i] == 0) continue;
                if (first < 0) first = i;
                last = i;
                if (i > start && _bits[i - 1] == 0) n++;
            }
            if (n == 0) continue;                    // no pulse: block maximum ≤ 0
            var t2 = _bits[start] == 1 ? 0 : (first - start) / _fs;
            var t3 = _bits[end - 1] == 1 ? 0 : (end - 1 - last) / _fs;
            var t1 = 1.0;
            for (var i = start - 1; i >= start - _block; i--)
                if (_bits[i] == 1) { t1 = (start - 1 - i) / _fs; break; }
            var t4 = 1.0;
            for (var i = end; i < end + _block; i++)
                if (_bits[i] == 1) { t4 = (i - end) / _fs; break; }
            var den = n - 1 + (t1 + t2 > 0 ? t2 / (t1 + t2) : 0) + (t3 + t4 > 0 ? t3 / (t3 + t4) : 0);
            sum += den > 0 ? 1000 / den : double.PositiveInfinity;   // one pulse filling the block: no crossing at all
            count++;
        }
        return count == 0 ? double.NaN : sum / count;
    }

    /// <summary>
    /// Spectral algorithm of Barro et al. (1989), as described by Amann et al. (2005): the segment times a Hamming window,
    /// FFT, amplitudes approximated as |Re| + |Im|; the peak frequency Ω is the largest amplitude between 0.5 and 9 Hz;
    /// amplitudes below 5 % of it are set to zero. Up to jmax = min(20 Ω, 100 Hz): M = (1/Ω) Σ aⱼfⱼ / Σ aⱼ (j ≥ 1); with
    /// the amplitude sum between 0.5 Hz and jmax as denominator, A1 = share in [0.5 Hz, Ω/2], A2 = share in [0.7 Ω, 1.4 Ω],
    /// A3 = share in the ±0.3-Hz bands around the 2nd to 8th harmonics of Ω.
    /// </summary>
    private (double M, double A1, double A2, double A3, double Peak) Spectral()
    {
        Array.Clear(_re);
        Array.Clear(_im);
        for (var i = 0; i < _n; i++) _re[i] = _x[i] * _hamming[i];
        Fft();
        var half = _nfft / 2;
        var df = _fs / _nfft;
        for (var j = 0; j <= half; j++) _amp[j] = Math.Abs(_re[j]) + Math.Abs(_im[j]);
        int lo = (int)Math.Ceiling(0.5 / df), hi = Math.Min(half, (int)Math.Floor(9 / df));
        var peak = lo;
        for (var j = lo; j <= hi; j++) if (_amp[j] > _amp[peak]) peak = j;
        var apeak = _amp[peak];
        if (!(apeak > 0)) return (double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        var omega = peak * df;
        for (var j = 0; j <= half; j++) if (_amp[j] < 0.05 * apeak) _amp[j] = 0;
        var jmax = Math.Min(half, (int)Math.Floor(Math.Min(20 * omega, 100) / df));
        double sumA = 0, sumAf = 0, den = 0, a1 = 0, a2 = 0, a3 = 0;
        for (var j = 1; j <= jmax; j++)
        {
            var f = j * df;
            var a = _amp[j];
            sumA += a;
            sumAf += a * f;
            if (f < 0.5) continue;
            den += a;
            if (f <= omega / 2) a1 += a;
            if (f >= 0.7 * omega && f <= 1.4 * omega) a2 += a;
            var h = Math.Round(f / omega);
            if (h >= 2 && h <= 8 && Math.Abs(f - h * omega) <= 0.3) a3 += a;
        }
        if (!(sumA > 0) || !(den > 0)) return (double.NaN, double.NaN, double.NaN, double.NaN, omega);
        return (sumAf / sumA / omega, a1 / den, a2 / den, a3 / den, omega);
    }

    /// <summary>In-place iterative radix-2 FFT of (<see cref="_re"/>, <see cref="_im"/>).</summary>
    private void Fft()
    {
        for (var i = 0; i < _nfft; i++)
        {
            var r = _bitReverse[i];
            if (r <= i) continue;
            (_re[i], _re[r]) = (_re[r], _re[i]);
            (_im[i], _im[r]) = (_im[r], _im[i]);
        }
        for (var size = 2; size <= _nfft; size <<= 1)
        {
            var halfSize = size / 2;
            var step = _nfft / size;
            for (var start = 0; start < _nfft; start += size)
                for (var k = 0; k < halfSize; k++)
                {
                    double wr = _cos[k * step], wi = _sin[k * step];
                    int a = start + k, b = a + halfSize;
                    var tr = _re[b] * wr - _im[b] * wi;
                    var ti = _re[b] * wi + _im[b] * wr;
                    _re[b] = _re[a] - tr;
                    _im[b] = _im[a] - ti;
                    _re[a] += tr;
                    _im[a] += ti;
                }
        }
    }

    /// <summary>
    /// Complexity measure of Zhang et al. (1999): the mean-removed segment becomes a 0-1 string against a threshold Td —
    /// with Vp, Vn its largest positive and negative values and Pc, Nc the counts of samples in (0, 0.1 Vp) and
    /// (0.1 Vn, 0): Td = 0 if Pc + Nc &lt; 0.4 n, else 0.2 Vp if Pc &lt; Nc, else 0.2 Vn; a sample is 1 when ≥ Td. Its
    /// Lempel–Ziv (1976) complexity c(n) — the number of new patterns met scanning the string, counted with the
    /// Kaspar–Schuster (1987) procedure — normalised by b(n) = n / log₂ n.
    /// </summary>
    private double Complexity(float vp, float vn)
    {
        int pc = 0, nc = 0;
        for (var i = 0; i < _n; i++)
        {
            var v = _x[i];
            if (v > 0 && v < 0.1f * vp) pc++;
            else if (v < 0 && v > 0.1f * vn) nc++;
        }
        var td = pc + nc < 0.4 * _n ? 0f : pc < nc ? 0.2f * vp : 0.2f * vn;
        for (var i = 0; i < _n; i++) _bits[i] = (byte)(_x[i] >= td ? 1 : 0);
        return LempelZiv(_bits.AsSpan(0, _n)) * Math.Log2(_n) / _n;
    }

    /// <summary>
    /// Lempel–Ziv (1976) complexity of a 0-1 string: the number of distinct words in its exhaustive parsing, each word the
    /// shortest that cannot be copied from the string before it (Kaspar &amp; Schuster, Phys Rev A 1987; 36:842).
    /// </summary>
    public static int LempelZiv(ReadOnlySpan<byte> s)
    {
        var n = s.Length;
        if (n == 0) return 0;
        if (n == 1) return 1;
        int c = 1, l = 1, i = 0, k = 1, kmax = 1;
        while (true)
        {
            if (s[i + k - 1] == s[l + k - 1])
            {
                k++;
                if (l + k > n) { c++; break; }
            }
            else
            {
                if (k > kmax) kmax = k;
                i++;
                if (i == l)
                {
                    c++;
                    l += kmax;
                    if (l + 1 > n) break;
                    i = 0;
                    k = 1;
                    kmax = 1;
                }
                else k = 1;
            }
        }
        return c;
    }

    /// <summary>
    /// Time-delay method of Amann, Tratnig &amp; Unterkofler (2007): the segment scaled to [0, 1] is plotted against itself
    /// delayed by τ = 0.5 s on a 40 × 40 grid; the share of boxes visited is small for organised rhythms, whose trajectory
    /// stays near the baseline corner with brief QRS loops, and large for VF, whose trajectory fills a wide ring.
    /// </summary>
    private double PhaseSpace(float min, float max)
    {
        if (_lag >= _n) return double.NaN;
        Array.Clear(_grid);
        var scale = PhaseSpaceGrid / (double)(max - min);
        var visited = 0;
        for (var i = _lag; i < _n; i++)
        {
            var a = Math.Min(PhaseSpaceGrid - 1, (int)((_x[i] - min) * scale));
            var b = Math.Min(PhaseSpaceGrid - 1, (int)((_x[i - _lag] - min) * scale));
            ref var box = ref _grid[a * PhaseSpaceGrid + b];
            if (box) continue;
            box = true;
            visited++;
        }
        return visited / (double)(PhaseSpaceGrid * PhaseSpaceGrid);
    }
}
