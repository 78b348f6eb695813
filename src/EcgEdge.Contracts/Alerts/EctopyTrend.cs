namespace EcgEdge.Events.Alerts;

/// <summary>Ectopy burden over an interval: a trend message, not an alarm (schema docs/schemas/trend.schema.json).</summary>
public sealed record EctopyTrend(string Schema, string Id, string DeviceId, TimePoint From, TimePoint To, double Hours,
    long Beats, long Veb, long Sveb, double VebPerHour, double SvebPerHour, double VebPercent, double SvebPercent, string? ModelVersion)
{
    public const string SchemaId = "ecgedge.trend/1";

    /// <summary>Runs of non-sustained VT in the interval (≥ VtMinBeats ventricular beats at ≥ VtMinRateBpm, short of the VT alarm).</summary>
    public long NsvtRuns { get; init; }

    /// <summary>The longest such run, beats (0 without any).</summary>
    public int LongestNsvtBeats { get; init; }
}
