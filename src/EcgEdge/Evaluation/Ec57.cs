using EcgEdge.Wfdb;

namespace EcgEdge.Evaluation;

/// <summary>True positives, false negatives and false positives, with sensitivity and positive predictivity in %.</summary>
public readonly record struct DetectionCounts(long Tp, long Fn, long Fp)
{
    /// <summary>Sensitivity, % (NaN when there is nothing to detect).</summary>
    public double Se => Tp + Fn == 0 ? double.NaN : 100.0 * Tp / (Tp + Fn);

    /// <summary>Positive predictivity, % (NaN when nothing was detected).</summary>
    public double Ppv => Tp + Fp == 0 ? double.NaN : 100.0 * Tp / (Tp + Fp);

    public static DetectionCounts operator +(DetectionCounts a, DetectionCounts b) => new(a.Tp + b.Tp, a.Fn + b.Fn, a.Fp + b.Fp);
}

/// <summary>EC57 scoring settings.</summary>
public sealed record Ec57Settings
{
    /// <summary>Match window, seconds (EC57: 150 ms).</summary>
    public double MatchWindowSeconds { get; init; } = 0.150;

    /// <summary>Scoring starts this far into each record, seconds (EC57: 5 minutes of learning time).</summary>
    public double ScoreFromSeconds { get; init; } = 300;
}

/// <summary>
/// EC57 beat-by-beat QRS scoring of detected beat times against a reference annotation file.
/// Reference beats are the annotations WFDB counts as beats (<see cref="AnnotationCodes.IsBeat"/>). As in EC57/bxb,
/// beats inside ventricular flutter/fibrillation episodes (between '[' and ']' annotations) are excluded from both sides,
/// and only beats at or after <see cref="Ec57Settings.ScoreFromSeconds"/> are counted (a pair counts when its reference
/// beat does; an unpaired beat when it lies in the scored interval).
/// </summary>
public static class Ec57
{
    /// <summary>Scores <paramref name="detected"/> (record sample indices, sorted) against <paramref name="reference"/>.</summary>
    public static DetectionCounts ScoreQrs(IReadOnlyList<WfdbAnnotation> reference, ReadOnlySpan<long> detected, double sampleRateHz, Ec57Settings settings)
    {
        var vf = VfIntervals(reference);
        var refBeats = new List<long>(reference.Count);
        foreach (var a in reference)
            if (AnnotationCodes.IsBeat(a.Code) && !Inside(vf, a.Sample)) refBeats.Add(a.Sample);
        var testBeats = new List<long>(detected.Length);
        foreach (var t in detected)
            if (!Inside(vf, t)) testBeats.Add(t);
        return Score(refBeats.ToArray(), testBeats.ToArray(), sampleRateHz, settings);
    }

    /// <summary>Scores two sorted lists of beat times (samples at <paramref name="sampleRateHz"/>).</summary>
    public static DetectionCounts Score(ReadOnlySpan<long> reference, ReadOnlySpan<long> test, double sampleRateHz, Ec57Settings settings)
    {
        var window = (long)Math.Round(settings.MatchWindowSeconds * sampleRateHz);
        var from = (long)Math.Round(settings.ScoreFromSeconds * sampleRateHz);
        var m = BeatMatcher.Match(reference, test, window);
        long tp = 0, fn = 0, fp = 0;
        for (var i = 0; i < reference.Length; i++)
        {
            if (reference[i] < from) continue;
            if (m.ReferenceMatch[i] >= 0) tp++; else fn++;
        }
        for (var j = 0; j < test.Length; j++)
            if (test[j] >= from && m.TestMatch[j] < 0) fp++;
        return new DetectionCounts(tp, fn, fp);
    }

    /// <summary>Ventricular flutter/fibrillation episodes marked by '[' … ']' in the reference (an open episode runs to the end).</summary>
    public static List<(long From, long To)> VfIntervals(IReadOnlyList<WfdbAnnotation> reference)
    {
        var list = new List<(long, long)>();
        long? open = null;
        foreach (var a in reference)
        {
            if (a.Code == AnnotationCode.VfOnset) open ??= a.Sample;
            else if (a.Code == AnnotationCode.VfOffset && open is long s) { list.Add((s, a.Sample)); open = null; }
        }
        if (open is long o) list.Add((o, long.MaxValue));
        return list;
    }

    public static bool Inside(List<(long From, long To)> intervals, long t)
    {
        foreach (var (f, to) in intervals)
            if (t >= f && t <= to) return true;
        return false;
    }
}
