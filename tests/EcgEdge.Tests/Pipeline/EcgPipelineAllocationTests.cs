using EcgEdge.Acquisition.Replay;
using EcgEdge.Conditioning;
using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Inference;
using EcgEdge.Pipeline;

namespace EcgEdge.Tests.Pipeline;

/// <summary>The hot path (source → conditioning → quality → detection → windows) allocates nothing per block.</summary>
public class EcgPipelineAllocationTests
{
    private sealed class Observer(WindowAssembler windows) : IPipelineObserver
    {
        public long Beats, Windows;
        public void OnBeat(in DetectedBeat beat) => Beats++;
        public void OnBlockProcessed(SampleBlock conditioned) { if (windows.Push(conditioned)) Windows++; }
    }

    [Fact]
    public async Task Steady_state_processing_of_a_real_record_allocates_zero_bytes()
    {
        var record = Path.Combine(TestData.RepoRoot, "src", "EcgEdge", "Resources", "mitdb", "201");
        await using var source = new ReplaySource(new ReplayOptions { Record = record }, 500);
        var pipeline = new EcgPipeline(source.Info, new ConditioningOptions { MainsHz = 60 }, new QrsDetectorOptions(), 50);
        var windows = new WindowAssembler(500, 250, 2500, 1250, 1000, 0.001f, source.Info.Present);
        var observer = new Observer(windows);
        var block = new SampleBlock(50);
        // Warm-up: 60 s of signal (JIT, tiered compilation, first windows).
        for (var i = 0; i < 600; i++)
        {
            Assert.True(await source.ReadAsync(block, CancellationToken.None));
            pipeline.ProcessBlock(block, observer);
        }
        // Up to 3 stretches of 5 minutes of signal (the record has 30): the smallest must be 0 (Allocations.SmallestPerPass).
        // Checked after the measurement (an assertion inside it may allocate).
        var (allRead, fewestBeats) = (true, long.MaxValue);
        var windowsBefore = observer.Windows;
        var allocated = await Allocations.SmallestPerPassAsync(async () =>
        {
            var beatsBefore = observer.Beats;
            for (var i = 0; i < 3000; i++)
            {
                allRead &= await source.ReadAsync(block, CancellationToken.None);
                pipeline.ProcessBlock(block, observer);
            }
            fewestBeats = Math.Min(fewestBeats, observer.Beats - beatsBefore);
        }, warmups: 0, attempts: 3);
        Assert.True(allRead);
        Assert.True(fewestBeats > 250, $"{fewestBeats} beats in a 5-minute stretch: the measured stretch must contain real work");
        Assert.True(observer.Windows - windowsBefore >= 55, $"{observer.Windows - windowsBefore} windows"); // one per 5 s hop
        Assert.Equal(0, allocated);
    }
}
