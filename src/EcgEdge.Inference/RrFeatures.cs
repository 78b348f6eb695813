namespace EcgEdge.Inference;

/// <summary>
/// Settings of the model's RR-interval input (<c>rr_features</c> in the manifest). Defaults are those of
/// tools/train/ecgnat/data.py, which computes the same features from the reference annotations for training.
/// </summary>
/// <param name="Shape">The three beat-shape channels after the RR ones (<c>rr_features.shape</c>); null for a model
/// whose beat input is RR only.</param>
public sealed record RrFeatureSettings(int HistoryIntervals = 32, double ClipLow = -1.0, double ClipHigh = 3.0,
    double MedianClipLow = -0.6, double MedianClipHigh = 1.2, double MedianCentreSeconds = 0.8, BeatShapeSettings? Shape = null)
{
    /// <summary>RR features per fine token: [beat present, pre/med − 1, post/med − 1, med − centre].</summary>
    public const int RrChannels = 4;

    /// <summary>Features per fine token: the RR ones, then the shape ones if any.</summary>
    public int Channels => RrChannels + (Shape is null ? 0 : BeatShapeSettings.Channels);

    /// <summary>Problems with the settings (empty when valid).</summary>
    public IEnumerable<string> Problems()
    {
        if (HistoryIntervals is < 1 or > 256) yield return $"rr_features.history_intervals {HistoryIntervals} must be in 1..256";
        if (!(ClipLow < ClipHigh)) yield return "rr_features.clip must be [low, high] with low < high";
        if (!(MedianClipLow < MedianClipHigh)) yield return "rr_features.median_clip must be [low, high] with low < high";
        if (!(MedianCentreSeconds > 0)) yield return "rr_features.median_centre_s must be positive";
        if (Shape is not null)
            foreach (var p in Shape.Problems()) yield return p;
    }
}

/// <summary>
/// Builds the model's <c>beat_rr</c> input from the detector's beats: for each beat in the window, at its fine token,
/// [1, pre/med − 1, post/med − 1, med − 0.8 s] (clipped), where pre and post are the RR intervals before and after the
/// beat and med is the median of the last <see cref="RrFeatureSettings.HistoryIntervals"/> intervals ending at or before
/// it; zeros at tokens without a beat. The first beat of a stream takes pre = med = post (0.8 s when it is alone); a beat
/// whose successor is not detected yet takes post = pre. This is the definition the model was trained with
/// (tools/train/ecgnat/data.py: rr_features, rr_tensor). With <see cref="RrFeatureSettings.Shape"/>, three channels
/// follow: the beat's shape against the patient's recent beats (<see cref="BeatShapeFeatures"/>), from the window's
/// signal. Beats are kept in a fixed ring: nothing is allocated per beat or per window.
/// </summary>
public sealed class RrFeatureBuilder
{
    private readonly RrFeatureSettings _s;
    private readonly double _rateHz;
    private readonly double[] _t;              // beat positions (pipeline samples, fractional), ring
    private readonly double[] _scratch;
    private readonly BeatShapeFeatures? _shape;
    private long _count;                       // beats added since the last reset
    private double _from = double.NegativeInfinity;   // the current stream starts here (positions)

    /// <param name="settings">Feature definition (from the manifest).</param>
    /// <param name="pipelineRateHz">Rate of the beat positions.</param>
    /// <param name="capacity">Beats remembered; must cover the history plus the beats of one window and its delay.</param>
    public RrFeatureBuilder(RrFeatureSettings settings, double pipelineRateHz, int capacity = 512)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Problems().FirstOrDefault() is { } p) throw new ArgumentException(p, nameof(settings));
        if (!(pipelineRateHz > 0)) throw new ArgumentOutOfRangeException(nameof(pipelineRateHz));
        if (capacity < settings.HistoryIntervals + 64) throw new ArgumentOutOfRangeException(nameof(capacity), "too small for the history");
        _s = settings;
        _rateHz = pipelineRateHz;
        _t = new double[capacity];
        _scratch = new double[settings.HistoryIntervals];
        if (settings.Shape is not null) _shape = new BeatShapeFeatures(settings.Shape, capacity);
    }

    /// <summary>Features per fine token this builder writes.</summary>
    public int Channels => _s.Channels;

    /// <summary>Beats added since the last <see cref="Reset"/>.</summary>
    public long Count => _count;

    /// <summary>Adds a beat (positions in increasing order; an earlier or equal one is ignored).</summary>
    public void Add(double position)
    {
        if (_count > 0 && !(position > At(_count - 1))) return;
        _t[_count % _t.Length] = position;
        _shape?.Forget(_count);
        _count++;
    }

    /// <summary>Forgets every beat.</summary>
    public void Reset()
    {
        _count = 0;
        _from = double.NegativeInfinity;
        _shape?.Reset();
    }

    /// <summary>
    /// A new stream starts at <paramref name="position"/> (after a gap the intervals across it mean nothing): earlier beats
    /// no longer count as predecessors. Beats at or after it may already have been added.
    /// </summary>
    public void StartStream(double position) => _from = position;

    private double At(long i) => _t[i % _t.Length];

    /// <summary>
    /// Writes the features of the beats in [<paramref name="windowStart"/>, window end) into <paramref name="rr"/>
    /// ([token * <see cref="Channels"/> + channel], cleared first). Beat i goes to token
    /// floor(floor((t_i − start) / decimation) / stride). Beats at or after <paramref name="limit"/> (the end of a stream
    /// that is being closed) are treated as not there. With shape features, <paramref name="window"/> is the window's
    /// signal ([channel * windowSamples + t], model rate), <paramref name="leadPresent"/> its lead mask and
    /// <paramref name="validSamples"/> the samples holding signal. Returns the number of beats written.
    /// </summary>
    public int Fill(Span<float> rr, double windowStart, double limit, int decimation, int windowSamples, int tokenStride, int fineTokens,
        ReadOnlySpan<float> window = default, ReadOnlySpan<float> leadPresent = default, int validSamples = -1)
    {
        var C = _s.Channels;
        if (rr.Length < fineTokens * C) throw new ArgumentException($"rr is shorter than fine_tokens × {C}", nameof(rr));
        var lead = -1;
        if (_shape is not null)
        {
            if (leadPresent.Length == 0 || window.Length < leadPresent.Length * windowSamples)
                throw new ArgumentException("shape features need the window's signal and lead mask", nameof(window));
            lead = _shape.SelectLead(leadPresent);
        }
        var valid = validSamples < 0 ? windowSamples : Math.Min(validSamples, windowSamples);
        var signal = lead < 0 ? default : window.Slice(lead * windowSamples, windowSamples);
        rr[..(fineTokens * C)].Clear();
        var oldest = Math.Max(0, _count - _t.Length);
        // beats of the current stream: [first, end)
        var end = _count;
        while (end > oldest && At(end - 1) >= limit) end--;
        var first = end;
        while (first > oldest && At(first - 1) >= _from) first--;
        // first beat in the window (scan back from the newest: windows are near the end of the ring)
        var i = end - 1;
        while (i >= first && At(i) >= windowStart) i--;
        i++;
        if (lead >= 0)
        {
            // keep the snippets this window holds whole (every earlier beat's first), then compute from them
            for (var j = i; j < end; j++)
            {
                var m = (long)Math.Floor((At(j) - windowStart) / decimation);
                if (m >= windowSamples) break;
                _shape!.Keep(j, m, signal, valid);
            }
        }
        var written = 0;
        for (; i < end; i++)
        {
            var modelIndex = (long)Math.Floor((At(i) - windowStart) / decimation);
            if (modelIndex >= windowSamples) break;
            if (modelIndex < 0) continue;
            var token = (int)Math.Min(modelIndex / tokenStride, fineTokens - 1);
            Features(i, first, end, out var pre, out var post, out var med);
            var f = rr.Slice(token * C, C);
            f[0] = 1f;
            f[1] = (float)Math.Clamp(pre / med - 1.0, _s.ClipLow, _s.ClipHigh);
            f[2] = (float)Math.Clamp(post / med - 1.0, _s.ClipLow, _s.ClipHigh);
            f[3] = (float)Math.Clamp(med - _s.MedianCentreSeconds, _s.MedianClipLow, _s.MedianClipHigh);
            if (lead >= 0) _shape!.Write(i, first, f[RrFeatureSettings.RrChannels..]);
            written++;
        }
        return written;
    }

    /// <summary>pre, post and median RR (seconds) of beat i of the stream's beats [first, end).</summary>
    private void Features(long i, long first, long end, out double pre, out double post, out double med)
    {
        var hasNext = i + 1 < end;
        if (i == first)
        {
            // first beat of the stream (or the oldest one remembered, which a window does not reach in practice)
            pre = med = post = hasNext ? (At(i + 1) - At(i)) / _rateHz : _s.MedianCentreSeconds;
            med = Math.Max(med, 1e-3);
            return;
        }
        pre = (At(i) - At(i - 1)) / _rateHz;
        post = hasNext ? (At(i + 1) - At(i)) / _rateHz : pre;
        var n = 0;
        for (var j = i; j > first && n < _scratch.Length; j--) _scratch[n++] = (At(j) - At(j - 1)) / _rateHz;
        var span = _scratch.AsSpan(0, n);
        span.Sort();
        med = n % 2 == 1 ? span[n / 2] : 0.5 * (span[n / 2 - 1] + span[n / 2]);
        med = Math.Max(med, 1e-3);
    }
}
