using EcgEdge.Core.Signals;

namespace EcgEdge.Events;

/// <summary>Periodic summary of the patient's state (published as a trend, never as an alarm).</summary>
/// <param name="EndIndex">Pipeline sample index at the end of the period.</param>
/// <param name="PeriodSeconds">Length of the period, seconds of signal.</param>
/// <param name="HeartRateBpm">Median heart rate of the last RR intervals, NaN when unknown.</param>
/// <param name="Beats">Beats detected in the period.</param>
/// <param name="Quality">Signal quality per channel at the end of the period (<see cref="Lead"/> order).</param>
public sealed record Vitals(long EndIndex, double PeriodSeconds, double HeartRateBpm, long Beats, IReadOnlyList<SignalQuality> Quality,
    long? Veb = null, long? Sveb = null, string? Rhythm = null);

/// <summary>A change of the signal-quality verdicts.</summary>
public sealed record QualityChange(long SampleIndex, IReadOnlyList<SignalQuality> Quality);

/// <summary>Where events go (console, MQTT, tests). Called on the pipeline thread; implementations must not block it.</summary>
public interface IEventSink
{
    void Publish(Vitals vitals);
    void Publish(QualityChange change);
}
