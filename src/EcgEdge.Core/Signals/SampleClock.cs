namespace EcgEdge.Core.Signals;

/// <summary>
/// Maps a pipeline sample index to UTC: the time of sample 0, the pipeline's sample rate, and the wall-clock scale of a
/// paced replay. A value, not a delegate, so that the event stage (EcgEdge.Events) and the MQTT sink (EcgEdge.Transport)
/// stamp their messages without calling back into whoever built them; it lives in Core because both see Core and
/// neither sees the other (nor EcgEdge.Pipeline, which references Events).
/// </summary>
/// <param name="StartUtc">The time of sample index 0.</param>
/// <param name="SampleRateHz">The pipeline's sample rate.</param>
/// <param name="WallScale">
/// Wall-clock seconds per signal second. 1 stamps signal time. A replay paced at Replay:Speed S plays S signal-seconds per
/// wall second: its timestamps follow the wall clock (1 / S; a clinician's page must not show onsets in the future),
/// while durations and rates stay in signal time. 0 stamps every index with <paramref name="StartUtc"/>.
/// </param>
public readonly record struct SampleClock(DateTimeOffset StartUtc, double SampleRateHz, double WallScale = 1)
{
    /// <summary>The UTC time of <paramref name="index"/>.</summary>
    public DateTimeOffset At(long index) => StartUtc.AddSeconds(index / SampleRateHz * WallScale);
}
