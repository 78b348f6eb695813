namespace EcgEdge.Events;

/// <summary>
/// The worker's health counters (metrics, health file) as the event stage updates them. Defined beside the
/// <see cref="Alerts.EventEngine"/>, which counts what reaches it: samples and beats from the pipeline, model runs from the
/// model's results; the worker's <c>WorkerHealth</c> implements it. Alerts are not counted here: the health counter is one
/// of the engine's alert sinks (<see cref="Alerts.IAlertSink"/>), placed first by the worker so that an alert is counted
/// before any other sink sees it. Called on the pipeline thread; nothing on the alert path depends on these calls.
/// </summary>
public interface IStageCounters
{
    /// <summary><paramref name="n"/> samples were processed; <paramref name="gapBefore"/> frames were lost at the source before them.</summary>
    void Samples(int n, int gapBefore);

    /// <summary>A beat was detected.</summary>
    void Beat();

    /// <summary>The model ran on a window in <paramref name="latencySeconds"/>.</summary>
    void Window(double latencySeconds);
}
