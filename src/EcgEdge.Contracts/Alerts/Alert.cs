using System.Text.Json.Serialization;
using EcgEdge.Core.Signals;

namespace EcgEdge.Events.Alerts;

/// <summary>Alert types (clinical criteria in docs/events.md).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AlertType>))]
public enum AlertType
{
    [JsonStringEnumMemberName("af")] AtrialFibrillation,
    [JsonStringEnumMemberName("vt")] VentricularTachycardia,
    [JsonStringEnumMemberName("vf")] VentricularFibrillation,
    [JsonStringEnumMemberName("pause")] Pause,
    [JsonStringEnumMemberName("asystole")] Asystole,
    [JsonStringEnumMemberName("bradycardia")] Bradycardia,
    [JsonStringEnumMemberName("tachycardia")] Tachycardia,
    [JsonStringEnumMemberName("lead_off")] LeadOff,
    [JsonStringEnumMemberName("signal_quality")] SignalQuality,
}

/// <summary>Alarm priority in the style of IEC 60601-1-8 (high: immediate response; medium: prompt; low: awareness).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AlertSeverity>))]
public enum AlertSeverity
{
    [JsonStringEnumMemberName("info")] Info,
    [JsonStringEnumMemberName("low")] Low,
    [JsonStringEnumMemberName("medium")] Medium,
    [JsonStringEnumMemberName("high")] High,
}

/// <summary>Whether the message opens, updates or closes a condition.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AlertPhase>))]
public enum AlertPhase
{
    [JsonStringEnumMemberName("onset")] Onset,
    [JsonStringEnumMemberName("update")] Update,
    [JsonStringEnumMemberName("offset")] Offset,
}

/// <summary>A point in time: UTC and the pipeline sample index (500 Hz since the worker started).</summary>
public sealed record TimePoint(DateTimeOffset Utc, long SampleIndex);

/// <summary>
/// An ECG strip in the shape of HL7 FHIR <c>SampledData</c>: <c>data</c> holds integers separated by single spaces,
/// interleaved by lead (<c>dimensions</c> = number of leads, in <c>leads</c> order); a value in millivolts is
/// <c>factor × integer</c>; consecutive samples are <c>periodMs</c> apart, the first at <c>origin</c>.
/// <c>eventOffsetS</c> is where the event's onset lies, seconds from the first sample.
/// </summary>
public sealed record Strip(
    TimePoint Origin,
    double PeriodMs,
    double Factor,
    string Unit,
    IReadOnlyList<string> Leads,
    int Dimensions,
    double EventOffsetS,
    string Data);

/// <summary>An alert as published on <c>{prefix}/{deviceId}/alerts</c> (schema docs/schemas/alert.schema.json).</summary>
public sealed record Alert(
    string Schema,
    string Id,
    string DeviceId,
    AlertType Type,
    AlertPhase Phase,
    AlertSeverity Severity,
    string EpisodeId,
    TimePoint Onset,
    TimePoint? Offset,
    double? DurationS,
    double? HeartRateBpm,
    double Confidence,
    string? ModelVersion,
    IReadOnlyDictionary<string, string> LeadState,
    string Criteria,
    Strip? Strip,
    string? EndedBy = null)
{
    /// <summary><see cref="EndedBy"/> of an offset sent because monitoring ended normally (stop, end of a recording).</summary>
    public const string MonitoringStopped = "monitoring_stopped";

    /// <summary><see cref="EndedBy"/> of an offset sent because monitoring was interrupted (source failure, lost samples, fatal error).</summary>
    public const string MonitoringInterrupted = "monitoring_interrupted";

    public const string SchemaId = "ecgedge.alert/1";

    /// <summary>
    /// An electrode's state as written in <see cref="LeadState"/> (and in vitals): "absent" (not acquired), "pending" (not
    /// judged yet), "ok" (judged, no problem) or the problems (<see cref="SignalQualityExtensions.StateName"/>).
    /// </summary>
    public static string LeadStateOf(SignalQuality quality) => quality.StateName();
}
