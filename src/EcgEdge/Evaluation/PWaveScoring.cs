using EcgEdge.Inference.Rhythm;
using EcgEdge.Wfdb;

namespace EcgEdge.Evaluation;

/// <summary>P-wave detection against reference marks, pooled over records: counts and timing errors.</summary>
public sealed class PWaveTally
{
    /// <summary>Reference beats in the scored stretch, and of those, beats the detector found (within 150 ms).</summary>
    public int ReferenceBeats, MatchedBeats;

    /// <summary>Matched beats with a reference P wave; found (the detector's P within the tolerance of it); missed; detector P
    /// waves with no reference P within the tolerance (false).</summary>
    public int ReferenceP, Found, Missed, False;

    /// <summary>Matched beats whose P region the detector could not measure (too short a diastole).</summary>
    public int NotMeasurable;

    public readonly List<double> PeakErrorMs = [], OnsetErrorMs = [];

    public double Se => ReferenceP == 0 ? double.NaN : 100.0 * Found / ReferenceP;
    public double Ppv => Found + False == 0 ? double.NaN : 100.0 * Found / (Found + False);

    public void Add(PWaveTally o)
    {
        ReferenceBeats += o.ReferenceBeats;
        MatchedBeats += o.MatchedBeats;
        ReferenceP += o.ReferenceP;
        Found += o.Found;
        Missed += o.Missed;
        False += o.False;
        NotMeasurable += o.NotMeasurable;
        PeakErrorMs.AddRange(o.PeakErrorMs);
        OnsetErrorMs.AddRange(o.OnsetErrorMs);
    }
}

/// <summary>
/// Scores the device's per-beat P-wave detection (<see cref="AtrialActivity"/>, read through the pipeline) against
/// reference waveform marks in the WFDB convention of LUDB and the QT Database: '(' onset, 'p' peak, ')' end of a P
/// wave, a beat symbol at each QRS. A reference beat has a P wave when a 'p' lies in the 0.5 s before it (and after the
/// previous beat); the detector's beat is the one within 150 ms of the reference QRS; its P wave counts as found when
/// its peak lies within <see cref="ToleranceMs"/> of the reference peak, else as missed (and, if the detector claimed one,
/// false as well). Only the stretch the reference annotates is scored (first to last annotated QRS).
/// </summary>
public static class PWaveScoring
{
    public const double ToleranceMs = 80;
    private const double MatchMs = 150;

    public static PWaveTally Score(IReadOnlyList<WfdbAnnotation> reference, IReadOnlyList<(long RecordSample, AtrialMeasure Measure)> detected,
        double recordRateHz)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(detected);
        var t = new PWaveTally();
        var beats = reference.Where(a => a.IsBeat).Select(a => a.Sample).ToList();
        var peaks = reference.Where(a => a.Code == AnnotationCode.PWave).Select(a => a.Sample).ToList();
        // the onset of a P wave: the '(' just before its 'p'
        var onsets = new Dictionary<long, long>();
        long? lastOpen = null;
        foreach (var a in reference)
        {
            if (a.Code == AnnotationCode.WaveOnset) lastOpen = a.Sample;
            else if (a.Code == AnnotationCode.PWave) { if (lastOpen is long o) onsets[a.Sample] = o; lastOpen = null; }
            else if (a.IsBeat || a.Code == AnnotationCode.TWave) lastOpen = null;
        }
        var match = MatchMs / 1000 * recordRateHz;
        var tol = ToleranceMs / 1000 * recordRateHz;
        var det = detected.OrderBy(d => d.RecordSample).ToList();
        var di = 0;
        for (var k = 0; k < beats.Count; k++)
        {
            var r = beats[k];
            t.ReferenceBeats++;
            while (di < det.Count && det[di].RecordSample < r - match) di++;
            var best = -1;
            for (var j = di; j < det.Count && det[j].RecordSample <= r + match; j++)
                if (best < 0 || Math.Abs(det[j].RecordSample - r) < Math.Abs(det[best].RecordSample - r)) best = j;
            if (best < 0) continue;
            t.MatchedBeats++;
            var prev = k > 0 ? beats[k - 1] : long.MinValue;
            var limit = Math.Max(prev, r - (long)Math.Round(0.5 * recordRateHz));
            var refPeak = peaks.Where(p => p > limit && p < r).DefaultIfEmpty(-1).Max();
            var (R, m) = det[best];
            if (!m.Measurable) t.NotMeasurable++;
            var detPeak = m.PPresent ? R - m.PeakToRS * recordRateHz : double.NaN;
            if (refPeak >= 0)
            {
                t.ReferenceP++;
                if (m.PPresent && Math.Abs(detPeak - refPeak) <= tol)
                {
                    t.Found++;
                    t.PeakErrorMs.Add((detPeak - refPeak) * 1000 / recordRateHz);
                    if (onsets.TryGetValue(refPeak, out var refOnset))
                        t.OnsetErrorMs.Add((R - m.OnsetToRS * recordRateHz - refOnset) * 1000 / recordRateHz);
                }
                else
                {
                    t.Missed++;
                    if (m.PPresent) t.False++;
                }
            }
            else if (m.PPresent) t.False++;
        }
        return t;
    }
}
