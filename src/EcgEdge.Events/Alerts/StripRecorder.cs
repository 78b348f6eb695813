using System.Globalization;
using System.Text;
using EcgEdge.Core.Signals;

namespace EcgEdge.Events.Alerts;

/// <summary>
/// Keeps the last <c>seconds</c> of the conditioned signal of the acquired leads at a strip rate (decimated from the
/// pipeline rate; the 40-Hz conditioning low-pass is the anti-alias filter) as 16-bit counts of
/// <see cref="CountMicrovolts"/> µV, and cuts FHIR-SampledData-like strips out of it. Recording allocates nothing.
/// </summary>
public sealed class StripRecorder
{
    /// <summary>µV per stored count (±163 mV range).</summary>
    public const float CountMicrovolts = 5f;

    private readonly int _decimation;
    private readonly int[] _channels;
    private readonly short[][] _ring;
    private long _written;        // strip-rate samples written
    private long _next;           // pipeline index of the next sample to keep

    public StripRecorder(double pipelineRateHz, double stripRateHz, double seconds, IReadOnlyList<bool> present)
    {
        _decimation = Math.Max(1, (int)Math.Round(pipelineRateHz / stripRateHz));
        RateHz = pipelineRateHz / _decimation;
        _channels = Enumerable.Range(0, Leads.Count).Where(c => present[c]).ToArray();
        Capacity = (int)Math.Ceiling(seconds * RateHz);
        _ring = _channels.Select(_ => new short[Capacity]).ToArray();
    }

    public double RateHz { get; }
    public int Capacity { get; }

    /// <summary>Pipeline index of the oldest kept sample.</summary>
    public long OldestIndex => (Math.Max(0, _written - Capacity)) * _decimation + _offset;

    /// <summary>Pipeline index one past the newest kept sample.</summary>
    public long EndIndex => _written * _decimation + _offset;

    private long _offset = -1;    // pipeline index of strip sample 0 of this run
    private long _expected = -1;  // pipeline index the next block should start at

    /// <summary>Keeps a conditioned block (contiguous indices assumed; a gap restarts the buffer).</summary>
    public void Push(SampleBlock block)
    {
        if (block.Count == 0) return;
        if (_offset < 0 || block.GapBefore > 0 || block.StartIndex != _expected)
        {
            _offset = block.StartIndex;
            _written = 0;
            _next = block.StartIndex;
        }
        _expected = block.StartIndex + block.Count;
        var first = (int)Math.Max(0, _next - block.StartIndex);
        for (var i = first; i < block.Count; i += _decimation)
        {
            var slot = (int)(_written % Capacity);
            for (var k = 0; k < _channels.Length; k++)
            {
                var v = block.Channel(_channels[k])[i] / CountMicrovolts;
                _ring[k][slot] = (short)Math.Clamp(MathF.Round(v), short.MinValue, short.MaxValue);
            }
            _written++;
            _next = block.StartIndex + i + _decimation;
        }
    }

    /// <summary>
    /// A strip around <paramref name="eventIndex"/> (pipeline index): <paramref name="preS"/> before, <paramref name="postS"/>
    /// after, clipped to what is kept. Null when nothing is kept.
    /// </summary>
    public Strip? Capture(long eventIndex, double preS, double postS, SampleClock clock)
    {
        if (_written == 0 || _channels.Length == 0) return null;
        var oldest = Math.Max(0, _written - Capacity);
        var evt = (eventIndex - _offset) / (double)_decimation;
        var from = (long)Math.Max(oldest, Math.Floor(evt - preS * RateHz));
        var to = (long)Math.Min(_written, Math.Ceiling(evt + postS * RateHz));
        if (to - from < RateHz) // less than a second around the event: take the newest window instead
        {
            to = _written;
            from = Math.Max(oldest, to - (long)Math.Round((preS + postS) * RateHz));
        }
        var sb = new StringBuilder((int)(to - from) * _channels.Length * 4);
        for (var t = from; t < to; t++)
            for (var k = 0; k < _channels.Length; k++)
            {
                if (sb.Length > 0) sb.Append(' ');
                sb.Append(_ring[k][(int)(t % Capacity)].ToString(CultureInfo.InvariantCulture));
            }
        var originIndex = _offset + from * _decimation;
        return new Strip(new TimePoint(clock.At(originIndex), originIndex), 1000.0 / RateHz, CountMicrovolts / 1000.0, "mV",
            _channels.Select(Leads.Name).ToArray(), _channels.Length,
            Math.Round(Math.Clamp((eventIndex - originIndex) / (double)_decimation / RateHz, 0, (to - from) / RateHz), 3), sb.ToString());
    }

    /// <summary>Copies the newest <paramref name="destination"/>.Length samples of kept lead <paramref name="k"/> in µV; returns false if not enough are kept.</summary>
    public bool TryCopyRecent(int k, Span<float> destination)
    {
        var n = destination.Length;
        if (k >= _channels.Length || _written < n || n > Capacity) return false;
        for (var i = 0; i < n; i++) destination[i] = _ring[k][(int)((_written - n + i) % Capacity)] * CountMicrovolts;
        return true;
    }

    /// <summary>Index among kept leads of the preferred lead for rhythm analysis (II, else the first kept).</summary>
    public int PreferredLead => Math.Max(0, Array.IndexOf(_channels, (int)Lead.II));

    /// <summary>Number of kept leads.</summary>
    public int LeadCount => _channels.Length;

    /// <summary>The channel (<see cref="Lead"/> order) of kept lead <paramref name="k"/>.</summary>
    public int ChannelOf(int k) => _channels[k];

    /// <summary>Strip-rate samples written since the last restart.</summary>
    public long Written => _written;
}
