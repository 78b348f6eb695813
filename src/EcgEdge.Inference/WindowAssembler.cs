using EcgEdge.Core.Signals;

namespace EcgEdge.Inference;

/// <summary>A window ready for the model: planar channels at the model rate and where it lies in the stream.</summary>
public sealed class AnalysisWindow
{
    internal AnalysisWindow(int channels, int length)
    {
        Samples = new float[channels * length];
        LeadPresent = new float[channels];
        Length = length;
    }

    /// <summary>[channel * Length + t], in the model's units (millivolts); absent channels and padding are zero.</summary>
    public float[] Samples { get; }

    /// <summary>1 for acquired channels, 0 for absent ones (the model's lead mask).</summary>
    public float[] LeadPresent { get; }

    /// <summary>Samples per channel.</summary>
    public int Length { get; }

    /// <summary>Pipeline sample index of the window's first sample (at the pipeline rate).</summary>
    public long StartIndex { get; internal set; }

    /// <summary>Samples (model rate) holding signal; the rest is zero padding (only in a tail window of a short run).</summary>
    public int ValidLength { get; internal set; }

    /// <summary>
    /// True for the last window of a run (end of stream or a gap), placed to end at the run's last sample instead of
    /// on the hop grid — so that the end of the signal is analysed too.
    /// </summary>
    public bool IsTail { get; internal set; }

    /// <summary>Pipeline index one past the run's last sample when <see cref="IsTail"/>; otherwise the window's end.</summary>
    public long RunEndIndex { get; internal set; }
}

/// <summary>
/// Cuts the conditioned stream into overlapping analysis windows for the model (e.g. 10 s every 5 s at 250 Hz),
/// decimating from the pipeline rate by an integer factor (the conditioning low-pass at 40 Hz is the anti-alias
/// filter) and scaling µV to the model's units. Windows start at the first sample of a run and then every hop (the
/// grid tools/train evaluates on). A regular window is handed out once the stream has run <c>delay</c> samples past its
/// end, so that the detector has reported the beats inside it. A run ends at a gap or at the end of the stream: then
/// <see cref="FlushNext"/> hands out what is still pending — a regular window within the delay, and a tail window
/// ending at the run's last sample (zero-padded when the run is shorter than a window). No window spans a gap.
/// Everything is pre-allocated; one <see cref="AnalysisWindow"/> is reused.
/// </summary>
public sealed class WindowAssembler
{
    private readonly int _decimation, _length, _hop, _delay, _ringLength;
    private readonly float _scale;
    private readonly float[][] _ring;      // per channel, model-rate samples
    private readonly bool[] _present;
    private long _written;                 // model-rate samples written since the last restart
    private long _runStart;                // pipeline index of model sample 0 of this run
    private long _expectedNext = -1;       // pipeline index the next block should start at
    private long _nextEnd;                 // model-rate end of the next regular window
    private long _lastEnd;                 // model-rate end of the last window handed out in this run (0: none)

    /// <param name="pipelineRateHz">Rate of the conditioned stream.</param>
    /// <param name="modelRateHz">Rate the model expects; must divide the pipeline rate.</param>
    /// <param name="windowSamples">Window length at the model rate.</param>
    /// <param name="hopSamples">Hop at the model rate.</param>
    /// <param name="delaySamples">How far (model rate) the stream must run past a window before it is handed out.</param>
    /// <param name="scale">Multiplier from µV to model units (0.001 for mV).</param>
    /// <param name="present">Which channels are acquired.</param>
    public WindowAssembler(double pipelineRateHz, double modelRateHz, int windowSamples, int hopSamples, int delaySamples,
        float scale, IReadOnlyList<bool> present)
    {
        var ratio = pipelineRateHz / modelRateHz;
        _decimation = (int)Math.Round(ratio);
        if (_decimation < 1 || Math.Abs(ratio - _decimation) > 1e-9)
            throw new ArgumentException($"Model rate {modelRateHz} Hz must divide the pipeline rate {pipelineRateHz} Hz.");
        ArgumentOutOfRangeException.ThrowIfLessThan(windowSamples, 1);
        if (hopSamples < 1 || hopSamples > windowSamples) throw new ArgumentOutOfRangeException(nameof(hopSamples));
        ArgumentOutOfRangeException.ThrowIfNegative(delaySamples);
        _length = windowSamples;
        _hop = hopSamples;
        _delay = delaySamples;
        _ringLength = windowSamples + delaySamples;
        _scale = scale;
        _present = present.ToArray();
        _ring = new float[Leads.Count][];
        for (var c = 0; c < Leads.Count; c++) _ring[c] = new float[_ringLength];
        Window = new AnalysisWindow(Leads.Count, windowSamples);
        for (var c = 0; c < Leads.Count; c++) Window.LeadPresent[c] = _present[c] ? 1f : 0f;
        Restart(0);
    }

    /// <summary>The reused window, valid after <see cref="Push"/> or <see cref="FlushNext"/> returned true until the next call.</summary>
    public AnalysisWindow Window { get; }

    /// <summary>Decimation factor from the pipeline rate to the model rate.</summary>
    public int Decimation => _decimation;

    /// <summary>Pipeline index one past the last sample pushed.</summary>
    public long NextIndex => _expectedNext;

    /// <summary>True when <paramref name="block"/> does not continue the current run (a gap, or a jump in indices).</summary>
    public bool StartsNewRun(SampleBlock block) => _written > 0 && (block.GapBefore > 0 || block.StartIndex != _expectedNext);

    /// <summary>
    /// Adds a conditioned block. Returns true when a window became ready inside it; then <see cref="Window"/> holds it.
    /// Blocks must be shorter than the hop (at the pipeline rate), so that at most one window is ready per block. A block
    /// that starts a new run discards what is pending of the old one: call <see cref="FlushNext"/> first to keep it.
    /// </summary>
    public bool Push(SampleBlock block)
    {
        if (block.Count == 0) return false;
        if (_written == 0 || StartsNewRun(block)) Restart(block.StartIndex);
        _expectedNext = block.StartIndex + block.Count;
        var first = (int)((_runStart - block.StartIndex) % _decimation);
        if (first < 0) first += _decimation;
        var ready = false;
        for (var i = first; i < block.Count; i += _decimation)
        {
            var slot = (int)(_written % _ringLength);
            for (var c = 0; c < Leads.Count; c++)
                _ring[c][slot] = _present[c] ? block.Channel(c)[i] * _scale : 0f;
            _written++;
            if (_written == _nextEnd + _delay)
            {
                Emit(_nextEnd, tail: false);
                _nextEnd += _hop;
                ready = true;
            }
        }
        return ready;
    }

    /// <summary>
    /// Ends the current run (end of stream, or before a block that <see cref="StartsNewRun"/>). Returns true while a
    /// window is still to be analysed — the regular window waiting for its delay, then the tail window — and false once
    /// the run is finished (call until false).
    /// </summary>
    public bool FlushNext()
    {
        if (_written == 0) return false;
        if (_nextEnd <= _written)
        {
            Emit(_nextEnd, tail: false);
            _nextEnd += _hop;
            return true;
        }
        if (_lastEnd < _written)
        {
            Emit(_written, tail: true);
            return true;
        }
        Restart(_expectedNext);
        return false;
    }

    private void Restart(long startIndex)
    {
        _runStart = startIndex;
        _written = 0;
        _nextEnd = _length;
        _lastEnd = 0;
    }

    /// <summary>Copies the window ending at model sample <paramref name="end"/> (exclusive) out of the ring.</summary>
    private void Emit(long end, bool tail)
    {
        var first = Math.Max(0, end - _length);
        var valid = (int)(end - first);
        var start = (int)(first % _ringLength);
        for (var c = 0; c < Leads.Count; c++)
        {
            var dst = Window.Samples.AsSpan(c * _length, _length);
            var ring = _ring[c];
            var head = Math.Min(valid, _ringLength - start);
            ring.AsSpan(start, head).CopyTo(dst);
            if (head < valid) ring.AsSpan(0, valid - head).CopyTo(dst[head..]);
            dst[valid..].Clear();
        }
        Window.StartIndex = _runStart + first * _decimation;
        Window.ValidLength = valid;
        Window.IsTail = tail;
        Window.RunEndIndex = _runStart + end * _decimation;
        if (tail) Window.RunEndIndex = _expectedNext;
        _lastEnd = end;
    }
}
