using EcgEdge.Core.Dsp;
using EcgEdge.Core.Signals;

namespace EcgEdge.Conditioning;

/// <summary>
/// Streaming per-channel conditioning: baseline-wander high-pass, mains notch, low-pass, as one cascade of
/// second-order sections per channel, applied in place to each <see cref="SampleBlock"/>. Absent channels are left
/// untouched (zeros). At the stream's start and after a gap each channel's filter is set to its steady state for the
/// first sample, so offsets and gaps do not ring. Allocation-free per block.
/// </summary>
public sealed class SignalConditioner
{
    private readonly BiquadCascade[] _filters;
    private readonly bool[] _primed;

    public SignalConditioner(ConditioningOptions options, double sampleRateHz)
    {
        Sections = Design(options, sampleRateHz);
        SampleRateHz = sampleRateHz;
        _filters = new BiquadCascade[Leads.Count];
        _primed = new bool[Leads.Count];
        for (var c = 0; c < Leads.Count; c++) _filters[c] = new BiquadCascade(Sections);
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
        for (var c = 0; c < Leads.Count; c++)
        {
            if ((block.SourceQuality[c] & SignalQuality.Absent) != 0) { _primed[c] = false; continue; }
            var data = block.Channel(c);
            if (!_primed[c] || block.GapBefore > 0)
            {
                _filters[c].ResetSteadyState(data[0]);
                _primed[c] = true;
            }
            _filters[c].Process(data);
        }
    }

    /// <summary>Forgets all state (a new stream).</summary>
    public void Reset() => Array.Clear(_primed);
}
