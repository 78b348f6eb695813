using EcgEdge.Acquisition.Replay;
using EcgEdge.Core.Signals;
using EcgEdge.Pipeline;

namespace EcgEdge.Strips;

/// <summary>
/// A strip of any moment of a record (not only of an alert): the record's segment replayed through the device's own
/// conditioning (the filters an alert's strip went through), so that a strip cut here looks like one the device sent.
/// </summary>
public static class RecordStrip
{
    /// <summary>Seconds replayed before the strip so that the filters have settled (the baseline filter's transient).</summary>
    public const double SettleSeconds = 5;

    /// <summary>
    /// Cuts <paramref name="seconds"/> of <paramref name="recordPath"/> starting <paramref name="atS"/> seconds from the
    /// record's first sample, conditioned, in millivolts, at the pipeline's rate. Leads: lead II first when present, then
    /// the others in the product's order (I, II, V1..V6), at most <paramref name="maxLeads"/>.
    /// </summary>
    /// <param name="eventS">Where to put the onset marker, seconds from the record's first sample (null: no marker).</param>
    /// <exception cref="ArgumentException">The segment is empty or lies outside the record; no lead is acquired.</exception>
    /// <exception cref="EcgEdge.Wfdb.WfdbFormatException">The record cannot be read.</exception>
    public static async Task<StripSignal> ExtractAsync(string recordPath, string? leads, double atS, double seconds, PipelineSettings settings,
        int maxLeads = 2, double? eventS = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (!(seconds > 0) || seconds > StripRenderer.MaxDurationS)
            throw new ArgumentException($"a strip lasts more than 0 and at most {StripRenderer.MaxDurationS} s, not {seconds}", nameof(seconds));
        if (!(atS >= 0)) throw new ArgumentException($"a strip starts at 0 s or later, not {atS}", nameof(atS));
        var rate = settings.Pipeline.SampleRateHz;
        var from = Math.Max(0, atS - SettleSeconds);
        var options = new ReplayOptions { Record = recordPath, Leads = leads, FromSeconds = from, ToSeconds = atS + seconds };
        await using var replay = new ReplaySource(options, rate);
        var lanes = Order(replay.Info.Present, maxLeads);
        if (lanes.Count == 0) throw new ArgumentException($"record '{recordPath}' feeds none of the leads");
        var capture = new Capture(lanes, (long)Math.Round((atS - from) * rate), (int)Math.Round(seconds * rate));
        var pipeline = new EcgPipeline(replay.Info, settings.Conditioning, settings.Detection, settings.Pipeline.BlockFrames);
        await pipeline.RunAsync(replay, capture, cancellationToken).ConfigureAwait(false);
        if (capture.Count == 0)
            throw new ArgumentException($"record '{recordPath}' has no signal at {atS} s (it lasts {(replay.Header.SampleCount ?? 0) / replay.RecordRateHz:0.#} s)");
        var mv = capture.Lanes.Select(l => l[..capture.Count]).ToArray();
        return new StripSignal(lanes.Select(c => Leads.Name(c)).ToArray(), mv, 1000 / rate, eventS is { } e ? e - atS : -1);
    }

    private static List<int> Order(IReadOnlyList<bool> present, int maxLeads)
    {
        var order = new List<int>();
        if (Leads.Count > 1 && present[1]) order.Add(1); // lead II: the rhythm lead
        for (var c = 0; c < present.Count; c++)
            if (present[c] && !order.Contains(c)) order.Add(c);
        return order.Take(Math.Max(1, maxLeads)).ToList();
    }

    /// <summary>Copies the conditioned samples of the strip's window (pipeline indices [skip, skip + length)) in mV.</summary>
    private sealed class Capture(List<int> channels, long skip, int length) : IPipelineObserver
    {
        public float[][] Lanes { get; } = channels.Select(_ => new float[length]).ToArray();
        public int Count { get; private set; }

        public void OnBeat(in EcgEdge.Detection.DetectedBeat beat) { }

        public void OnBlockProcessed(SampleBlock conditioned)
        {
            for (var i = 0; i < conditioned.Count; i++)
            {
                var index = conditioned.StartIndex + i - skip;
                if (index < 0 || index >= length) continue;
                for (var l = 0; l < channels.Count; l++) Lanes[l][index] = conditioned.Buffer(channels[l])[i] / 1000f;
                Count = Math.Max(Count, (int)index + 1);
            }
        }
    }
}
