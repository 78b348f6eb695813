namespace EcgEdge.Events.Alerts;

/// <summary>Receives the event engine's output (on the pipeline's thread; must not block for long).</summary>
public interface IAlertSink
{
    void Publish(Alert alert);

    void Publish(EctopyTrend trend);
}
