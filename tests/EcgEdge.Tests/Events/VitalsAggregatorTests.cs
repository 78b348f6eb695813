using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Events;

namespace EcgEdge.Tests.Events;

public class VitalsAggregatorTests
{
    private sealed class Sink : IEventSink
    {
        public List<Vitals> Vitals { get; } = [];
        public List<QualityChange> Changes { get; } = [];
        public void Publish(Vitals vitals) => Vitals.Add(vitals);
        public void Publish(QualityChange change) => Changes.Add(change);
    }

    [Fact]
    public void One_vitals_per_period_with_the_beats_of_that_period_and_the_latest_quality()
    {
        var sink = new Sink();
        var agg = new VitalsAggregator(500, 10, sink);
        var q = new SignalQuality[Leads.Count];
        q[1] = SignalQuality.HighNoise;
        for (long t = 0; t < 500 * 25; t += 50)
        {
            if (t % 500 == 0) agg.OnBeat(new DetectedBeat(t, t + 100, 1.0, t < 2000 ? double.NaN : 60, 1, false));
            if (t == 6000) agg.OnQualityChanged(t, q);
            agg.Advance(t + 50);
        }
        Assert.Equal([5000L, 10000], sink.Vitals.Select(v => v.EndIndex));
        Assert.Equal([10L, 10], sink.Vitals.Select(v => v.Beats));
        Assert.Equal(60, sink.Vitals[0].HeartRateBpm);
        Assert.Equal(SignalQuality.HighNoise, sink.Vitals[1].Quality[1]);
        Assert.Single(sink.Changes);
    }
}
