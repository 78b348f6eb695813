using EcgEdge.Evaluation;
using EcgEdge.Inference.Rhythm;
using EcgEdge.Wfdb;

namespace EcgEdge.Tests.Evaluation;

public class PWaveScoringTests
{
    private static AtrialMeasure P(double peakToR, double onsetToR) =>
        new() { Measurable = true, PPresent = true, PeakToRS = (float)peakToR, OnsetToRS = (float)onsetToR };

    [Fact]
    public void Found_missed_and_false_p_waves_and_their_timing_errors()
    {
        const double fs = 500;
        // Reference: four beats at 1, 2, 3, 4 s; P waves ('(' onset, 'p' peak) before the first three.
        var reference = new List<WfdbAnnotation>();
        foreach (var (r, hasP) in new[] { (500L, true), (1000L, true), (1500L, true), (2000L, false) })
        {
            if (hasP)
            {
                reference.Add(new WfdbAnnotation(r - 100, AnnotationCode.WaveOnset));
                reference.Add(new WfdbAnnotation(r - 80, AnnotationCode.PWave));
                reference.Add(new WfdbAnnotation(r - 60, AnnotationCode.WaveOffset));
            }
            reference.Add(new WfdbAnnotation(r, AnnotationCode.Normal));
        }
        var detected = new List<(long, AtrialMeasure)>
        {
            (502, P(0.164, 0.204)),                                  // found: peak and onset where the reference has them
            (1000, P(0.30, 0.34)),                                   // a P 140 ms off the reference peak: missed and false
            (1500, new AtrialMeasure { Measurable = true }),         // no P found: missed
            (2001, P(0.16, 0.20)),                                   // a P where the reference has none: false
        };
        var t = PWaveScoring.Score(reference, detected, fs);
        Assert.Equal(4, t.ReferenceBeats);
        Assert.Equal(4, t.MatchedBeats);
        Assert.Equal(3, t.ReferenceP);
        Assert.Equal(1, t.Found);
        Assert.Equal(2, t.Missed);
        Assert.Equal(2, t.False);
        // beat at 502: P peak at 502 − 0.164·500 = 420 = the reference's 420; onset 502 − 102 = 400 = the reference's 400
        Assert.Equal(0, Assert.Single(t.PeakErrorMs), 3); // float seconds in the measure: µs
        Assert.Equal(0, Assert.Single(t.OnsetErrorMs), 3);
        Assert.Equal(100.0 / 3, t.Se, 6);
        Assert.Equal(100.0 / 3, t.Ppv, 6);
    }
}
