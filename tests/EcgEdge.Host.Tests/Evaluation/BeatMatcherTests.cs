using EcgEdge.Evaluation;
using EcgEdge.Wfdb;

namespace EcgEdge.Tests.Evaluation;

public class BeatMatcherTests
{
    private static readonly Ec57Settings FromStart = new() { ScoreFromSeconds = 0 };

    [Fact]
    public void Exact_and_near_matches_are_true_positives()
    {
        // 1000 Hz: window 150 samples.
        long[] reference = [1000, 2000, 3000, 4000];
        long[] test = [1000, 2149, 2851 + 300, 4000];
        var c = Ec57.Score(reference, test, 1000, FromStart);
        Assert.Equal(new DetectionCounts(3, 1, 1), c); // 3151 is 151 ms late: one miss, one false detection
    }

    [Fact]
    public void Boundary_of_the_window_is_inclusive()
    {
        var c = Ec57.Score([1000], [1150], 1000, FromStart);
        Assert.Equal(new DetectionCounts(1, 0, 0), c);
        c = Ec57.Score([1000], [849], 1000, FromStart);
        Assert.Equal(new DetectionCounts(0, 1, 1), c);
    }

    [Fact]
    public void Two_detections_for_one_beat_pair_the_closer_one()
    {
        var m = BeatMatcher.Match([1000], [950, 1010], 150);
        Assert.Equal([1], m.ReferenceMatch);
        Assert.Equal([-1, 0], m.TestMatch);
        Assert.Equal(new DetectionCounts(1, 0, 1), Ec57.Score([1000], [950, 1010], 1000, FromStart));
    }

    [Fact]
    public void One_detection_between_two_beats_pairs_the_closer_beat()
    {
        var m = BeatMatcher.Match([1000, 1200], [1120], 150);
        Assert.Equal([-1, 0], m.ReferenceMatch);
        Assert.Equal(new DetectionCounts(1, 1, 0), Ec57.Score([1000, 1200], [1120], 1000, FromStart));
    }

    [Fact]
    public void Empty_sides()
    {
        Assert.Equal(new DetectionCounts(0, 3, 0), Ec57.Score([1, 500, 900], [], 1000, FromStart));
        Assert.Equal(new DetectionCounts(0, 0, 2), Ec57.Score([], [1, 500], 1000, FromStart));
        var none = Ec57.Score([], [], 1000, FromStart);
        Assert.True(double.IsNaN(none.Se) && double.IsNaN(none.Ppv));
    }

    [Fact]
    public void Only_beats_from_the_scoring_start_count()
    {
        // 360 Hz, scoring from 300 s = sample 108000.
        long[] reference = [100, 107990, 108000, 109000, 110000];
        long[] test = [5000, 108010, 109000, 111000];
        var c = Ec57.Score(reference, test, 360, new Ec57Settings());
        // 108000 matched (108010); 109000 matched; 110000 missed; 111000 false; 5000 and 100 ignored;
        // 107990 (before start) is paired with nothing counted.
        Assert.Equal(new DetectionCounts(2, 1, 1), c);
    }

    [Fact]
    public void Beats_inside_ventricular_flutter_episodes_are_excluded()
    {
        var reference = new List<WfdbAnnotation>
        {
            new(1000, AnnotationCode.Normal),
            new(2000, AnnotationCode.VfOnset),
            new(2100, AnnotationCode.Pvc),
            new(2500, AnnotationCode.VfOffset),
            new(3000, AnnotationCode.Normal),
            new(3500, AnnotationCode.Rhythm, Aux: "(N"),
            new(4000, AnnotationCode.Normal),
        };
        long[] detected = [1000, 2200, 2300, 3010, 4500];
        var c = Ec57.ScoreQrs(reference, detected, 1000, FromStart);
        // In VF: 2100 (reference) and 2200/2300 (test) ignored. Non-beat '+' is not a beat. 4000 missed, 4500 false.
        Assert.Equal(new DetectionCounts(2, 1, 1), c);
        Assert.Equal(200.0 / 3, Ec57.ScoreQrs(reference, [1000, 3000], 1000, FromStart).Se, 9);
    }

    [Fact]
    public void Unsorted_input_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => BeatMatcher.Match([2, 1], [], 10));
    }
}
