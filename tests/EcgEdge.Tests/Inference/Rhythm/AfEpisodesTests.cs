using EcgEdge.Inference;
using EcgEdge.Inference.Rhythm;

namespace EcgEdge.Tests.Inference.Rhythm;

public class AfEpisodesTests
{
    private const double Fs = 100;

    /// <summary>Contiguous 5-s decisions from 0 s, one per class given.</summary>
    private static List<(long From, long To, RhythmClass Class)> Decisions(params RhythmClass[] classes) =>
        classes.Select((c, i) => ((long)(i * 5 * Fs), (long)((i + 1) * 5 * Fs), c)).ToList();

    private const RhythmClass S = RhythmClass.SinusOther, A = RhythmClass.AfAfl, N = RhythmClass.Noise, V = RhythmClass.VtVf;

    [Fact]
    public void Noise_and_ventricular_stretches_between_two_af_decisions_count_as_af()
    {
        var spans = AfEpisodes.Intervals(Decisions(S, A, A, N, V, N, A, S), Fs);
        Assert.Equal([(500L, 3500L)], spans);
    }

    [Fact]
    public void A_stretch_that_a_readable_non_af_rhythm_ends_or_that_opens_the_record_is_not_af()
    {
        Assert.Equal([(500L, 1000L)], AfEpisodes.Intervals(Decisions(S, A, N, N, S, S), Fs));
        Assert.Equal([(1000L, 1500L)], AfEpisodes.Intervals(Decisions(N, V, A, N), Fs));
        // sinus inside the stretch breaks it
        Assert.Equal([(0L, 500L), (2000L, 2500L)], AfEpisodes.Intervals(Decisions(A, N, S, N, A), Fs));
    }

    [Fact]
    public void Stretches_longer_than_the_bridge_or_with_a_gap_in_the_decisions_stay_as_decided()
    {
        var twelve = Enumerable.Repeat(N, 12).ToArray();        // 60 s: bridged
        Assert.Single(AfEpisodes.Intervals(Decisions([A, .. twelve, A]), Fs));
        var thirteen = Enumerable.Repeat(V, 13).ToArray();      // 65 s: not
        Assert.Equal(2, AfEpisodes.Intervals(Decisions([A, .. thirteen, A]), Fs).Count);
        var gap = Decisions(A, N, A);
        gap[1] = (gap[1].From + 100, gap[1].To, N);             // a stream restart: the decisions do not tile
        Assert.Equal(2, AfEpisodes.Intervals(gap, Fs).Count);
        // a zero bridge: the decisions alone
        Assert.Equal(Decisions(A, N, A), AfEpisodes.Relabel(Decisions(A, N, A), 0L));
    }

    [Fact]
    public void Relabel_changes_only_the_bridged_decisions_and_keeps_their_times()
    {
        var d = Decisions(S, A, V, A, N, S);
        var r = AfEpisodes.Relabel(d, Fs);
        Assert.Equal(d.Select(x => (x.From, x.To)), r.Select(x => (x.From, x.To)));
        Assert.Equal([S, A, A, A, N, S], r.Select(x => x.Class));
    }
}
