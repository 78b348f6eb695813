using EcgEdge.Core.Dsp;
using EcgEdge.Core.Signals;

namespace EcgEdge.Conditioning;

/// <summary>
/// Streaming per-channel conditioning: baseline-wander high-pass, mains notch, low-pass, as one cascade of
/// second-order sections per channel, applied in place to each <see cref="SampleBlock"/> — all channels in one SIMD
/// pass (<see cref="PlanarBiquadCascade"/>; bit-identical to filtering each channel alone). Absent channels are left
/// untouched (zeros). At the stream's start and after a gap each channel's filter is set to its steady state for the
/// first sample, so offsets and gaps do not ring. Allocation-free per block.
/// </summary>
public sealed class SignalConditioner
{
    private readonly PlanarBiquadCascade _filter;
    private readonly bool[] _primed;
    private readonly bool[] _write = new bool[Leads.Count];

    public SignalConditioner(ConditioningOptions options, double sampleRateHz)
    {
        Sections = Design(options, sampleRateHz);
        SampleRateHz = sampleRateHz;
        _filter = new PlanarBiquadCascade(Sections, Leads.Count, 256);
        _primed = new bool[Leads.Count];
    }

    /// <summary>The designed cascade: high-pass sections, notch (if any), low-pass sections.</summary>
    public Biquad[] Sections { get; }

    public double SampleRateHz { get; }

    /// <summary>The cascade of <paramref name="options"/> at <paramref name="sampleRateHz"/>.</summary>
    public static Biquad[] Design(ConditioningOptions options, double sampleRateHz)
    {
        var list = new List<Biquad>();
        list.AddRange(FilterDesign.ButterworthHighPass(options.HighPassOrder, options.HighPassHz, sampleRateHz));
        if (options.MainsHz > 0)
        {
            if (options.MainsHz >= sampleRateHz / 2)
                throw new ArgumentException($"Mains notch {options.MainsHz} Hz is above Nyquist for {sampleRateHz} Hz.");
            list.Add(FilterDesign.Notch(options.MainsHz, options.NotchQ, sampleRateHz));
        }
        if (options.LowPassHz < sampleRateHz / 2)
            list.AddRange(FilterDesign.ButterworthLowPass(options.LowPassOrder, options.LowPassHz, sampleRateHz));
        return [.. list];
    }

    /// <summary>Filters the block in place.</summary>
    public void Process(SampleBlock block)
    {
        if (block.Count == 0) return;
        var any = false;
        for (var c = 0; c < Leads.Count; c++)
        {
            _write[c] = (block.SourceQuality[c] & SignalQuality.Absent) == 0;
            if (!_write[c]) { _primed[c] = false; continue; }
            any = true;
            if (!_primed[c] || block.GapBefore > 0)
            {
                _filter.ResetSteadyState(c, block.Channel(c)[0]);
                _primed[c] = true;
            }
        }
        if (any) _filter.Process(block.Buffers, block.Count, _write);
    }

    /// <summary>Forgets all state (a new stream).</summary>
    public void Reset() => Array.Clear(_primed);
}
