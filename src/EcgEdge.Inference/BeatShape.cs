namespace EcgEdge.Inference;

/// <summary>
/// Settings of the three beat-shape channels that follow the RR channels in a model's beat input (manifest
/// <c>rr_features.shape</c>). Defaults are those of tools/train/ecgnat/data.py (<c>MORPH_*</c>), which computes the same
/// features from the training records. Lengths are samples at the model's rate (250 Hz for ECG-NAT).
/// </summary>
/// <param name="LeadChannel">Channel of the window the snippets come from (lead II = 1 in the ADS1298 order); when it is
/// absent, the first present channel.</param>
/// <param name="BeforeSamples">Snippet start before the beat.</param>
/// <param name="AfterSamples">Snippet end after the beat (exclusive).</param>
/// <param name="HistoryBeats">The template is the per-sample median of this many previous complete snippets.</param>
/// <param name="MinHistory">With fewer previous complete snippets the features are 0.</param>
/// <param name="MaxShift">The beat's snippet is aligned to the template within ± this many samples.</param>
public sealed record BeatShapeSettings(int LeadChannel = 1, int BeforeSamples = 25, int AfterSamples = 38, int HistoryBeats = 16,
    int MinHistory = 3, int MaxShift = 3,
    double CorrelationClipLow = 0.0, double CorrelationClipHigh = 2.0,
    double DistanceClipLow = 0.0, double DistanceClipHigh = 3.0,
    double AmplitudeClipLow = -1.5, double AmplitudeClipHigh = 1.5)
{
    /// <summary>Channels: [1 − correlation, relative L2 distance, log peak-to-peak ratio].</summary>
    public const int Channels = 3;

    /// <summary>Snippet length.</summary>
    public int Length => BeforeSamples + AfterSamples;

    /// <summary>Problems with the settings (empty when valid).</summary>
    public IEnumerable<string> Problems()
    {
        if (LeadChannel is < 0 or > 7) yield return $"rr_features.shape.lead: channel {LeadChannel} is not one of the 8";
        if (BeforeSamples is < 1 or > 250 || AfterSamples is < 1 or > 250)
            yield return "rr_features.shape.before_samples and after_samples must be in 1..250";
        if (HistoryBeats is < 1 or > 64) yield return $"rr_features.shape.history_beats {HistoryBeats} must be in 1..64";
        if (MinHistory < 1 || MinHistory > HistoryBeats) yield return $"rr_features.shape.min_history {MinHistory} must be in 1..history_beats";
        if (MaxShift is < 0 or > 32) yield return $"rr_features.shape.max_shift {MaxShift} must be in 0..32";
        if (!(CorrelationClipLow < CorrelationClipHigh) || !(DistanceClipLow < DistanceClipHigh) || !(AmplitudeClipLow < AmplitudeClipHigh))
            yield return "rr_features.shape.clip must be three [low, high] pairs with low < high";
    }
}

/// <summary>
/// The shape of each beat against the patient's own recent beats, in one lead: the snippet
/// [p − before, p + after) at the beat's model-rate index p minus its median; the template, the per-sample median of the
/// previous <see cref="BeatShapeSettings.HistoryBeats"/> complete snippets; the beat's snippet shifted within
/// ± <see cref="BeatShapeSettings.MaxShift"/> to its highest correlation with the template (the first on ties); and
/// [1 − correlation, |snippet − template|₂ / (|template|₂ + 10⁻³), ln((ptp snippet + 10⁻³) / (ptp template + 10⁻³))],
/// each clipped. A beat enters the history aligned (its best-shift snippet minus its median; before there is a template,
/// its central snippet minus its median), so detector jitter does not blur the template. A beat like the patient's usual
/// ones gives about 0 whatever its absolute shape, so a bundle-branch block stays near 0 and an ectopic beat does not.
/// The definition the model was trained with is tools/train/ecgnat/data.py: morph_features.
/// <para>Beats are indexed like <see cref="RrFeatureBuilder"/>'s ring (beat number modulo capacity). A snippet is kept the
/// first time a window holds all of it (windows overlap by half, so every beat of a stream is held whole by one); a beat's
/// features are computed once, from the snippets kept before it, and reused in later windows. Fixed buffers: nothing is
/// allocated per beat or per window.</para>
/// </summary>
public sealed class BeatShapeFeatures
{
    private readonly BeatShapeSettings _s;
    private readonly int _capacity, _wide, _len;
    private readonly float[] _snippets;        // [slot * wide + k]: samples [p − before − shift, p + after + shift)
    private readonly double[] _entries;        // [slot * len + k]: the beat's history entry (centred, aligned once computed)
    private readonly byte[] _state;            // per slot: 0 nothing, 1 snippet kept, 2 features computed too
    private readonly float[] _features;        // [slot * 3 + c]
    private readonly double[] _template, _sorted, _column;
    private readonly int[] _history;
    private int _lead = -1;

    public BeatShapeFeatures(BeatShapeSettings settings, int capacity)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Problems().FirstOrDefault() is { } p) throw new ArgumentException(p, nameof(settings));
        if (capacity < settings.HistoryBeats + 64) throw new ArgumentOutOfRangeException(nameof(capacity), "too small for the history");
        _s = settings;
        _capacity = capacity;
        _len = settings.Length;
        _wide = _len + 2 * settings.MaxShift;
        _snippets = new float[capacity * _wide];
        _entries = new double[capacity * _len];
        _state = new byte[capacity];
        _features = new float[capacity * BeatShapeSettings.Channels];
        _template = new double[_len];
        _sorted = new double[Math.Max(_len, settings.HistoryBeats)];
        _column = new double[settings.HistoryBeats];
        _history = new int[settings.HistoryBeats];
    }

    /// <summary>The lead the snippets come from (−1 before the first window).</summary>
    public int Lead => _lead;

    /// <summary>Beat number <paramref name="beat"/> is new: its slot no longer holds an older beat's data.</summary>
    public void Forget(long beat) => _state[Slot(beat)] = 0;

    /// <summary>Forgets every beat.</summary>
    public void Reset()
    {
        Array.Clear(_state);
        _lead = -1;
    }

    /// <summary>
    /// Picks the window's lead (the configured one if present, else the first present one; −1 if none). A different lead
    /// than before forgets every snippet: shapes in two leads are not comparable.
    /// </summary>
    public int SelectLead(ReadOnlySpan<float> leadPresent)
    {
        var lead = -1;
        if (_s.LeadChannel < leadPresent.Length && leadPresent[_s.LeadChannel] > 0) lead = _s.LeadChannel;
        else
            for (var c = 0; c < leadPresent.Length; c++)
                if (leadPresent[c] > 0) { lead = c; break; }
        if (lead != _lead)
        {
            Array.Clear(_state);
            _lead = lead;
        }
        return lead;
    }

    /// <summary>
    /// Keeps beat <paramref name="beat"/>'s snippet if the lead row <paramref name="signal"/> (model rate, the first
    /// <paramref name="valid"/> samples real) holds all of it around <paramref name="index"/> and it is not kept yet.
    /// </summary>
    public void Keep(long beat, long index, ReadOnlySpan<float> signal, int valid)
    {
        var slot = Slot(beat);
        if (_state[slot] != 0) return;
        var from = index - _s.BeforeSamples - _s.MaxShift;
        if (from < 0 || from + _wide > valid) return;
        var dst = _snippets.AsSpan(slot * _wide, _wide);
        signal.Slice((int)from, _wide).CopyTo(dst);
        Centre(dst.Slice(_s.MaxShift, _len), _entries.AsSpan(slot * _len, _len));
        _state[slot] = 1;
    }

    /// <summary><paramref name="dst"/> = <paramref name="w"/> minus its median.</summary>
    private void Centre(ReadOnlySpan<float> w, Span<double> dst)
    {
        for (var k = 0; k < _len; k++) _sorted[k] = w[k];
        var med = Median(_sorted.AsSpan(0, _len));
        for (var k = 0; k < _len; k++) dst[k] = w[k] - med;
    }

    /// <summary>
    /// Writes beat <paramref name="beat"/>'s three features into <paramref name="dst"/>: computed once from the snippets
    /// kept for beats [<paramref name="first"/>, beat), then reused. Zeros while its own snippet is not kept.
    /// </summary>
    public void Write(long beat, long first, Span<float> dst)
    {
        var slot = Slot(beat);
        if (_state[slot] == 1)
        {
            // earlier kept beats enter the history aligned, i.e. after their own computation: oldest first
            first = Math.Max(first, beat - (_capacity - 1));
            for (var j = first; j <= beat; j++)
                if (_state[Slot(j)] == 1) Compute(j, first, Slot(j));
        }
        if (_state[slot] == 2) _features.AsSpan(slot * BeatShapeSettings.Channels, BeatShapeSettings.Channels).CopyTo(dst);
        else dst[..BeatShapeSettings.Channels].Clear();
    }

    private int Slot(long beat) => (int)(beat % _capacity);

    private void Compute(long beat, long first, int slot)
    {
        var f = _features.AsSpan(slot * BeatShapeSettings.Channels, BeatShapeSettings.Channels);
        f.Clear();
        _state[slot] = 2;
        // the previous complete snippets, newest first
        var n = 0;
        for (var j = beat - 1; j >= first && n < _history.Length; j--)
            if (_state[Slot(j)] != 0) _history[n++] = Slot(j);
        if (n < _s.MinHistory) return;

        int shift = _s.MaxShift, len = _len, wide = _wide;
        double mean = 0;
        for (var k = 0; k < len; k++)
        {
            for (var h = 0; h < n; h++) _column[h] = _entries[_history[h] * len + k];
            _template[k] = Median(_column.AsSpan(0, n));
            mean += _template[k];
        }
        mean /= len;
        double tss = 0, tNorm = 0, tMin = double.PositiveInfinity, tMax = double.NegativeInfinity;
        for (var k = 0; k < len; k++)
        {
            var c = _template[k] - mean;
            tss += c * c;
            tNorm += _template[k] * _template[k];
            tMin = Math.Min(tMin, _template[k]);
            tMax = Math.Max(tMax, _template[k]);
        }

        var own = _snippets.AsSpan(slot * wide, wide);
        var bestR = double.NegativeInfinity;
        var bestShift = 0;
        for (var sh = -shift; sh <= shift; sh++)
        {
            var r = Correlation(own.Slice(shift + sh, len), mean, tss);
            if (r > bestR) { bestR = r; bestShift = sh; }
        }
        // the best-aligned snippet minus its median, against the template; it is the beat's history entry from now on
        var entry = _entries.AsSpan(slot * len, len);
        Centre(own.Slice(shift + bestShift, len), entry);
        double dist = 0, wMin = double.PositiveInfinity, wMax = double.NegativeInfinity;
        for (var k = 0; k < len; k++)
        {
            var v = entry[k];
            var d = v - _template[k];
            dist += d * d;
            wMin = Math.Min(wMin, v);
            wMax = Math.Max(wMax, v);
        }
        f[0] = (float)Math.Clamp(1.0 - bestR, _s.CorrelationClipLow, _s.CorrelationClipHigh);
        f[1] = (float)Math.Clamp(Math.Sqrt(dist) / (Math.Sqrt(tNorm) + 1e-3), _s.DistanceClipLow, _s.DistanceClipHigh);
        f[2] = (float)Math.Clamp(Math.Log((wMax - wMin + 1e-3) / (tMax - tMin + 1e-3)), _s.AmplitudeClipLow, _s.AmplitudeClipHigh);
    }

    /// <summary>Pearson correlation of the snippet (minus its median; the mean removes it again) with the template.</summary>
    private double Correlation(ReadOnlySpan<float> w, double templateMean, double tss)
    {
        var len = w.Length;
        double m = 0;
        for (var k = 0; k < len; k++) m += w[k];
        m /= len;
        double sxy = 0, sxx = 0;
        for (var k = 0; k < len; k++)
        {
            var x = w[k] - m;
            sxy += x * (_template[k] - templateMean);
            sxx += x * x;
        }
        var den = Math.Sqrt(sxx * tss);
        return den > 1e-12 ? sxy / den : 1.0;
    }

    /// <summary>Median (mean of the middle two for an even count); sorts <paramref name="v"/> in place.</summary>
    private static double Median(Span<double> v)
    {
        v.Sort();
        var n = v.Length;
        return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    }
}
