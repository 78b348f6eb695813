using EcgEdge.Acquisition.Replay;
using EcgEdge.Conditioning;
using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Events;
using EcgEdge.Pipeline;
using EcgEdge.Transport.Mqtt;

namespace EcgEdge.Tests.Events;

/// <summary>
/// A lead that does not exist is never reported "ok", and an acquired lead is "ok" only once the quality monitor has
/// judged it (issue 24: replaying a 2-lead record used to publish all eight leads as ok for 18 minutes).
/// </summary>
public class LeadStateTests
{
    private sealed class Sink : IEventSink
    {
        public List<Vitals> Vitals { get; } = [];
        public List<QualityChange> Changes { get; } = [];
        public void Publish(Vitals vitals) => Vitals.Add(vitals);
        public void Publish(QualityChange change) => Changes.Add(change);
    }

    private sealed class Observer(VitalsAggregator vitals) : IPipelineObserver
    {
        public void OnBeat(in DetectedBeat beat) => vitals.OnBeat(beat);
        public void OnQualityChanged(long sampleIndex, ReadOnlySpan<SignalQuality> quality) => vitals.OnQualityChanged(sampleIndex, quality);
        public void OnBlockProcessed(SampleBlock conditioned) => vitals.Advance(conditioned.StartIndex + conditioned.Count);
    }

    [Fact]
    public async Task A_two_lead_replay_reports_II_and_V1_and_every_other_lead_absent_from_the_first_vitals_on()
    {
        var record = Path.Combine(TestData.RepoRoot, "src", "EcgEdge", "Resources", "mitdb", "201");
        await using var source = new ReplaySource(new ReplayOptions { Record = record, RealTime = false, Loop = false }, 500);
        using var pipeline = new EcgPipeline(source.Info, new ConditioningOptions { MainsHz = 60 }, new QrsDetectorOptions(), 50);
        var sink = new Sink();
        // Vitals every 0.5 s, so that one is published before the quality monitor's first 2-s segment completes.
        var vitals = new VitalsAggregator(500, 0.5, sink);
        var block = new SampleBlock(50);
        while (await source.ReadAsync(block, CancellationToken.None) && block.StartIndex < 60 * 500)
            pipeline.ProcessBlock(block, new Observer(vitals));

        var states = sink.Vitals.Select(v => MqttEventSink.VitalsMessageOf(v, "dev", DateTimeOffset.UnixEpoch).LeadState).ToList();
        Assert.True(states.Count >= 100);
        string[] absent = ["I", "V2", "V3", "V4", "V5", "V6"];
        foreach (var s in states)
        {
            Assert.Equal(8, s.Count); // every lead is listed
            Assert.All(absent, l => Assert.Equal("absent", s[l]));
        }
        // Before the first 2-s segment is judged the two acquired leads are pending, never "ok".
        Assert.Equal("pending", states[0]["II"]);
        Assert.Equal("pending", states[0]["V1"]);
        // Once judged (clean record): ok.
        Assert.Equal("ok", states[^1]["II"]);
        Assert.Equal("ok", states[^1]["V1"]);
        // The initial verdicts were announced with the first block, not only at the first change.
        var first = sink.Changes[0];
        Assert.Equal(SignalQuality.Absent, first.Quality[(int)Lead.I]);
        Assert.Equal(SignalQuality.Unassessed, first.Quality[(int)Lead.II]);
    }

    [Theory]
    [InlineData(SignalQuality.Good, "ok")]
    [InlineData(SignalQuality.Unassessed, "pending")]
    [InlineData(SignalQuality.Absent, "absent")]
    [InlineData(SignalQuality.Absent | SignalQuality.Unassessed, "absent")]
    [InlineData(SignalQuality.LeadOff, "LeadOff")]
    [InlineData(SignalQuality.LeadOff | SignalQuality.Unassessed, "LeadOff")]
    [InlineData(SignalQuality.HighNoise, "HighNoise")]
    [InlineData(SignalQuality.FlatLine | SignalQuality.Saturated, "FlatLine, Saturated")]
    public void The_state_a_clinician_reads_is_ok_only_for_a_judged_lead_without_problems(SignalQuality q, string expected) =>
        Assert.Equal(expected, q.StateName());
}
