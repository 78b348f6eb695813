using EcgEdge.Events.Alerts;

namespace EcgEdge.Transport.Mqtt;

/// <summary>
/// The episodes that are open, derived from the alert stream alone (so the event engine need not know about it): an
/// onset or update alert opens or refreshes its episode (by <see cref="Alert.EpisodeId"/>), an offset closes it. The
/// engine has at most one episode per alert type, so the list stays small. Not thread-safe: fed on the pipeline thread.
/// </summary>
public sealed class ActiveEpisodes
{
    /// <summary>Longest criteria text kept per episode, so that the retained message stays small whatever an alert says.</summary>
    public const int MaxCriteriaChars = 300;

    private readonly List<ActiveEpisode> _open = [];

    public int Count => _open.Count;

    /// <summary>Applies one alert; true when the list changed (then it should be published again).</summary>
    public bool Apply(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var index = _open.FindIndex(e => e.EpisodeId == alert.EpisodeId);
        if (alert.Phase == AlertPhase.Offset)
        {
            // An offset of an episode this run never saw open (opened before a restart) changes nothing.
            if (index < 0) return false;
            _open.RemoveAt(index);
            return true;
        }
        var criteria = alert.Criteria.Length <= MaxCriteriaChars ? alert.Criteria : alert.Criteria[..(MaxCriteriaChars - 1)] + "…";
        var episode = new ActiveEpisode(alert.Id, alert.EpisodeId, alert.Type, alert.Phase, alert.Severity, alert.Onset, criteria);
        if (index >= 0) _open[index] = episode;
        else
        {
            // Ordered by onset, then by arrival: the oldest open episode first.
            var at = _open.FindIndex(e => e.Onset.SampleIndex > alert.Onset.SampleIndex);
            _open.Insert(at < 0 ? _open.Count : at, episode);
        }
        return true;
    }

    /// <summary>The list as a message (a copy: later alerts do not change it).</summary>
    public ActiveMessage Snapshot(string id, string deviceId, DateTimeOffset at) => new(ActiveMessage.SchemaId, id, deviceId, at, [.. _open]);
}
