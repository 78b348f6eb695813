using EcgEdge.Events.Alerts;
using EcgEdge.Wfdb;

namespace EcgEdge.Evaluation;

/// <summary>Reference episodes of one kind against the alarms, in record samples (sums over records).</summary>
public sealed class EpisodeTally
{
    public int ReferenceEpisodes, Detected, ReferenceEpisodesMin10s, DetectedMin10s, AlarmEpisodes, AlarmEpisodesTrue;
    public long ReferenceSamples, ReferenceCovered, AlarmSamples, AlarmOnReference;
    public double SampleRateHz;

    public double Se => ReferenceEpisodes == 0 ? double.NaN : 100.0 * Detected / ReferenceEpisodes;
    public double SeMin10s => ReferenceEpisodesMin10s == 0 ? double.NaN : 100.0 * DetectedMin10s / ReferenceEpisodesMin10s;
    public double Ppv => AlarmEpisodes == 0 ? double.NaN : 100.0 * AlarmEpisodesTrue / AlarmEpisodes;
    public double DurSe => ReferenceSamples == 0 ? double.NaN : 100.0 * ReferenceCovered / ReferenceSamples;
    public double DurPpv => AlarmSamples == 0 ? double.NaN : 100.0 * AlarmOnReference / AlarmSamples;

    public void Add(EpisodeTally o)
    {
        ReferenceEpisodes += o.ReferenceEpisodes;
        Detected += o.Detected;
        ReferenceEpisodesMin10s += o.ReferenceEpisodesMin10s;
        DetectedMin10s += o.DetectedMin10s;
        AlarmEpisodes += o.AlarmEpisodes;
        AlarmEpisodesTrue += o.AlarmEpisodesTrue;
        ReferenceSamples += o.ReferenceSamples;
        ReferenceCovered += o.ReferenceCovered;
        AlarmSamples += o.AlarmSamples;
        AlarmOnReference += o.AlarmOnReference;
    }
}

/// <summary>One alarm type's onsets against the reference (sums over records).</summary>
public sealed class AlarmTally
{
    public int Count, False;
    public double HoursOutsideReference;
    public readonly List<double> LatenciesS = [];

    public double FalsePerHour => HoursOutsideReference <= 0 ? double.NaN : False / HoursOutsideReference;

    public void Add(AlarmTally o)
    {
        Count += o.Count;
        False += o.False;
        HoursOutsideReference += o.HoursOutsideReference;
        LatenciesS.AddRange(o.LatenciesS);
    }
}

/// <summary>
/// Episode and alarm scoring of the device's alerts against reference rhythm annotations (the `eval` JSON's
/// <c>gross.episodes</c> and <c>gross.alarms</c>), for records with or without beat annotations:
/// <list type="bullet">
/// <item>Kinds: <c>af</c> = "(AFIB", "(AFL"; <c>vt</c> = "(VT"; <c>vf</c> = "(VF", "(VFL", "(VFIB" (ventricular flutter and
/// fibrillation). Each reference episode lasts until the next rhythm annotation.</item>
/// <item>A reference episode is detected when an alarm episode (onset to offset) of a detecting type overlaps it: AF
/// alarms for <c>af</c>; VT or VF alarms for <c>vt</c> and <c>vf</c> (a life-threatening ventricular alarm on either is the
/// right alarm). <c>se_min10s</c> counts the episodes of at least 10 s only.</item>
/// <item><c>ppv</c>, <c>dur_ppv</c>: alarm episodes of the kind's own type (AF, VT, VF) that overlap a reference episode
/// it may be right about (AF: AF; VT and VF: VT or VF), by count and by time.</item>
/// <item>Alarms per type: onsets; an onset is false when its episode overlaps no reference episode it may be right about;
/// false per hour of recording outside such episodes; latency: from the onset of the first reference episode it
/// overlaps to the moment it was raised (not its back-dated onset).</item>
/// </list>
/// </summary>
public static class EpisodeScoring
{
    public static bool IsAf(string? aux) => Clean(aux) is "(AFIB" or "(AFL";

    public static bool IsVt(string? aux) => Clean(aux) is "(VT";

    public static bool IsVf(string? aux) => Clean(aux) is "(VF" or "(VFL" or "(VFIB";

    private static string? Clean(string? aux) => aux?.TrimEnd('\0', ' ');

    public static readonly string[] Kinds = ["af", "vt", "vf"];

    /// <summary>Scores one record: per kind its episodes, per alarm type its onsets.</summary>
    public static (Dictionary<string, EpisodeTally> Episodes, Dictionary<string, AlarmTally> Alarms) Score(
        IReadOnlyList<WfdbAnnotation> reference, IReadOnlyList<(Alert Alert, long RaisedAt)> alerts, long recordLength, double fs)
    {
        var refOf = new Dictionary<string, List<Interval>>
        {
            ["af"] = RhythmScoring.ReferenceIntervals(reference, recordLength, IsAf),
            ["vt"] = RhythmScoring.ReferenceIntervals(reference, recordLength, IsVt),
            ["vf"] = RhythmScoring.ReferenceIntervals(reference, recordLength, IsVf),
        };
        var ventricular = RhythmScoring.Merge(refOf["vt"].Concat(refOf["vf"]));
        // alarm episodes by type: onset to offset (to the record's end when never closed)
        var episodes = new Dictionary<AlertType, List<(Interval Span, long RaisedAt)>>();
        foreach (var g in alerts.Where(a => a.Alert.Phase == AlertPhase.Onset))
        {
            var off = alerts.FirstOrDefault(x => x.Alert.EpisodeId == g.Alert.EpisodeId && x.Alert.Phase == AlertPhase.Offset).Alert?.Offset?.SampleIndex
                ?? recordLength;
            var span = new Interval(g.Alert.Onset.SampleIndex, Math.Max(off, g.Alert.Onset.SampleIndex + 1));
            if (!episodes.TryGetValue(g.Alert.Type, out var list)) episodes[g.Alert.Type] = list = [];
            list.Add((span, g.RaisedAt));
        }
        List<Interval> Spans(params AlertType[] types) =>
            RhythmScoring.Merge(types.Where(episodes.ContainsKey).SelectMany(t => episodes[t]).Select(e => e.Span));

        var result = new Dictionary<string, EpisodeTally>();
        foreach (var kind in Kinds)
        {
            var refs = refOf[kind];
            var (detecting, own, rightAbout) = kind switch
            {
                "af" => (Spans(AlertType.AtrialFibrillation), AlertType.AtrialFibrillation, refOf["af"]),
                "vt" => (Spans(AlertType.VentricularTachycardia, AlertType.VentricularFibrillation), AlertType.VentricularTachycardia, ventricular),
                _ => (Spans(AlertType.VentricularTachycardia, AlertType.VentricularFibrillation), AlertType.VentricularFibrillation, ventricular),
            };
            var t = new EpisodeTally { SampleRateHz = fs };
            foreach (var r in refs)
            {
                var hit = detecting.Any(d => Overlap(d, r) > 0);
                t.ReferenceEpisodes++;
                if (hit) t.Detected++;
                if (r.Length >= 10 * fs)
                {
                    t.ReferenceEpisodesMin10s++;
                    if (hit) t.DetectedMin10s++;
                }
                t.ReferenceSamples += r.Length;
                t.ReferenceCovered += detecting.Sum(d => Overlap(d, r));
            }
            var ownEpisodes = episodes.TryGetValue(own, out var oe) ? oe : [];
            foreach (var (span, _) in ownEpisodes)
            {
                t.AlarmEpisodes++;
                if (rightAbout.Any(r => Overlap(span, r) > 0)) t.AlarmEpisodesTrue++;
                t.AlarmSamples += span.Length;
                t.AlarmOnReference += rightAbout.Sum(r => Overlap(span, r));
            }
            result[kind] = t;
        }

        var alarms = new Dictionary<string, AlarmTally>();
        foreach (var (type, list) in episodes)
        {
            var rightAbout = type switch
            {
                AlertType.AtrialFibrillation => refOf["af"],
                AlertType.VentricularTachycardia or AlertType.VentricularFibrillation => ventricular,
                _ => null,
            };
            if (rightAbout is null) continue;  // pauses, rates, lead-off: no rhythm reference to score them against
            var a = new AlarmTally { HoursOutsideReference = (recordLength - rightAbout.Sum(r => r.Length)) / fs / 3600 };
            foreach (var (span, raisedAt) in list)
            {
                a.Count++;
                var first = rightAbout.Where(r => Overlap(span, r) > 0).OrderBy(r => r.From).FirstOrDefault();
                if (first.Length == 0) a.False++;
                else a.LatenciesS.Add(Math.Max(0, raisedAt - first.From) / fs);
            }
            alarms[type.ToString()] = a;
        }
        // every scored type appears, with zero counts when it never fired, so that "no alarm" is a result
        foreach (var t in new[] { AlertType.AtrialFibrillation, AlertType.VentricularTachycardia, AlertType.VentricularFibrillation })
        {
            if (alarms.ContainsKey(t.ToString())) continue;
            var rightAbout = t == AlertType.AtrialFibrillation ? refOf["af"] : ventricular;
            alarms[t.ToString()] = new AlarmTally { HoursOutsideReference = (recordLength - rightAbout.Sum(r => r.Length)) / fs / 3600 };
        }
        return (result, alarms);
    }

    private static long Overlap(Interval a, Interval b) => Math.Max(0, Math.Min(a.To, b.To) - Math.Max(a.From, b.From));
}
