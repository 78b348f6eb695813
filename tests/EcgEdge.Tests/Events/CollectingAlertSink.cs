using EcgEdge.Events.Alerts;

namespace EcgEdge.Tests.Events;

/// <summary>Keeps every alert and trend the event engine publishes (thread-safe: a dedicated inference thread may publish).</summary>
internal sealed class CollectingAlertSink : IAlertSink
{
    public List<Alert> Alerts { get; } = [];
    public List<EctopyTrend> Trends { get; } = [];
    public void Publish(Alert alert) { lock (Alerts) Alerts.Add(alert); }
    public void Publish(EctopyTrend trend) { lock (Trends) Trends.Add(trend); }
}
