namespace EcgEdge.Core.Signals;

/// <summary>Static description of a sample source, fixed for its lifetime.</summary>
/// <param name="Name">What is being read (record path, "ads1298 spi0.0" ...).</param>
/// <param name="SampleRateHz">Rate of the frames the source delivers (the pipeline rate).</param>
/// <param name="Present">Per channel (<see cref="Lead"/> order): whether the source acquires it. Absent channels carry zeros.</param>
/// <param name="FullScaleMicrovolts">Per channel: the magnitude at which the converter saturates (NaN when unknown).</param>
/// <param name="SourceLabels">Per channel: the source's own label for what feeds it ("MLII", "CH2"), or null when absent.</param>
public sealed record SourceInfo(
    string Name,
    double SampleRateHz,
    IReadOnlyList<bool> Present,
    IReadOnlyList<float> FullScaleMicrovolts,
    IReadOnlyList<string?> SourceLabels)
{
    /// <summary>Number of present channels.</summary>
    public int PresentCount => Present.Count(p => p);
}

/// <summary>
/// Where frames come from: the ADS1298 over SPI, its emulator, or a replayed recording. A source fills blocks the
/// caller owns; it never allocates per sample. Implementations are used from one thread at a time.
/// </summary>
public interface ISampleSource : IAsyncDisposable
{
    SourceInfo Info { get; }

    /// <summary>
    /// Fills <paramref name="block"/> with the next frames (at most its capacity; possibly fewer) and sets its
    /// <see cref="SampleBlock.StartIndex"/>, <see cref="SampleBlock.GapBefore"/> and
    /// <see cref="SampleBlock.SourceQuality"/>. Returns false when the stream has ended (then Count is 0).
    /// </summary>
    ValueTask<bool> ReadAsync(SampleBlock block, CancellationToken cancellationToken);
}
