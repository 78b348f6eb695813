using EcgEdge.Conditioning;
using EcgEdge.Core.Dsp;
using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Inference;
using EcgEdge.Inference.Model;

namespace EcgEdge.Pipeline;

/// <summary>Receives what the pipeline produces, on the pipeline's thread. Must not block.</summary>
public interface IPipelineObserver : IBeatSink
{
    /// <summary>Signal-quality verdicts changed (per channel, <see cref="Lead"/> order).</summary>
    void OnQualityChanged(long sampleIndex, ReadOnlySpan<SignalQuality> quality) { }

    /// <summary>A block has been conditioned and scanned for beats.</summary>
    void OnBlockProcessed(SampleBlock conditioned) { }
}

/// <summary>Counters of one pipeline run.</summary>
public sealed class PipelineStats
{
    public long Samples { get; internal set; }
    public long Blocks { get; internal set; }
    public long Beats { get; internal set; }
    public long Gaps { get; internal set; }
    public long GapSamples { get; internal set; }
}

/// <summary>
/// The device's processing chain, identical for <c>run</c>, <c>eval</c>, <c>analyze</c> and <c>bench</c>: source →
/// conditioning (<see cref="SignalConditioner"/>) with signal quality (<see cref="QualityMonitor"/>) → QRS detection
/// (<see cref="QrsDetector"/>) → optionally the model (<see cref="InferenceStage"/>: beat classes, rhythm). Only the
/// source and the observers differ between uses. One block buffer is reused: nothing is allocated per sample, per
/// block or per window.
/// </summary>
public sealed class EcgPipeline : IDisposable
{
    private readonly SignalConditioner _conditioner;
    private readonly QualityMonitor _quality;
    private readonly QrsDetector _detector;
    private readonly SampleBlock _block;
    private InferenceWorker? _worker;
    private InferenceOverload _overload;
    private bool _qualityAnnounced;

    public EcgPipeline(SourceInfo source, ConditioningOptions conditioning, QrsDetectorOptions detection, int blockFrames)
    {
        Source = source;
        _conditioner = new SignalConditioner(conditioning, source.SampleRateHz);
        ConditioningDelaySamples = SosResponse.GroupDelaySamples(_conditioner.Sections, 12.0, source.SampleRateHz);
        _quality = new QualityMonitor(conditioning.Quality, source);
        _detector = new QrsDetector(detection, source.SampleRateHz, ConditioningDelaySamples, source.Present);
        _detector.UpdateQuality(_quality.Current);
        _block = new SampleBlock(blockFrames);
    }

    public SourceInfo Source { get; }

    /// <summary>Group delay of the conditioning cascade at 12 Hz (the QRS band's centre), in samples.</summary>
    public double ConditioningDelaySamples { get; }

    public QualityMonitor Quality => _quality;

    /// <summary>The inference stage, when attached.</summary>
    public InferenceStage? Inference { get; private set; }

    /// <summary>
    /// Adds the model after detection: every detected beat is classified and the rhythm decided; results go to
    /// <paramref name="sink"/>, always on the pipeline's thread. With <see cref="InferenceThreading.Dedicated"/> the model
    /// runs on its own thread (see <see cref="InferenceWorker"/>; <paramref name="overload"/> says what happens when it
    /// falls behind), so a live source never waits for a model run; a source that may wait
    /// (<see cref="InferenceOverload.Wait"/>, a full-speed replay) runs it in lockstep, so that its results, and the
    /// alerts built on them, are those of inline inference. The model is borrowed (the caller disposes it).
    /// </summary>
    public InferenceStage AttachInference(EcgNatModel model, int rhythmSmoothingWindows, IInferenceSink sink,
        InferenceThreading threading = InferenceThreading.Inline, InferenceOverload overload = InferenceOverload.Wait)
    {
        if (Inference is not null) throw new InvalidOperationException("inference is already attached");
        if (threading == InferenceThreading.Dedicated)
        {
            _worker = InferenceWorker.Create(model, Source.SampleRateHz, ConditioningDelaySamples, Source.Present, rhythmSmoothingWindows, sink,
                _block.Capacity, overload);
            _overload = overload;
            _worker.ModelSwapped += (old, next) => ModelSwapped?.Invoke(old, next);
            Inference = _worker.Stage;
        }
        else
        {
            Inference = new InferenceStage(model, Source.SampleRateHz, ConditioningDelaySamples, Source.Present, rhythmSmoothingWindows, sink);
            Inference.ModelSwapped += (old, next) => ModelSwapped?.Invoke(old, next);
        }
        return Inference;
    }

    /// <summary>The dedicated inference thread's queue, when inference runs on one (drop and wait counters).</summary>
    public InferenceWorker? InferenceThread => _worker;

    /// <summary>Raised on the pipeline's thread when the inference stage has swapped models (old, new): the receiver owns the old one.</summary>
    public event Action<EcgNatModel, EcgNatModel>? ModelSwapped;

    public QrsDetector Detector => _detector;
    public PipelineStats Stats { get; } = new();

    /// <summary>Runs until the source ends or <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(ISampleSource source, IPipelineObserver observer, CancellationToken cancellationToken)
    {
        while (await source.ReadAsync(_block, cancellationToken).ConfigureAwait(false))
        {
            ProcessBlock(_block, observer);
        }
        Complete(observer);
    }

    /// <summary>
    /// End of stream: the detector's last beats, then the model's last windows (waiting for the inference thread to finish
    /// what is queued); every result is delivered before this returns.
    /// </summary>
    public void Complete(IPipelineObserver observer)
    {
        HandOn(_detector.Flush(), observer);
        if (_worker is not null) _worker.Flush();
        else Inference?.Flush();
    }

    /// <summary>Stops the inference thread, if any (what is still queued is not analysed).</summary>
    public void Dispose() => _worker?.Dispose();

    /// <summary>Processes one block from a source (in place). Exposed for benchmarks and tests.</summary>
    public void ProcessBlock(SampleBlock block, IPipelineObserver observer)
    {
        if (block.GapBefore > 0) { Stats.Gaps++; Stats.GapSamples += block.GapBefore; }
        _quality.ObserveRaw(block);
        _conditioner.Process(block);
        _quality.ObserveConditioned(block);
        // The first block announces the initial verdicts too (absent channels, acquired ones still pending), so that no
        // observer starts from an assumed "ok".
        if (_quality.Changed || !_qualityAnnounced)
        {
            _qualityAnnounced = true;
            _detector.UpdateQuality(_quality.Current);
            observer.OnQualityChanged(block.StartIndex + block.Count, _quality.Current);
        }
        HandOn(_detector.Process(block), observer);
        if (_worker is not null)
        {
            _worker.Push(block);
            // a source that may wait (full-speed replay) runs the model in lockstep: results arrive where inline
            // inference delivers them, so events do not depend on thread timing; a live source never waits here
            if (_overload == InferenceOverload.Wait) _worker.WaitIdle();
            else _worker.DrainResults();
        }
        else
        {
            Inference?.Push(block);
        }
        Stats.Samples += block.Count;
        Stats.Blocks++;
        observer.OnBlockProcessed(block);
    }

    // The beats the detector returned for this block (its buffer, read before the next block): each counted, then to the
    // observer and to the model (its input ring, when it runs on its own thread), in time order — the order in which the
    // detector found them, before the block itself reaches the model.
    private void HandOn(ReadOnlySpan<DetectedBeat> beats, IPipelineObserver observer)
    {
        foreach (ref readonly var beat in beats)
        {
            Stats.Beats++;
            observer.OnBeat(beat);
            if (_worker is not null) _worker.OnBeat(beat);
            else Inference?.OnBeat(beat);
        }
    }
}
