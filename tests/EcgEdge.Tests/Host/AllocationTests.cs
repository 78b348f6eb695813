using EcgEdge.Acquisition.Replay;
using EcgEdge.Conditioning;
using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Inference;
using EcgEdge.Pipeline;

namespace EcgEdge.Tests.Host;

/// <summary>The hot path (source → conditioning → quality → detection → windows) allocates nothing per block.</summary>
public class AllocationTests
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
        var before = GC.GetAllocatedBytesForCurrentThread();
        var beatsBefore = observer.Beats;
        for (var i = 0; i < 6000; i++) // 10 minutes of signal
        {
            Assert.True(await source.ReadAsync(block, CancellationToken.None));
            pipeline.ProcessBlock(block, observer);
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(observer.Beats - beatsBefore > 500, "the measured stretch must contain real work");
        Assert.True(observer.Windows > 100);
        Assert.Equal(0, allocated);
    }
}
