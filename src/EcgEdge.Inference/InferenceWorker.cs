using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Inference.Model;

namespace EcgEdge.Inference;

/// <summary>Where the model runs relative to acquisition.</summary>
public enum InferenceThreading
{
    /// <summary>On the pipeline's thread, at the block that completes a window (deterministic; eval, analyze, bench 1-thread).</summary>
    Inline,

    /// <summary>On a dedicated thread fed through a bounded queue, so a model run never delays acquisition (run).</summary>
    Dedicated,
}

/// <summary>What the pipeline does when the dedicated inference thread has fallen a whole queue behind.</summary>
public enum InferenceOverload
{
    /// <summary>Wait for room (file replays at full speed: the source can wait, nothing is lost).</summary>
    Wait,

    /// <summary>
    /// Never wait: the block is not analysed (counted in <see cref="InferenceWorker.BlocksDropped"/>); the model sees a gap
    /// and starts a new run after it. Live sources (ADS1298, paced replay): acquisition must keep pace with the chip.
    /// </summary>
    DropBlocks,
}

/// <summary>
/// Runs an <see cref="InferenceStage"/> on its own thread. The pipeline thread hands over conditioned blocks and
/// detected beats (copied into preallocated slots of a bounded ring, in stream order) and collects the stage's results
/// (beat classes, rhythm decisions, window runs, model swaps) with <see cref="DrainResults"/>, so every result still
/// reaches its <see cref="IInferenceSink"/> on the pipeline's thread and in the same order as inline inference would
/// deliver it — only later, by the model's latency. The stage sees exactly the calls it would see inline, so
/// decisions are identical. Allocation-free after construction.
/// <para>With <see cref="InferenceOverload.Wait"/> (a replay at full speed) the pipeline runs it in lockstep
/// (<see cref="WaitIdle"/> after each block): the results also reach the sink between the same blocks as inline, so the
/// event stage sees exactly the inline sequence and a replay's alerts do not depend on thread timing. A live source
/// (<see cref="InferenceOverload.DropBlocks"/>) never waits: its results arrive a block or more later than inline.</para>
/// <para>Overload (the model slower than the signal, e.g. full-speed replay): see <see cref="InferenceOverload"/>.
/// A failure on the inference thread is rethrown on the pipeline thread at its next call.</para>
/// </summary>
public sealed class InferenceWorker : IBeatSink, IDisposable
{
    private enum InputKind : byte { Block, Beat, Flush }
    private enum ResultKind : byte { Beat, Rhythm, Window, Swap }

    private readonly object _gate = new();
    private readonly InferenceStage _stage;
    private readonly IInferenceSink _sink;
    private readonly InferenceOverload _overload;

    // Input ring (pipeline thread → inference thread).
    private readonly InputKind[] _inKind;
    private readonly SampleBlock[] _inBlock;
    private readonly DetectedBeat[] _inBeat;
    private int _inHead, _inCount;

    // Result ring (inference thread → pipeline thread).
    private readonly ResultKind[] _outKind;
    private readonly ClassifiedBeat[] _outBeat;
    private readonly RhythmDecision[] _outRhythm;
    private readonly WindowInference[] _outWindow;
    private readonly float[][] _outProbs;
    private readonly EcgNatModel?[] _outOld, _outNew;
    private int _outHead, _outCount;

    private readonly Thread _thread;
    private bool _stopping;
    private Exception? _failure;
    private long _flushRequested, _flushDone;

    private InferenceWorker(Func<IInferenceSink, InferenceStage> stageFactory, IInferenceSink sink, int blockCapacity,
        int rhythmClasses, InferenceOverload overload, int queueLength, int resultLength)
    {
        _sink = sink;
        _overload = overload;
        _inKind = new InputKind[queueLength];
        _inBlock = new SampleBlock[queueLength];
        _inBeat = new DetectedBeat[queueLength];
        for (var i = 0; i < queueLength; i++) _inBlock[i] = new SampleBlock(blockCapacity);
        _outKind = new ResultKind[resultLength];
        _outBeat = new ClassifiedBeat[resultLength];
        _outRhythm = new RhythmDecision[resultLength];
        _outWindow = new WindowInference[resultLength];
        _outProbs = new float[resultLength][];
        for (var i = 0; i < resultLength; i++) _outProbs[i] = new float[rhythmClasses];
        _outOld = new EcgNatModel?[resultLength];
        _outNew = new EcgNatModel?[resultLength];
        _stage = stageFactory(new ResultSink(this));
        _stage.ModelSwapped += (old, next) =>
        {
            var slot = Reserve();
            if (slot < 0) return;
            _outKind[slot] = ResultKind.Swap;
            _outOld[slot] = old;
            _outNew[slot] = next;
            Publish();
        };
        _thread = new Thread(Loop) { IsBackground = true, Name = "ecgedge-inference", Priority = ThreadPriority.BelowNormal };
        _thread.Start();
    }

    /// <summary>
    /// A worker driving a new <see cref="InferenceStage"/> (same arguments as the stage's constructor); results go to
    /// <paramref name="sink"/> from <see cref="DrainResults"/>. <paramref name="queueLength"/> slots of
    /// <paramref name="blockCapacity"/> frames each (blocks and beats share them).
    /// </summary>
    public static InferenceWorker Create(EcgNatModel model, double pipelineRateHz, double beatShiftSamples, IReadOnlyList<bool> present,
        int smoothingWindows, IInferenceSink sink, int blockCapacity, InferenceOverload overload, int queueLength = 512, int resultLength = 1024)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentOutOfRangeException.ThrowIfLessThan(queueLength, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(resultLength, 2);
        return new InferenceWorker(s => new InferenceStage(model, pipelineRateHz, beatShiftSamples, present, smoothingWindows, s),
            sink, blockCapacity, model.Contract.RhythmClasses.Length, overload, queueLength, resultLength);
    }

    /// <summary>The stage (counters, model, <see cref="InferenceStage.RequestModelSwap"/>). Do not call Push/OnBeat/Flush on it.</summary>
    public InferenceStage Stage => _stage;

    /// <summary>Raised on the pipeline thread (from <see cref="DrainResults"/>) after the stage swapped models (old, new).</summary>
    public event Action<EcgNatModel, EcgNatModel>? ModelSwapped;

    /// <summary>Blocks not analysed because the queue was full (<see cref="InferenceOverload.DropBlocks"/>).</summary>
    public long BlocksDropped { get; private set; }

    /// <summary>Beats not queued because the queue was full; they are counted by the detector but get no class.</summary>
    public long BeatsDropped { get; private set; }

    /// <summary>Times the pipeline thread waited for room (<see cref="InferenceOverload.Wait"/>).</summary>
    public long Waits { get; private set; }

    /// <summary>Copies a conditioned block into the queue (pipeline thread).</summary>
    public void Push(SampleBlock conditioned)
    {
        if (conditioned.Count == 0) return;
        if (conditioned.Count > _inBlock[0].Capacity)
            throw new ArgumentException($"block of {conditioned.Count} frames exceeds the worker's slot capacity {_inBlock[0].Capacity}", nameof(conditioned));
        if (!TryReserve(out var slot, _overload == InferenceOverload.Wait)) { BlocksDropped++; return; }
        _inKind[slot] = InputKind.Block;
        _inBlock[slot].CopyFrom(conditioned);
        Commit();
    }

    /// <summary>Queues a detected beat (pipeline thread).</summary>
    public void OnBeat(in DetectedBeat beat)
    {
        if (!TryReserve(out var slot, _overload == InferenceOverload.Wait)) { BeatsDropped++; return; }
        _inKind[slot] = InputKind.Beat;
        _inBeat[slot] = beat;
        Commit();
    }

    /// <summary>
    /// End of stream: waits until the inference thread has analysed everything queued and closed the run (the stage's
    /// <see cref="InferenceStage.Flush"/>), delivering results meanwhile; then delivers the rest.
    /// </summary>
    public void Flush()
    {
        TryReserve(out var slot, wait: true);
        _inKind[slot] = InputKind.Flush;
        long ticket;
        lock (_gate) { ticket = ++_flushRequested; }
        Commit();
        while (true)
        {
            DrainResults();
            lock (_gate)
            {
                ThrowIfFailed();
                if (_flushDone >= ticket && _outCount == 0) return;
                if (_outCount == 0) Monitor.Wait(_gate, 5);
            }
        }
    }

    /// <summary>
    /// Waits until the inference thread has processed everything queued, delivering its results meanwhile (pipeline
    /// thread). Called after each block, it makes the worker run in lockstep: every result reaches the sink before the
    /// pipeline goes on to its next block, as inline inference delivers it.
    /// </summary>
    public void WaitIdle()
    {
        // Most blocks complete no window and take the inference thread microseconds: spin briefly before blocking, and
        // let the inference thread do the same (it would otherwise sleep between blocks and need a wake-up each time).
        _lockstep = true;
        var spin = new SpinWait();
        while (true)
        {
            DrainResults();
            lock (_gate)
            {
                ThrowIfFailed();
                if (_inCount == 0 && _outCount == 0) return;
                if (_outCount > 0) continue;
                if (spin.Count >= LockstepSpins) { Monitor.Wait(_gate, 5); continue; }
            }
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    private const int LockstepSpins = 64;
    private volatile bool _lockstep;

    /// <summary>Delivers the results the inference thread has produced so far to the sink (pipeline thread).</summary>
    public void DrainResults()
    {
        while (true)
        {
            int slot;
            lock (_gate)
            {
                ThrowIfFailed();
                if (_outCount == 0) return;
                slot = _outHead;
            }
            // The slot is ours until the head moves: the inference thread never writes an occupied slot.
            switch (_outKind[slot])
            {
                case ResultKind.Beat: _sink.OnBeatClassified(_outBeat[slot]); break;
                case ResultKind.Rhythm: _sink.OnRhythm(_outRhythm[slot], _outProbs[slot]); break;
                case ResultKind.Window: _sink.OnWindow(_outWindow[slot], _outProbs[slot]); break;
                case ResultKind.Swap:
                    var (old, next) = (_outOld[slot]!, _outNew[slot]!);
                    _outOld[slot] = _outNew[slot] = null;
                    ModelSwapped?.Invoke(old, next);
                    break;
            }
            lock (_gate)
            {
                _outHead = (_outHead + 1) % _outKind.Length;
                _outCount--;
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>Stops the inference thread (without analysing what is still queued) and waits for it.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
        _thread.Join();
    }

    private bool TryReserve(out int slot, bool wait)
    {
        lock (_gate)
        {
            ThrowIfFailed();
            ObjectDisposedException.ThrowIf(_stopping, this);
            if (_inCount == _inKind.Length)
            {
                if (!wait) { slot = -1; return false; }
                Waits++;
            }
            while (_inCount == _inKind.Length)
            {
                if (_outCount > 0)
                {
                    // Deliver results while waiting, so a full result ring cannot stall the inference thread.
                    Monitor.Exit(_gate);
                    try { DrainResults(); }
                    finally { Monitor.Enter(_gate); }
                    continue;
                }
                Monitor.Wait(_gate, 5);
                ThrowIfFailed();
            }
            slot = (_inHead + _inCount) % _inKind.Length;
            return true;
        }
    }

    private void Commit()
    {
        lock (_gate)
        {
            _inCount++;
            Monitor.PulseAll(_gate);
        }
    }

    private void ThrowIfFailed()
    {
        if (_failure is { } f) throw new InvalidOperationException("the inference thread failed: " + f.Message, f);
    }

    private void Loop()
    {
        try
        {
            while (true)
            {
                int slot;
                lock (_gate)
                {
                    if (_inCount == 0 && _lockstep && !_stopping)
                    {
                        // lockstep: the next block follows within microseconds; spin before sleeping
                        Monitor.Exit(_gate);
                        try
                        {
                            var spin = new SpinWait();
                            while (Volatile.Read(ref _inCount) == 0 && spin.Count < LockstepSpins) spin.SpinOnce(sleep1Threshold: -1);
                        }
                        finally { Monitor.Enter(_gate); }
                    }
                    while (_inCount == 0 && !_stopping) Monitor.Wait(_gate);
                    if (_stopping) return;
                    slot = _inHead;
                }
                var kind = _inKind[slot];
                switch (kind)
                {
                    case InputKind.Block: _stage.Push(_inBlock[slot]); break;
                    case InputKind.Beat: _stage.OnBeat(_inBeat[slot]); break;
                    case InputKind.Flush: _stage.Flush(); break;
                }
                lock (_gate)
                {
                    _inHead = (_inHead + 1) % _inKind.Length;
                    _inCount--;
                    if (kind == InputKind.Flush) _flushDone++;
                    Monitor.PulseAll(_gate);
                }
            }
        }
        catch (Exception e) when (e is not ThreadInterruptedException)
        {
            lock (_gate)
            {
                _failure = e;
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>The stage's sink on the inference thread: copies each result into the result ring.</summary>
    private sealed class ResultSink(InferenceWorker w) : IInferenceSink
    {
        public void OnBeatClassified(in ClassifiedBeat beat)
        {
            var slot = w.Reserve();
            if (slot < 0) return;
            w._outKind[slot] = ResultKind.Beat;
            w._outBeat[slot] = beat;
            w.Publish();
        }

        public void OnRhythm(in RhythmDecision decision, ReadOnlySpan<float> smoothedProbabilities)
        {
            var slot = w.Reserve();
            if (slot < 0) return;
            w._outKind[slot] = ResultKind.Rhythm;
            w._outRhythm[slot] = decision;
            smoothedProbabilities.CopyTo(w._outProbs[slot]);
            w.Publish();
        }

        public void OnWindow(in WindowInference window, ReadOnlySpan<float> rhythmProbabilities)
        {
            var slot = w.Reserve();
            if (slot < 0) return;
            w._outKind[slot] = ResultKind.Window;
            w._outWindow[slot] = window;
            rhythmProbabilities.CopyTo(w._outProbs[slot]);
            w.Publish();
        }
    }

    private int Reserve()
    {
        lock (_gate)
        {
            while (_outCount == _outKind.Length && !_stopping) Monitor.Wait(_gate);
            return _stopping ? -1 : (_outHead + _outCount) % _outKind.Length;
        }
    }

    private void Publish()
    {
        lock (_gate)
        {
            _outCount++;
            Monitor.PulseAll(_gate);
        }
    }
}
