using EcgEdge.Core.Signals;

namespace EcgEdge.Pipeline;

/// <summary>
/// Benchmark source: a recording with fewer leads than the ADS1298 (MIT-BIH has two) presented as a full 8-channel
/// stream, each absent channel carrying a copy of a present one (round robin). Every stage then does the work of a
/// fully wired 8-electrode device: 8 channels filtered, checked, detected on and fed to the model. Real signal in every
/// channel; the copies only make the cost honest, not the content new. Allocation-free per block.
/// </summary>
public sealed class AllChannelsSource : ISampleSource
{
    private readonly ISampleSource _inner;
    private readonly int[] _from;

    public AllChannelsSource(ISampleSource inner)
    {
        _inner = inner;
        var present = Enumerable.Range(0, Leads.Count).Where(c => inner.Info.Present[c]).ToArray();
        if (present.Length == 0) throw new ArgumentException("the source has no channel to copy", nameof(inner));
        _from = new int[Leads.Count];
        for (int c = 0, k = 0; c < Leads.Count; c++) _from[c] = inner.Info.Present[c] ? c : present[k++ % present.Length];
        Info = inner.Info with
        {
            Name = inner.Info.Name + " (8 channels)",
            Present = Enumerable.Repeat(true, Leads.Count).ToArray(),
            FullScaleMicrovolts = _from.Select(f => inner.Info.FullScaleMicrovolts[f]).ToArray(),
            SourceLabels = _from.Select(f => inner.Info.SourceLabels[f]).ToArray(),
        };
    }

    public SourceInfo Info { get; }

    public async ValueTask<bool> ReadAsync(SampleBlock block, CancellationToken cancellationToken)
    {
        if (!await _inner.ReadAsync(block, cancellationToken).ConfigureAwait(false)) return false;
        for (var c = 0; c < Leads.Count; c++)
        {
            if (_from[c] == c) continue;
            block.Channel(_from[c]).CopyTo(block.Buffer(c));
            block.SourceQuality[c] = block.SourceQuality[_from[c]];
        }
        return true;
    }

    public ValueTask DisposeAsync() => _inner.DisposeAsync();
}
