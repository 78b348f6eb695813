using EcgEdge.Core.Dsp;
using EcgEdge.Core.Signals;

namespace EcgEdge.Detection;

/// <summary>
/// Streaming multi-lead QRS detector (Pan–Tompkins family, multi-lead, with automatic lead weighting).
/// <para>Per lead: QRS band-pass (Butterworth 5–15 Hz, two sections), two-sample derivative, its magnitude divided by
/// the lead's running RMS slope (an AGC with an 8 s time constant, so each lead counts by how much its QRS stands out of
/// its own noise). Leads are averaged as amplitudes with signal-quality weights (good 1, noisy 0.3, unusable 0), squared,
/// integrated over 120 ms, and the integrated feature's peaks (local maxima within ±180 ms) are classified with adaptive
/// signal/noise levels, a 200 ms refractory period, a T-wave slope test within 360 ms, and search-back at 1.66 average RR
/// with 0.3 of the threshold.</para>
/// <para>The R peak is placed at the largest deflection of the strongest lead within ±60 ms of the energy peak, then
/// shifted back by the conditioning filters' group delay, so <see cref="DetectedBeat.SampleIndex"/> refers to the raw
/// signal's time base. Latency: a regular beat is reported 180 ms + about half the integration window after its
/// peak (≈ 0.3 s); a search-back beat up to 1.66 RR + 180 ms after the previous beat (bounded by RR ≤ 2 s: ≤ 3.5 s).</para>
/// Allocation-free per block after construction.
/// </summary>
public sealed class QrsDetector
{
    private const int MaxCandidates = 64;
    private const int RrHistory = 8;

    private readonly QrsDetectorOptions _o;
    private readonly double _fs;
    private readonly double _delay;            // conditioning group delay to subtract, samples
    private readonly BiquadCascade[] _band = new BiquadCascade[Leads.Count];
    private readonly float[] _prev1 = new float[Leads.Count], _prev2 = new float[Leads.Count];
    private readonly double[] _agc = new double[Leads.Count];
    private readonly long[] _agcCount = new long[Leads.Count];
    private readonly float[] _weight = new float[Leads.Count];
    private readonly bool[] _present = new bool[Leads.Count];

    // Rings (power-of-two length) indexed by absolute sample index & _mask.
    private readonly int _mask;
    private readonly float[] _feature;         // combined normalised energy e[n]
    private readonly float[] _mwi;             // integrated feature
    private readonly float[][] _cond;          // conditioned signal per lead
    private readonly float[][] _leadEnergy;    // per-lead relative slope (for choosing the strongest lead)

    private readonly double _bandDelay;      // QRS band-pass group delay, samples
    private readonly int _warmup;
    private readonly int _w, _half, _refractory, _tWindow, _learnLength, _locateRadius;
    private double _mwiSum;
    private readonly double _agcAlphaMin;      // 1 / (AgcSeconds * fs): the AGC's smoothing once it has settled
    private readonly long _agcSettled;         // first sample count at which 1 / count <= _agcAlphaMin

    private long _n = -1;                      // index of the newest processed sample
    private long _streamStart;                 // first index of the current contiguous stream
    private bool _learning = true;
    private float _learnMax;
    private double _learnSum;
    private long _learnCount;

    private double _spk, _npk;
    private long _lastQrsPeak = long.MinValue; // mwi-peak index of the last QRS
    private long _lastBeat = long.MinValue;    // R index of the last beat
    private float _lastSlope;
    private bool _searchDone;

    private readonly Peak[] _cand = new Peak[MaxCandidates];
    private int _candCount;
    private readonly Peak[] _pending = new Peak[MaxCandidates];
    private int _pendingCount;

    // The beats accepted during the current Process or Flush call, handed back as a span. A block can release every peak
    // held during learning at once (up to MaxCandidates) plus the block's own beats (one per refractory period), so this
    // size is never exceeded with the pipeline's blocks; a larger block grows it once (Accept).
    private DetectedBeat[] _beats = new DetectedBeat[2 * MaxCandidates];
    private int _beatCount;

    private readonly double[] _rr = new double[RrHistory];
    private int _rrCount, _rrPos;
    private readonly double[] _scratch = new double[RrHistory];
    private double _rrAverage;

    public QrsDetector(QrsDetectorOptions options, double sampleRateHz, double conditioningDelaySamples, IReadOnlyList<bool> present)
    {
        _o = options;
        _fs = sampleRateHz;
        _delay = conditioningDelaySamples;
        var sections = new List<Biquad>();
        sections.AddRange(FilterDesign.ButterworthHighPass(2, options.BandLowHz, sampleRateHz));
        sections.AddRange(FilterDesign.ButterworthLowPass(2, Math.Min(options.BandHighHz, sampleRateHz * 0.45), sampleRateHz));
        var bandSections = sections.ToArray();
        for (var c = 0; c < Leads.Count; c++)
        {
            _band[c] = new BiquadCascade(bandSections);
            _present[c] = present[c];
            _weight[c] = present[c] ? 1f : 0f;
        }
        _w = Math.Max(1, (int)Math.Round(options.IntegrationSeconds * sampleRateHz));
        _half = Math.Max(1, (int)Math.Round(options.PeakHalfWindowSeconds * sampleRateHz));
        _refractory = (int)Math.Round(options.RefractorySeconds * sampleRateHz);
        _tWindow = (int)Math.Round(options.TWaveWindowSeconds * sampleRateHz);
        _learnLength = (int)Math.Round(options.LearningSeconds * sampleRateHz);
        _warmup = _w + (int)Math.Round(0.25 * sampleRateHz);
        _locateRadius = (int)Math.Round(options.LocateRadiusSeconds * sampleRateHz);
        // alpha = max(1 / count, alphaMin), with both divisions taken out of the per-sample loop (same doubles)
        _agcAlphaMin = 1.0 / (options.AgcSeconds * sampleRateHz);
        _agcSettled = 1;
        while (1.0 / _agcSettled > _agcAlphaMin) _agcSettled++;
        _bandDelay = SosResponse.GroupDelaySamples(bandSections, 12.0, sampleRateHz);
        var need = _half + _w + 3 * _locateRadius + (int)(0.1 * sampleRateHz) + 8;
        var size = 1;
        while (size < need * 2) size <<= 1;
        _mask = size - 1;
        _feature = new float[size];
        _mwi = new float[size];
        _cond = new float[Leads.Count][];
        _leadEnergy = new float[Leads.Count][];
        for (var c = 0; c < Leads.Count; c++) { _cond[c] = new float[size]; _leadEnergy[c] = new float[size]; }
        _rrAverage = sampleRateHz; // 60 bpm until learned
    }

    /// <summary>Sampling rate the detector runs at.</summary>
    public double SampleRateHz => _fs;

    /// <summary>Median heart rate of the last RR intervals, or NaN when unknown.</summary>
    public double HeartRateBpm => _rrCount == 0 ? double.NaN : 60.0 * _fs / MedianRr();

    /// <summary>Sets per-lead weights from the latest signal-quality verdicts.</summary>
    public void UpdateQuality(ReadOnlySpan<SignalQuality> quality)
    {
        var any = false;
        for (var c = 0; c < Leads.Count; c++)
        {
            var q = quality[c];
            _weight[c] = !_present[c] || !q.IsUsable() ? 0f : (q & SignalQuality.HighNoise) != 0 ? 0.3f : 1f;
            any |= _weight[c] > 0;
        }
        if (!any)
        {
            // Nothing is usable: keep trying on every attached, present channel rather than going blind.
            for (var c = 0; c < Leads.Count; c++)
                _weight[c] = _present[c] && (quality[c] & (SignalQuality.Absent | SignalQuality.LeadOff)) == 0 ? 0.3f : 0f;
        }
    }

    /// <summary>
    /// Processes a conditioned block and returns the beats it completed, in time order. The span is the detector's own
    /// buffer: it is valid until the next <see cref="Process"/> or <see cref="Flush"/> (read it, do not keep it). Beats are
    /// returned rather than pushed to a sink so that the caller decides where they go without a call back into it.
    /// </summary>
    public ReadOnlySpan<DetectedBeat> Process(SampleBlock block)
    {
        _beatCount = 0;
        if (block.Count == 0) return default;
        if (block.GapBefore > 0 || _n < 0) Restart(block.StartIndex);
        if (block.StartIndex != _n + 1) Restart(block.StartIndex);
        for (var i = 0; i < block.Count; i++)
        {
            var n = block.StartIndex + i;
            _n = n;
            var slot = (int)(n & _mask);
            double e = 0, wsum = 0;
            for (var c = 0; c < Leads.Count; c++)
            {
                if (!_present[c]) continue;
                var x = block.Channel(c)[i];
                _cond[c][slot] = x;
                var y = _band[c].Process(x);
                var d = y - _prev2[c];
                _prev2[c] = _prev1[c];
                _prev1[c] = y;
                var d2 = (double)d * d;
                var cnt = ++_agcCount[c];
                var alpha = cnt >= _agcSettled ? _agcAlphaMin : 1.0 / cnt;
                _agc[c] += (d2 - _agc[c]) * alpha;
                // |slope| relative to the lead's own RMS slope: how much this lead's QRS stands out of its noise.
                var rel = Math.Abs(d) / Math.Sqrt(_agc[c] + 1e-3);
                _leadEnergy[c][slot] = (float)rel;
                var wgt = _weight[c];
                if (wgt > 0 && cnt > 2) { e += wgt * rel; wsum += wgt; }
            }
            // Leads are averaged as amplitudes, then squared (an energy again): a single noisy lead cannot dominate.
            var mean = wsum > 0 ? e / wsum : 0;
            var f = (float)(mean * mean);
            _feature[slot] = f;
            _mwiSum += f;
            if (n - _w >= _streamStart) _mwiSum -= _feature[(int)((n - _w) & _mask)];
            if (_mwiSum < 0) _mwiSum = 0;
            var m = (float)(_mwiSum / _w);
            _mwi[slot] = m;

            if (_learning)
            {
                if (n - _streamStart >= _w) { _learnMax = Math.Max(_learnMax, m); _learnSum += m; _learnCount++; }
            }
            TestPeak(n);
            if (_learning && n - _streamStart >= _learnLength) EndLearning(n);
            if (!_learning) SearchBack(n);
        }
        return _beats.AsSpan(0, _beatCount);
    }

    private void Restart(long start)
    {
        _streamStart = start;
        _n = start - 1;
        _mwiSum = 0;
        _learning = true;
        _learnMax = 0; _learnSum = 0; _learnCount = 0;
        _candCount = 0; _pendingCount = 0;
        _lastQrsPeak = long.MinValue;
        _lastBeat = long.MinValue;
        _searchDone = false;
        _rrCount = 0; _rrPos = 0;
        _rrAverage = _fs;
        for (var c = 0; c < Leads.Count; c++)
        {
            _band[c].Reset();
            _prev1[c] = _prev2[c] = 0;
            _agc[c] = 0; _agcCount[c] = 0;
        }
    }

    /// <summary>Is the integrated feature at n − half a local maximum over ±half?</summary>
    private void TestPeak(long n) => TestPeakAt(n - _half, n);

    /// <summary>
    /// Tests whether sample <paramref name="i"/> of the integrated feature is a peak, looking at most up to the newest
    /// sample <paramref name="newest"/> (less than ±half only at the stream's edges).
    /// </summary>
    private void TestPeakAt(long i, long newest)
    {
        // Peaks count once the band-pass, the gain and the integrator have settled.
        var first = _streamStart + _warmup;
        if (i <= first || i >= newest) return;
        var v = _mwi[(int)(i & _mask)];
        if (v <= 0) return;
        if (!(v > _mwi[(int)((i - 1) & _mask)] && v >= _mwi[(int)((i + 1) & _mask)])) return;
        var hi = Math.Min(newest, i + _half);
        for (var k = Math.Max(first, i - _half); k <= hi; k++)
        {
            if (k == i) continue;
            var u = _mwi[(int)(k & _mask)];
            if (u > v || (u == v && k < i)) return;
        }
        var peak = Locate(i, v);
        if (_learning)
        {
            if (_pendingCount < MaxCandidates) _pending[_pendingCount++] = peak;
            return;
        }
        Classify(peak, newest);
    }

    /// <summary>
    /// The stream has ended: decides the peaks of the last samples (which would otherwise wait for samples that will
    /// never come) and, if the stream was shorter than the learning period, classifies what was learned. Returns the beats
    /// found, as <see cref="Process"/> does (same buffer, same lifetime).
    /// </summary>
    public ReadOnlySpan<DetectedBeat> Flush()
    {
        _beatCount = 0;
        if (_n < 0) return default;
        for (var i = _n - _half + 1; i < _n; i++) TestPeakAt(i, _n);
        if (_learning && _pendingCount > 0) EndLearning(_n);
        return _beats.AsSpan(0, _beatCount);
    }

    private Peak Locate(long i, float v)
    {
        // Energy maximum inside the integration window that ends at i.
        var from = Math.Max(_streamStart, i - _w - (long)_bandDelay);
        long best = i; var bestE = float.MinValue;
        for (var k = from; k <= i; k++)
        {
            var e = _feature[(int)(k & _mask)];
            if (e > bestE) { bestE = e; best = k; }
        }
        // The feature lags the conditioned signal by the band-pass delay.
        var r = Math.Max(_streamStart, best - (long)Math.Round(_bandDelay));
        if (_locateRadius > 0)
        {
            // Largest deflection of the strongest lead around it.
            var lead = -1; var le = float.MinValue;
            var bslot = (int)(best & _mask);
            for (var c = 0; c < Leads.Count; c++)
            {
                if (_weight[c] <= 0) continue;
                var x = _leadEnergy[c][bslot] * _weight[c];
                if (x > le) { le = x; lead = c; }
            }
            if (lead >= 0)
            {
                var lo = Math.Max(_streamStart, r - _locateRadius);
                var hi = Math.Min(_n, r + _locateRadius);
                var cond = _cond[lead];
                var amax = -1f;
                for (var k = lo; k <= hi; k++)
                {
                    var a = Math.Abs(cond[(int)(k & _mask)]);
                    if (a > amax) { amax = a; r = k; }
                }
            }
        }
        return new Peak(i, v, r, MathF.Sqrt(Math.Max(0, bestE)));
    }

    private double Threshold1 => _npk + _o.ThresholdFraction * (_spk - _npk);

    private void EndLearning(long n)
    {
        _learning = false;
        var mean = _learnCount > 0 ? _learnSum / _learnCount : 0;
        _spk = _learnMax / 3.0;
        _npk = mean / 2.0;
        if (_spk <= _npk) _spk = _npk * 2 + 1e-6;
        for (var k = 0; k < _pendingCount; k++) Classify(_pending[k], n);
        _pendingCount = 0;
    }

    private void Classify(in Peak p, long now)
    {
        if (_lastQrsPeak != long.MinValue && p.Index - _lastQrsPeak < _refractory) return;
        var th1 = Threshold1;
        if (p.Value > th1)
        {
            if (_lastQrsPeak != long.MinValue && p.Index - _lastQrsPeak < _tWindow && p.Slope < 0.5f * _lastSlope)
            {
                // Steep enough to pass the threshold but much flatter than the last QRS, and close behind it: a T wave.
                AddNoise(p);
                return;
            }
            _spk = 0.125 * Math.Min(p.Value, 4 * _spk) + 0.875 * _spk;
            Accept(p, now, searchBack: false);
        }
        else
        {
            AddNoise(p);
        }
    }

    private void AddNoise(in Peak p)
    {
        _npk = 0.125 * p.Value + 0.875 * _npk;
        if (_candCount == MaxCandidates)
        {
            Array.Copy(_cand, 1, _cand, 0, MaxCandidates - 1);
            _candCount--;
        }
        _cand[_candCount++] = p;
    }

    private void SearchBack(long n)
    {
        if (_searchDone || _lastQrsPeak == long.MinValue) return;
        var horizon = (long)(_o.SearchBackRr * Math.Min(_rrAverage, 2.0 * _fs));
        if (n - _half - _lastQrsPeak <= horizon) return;
        var th2 = _o.SearchBackThreshold * Threshold1;
        var best = -1;
        for (var k = 0; k < _candCount; k++)
        {
            ref var c = ref _cand[k];
            if (c.Index - _lastQrsPeak < _refractory || c.Index - _lastQrsPeak > horizon) continue;
            if (c.Value > th2 && (best < 0 || c.Value > _cand[best].Value)) best = k;
        }
        if (best < 0) { _searchDone = true; return; }
        var p = _cand[best];
        _spk = 0.25 * Math.Min(p.Value, 4 * _spk) + 0.75 * _spk;
        Accept(p, n, searchBack: true);
    }

    private void Accept(in Peak p, long now, bool searchBack)
    {
        // Drop candidates at or before the accepted peak; later ones stay for the next search-back.
        var keep = 0;
        for (var k = 0; k < _candCount; k++)
            if (_cand[k].Index > p.Index) _cand[keep++] = _cand[k];
        _candCount = keep;

        var rIndex = (long)Math.Round(p.Location - _delay);
        double rr = double.NaN;
        if (_lastBeat != long.MinValue)
        {
            rr = (rIndex - _lastBeat) / _fs;
            var rrSamples = (double)(p.Index - _lastQrsPeak);
            // Average of recent regular intervals (ignores intervals far outside the current rhythm).
            if (_rrCount < 2 || (rrSamples > 0.5 * _rrAverage && rrSamples < 1.7 * _rrAverage))
            {
                _rr[_rrPos] = rrSamples;
                _rrPos = (_rrPos + 1) % RrHistory;
                if (_rrCount < RrHistory) _rrCount++;
                double s = 0;
                for (var k = 0; k < _rrCount; k++) s += _rr[k];
                _rrAverage = s / _rrCount;
            }
        }
        _lastQrsPeak = p.Index;
        _lastBeat = rIndex;
        _lastSlope = p.Slope;
        _searchDone = false;
        // Only a block far longer than the pipeline's can outgrow the buffer (see _beats); then it doubles, once.
        if (_beatCount == _beats.Length) Array.Resize(ref _beats, 2 * _beats.Length);
        _beats[_beatCount++] = new DetectedBeat(rIndex, now, rr, HeartRateBpm, (float)(p.Value / Math.Max(_spk, 1e-9)), searchBack);
    }

    private double MedianRr()
    {
        Array.Copy(_rr, _scratch, _rrCount);
        Array.Sort(_scratch, 0, _rrCount);
        return _rrCount % 2 == 1 ? _scratch[_rrCount / 2] : 0.5 * (_scratch[_rrCount / 2 - 1] + _scratch[_rrCount / 2]);
    }

    private readonly record struct Peak(long Index, float Value, long Location, float Slope);
}
