using EcgEdge.Core.Signals;
using EcgEdge.Detection;

namespace EcgEdge.Inference;

/// <summary>A window ready for the model: planar channels at the model rate, the beats inside it, where it starts.</summary>
public sealed class AnalysisWindow
{
    internal AnalysisWindow(int channels, int length, int maxBeats)
    {
        Samples = new float[channels * length];
        LeadPresent = new float[channels];
        BeatOffsets = new int[maxBeats];
        BeatIndices = new long[maxBeats];
        Length = length;
    }

    /// <summary>[channel * Length + t], in the model's units (millivolts); absent channels are zero.</summary>
    public float[] Samples { get; }

    /// <summary>1 for acquired channels, 0 for absent ones (the model's lead mask).</summary>
    public float[] LeadPresent { get; }

    /// <summary>Samples per channel.</summary>
    public int Length { get; }

    /// <summary>Pipeline sample index of the window's first sample (at the pipeline rate).</summary>
    public long StartIndex { get; internal set; }

    /// <summary>Number of beats whose R peak lies inside the window.</summary>
    public int BeatCount { get; internal set; }

    /// <summary>R-peak positions in window samples (model rate), first <see cref="BeatCount"/> valid.</summary>
    public int[] BeatOffsets { get; }

    /// <summary>R-peak pipeline sample indices, first <see cref="BeatCount"/> valid.</summary>
    public long[] BeatIndices { get; }
}

/// <summary>
/// Cuts the conditioned stream into overlapping analysis windows for the model (e.g. 10 s every 5 s at 250 Hz),
/// decimating from the pipeline rate by an integer factor (the conditioning low-pass at 40 Hz is the anti-alias
/// filter), scaling µV to the model's units, and attaching the detector's beats. A window is handed out once the stream
/// has run <c>delay</c> samples past its end, so that every beat inside it has been reported by the detector (whose
/// latency is bounded). A gap restarts assembly: no window spans a gap. Everything is pre-allocated; one
/// <see cref="AnalysisWindow"/> is reused.
/// </summary>
public sealed class WindowAssembler : IBeatSink
{
    private readonly int _decimation, _length, _hop, _delay, _ringLength;
    private readonly float _scale;
    private readonly float[][] _ring;      // per channel, model-rate samples
    private readonly long[] _beatRing;     // R-peak pipeline indices of recent beats
    private readonly bool[] _present;
    private int _beatHead, _beatCount;
    private long _written;                 // model-rate samples written since the last restart
    private long _runStart;                // pipeline index of model sample 0 of this run
    private long _expectedNext = -1;       // pipeline index the next block should start at
    private long _nextEmit;                // model-rate count at which the next window (plus delay) is complete

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
        // Bound on beats in a window: 300 bpm plus margin.
        var maxBeats = (int)Math.Ceiling(windowSamples / modelRateHz * 5) + 2;
        _beatRing = new long[maxBeats + (int)Math.Ceiling(delaySamples / modelRateHz * 5) + 2];
        Window = new AnalysisWindow(Leads.Count, windowSamples, maxBeats);
        for (var c = 0; c < Leads.Count; c++) Window.LeadPresent[c] = _present[c] ? 1f : 0f;
    }

    /// <summary>The reused window, valid after <see cref="Push"/> returned true until the next call.</summary>
    public AnalysisWindow Window { get; }

    /// <summary>Decimation factor from the pipeline rate to the model rate.</summary>
    public int Decimation => _decimation;

    /// <summary>Records a detected beat (called by the pipeline, in time order).</summary>
    public void OnBeat(in DetectedBeat beat)
    {
        _beatRing[_beatHead] = beat.SampleIndex;
        _beatHead = (_beatHead + 1) % _beatRing.Length;
        if (_beatCount < _beatRing.Length) _beatCount++;
    }

    /// <summary>
    /// Adds a conditioned block. Returns true when a window became ready inside it; then <see cref="Window"/> holds it.
    /// Blocks must be shorter than the hop (at the pipeline rate), so that at most one window is ready per block.
    /// </summary>
    public bool Push(SampleBlock block)
    {
        if (block.Count == 0) return false;
        if (block.GapBefore > 0 || block.StartIndex != _expectedNext) Restart(block.StartIndex);
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
            if (_written == _nextEmit)
            {
                Emit();
                _nextEmit += _hop;
                ready = true;
            }
        }
        return ready;
    }

    private void Restart(long startIndex)
    {
        _runStart = startIndex;
        _written = 0;
        _nextEmit = _length + _delay;
    }

    private void Emit()
    {
        var firstModel = _written - _delay - _length;
        var start = (int)(firstModel % _ringLength);
        for (var c = 0; c < Leads.Count; c++)
        {
            var dst = Window.Samples.AsSpan(c * _length, _length);
            var ring = _ring[c];
            var head = Math.Min(_length, _ringLength - start);
            ring.AsSpan(start, head).CopyTo(dst);
            if (head < _length) ring.AsSpan(0, _length - head).CopyTo(dst[head..]);
        }
        Window.StartIndex = _runStart + firstModel * _decimation;
        var endIndex = Window.StartIndex + (long)_length * _decimation;
        var n = 0;
        for (var k = 0; k < _beatCount && n < Window.BeatOffsets.Length; k++)
        {
            var b = _beatRing[(_beatHead - _beatCount + k + _beatRing.Length) % _beatRing.Length];
            if (b < Window.StartIndex || b >= endIndex) continue;
            Window.BeatIndices[n] = b;
            Window.BeatOffsets[n] = (int)((b - Window.StartIndex) / _decimation);
            n++;
        }
        Window.BeatCount = n;
    }
}
