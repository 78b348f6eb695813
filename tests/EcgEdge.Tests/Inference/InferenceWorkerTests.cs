using EcgEdge.Acquisition.Replay;
using EcgEdge.Conditioning;
using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Inference;
using EcgEdge.Inference.Execution;
using EcgEdge.Inference.Model;
using EcgEdge.Pipeline;

namespace EcgEdge.Tests.Inference;

/// <summary>The dedicated inference thread: same results as inline inference, and acquisition never waits in drop mode.</summary>
public class InferenceWorkerTests
{
    private static readonly string Manifest = Path.Combine(ModelFiles.Shipped, "ecg-nat.manifest.json");
    private static readonly string Record201 = Path.Combine(TestData.RepoRoot, "src", "EcgEdge", "Resources", "mitdb", "201");

    /// <summary>Records every result and the names of the threads it arrived on.</summary>
    private sealed class Recorder : IPipelineObserver, IInferenceSink
    {
        public readonly List<(long Index, BeatClass Class, float P)> Beats = [];
        public readonly List<RhythmDecision> Rhythm = [];
        public readonly List<long> Windows = [];
        public readonly HashSet<string> Threads = [];
        /// <summary>Blocks the observer had seen processed when each beat class arrived: what the event stage sees.</summary>
        public readonly List<long> BeatArrival = [];
        private long _blocks;
        public void OnBeat(in DetectedBeat beat) { }
        public void OnBlockProcessed(SampleBlock conditioned) => _blocks++;
        public void OnBeatClassified(in ClassifiedBeat beat)
        {
            Threads.Add(Thread.CurrentThread.Name ?? "");
            Beats.Add((beat.Beat.SampleIndex, beat.Class, beat.Confidence));
            BeatArrival.Add(_blocks);
        }
        public void OnRhythm(in RhythmDecision decision, ReadOnlySpan<float> p) { Threads.Add(Thread.CurrentThread.Name ?? ""); Rhythm.Add(decision); }
        public void OnWindow(in WindowInference window, ReadOnlySpan<float> p) { Threads.Add(Thread.CurrentThread.Name ?? ""); Windows.Add(window.StartIndex); }
    }

    private static async Task<(Recorder Results, EcgPipeline Pipeline)> Run(EcgNatModel model, InferenceThreading threading, int blocks)
    {
        await using var source = new ReplaySource(new ReplayOptions { Record = Record201 }, 500);
        var pipeline = new EcgPipeline(source.Info, new ConditioningOptions { MainsHz = 60 }, new QrsDetectorOptions(), 50);
        var recorder = new Recorder();
        pipeline.AttachInference(model, 3, recorder, threading, InferenceOverload.Wait);
        var block = new SampleBlock(50);
        for (var i = 0; i < blocks && await source.ReadAsync(block, CancellationToken.None); i++) pipeline.ProcessBlock(block, recorder);
        pipeline.Complete(recorder);
        pipeline.Dispose();
        return (recorder, pipeline);
    }

    [Fact]
    public async Task On_its_own_thread_the_model_gives_exactly_the_inline_results_delivered_on_the_pipeline_thread()
    {
        using var model = ModelLoader.Load(Manifest, new InferenceOptions());
        var (inline, _) = await Run(model, InferenceThreading.Inline, 3000);       // 5 min of record 201
        var (dedicated, pipeline) = await Task.Run(() => Run(model, InferenceThreading.Dedicated, 3000));

        Assert.True(inline.Beats.Count > 300);
        Assert.Equal(inline.Beats, dedicated.Beats);
        Assert.Equal(inline.Rhythm, dedicated.Rhythm);
        Assert.Equal(inline.Windows, dedicated.Windows);
        // A replay that may wait (full speed) runs in lockstep: each result reaches the observers between the same
        // blocks as inline, so the event stage (alarms) sees the same sequence and a replay gives the same alerts.
        Assert.Equal(inline.BeatArrival, dedicated.BeatArrival);
        Assert.Equal(0, pipeline.InferenceThread!.BlocksDropped);
        // Every result reached the sink on the pipeline's thread(s), never on the inference thread.
        Assert.DoesNotContain("ecgedge-inference", dedicated.Threads);
    }

    /// <summary>Feeds a worker straight from a pipeline without the model (detected beats and conditioned blocks).</summary>
    private sealed class Feeder(Action<DetectedBeat> beat, Action<SampleBlock> block) : IPipelineObserver
    {
        public void OnBeat(in DetectedBeat b) => beat(b);
        public void OnBlockProcessed(SampleBlock conditioned) => block(conditioned);
    }

    [Fact]
    public async Task With_tiny_queues_waiting_mode_neither_deadlocks_nor_changes_a_result()
    {
        using var model = ModelLoader.Load(Manifest, new InferenceOptions());
        var (inline, _) = await Run(model, InferenceThreading.Inline, 1800);
        var recorder = new Recorder();
        await using var source = new ReplaySource(new ReplayOptions { Record = Record201 }, 500);
        var pipeline = new EcgPipeline(source.Info, new ConditioningOptions { MainsHz = 60 }, new QrsDetectorOptions(), 50);
        // 4 input slots and 2 result slots: the producer must deliver results while it waits for room.
        using var worker = InferenceWorker.Create(model, 500, pipeline.ConditioningDelaySamples, source.Info.Present, 3, recorder, 50,
            InferenceOverload.Wait, queueLength: 4, resultLength: 2);
        var feeder = new Feeder(b => worker.OnBeat(b), worker.Push);
        var block = new SampleBlock(50);
        var run = Task.Run(async () =>
        {
            for (var i = 0; i < 1800 && await source.ReadAsync(block, CancellationToken.None); i++) pipeline.ProcessBlock(block, feeder);
            pipeline.Complete(feeder);
            worker.Flush();
        });
        await run.WaitAsync(TimeSpan.FromMinutes(2)); // a deadlock fails here instead of hanging the suite
        Assert.Equal(inline.Beats, recorder.Beats);
        Assert.Equal(inline.Rhythm, recorder.Rhythm);
        Assert.True(worker.Waits > 0);
        Assert.Equal(0, worker.BlocksDropped);
    }

    [Fact]
    public async Task In_drop_mode_a_stalled_model_never_makes_acquisition_wait_and_every_drop_is_counted()
    {
        using var model = ModelLoader.Load(Manifest, new InferenceOptions());
        var recorder = new Recorder();
        await using var source = new ReplaySource(new ReplayOptions { Record = Record201 }, 500);
        var pipeline = new EcgPipeline(source.Info, new ConditioningOptions { MainsHz = 60 }, new QrsDetectorOptions(), 50);
        using var worker = InferenceWorker.Create(model, 500, pipeline.ConditioningDelaySamples, source.Info.Present, 3, recorder, 50,
            InferenceOverload.DropBlocks, queueLength: 8, resultLength: 2);
        // Results are not collected while the stream is fed: the inference thread stalls on its full result ring after
        // the first window, as if the model had hung. Acquisition must go on regardless.
        long pushed = 0;
        var feeder = new Feeder(b => worker.OnBeat(b), b => { worker.Push(b); pushed++; });
        var block = new SampleBlock(50);
        var run = Task.Run(async () =>
        {
            for (var i = 0; i < 1200 && await source.ReadAsync(block, CancellationToken.None); i++) pipeline.ProcessBlock(block, feeder);
        });
        await run.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(1200, pushed);
        Assert.Equal(0, worker.Waits);
        Assert.True(worker.BlocksDropped > 1000, $"dropped {worker.BlocksDropped}");
        Assert.True(worker.BeatsDropped > 0);
        // Once results are collected again the stage catches up: what it did analyse is delivered, nothing is lost silently.
        worker.Flush();
        Assert.NotEmpty(recorder.Windows);
        Assert.True(recorder.Windows.Count < 10);
    }

    [Fact]
    public async Task A_failure_on_the_inference_thread_surfaces_on_the_pipeline_thread()
    {
        var model = ModelLoader.Load(Manifest, new InferenceOptions());
        var recorder = new Recorder();
        await using var source = new ReplaySource(new ReplayOptions { Record = Record201 }, 500);
        var pipeline = new EcgPipeline(source.Info, new ConditioningOptions { MainsHz = 60 }, new QrsDetectorOptions(), 50);
        pipeline.AttachInference(model, 3, recorder, InferenceThreading.Dedicated, InferenceOverload.Wait);
        model.Dispose(); // the session is gone: the first window's run throws on the inference thread
        var block = new SampleBlock(50);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            for (var i = 0; i < 1200 && await source.ReadAsync(block, CancellationToken.None); i++) pipeline.ProcessBlock(block, recorder);
            pipeline.Complete(recorder);
        });
        Assert.Contains("inference thread failed", error.Message);
        pipeline.Dispose();
    }
}
