using EcgEdge.Events.Alerts;

namespace EcgEdge.Pipeline;

/// <summary>
/// The worker's health counters (metrics, health file) as the event stage updates them. Defined here so that the stage
/// does not depend on the host; the worker's <c>WorkerHealth</c> implements it. Called on the pipeline thread, except
/// <see cref="Window"/>, which comes from wherever the model's results are delivered.
/// </summary>
public interface IStageCounters
{
    /// <summary><paramref name="n"/> samples were processed; <paramref name="gapBefore"/> frames were lost at the source before them.</summary>
    void Samples(int n, int gapBefore);

    /// <summary>A beat was detected.</summary>
    void Beat();

    /// <summary>The model ran on a window in <paramref name="latencySeconds"/>.</summary>
    void Window(double latencySeconds);

    /// <summary>An alert message was published (counted before any sink is given it).</summary>
    void Alert(Alert alert);
}
