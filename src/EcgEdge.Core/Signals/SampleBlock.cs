namespace EcgEdge.Core.Signals;

/// <summary>
/// A block of consecutive multichannel frames in the pipeline's channel order (<see cref="Lead"/>), in microvolts,
/// stored planar (one contiguous span per channel). Blocks are allocated once and reused: sources fill them,
/// stages transform them in place.
/// </summary>
public sealed class SampleBlock
{
    private readonly float[][] _channels;

    public SampleBlock(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _channels = new float[Leads.Count][];
        for (var c = 0; c < Leads.Count; c++) _channels[c] = new float[capacity];
        SourceQuality = new SignalQuality[Leads.Count];
    }

    /// <summary>Maximum number of frames.</summary>
    public int Capacity { get; }

    /// <summary>Number of valid frames.</summary>
    public int Count { get; set; }

    /// <summary>Pipeline sample index of the first frame (counts every sample period since the stream began, gaps included).</summary>
    public long StartIndex { get; set; }

    /// <summary>
    /// Samples that were lost immediately before this block (missed DRDY, dropped frames). Zero for a contiguous stream;
    /// when non-zero, <see cref="StartIndex"/> already includes the gap, and stages must not splice across it.
    /// </summary>
    public int GapBefore { get; set; }

    /// <summary>Per-channel state reported by the source for this block (absent channel, electrode off).</summary>
    public SignalQuality[] SourceQuality { get; }

    /// <summary>The valid frames of channel <paramref name="channel"/>.</summary>
    public Span<float> Channel(int channel) => _channels[channel].AsSpan(0, Count);

    /// <summary>The valid frames of <paramref name="lead"/>.</summary>
    public Span<float> Channel(Lead lead) => Channel((int)lead);

    /// <summary>The whole backing array of a channel (capacity frames), for sources that fill it.</summary>
    public float[] Buffer(int channel) => _channels[channel];

    /// <summary>Backing arrays of all channels, for components that work on planar arrays.</summary>
    public ReadOnlySpan<float[]> Buffers => _channels;

    /// <summary>Copies the contents (frames, indices, quality) of <paramref name="other"/> into this block.</summary>
    public void CopyFrom(SampleBlock other)
    {
        if (other.Count > Capacity) throw new ArgumentException("Block too small.", nameof(other));
        for (var c = 0; c < Leads.Count; c++) other.Channel(c).CopyTo(_channels[c]);
        Count = other.Count;
        StartIndex = other.StartIndex;
        GapBefore = other.GapBefore;
        other.SourceQuality.CopyTo(SourceQuality, 0);
    }
}
