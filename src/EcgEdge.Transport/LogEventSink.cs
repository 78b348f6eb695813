using EcgEdge.Core.Signals;
using EcgEdge.Events;
using Microsoft.Extensions.Logging;

namespace EcgEdge.Transport;

/// <summary>Publishes events to the log (console / journald): the transport of the out-of-the-box configuration.</summary>
public sealed partial class LogEventSink(ILogger<LogEventSink> logger, double sampleRateHz) : IEventSink
{
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
            if (change.Quality[c] != SignalQuality.Absent) parts.Add($"{Leads.Name(c)}={change.Quality[c]}");
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
