namespace EcgEdge.Detection;

/// <summary>A QRS complex found by the detector.</summary>
/// <param name="SampleIndex">Pipeline sample index of the R peak (conditioning delay compensated).</param>
/// <param name="DetectedAtIndex">Sample index at which the detector decided (SampleIndex + latency).</param>
/// <param name="RrSeconds">Interval from the previous beat, or NaN for the first beat after a start or a gap.</param>
/// <param name="HeartRateBpm">Heart rate from the median of the last RR intervals, or NaN while unknown.</param>
/// <param name="Strength">Detection feature at the peak relative to the signal level (about 1 for a typical beat).</param>
/// <param name="SearchBack">True when found by search-back (below the regular threshold).</param>
public readonly record struct DetectedBeat(
    long SampleIndex,
    long DetectedAtIndex,
    double RrSeconds,
    double HeartRateBpm,
    float Strength,
    bool SearchBack);

/// <summary>Receives beats in time order, on the pipeline thread. Implementations must not block.</summary>
public interface IBeatSink
{
    void OnBeat(in DetectedBeat beat);
}
