using System.Text.Json.Serialization;

namespace EcgEdge.Events.Alerts;

/// <summary>Periodic vitals as published on <c>…/vitals</c> (QoS 0; schema docs/schemas/vitals.schema.json).</summary>
public sealed record VitalsMessage(string Schema, string Id, string DeviceId, TimePoint At, double PeriodS, double? HeartRateBpm,
    long Beats, long? Veb, long? Sveb, string? Rhythm, IReadOnlyDictionary<string, string> LeadState)
{
    public const string SchemaId = "ecgedge.vitals/1";
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(Alert))]
[JsonSerializable(typeof(EctopyTrend))]
[JsonSerializable(typeof(VitalsMessage))]
public sealed partial class MessageJsonContext : JsonSerializerContext;
