using EcgEdge.Core.Signals;
using EcgEdge.Events;
using EcgEdge.Events.Alerts;
using Microsoft.Extensions.Logging;

namespace EcgEdge.Transport;

/// <summary>Publishes events to the log (console / journald): the transport of the out-of-the-box configuration.</summary>
public sealed partial class LogEventSink(ILogger<LogEventSink> logger, double sampleRateHz) : IEventSink, IAlertSink
{
    public void Publish(Alert alert)
    {
        var t = alert.Onset.SampleIndex / sampleRateHz;
        var level = alert.Severity switch { AlertSeverity.High => LogLevel.Critical, AlertSeverity.Medium => LogLevel.Error, AlertSeverity.Low => LogLevel.Warning, _ => LogLevel.Information };
        if (alert.Phase == AlertPhase.Offset) level = LogLevel.Information;
        var duration = alert.DurationS is { } d ? d.ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + " s" : "ongoing";
        LogAlert(level, alert.Type.ToString(), alert.Phase.ToString().ToLowerInvariant(), alert.Severity.ToString().ToLowerInvariant(), t,
            duration, alert.Criteria, alert.Id);
    }

    public void Publish(EctopyTrend trend) => LogTrend(trend.To.SampleIndex / sampleRateHz, trend.Beats, trend.VebPerHour, trend.SvebPerHour, trend.VebPercent, trend.SvebPercent);

    [LoggerMessage(Message = "ALERT {Type} {Phase} [{Severity}] onset t={T:F1}s, {Duration}: {Criteria} (id {Id})")]
    private partial void LogAlert(LogLevel level, string type, string phase, string severity, double t, string duration, string criteria, string id);

    [LoggerMessage(Level = LogLevel.Information, Message = "t={T:F0}s ectopy trend: {Beats} beats, VEB {Veb:F0}/h, SVEB {Sveb:F0}/h ({VebPct:F1} % / {SvebPct:F1} %)")]
    private partial void LogTrend(double t, long beats, double veb, double sveb, double vebPct, double svebPct);

    public void Publish(Vitals vitals)
    {
        var t = vitals.EndIndex / sampleRateHz;
        if (double.IsNaN(vitals.HeartRateBpm)) LogLearning(t, vitals.Beats);
        else if (vitals.Rhythm is null) LogVitals(t, vitals.HeartRateBpm, vitals.Beats);
        else LogVitalsModel(t, vitals.HeartRateBpm, vitals.Beats, vitals.Rhythm, vitals.Veb ?? 0, vitals.Sveb ?? 0);
    }

    public void Publish(QualityChange change)
    {
        if (!logger.IsEnabled(LogLevel.Information)) return;
        var parts = new List<string>(Leads.Count);
        for (var c = 0; c < change.Quality.Count; c++)
            if (change.Quality[c] != SignalQuality.Absent) parts.Add($"{Leads.Name(c)}={change.Quality[c].StateName()}");
        LogQuality(change.SampleIndex / sampleRateHz, string.Join(" ", parts));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "t={T:F0}s heart rate {Hr:F0} bpm ({Beats} beats in interval)")]
    private partial void LogVitals(double t, double hr, long beats);

    [LoggerMessage(Level = LogLevel.Information, Message = "t={T:F0}s heart rate {Hr:F0} bpm ({Beats} beats in interval), rhythm {Rhythm}, VEB {Veb}, SVEB {Sveb}")]
    private partial void LogVitalsModel(double t, double hr, long beats, string rhythm, long veb, long sveb);

    [LoggerMessage(Level = LogLevel.Information, Message = "t={T:F0}s heart rate not known yet ({Beats} beats in interval)")]
    private partial void LogLearning(double t, long beats);

    [LoggerMessage(Level = LogLevel.Information, Message = "t={T:F1}s signal quality: {State}")]
    private partial void LogQuality(double t, string state);
}
