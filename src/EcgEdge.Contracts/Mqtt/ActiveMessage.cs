using System.Text.Json.Serialization;
using EcgEdge.Events.Alerts;

namespace EcgEdge.Transport.Mqtt;

/// <summary>One open episode in <see cref="ActiveMessage"/>: what its latest onset or update alert said.</summary>
/// <param name="AlertId">The latest onset/update alert of the episode (the one to acknowledge: an update that raised the
/// priority needs acknowledging again).</param>
/// <param name="Criteria">That alert's criteria, at most <c>ActiveEpisodes.MaxCriteriaChars</c> characters (the
/// alert itself carries the whole text).</param>
public sealed record ActiveEpisode(string AlertId, string EpisodeId, AlertType Type, AlertPhase Phase, AlertSeverity Severity, TimePoint Onset, string Criteria);

/// <summary>The open episodes of a device, published retained on <c>{prefix}/{deviceId}/active</c> (schema
/// docs/schemas/active.schema.json) so that a subscriber arriving mid-episode sees the episode.</summary>
/// <param name="At">When the worker made this list (its wall clock; the alert times of a replay run ahead of it).</param>
public sealed record ActiveMessage(string Schema, string Id, string DeviceId, DateTimeOffset At, IReadOnlyList<ActiveEpisode> Episodes)
{
    public const string SchemaId = "ecgedge.active/1";
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ActiveMessage))]
public sealed partial class ActiveJsonContext : JsonSerializerContext;
