using EcgEdge.Conditioning;
using EcgEdge.Core.Dsp;
using EcgEdge.Core.Signals;
using EcgEdge.Detection;

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
/// The device's processing chain, identical for <c>run</c>, <c>eval</c> and later verbs: source → conditioning
/// (<see cref="SignalConditioner"/>) with signal quality (<see cref="QualityMonitor"/>) → QRS detection
/// (<see cref="QrsDetector"/>). Only the source and the observer differ between uses. One block buffer is reused:
/// nothing is allocated per sample or per block.
/// </summary>
public sealed class EcgPipeline
{
    private readonly SignalConditioner _conditioner;
    private readonly QualityMonitor _quality;
    private readonly QrsDetector _detector;
    private readonly SampleBlock _block;
    private readonly CountingSink _counting;

    public EcgPipeline(SourceInfo source, ConditioningOptions conditioning, QrsDetectorOptions detection, int blockFrames)
    {
        Source = source;
        _conditioner = new SignalConditioner(conditioning, source.SampleRateHz);
        ConditioningDelaySamples = SosResponse.GroupDelaySamples(_conditioner.Sections, 12.0, source.SampleRateHz);
        _quality = new QualityMonitor(conditioning.Quality, source);
        _detector = new QrsDetector(detection, source.SampleRateHz, ConditioningDelaySamples, source.Present);
        _detector.UpdateQuality(_quality.Current);
        _block = new SampleBlock(blockFrames);
        _counting = new CountingSink();
    }

    public SourceInfo Source { get; }

    /// <summary>Group delay of the conditioning cascade at 12 Hz (the QRS band's centre), in samples.</summary>
    public double ConditioningDelaySamples { get; }

    public QualityMonitor Quality => _quality;
    public QrsDetector Detector => _detector;
    public PipelineStats Stats { get; } = new();

    /// <summary>Runs until the source ends or <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(ISampleSource source, IPipelineObserver observer, CancellationToken cancellationToken)
    {
        _counting.Inner = observer;
        _counting.Stats = Stats;
        while (await source.ReadAsync(_block, cancellationToken).ConfigureAwait(false))
        {
            ProcessBlock(_block, observer);
        }
        _detector.Flush(_counting);
    }

    /// <summary>Processes one block from a source (in place). Exposed for benchmarks and tests.</summary>
    public void ProcessBlock(SampleBlock block, IPipelineObserver observer)
    {
        _counting.Inner = observer;
        _counting.Stats = Stats;
        if (block.GapBefore > 0) { Stats.Gaps++; Stats.GapSamples += block.GapBefore; }
        _quality.ObserveRaw(block);
        _conditioner.Process(block);
        _quality.ObserveConditioned(block);
        if (_quality.Changed)
        {
            _detector.UpdateQuality(_quality.Current);
            observer.OnQualityChanged(block.StartIndex + block.Count, _quality.Current);
        }
        _detector.Process(block, _counting);
        Stats.Samples += block.Count;
        Stats.Blocks++;
        observer.OnBlockProcessed(block);
    }

    private sealed class CountingSink : IBeatSink
    {
        public IBeatSink? Inner;
        public PipelineStats? Stats;

        public void OnBeat(in DetectedBeat beat)
        {
            Stats!.Beats++;
            Inner!.OnBeat(beat);
        }
    }
}
