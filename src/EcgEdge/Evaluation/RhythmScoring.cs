using EcgEdge.Inference;
using EcgEdge.Wfdb;

namespace EcgEdge.Evaluation;

/// <summary>A time interval [From, To) in record samples.</summary>
public readonly record struct Interval(long From, long To)
{
    public long Length => Math.Max(0, To - From);
}

/// <summary>Episode comparison of one rhythm class (EC57 <c>epicmp</c> style), in record samples.</summary>
/// <param name="ReferenceEpisodes">Reference episodes in the scored interval.</param>
/// <param name="ReferenceDetected">Of those, episodes overlapped by at least one detected episode.</param>
/// <param name="DetectedEpisodes">Detected episodes in the scored interval.</param>
/// <param name="DetectedTrue">Of those, episodes overlapping at least one reference episode.</param>
/// <param name="ReferenceSamples">Total reference episode duration.</param>
/// <param name="DetectedSamples">Total detected episode duration.</param>
/// <param name="OverlapSamples">Duration both call the class.</param>
public readonly record struct EpisodeCounts(long ReferenceEpisodes, long ReferenceDetected, long DetectedEpisodes, long DetectedTrue,
    long ReferenceSamples, long DetectedSamples, long OverlapSamples)
{
    public double EpisodeSe => ReferenceEpisodes == 0 ? double.NaN : 100.0 * ReferenceDetected / ReferenceEpisodes;
    public double EpisodePpv => DetectedEpisodes == 0 ? double.NaN : 100.0 * DetectedTrue / DetectedEpisodes;
    public double DurationSe => ReferenceSamples == 0 ? double.NaN : 100.0 * OverlapSamples / ReferenceSamples;
    public double DurationPpv => DetectedSamples == 0 ? double.NaN : 100.0 * OverlapSamples / DetectedSamples;

    public static EpisodeCounts operator +(EpisodeCounts a, EpisodeCounts b) => new(
        a.ReferenceEpisodes + b.ReferenceEpisodes, a.ReferenceDetected + b.ReferenceDetected, a.DetectedEpisodes + b.DetectedEpisodes,
        a.DetectedTrue + b.DetectedTrue, a.ReferenceSamples + b.ReferenceSamples, a.DetectedSamples + b.DetectedSamples,
        a.OverlapSamples + b.OverlapSamples);
}

/// <summary>Rhythm scoring against MIT-BIH rhythm annotations (code '+' with AUX "(AFIB", "(N", …).</summary>
public static class RhythmScoring
{
    /// <summary>True for AUX strings that count as AF: "(AFIB" and "(AFL".</summary>
    public static bool IsAf(string? aux) => Clean(aux) is "(AFIB" or "(AFL";

    /// <summary>True for ventricular tachyarrhythmia AUX strings: "(VT" and "(VFL".</summary>
    public static bool IsVt(string? aux) => Clean(aux) is "(VT" or "(VFL";

    private static string? Clean(string? aux) => aux?.TrimEnd('\0', ' ');

    /// <summary>Reference intervals of the rhythms <paramref name="select"/> accepts; each lasts until the next rhythm annotation or the record's end.</summary>
    public static List<Interval> ReferenceIntervals(IReadOnlyList<WfdbAnnotation> reference, long recordLength, Func<string?, bool> select)
    {
        var list = new List<Interval>();
        long? open = null;
        foreach (var a in reference)
        {
            if (a.Code != AnnotationCode.Rhythm) continue;
            if (open is long s) { list.Add(new Interval(s, a.Sample)); open = null; }
            if (select(a.Aux)) open = a.Sample;
        }
        if (open is long o) list.Add(new Interval(o, recordLength));
        return Merge(list);
    }

    /// <summary>Sorts and merges touching or overlapping intervals.</summary>
    public static List<Interval> Merge(IEnumerable<Interval> intervals)
    {
        var sorted = intervals.Where(i => i.To > i.From).OrderBy(i => i.From).ToList();
        var merged = new List<Interval>(sorted.Count);
        foreach (var i in sorted)
        {
            if (merged.Count > 0 && i.From <= merged[^1].To)
                merged[^1] = merged[^1] with { To = Math.Max(merged[^1].To, i.To) };
            else merged.Add(i);
        }
        return merged;
    }

    /// <summary>Compares merged reference and detected intervals inside [from, to).</summary>
    public static EpisodeCounts CompareEpisodes(List<Interval> reference, List<Interval> detected, long from, long to)
    {
        var r = Clip(reference, from, to);
        var d = Clip(detected, from, to);
        long overlap = 0;
        foreach (var a in r)
            foreach (var b in d)
                overlap += Math.Max(0, Math.Min(a.To, b.To) - Math.Max(a.From, b.From));
        static bool Overlaps(Interval a, List<Interval> set) => set.Any(b => Math.Min(a.To, b.To) > Math.Max(a.From, b.From));
        return new EpisodeCounts(r.Count, r.Count(a => Overlaps(a, d)), d.Count, d.Count(b => Overlaps(b, r)),
            r.Sum(a => a.Length), d.Sum(b => b.Length), overlap);
    }

    private static List<Interval> Clip(List<Interval> set, long from, long to) =>
        set.Select(i => new Interval(Math.Max(i.From, from), Math.Min(i.To, to))).Where(i => i.To > i.From).ToList();

    /// <summary>
    /// The reference rhythm of a window, as tools/train labels evaluation windows: ventricular tachyarrhythmia when it
    /// covers at least 2 s, else AF when AF covers at least half the window, else sinus/other.
    /// </summary>
    public static RhythmClass WindowLabel(List<Interval> af, List<Interval> vt, long from, long to, double sampleRateHz)
    {
        static long Cover(List<Interval> set, long f, long t) => set.Sum(i => Math.Max(0, Math.Min(i.To, t) - Math.Max(i.From, f)));
        if (Cover(vt, from, to) >= 2 * sampleRateHz) return RhythmClass.VtVf;
        return 2 * Cover(af, from, to) >= to - from ? RhythmClass.AfAfl : RhythmClass.SinusOther;
    }
}
