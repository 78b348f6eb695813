using EcgEdge.Core.Signals;

namespace EcgEdge.Conditioning;

/// <summary>
/// Per-channel signal-quality assessment over fixed segments (default 2 s):
/// <list type="bullet">
/// <item>Absent / LeadOff: passed through from the source;</item>
/// <item>Unassessed: an acquired channel before its first segment completes;</item>
/// <item>Saturated: any raw sample at or beyond <see cref="QualityOptions.SaturationFraction"/> of full scale;</item>
/// <item>FlatLine: conditioned peak-to-peak below <see cref="QualityOptions.FlatPeakToPeakMicrovolts"/>;</item>
/// <item>HighNoise: kurtosis of the conditioned segment below <see cref="QualityOptions.MinKurtosis"/> (a clean ECG is
/// dominated by sharp QRS complexes; noise is closer to Gaussian), or RMS above <see cref="QualityOptions.MaxRmsMicrovolts"/>.</item>
/// </list>
/// Call <see cref="ObserveRaw"/> before conditioning and <see cref="ObserveConditioned"/> after, for every block.
/// The verdict of a segment is published when it completes (<see cref="Current"/>, <see cref="SegmentCompleted"/>).
/// Allocation-free per block.
/// </summary>
public sealed class QualityMonitor
{
    private readonly QualityOptions _options;
    private readonly float[] _saturationLevel;
    private readonly int _segmentLength;
    private readonly Accumulator[] _acc = new Accumulator[Leads.Count];
    private readonly SignalQuality[] _current = new SignalQuality[Leads.Count];
    private readonly bool[] _saturatedInSegment = new bool[Leads.Count];
    private readonly SignalQuality[] _sourceInSegment = new SignalQuality[Leads.Count];
    private int _filled;

    public QualityMonitor(QualityOptions options, SourceInfo source)
    {
        _options = options;
        SampleRateHz = source.SampleRateHz;
        _segmentLength = Math.Max(1, (int)Math.Round(options.SegmentSeconds * source.SampleRateHz));
        _saturationLevel = new float[Leads.Count];
        for (var c = 0; c < Leads.Count; c++)
        {
            var fs = source.FullScaleMicrovolts[c];
            _saturationLevel[c] = float.IsFinite(fs) && fs > 0 ? (float)(fs * options.SaturationFraction) : float.PositiveInfinity;
            // Nothing is known of an acquired channel until its first segment completes: "pending", never "ok".
            _current[c] = source.Present[c] ? SignalQuality.Unassessed : SignalQuality.Absent;
        }
    }

    public double SampleRateHz { get; }

    /// <summary>Verdict per channel of the latest completed segment (source flags of the newest block are merged in at once).</summary>
    public ReadOnlySpan<SignalQuality> Current => _current;

    /// <summary>Segment length in samples.</summary>
    public int SegmentLength => _segmentLength;

    /// <summary>Number of segments completed since the start.</summary>
    public long SegmentsCompleted { get; private set; }

    /// <summary>Sample index just past the latest completed segment.</summary>
    public long LastSegmentEnd { get; private set; }

    /// <summary>True if the last <see cref="ObserveConditioned"/> call completed at least one segment.</summary>
    public bool SegmentCompleted { get; private set; }

    /// <summary>True if any channel's verdict changed in the last <see cref="ObserveConditioned"/> call.</summary>
    public bool Changed { get; private set; }

    /// <summary>Checks raw (unfiltered) samples for saturation.</summary>
    public void ObserveRaw(SampleBlock block)
    {
        for (var c = 0; c < Leads.Count; c++)
        {
            if (_saturatedInSegment[c] || (block.SourceQuality[c] & SignalQuality.Absent) != 0) continue;
            var level = _saturationLevel[c];
            if (float.IsPositiveInfinity(level)) continue;
            foreach (var v in block.Channel(c))
            {
                if (Math.Abs(v) >= level) { _saturatedInSegment[c] = true; break; }
            }
        }
    }

    /// <summary>Accumulates conditioned samples; completes segments and updates the verdicts.</summary>
    public void ObserveConditioned(SampleBlock block)
    {
        SegmentCompleted = false;
        Changed = false;
        for (var c = 0; c < Leads.Count; c++)
        {
            var src = block.SourceQuality[c] & (SignalQuality.Absent | SignalQuality.LeadOff);
            _sourceInSegment[c] |= src;
            // Lead-off and absence are reported without waiting for the segment's end.
            var merged = (_current[c] & ~(SignalQuality.Absent | SignalQuality.LeadOff)) | src;
            if ((merged & SignalQuality.Absent) != 0) merged = SignalQuality.Absent;
            if (merged != _current[c]) { _current[c] = merged; Changed = true; }
        }
        if (block.GapBefore > 0) { ResetSegment(); }

        var offset = 0;
        while (offset < block.Count)
        {
            var take = Math.Min(block.Count - offset, _segmentLength - _filled);
            for (var c = 0; c < Leads.Count; c++)
            {
                if ((block.SourceQuality[c] & SignalQuality.Absent) != 0) continue;
                _acc[c].Add(block.Channel(c).Slice(offset, take));
            }
            _filled += take;
            offset += take;
            if (_filled == _segmentLength)
            {
                CompleteSegment();
                LastSegmentEnd = block.StartIndex + offset;
            }
        }
    }

    private void CompleteSegment()
    {
        for (var c = 0; c < Leads.Count; c++)
        {
            SignalQuality q;
            if ((_sourceInSegment[c] & SignalQuality.Absent) != 0) q = SignalQuality.Absent;
            else
            {
                q = _sourceInSegment[c] & SignalQuality.LeadOff;
                ref var a = ref _acc[c];
                if (_saturatedInSegment[c]) q |= SignalQuality.Saturated;
                if (a.Max - a.Min < _options.FlatPeakToPeakMicrovolts) q |= SignalQuality.FlatLine;
                else if (a.Kurtosis < _options.MinKurtosis || a.Rms > _options.MaxRmsMicrovolts) q |= SignalQuality.HighNoise;
            }
            if (q != _current[c]) { _current[c] = q; Changed = true; }
        }
        SegmentsCompleted++;
        SegmentCompleted = true;
        ResetSegment();
    }

    private void ResetSegment()
    {
        _filled = 0;
        for (var c = 0; c < Leads.Count; c++)
        {
            _acc[c] = Accumulator.Empty;
            _saturatedInSegment[c] = false;
            _sourceInSegment[c] = SignalQuality.Good;
        }
    }

    /// <summary>Running moments of one channel's segment.</summary>
    private struct Accumulator
    {
        public static Accumulator Empty => new() { Min = float.PositiveInfinity, Max = float.NegativeInfinity };

        private long _n;
        private double _s1, _s2, _s3, _s4;
        public float Min, Max;

        public void Add(ReadOnlySpan<float> x)
        {
            double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
            float mn = Min, mx = Max;
            foreach (var f in x)
            {
                double v = f;
                var v2 = v * v;
                s1 += v; s2 += v2; s3 += v2 * v; s4 += v2 * v2;
                if (f < mn) mn = f;
                if (f > mx) mx = f;
            }
            _s1 += s1; _s2 += s2; _s3 += s3; _s4 += s4;
            _n += x.Length;
            Min = mn; Max = mx;
        }

        public readonly double Rms => _n == 0 ? 0 : Math.Sqrt(Math.Max(0, _s2 / _n - (_s1 / _n) * (_s1 / _n)));

        public readonly double Kurtosis
        {
            get
            {
                if (_n < 4) return double.PositiveInfinity;
                var mu = _s1 / _n;
                var e2 = _s2 / _n; var e3 = _s3 / _n; var e4 = _s4 / _n;
                var m2 = e2 - mu * mu;
                if (m2 <= 0) return double.PositiveInfinity;
                var m4 = e4 - 4 * mu * e3 + 6 * mu * mu * e2 - 3 * mu * mu * mu * mu;
                return m4 / (m2 * m2);
            }
        }
    }
}
