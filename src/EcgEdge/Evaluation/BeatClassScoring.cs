using EcgEdge.Inference;
using EcgEdge.Wfdb;

namespace EcgEdge.Evaluation;

/// <summary>
/// Beat-by-beat class comparison of one record (EC57 style): reference beats (AAMI class from the MIT code) are paired
/// with detected beats (class from the model) by <see cref="BeatMatcher"/>; pairs count in <see cref="Matched"/>
/// [reference, detected], unpaired reference beats in <see cref="Missed"/>, unpaired detections in <see cref="Extra"/>.
/// Class order N, S, V, F, Q.
/// </summary>
public sealed class BeatConfusion
{
    public const int Classes = 5;
    public long[,] Matched { get; } = new long[Classes, Classes];
    public long[] Missed { get; } = new long[Classes];
    public long[] Extra { get; } = new long[Classes];

    /// <summary>
    /// VEB statistics as EC57 defines them: TP = V classified V; FN = V classified otherwise or missed; FP = N or S
    /// classified V, and detections without a reference beat classified V. F and Q reference beats classified V count
    /// neither way (EC57 does not penalise calling a fusion or unclassifiable beat ventricular).
    /// </summary>
    public DetectionCounts Veb => Ectopic((int)BeatClass.V);

    /// <summary>SVEB statistics, the same rule for class S (FP = N or V classified S, and unmatched detections classified S).</summary>
    public DetectionCounts Sveb => Ectopic((int)BeatClass.S);

    private DetectionCounts Ectopic(int k)
    {
        long tp = Matched[k, k], fn = Missed[k], fp = Extra[k];
        for (var c = 0; c < Classes; c++)
            if (c != k) fn += Matched[k, c];
        for (var r = 0; r < Classes; r++)
            if (r != k && r is (int)BeatClass.N or (int)BeatClass.S or (int)BeatClass.V) fp += Matched[r, k];
        return new DetectionCounts(tp, fn, fp);
    }

    public void Add(BeatConfusion o)
    {
        for (var r = 0; r < Classes; r++)
        {
            Missed[r] += o.Missed[r];
            Extra[r] += o.Extra[r];
            for (var c = 0; c < Classes; c++) Matched[r, c] += o.Matched[r, c];
        }
    }

    public long[][] MatchedRows() => Enumerable.Range(0, Classes).Select(r => Enumerable.Range(0, Classes).Select(c => Matched[r, c]).ToArray()).ToArray();

    /// <summary>AAMI class of a MIT-BIH beat code; null for non-beat annotations.</summary>
    public static BeatClass? AamiOf(AnnotationCode code) => AnnotationCodes.AamiClass(code) switch
    {
        'N' => BeatClass.N,
        'S' => BeatClass.S,
        'V' => BeatClass.V,
        'F' => BeatClass.F,
        'Q' => BeatClass.Q,
        _ => null,
    };

    /// <summary>The MIT code written for a detected beat of class <paramref name="c"/> (N, A, V, F, Q).</summary>
    public static AnnotationCode MitCodeOf(BeatClass c) => c switch
    {
        BeatClass.N => AnnotationCode.Normal,
        BeatClass.S => AnnotationCode.Apc,
        BeatClass.V => AnnotationCode.Pvc,
        BeatClass.F => AnnotationCode.Fusion,
        _ => AnnotationCode.Unknown,
    };

    /// <summary>
    /// Scores classified detections (record samples, sorted) against the reference. Beats inside reference VF episodes
    /// are excluded from both sides; only beats at or after <paramref name="fromSample"/> count (as for QRS scoring).
    /// </summary>
    public static BeatConfusion Score(IReadOnlyList<WfdbAnnotation> reference, ReadOnlySpan<long> detected, ReadOnlySpan<BeatClass> detectedClass,
        long matchWindow, long fromSample)
    {
        var vf = Ec57.VfIntervals(reference);
        var refTimes = new List<long>(reference.Count);
        var refClass = new List<BeatClass>(reference.Count);
        foreach (var a in reference)
        {
            if (AamiOf(a.Code) is not { } k || Ec57.Inside(vf, a.Sample)) continue;
            refTimes.Add(a.Sample);
            refClass.Add(k);
        }
        var testTimes = new List<long>(detected.Length);
        var testClass = new List<BeatClass>(detected.Length);
        for (var j = 0; j < detected.Length; j++)
        {
            if (Ec57.Inside(vf, detected[j])) continue;
            testTimes.Add(detected[j]);
            testClass.Add(detectedClass[j]);
        }
        var m = BeatMatcher.Match(refTimes.ToArray(), testTimes.ToArray(), matchWindow);
        var result = new BeatConfusion();
        for (var i = 0; i < refTimes.Count; i++)
        {
            if (refTimes[i] < fromSample) continue;
            var j = m.ReferenceMatch[i];
            if (j >= 0) result.Matched[(int)refClass[i], (int)testClass[j]]++;
            else result.Missed[(int)refClass[i]]++;
        }
        for (var j = 0; j < testTimes.Count; j++)
            if (testTimes[j] >= fromSample && m.TestMatch[j] < 0) result.Extra[(int)testClass[j]]++;
        return result;
    }
}
