namespace EcgEdge.Inference.Rhythm;

/// <summary>
/// AF episode logic over the rhythm decisions: the AF time a record, a report or a burden figure counts. A stretch decided
/// noise or ventricular tachyarrhythmia that lies between two AF decisions and lasts at most <see cref="DefaultBridgeS"/>
/// counts as AF: unreadable signal is no evidence that AF stopped, and a ventricular run does not stop the atria
/// fibrillating; only a readable non-AF rhythm (sinus/other) ends an episode. The event engine's AF alarm follows the same
/// rule (noise and VT/VF neither start nor end it). tools/train's <c>rhythm.bridge_af</c> is the same logic.
/// </summary>
public static class AfEpisodes
{
    /// <summary>
    /// The longest noise or VT/VF stretch bridged, in seconds. Out of fold the AF-duration figures are the same for any
    /// bridge from 30 s to unbounded (docs/rhythm.md); the bound keeps a long unreadable stretch out of the AF burden.
    /// </summary>
    public const double DefaultBridgeS = 60;

    /// <summary>
    /// <paramref name="decisions"/> (in order) with the AF episode logic applied: noise/VT-VF decisions tiling the gap
    /// between two AF decisions, contiguous and lasting at most <paramref name="maxBridge"/> samples, become AF. With
    /// <paramref name="maxBridge"/> 0 the decisions unchanged.
    /// </summary>
    public static List<(long From, long To, RhythmClass Class)> Relabel(IReadOnlyList<(long From, long To, RhythmClass Class)> decisions, long maxBridge)
    {
        ArgumentNullException.ThrowIfNull(decisions);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBridge);
        var output = new List<(long From, long To, RhythmClass Class)>(decisions);
        var k = 0;
        while (k < decisions.Count)
        {
            if (!Bridgeable(decisions[k].Class)) { k++; continue; }
            var j = k;
            var contiguous = k > 0 && decisions[k - 1].To == decisions[k].From;
            while (j < decisions.Count && Bridgeable(decisions[j].Class))
            {
                if (j > k && decisions[j - 1].To != decisions[j].From) contiguous = false;
                j++;
            }
            if (contiguous && j < decisions.Count && decisions[j - 1].To == decisions[j].From
                && decisions[k - 1].Class == RhythmClass.AfAfl && decisions[j].Class == RhythmClass.AfAfl
                && decisions[j - 1].To - decisions[k].From <= maxBridge)
                for (var m = k; m < j; m++) output[m] = output[m] with { Class = RhythmClass.AfAfl };
            k = j;
        }
        return output;
    }

    /// <summary><see cref="Relabel(IReadOnlyList{ValueTuple{long, long, RhythmClass}}, long)"/> with the default bridge at <paramref name="sampleRateHz"/>.</summary>
    public static List<(long From, long To, RhythmClass Class)> Relabel(IReadOnlyList<(long From, long To, RhythmClass Class)> decisions, double sampleRateHz) =>
        Relabel(decisions, (long)Math.Round(DefaultBridgeS * sampleRateHz));

    /// <summary>The AF intervals (from, to) of <see cref="Relabel(IReadOnlyList{ValueTuple{long, long, RhythmClass}}, double)"/>'s output, merged.</summary>
    public static List<(long From, long To)> Intervals(IReadOnlyList<(long From, long To, RhythmClass Class)> decisions, double sampleRateHz)
    {
        var spans = new List<(long From, long To)>();
        foreach (var (from, to, cls) in Relabel(decisions, sampleRateHz))
        {
            if (cls != RhythmClass.AfAfl || to <= from) continue;
            if (spans.Count > 0 && from <= spans[^1].To) spans[^1] = (spans[^1].From, Math.Max(spans[^1].To, to));
            else spans.Add((from, to));
        }
        return spans;
    }

    private static bool Bridgeable(RhythmClass c) => c is RhythmClass.Noise or RhythmClass.VtVf;
}
