using EcgEdge.Core.Dsp;
using EcgEdge.Core.Signals;
using EcgEdge.Wfdb;

namespace EcgEdge.Acquisition.Replay;

/// <summary>
/// Replays a WFDB record as a front-end would deliver it: signals mapped onto the acquired channels
/// (<see cref="LeadMapping"/>), converted to microvolts, resampled to the pipeline rate with a zero-delay polyphase
/// filter (so pipeline sample p is the record's time p / rate), at real-time pace or as fast as possible.
/// Streams the file in chunks: memory does not grow with the record's length. Invalid samples (WFDB's "no data"
/// value) are held at the last valid value and flag the channel as lead-off for the blocks they touch.
/// </summary>
public sealed class ReplaySource : ISampleSource
{
    private readonly ReplayOptions _options;
    private readonly TimeProvider _time;
    private readonly WfdbHeader _header;
    private readonly int[] _map;          // signal → channel or -1
    private readonly int[] _channels;     // resampler lane → channel
    private readonly int[] _laneOfSignal; // signal → lane or -1
    private readonly PolyphaseResampler? _resampler;
    private readonly float[][] _in;       // lane-planar input chunk, µV
    private readonly float[][] _out;      // lane-planar resampled FIFO
    private readonly int[] _frame;
    private readonly float[] _lastValid;
    private readonly float[] _zeroShift;   // µV per signal (see ZeroShift)
    private readonly bool[] _invalidInChunk;
    private readonly bool[] _fifoInvalid;
    private WfdbSignalReader _reader;
    private int _outCount, _outPos;
    private bool _ended, _flushed;
    private long _nextIndex;
    private int _pendingGap;
    private long _startTicks = -1;
    private readonly long _firstFrame;     // record frames dropped at the start of every pass (Replay:FromSeconds)
    private readonly long _passFrames;     // record frames delivered per pass (long.MaxValue: to the record's end)
    private long _passRead;                // record frames read in this pass (after the dropped ones)
    private long _paceOrigin;

    public ReplaySource(ReplayOptions options, double pipelineRateHz, TimeProvider? timeProvider = null)
    {
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _header = WfdbHeader.Parse(WfdbRecordPath.ToHeaderPath(options.Record));
        if (_header.Signals.Count == 0) throw new WfdbFormatException(options.Record, null, "record has no signals");
        _map = LeadMapping.Map(_header, options.Leads);
        RecordRateHz = _header.SamplingFrequency;
        PipelineRateHz = pipelineRateHz;

        var lanes = new List<int>();
        _laneOfSignal = new int[_map.Length];
        for (var s = 0; s < _map.Length; s++)
        {
            _laneOfSignal[s] = _map[s] >= 0 ? lanes.Count : -1;
            if (_map[s] >= 0) lanes.Add(_map[s]);
        }
        _channels = [.. lanes];
        var (up, down) = PolyphaseResampler.RationalRatio(RecordRateHz, pipelineRateHz);
        if (up != down) _resampler = new PolyphaseResampler(up, down, Math.Max(1, _channels.Length));
        _in = new float[Math.Max(1, _channels.Length)][];
        _out = new float[Math.Max(1, _channels.Length)][];
        var outCap = options.ChunkFrames * up / down + 8;
        for (var l = 0; l < _in.Length; l++) { _in[l] = new float[options.ChunkFrames]; _out[l] = new float[Math.Max(outCap, options.ChunkFrames)]; }
        _frame = new int[options.ChunkFrames * _header.Signals.Count];
        _lastValid = new float[_in.Length];
        _invalidInChunk = new bool[_in.Length];
        _fifoInvalid = new bool[_in.Length];
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (!double.IsFinite(options.FromSeconds) || options.FromSeconds < 0)
            throw new ArgumentException(string.Create(inv, $"the replay's start ({options.FromSeconds} s) must be a number >= 0"), nameof(options));
        if (options.ToSeconds is { } end && !(end > options.FromSeconds))
            throw new ArgumentException(string.Create(inv, $"the replay's end ({end} s) must lie after its start ({options.FromSeconds} s)"), nameof(options));
        _firstFrame = (long)Math.Round(options.FromSeconds * RecordRateHz);
        _passFrames = options.ToSeconds is { } to ? Math.Max(1, (long)Math.Round(to * RecordRateHz) - _firstFrame) : long.MaxValue;
        if (_header.SampleCount is long total && total > 0 && _firstFrame >= total)
            throw new ArgumentException(string.Create(inv,
                $"the replay's start ({options.FromSeconds} s) lies after the end of record {_header.RecordName} ({total / RecordRateHz:0.###} s)"), nameof(options));
        _reader = WfdbSignalReader.Open(_header, WfdbChecksumPolicy.Warn);
        _zeroShift = new float[_header.Signals.Count];
        for (var s = 0; s < _zeroShift.Length; s++) _zeroShift[s] = ZeroShift(_header.Signals[s]);

        var present = new bool[Leads.Count];
        var fullScale = new float[Leads.Count];
        var labels = new string?[Leads.Count];
        Array.Fill(fullScale, float.NaN);
        for (var s = 0; s < _map.Length; s++)
        {
            if (_map[s] < 0) continue;
            var spec = _header.Signals[s];
            present[_map[s]] = true;
            labels[_map[s]] = spec.Description;
            fullScale[_map[s]] = FullScale(spec, _zeroShift[s]);
        }
        Info = new SourceInfo($"replay {_header.RecordName}", pipelineRateHz, present, fullScale, labels);
    }

    public SourceInfo Info { get; }

    /// <summary>The replayed record's header.</summary>
    public WfdbHeader Header => _header;

    /// <summary>Signal → channel mapping in use (-1: not replayed).</summary>
    public IReadOnlyList<int> SignalToChannel => _map;

    public double RecordRateHz { get; }
    public double PipelineRateHz { get; }

    /// <summary>
    /// Initial-value and checksum mismatches of the record's header (read anyway, with these warnings, as WFDB does):
    /// each distinct message once, across loops.
    /// </summary>
    public IReadOnlyList<string> Warnings
    {
        get
        {
            KeepWarnings();
            return _warnings;
        }
    }

    private readonly List<string> _warnings = [];

    private void KeepWarnings()
    {
        foreach (var w in _reader.Warnings)
            if (!_warnings.Contains(w)) _warnings.Add(w);
    }

    /// <summary>The record's sample index at pipeline index <paramref name="pipelineIndex"/> (nearest; pipeline index 0 is
    /// the record's sample at <see cref="ReplayOptions.FromSeconds"/>).</summary>
    public long ToRecordSample(long pipelineIndex) => _firstFrame + (long)Math.Round(pipelineIndex * RecordRateHz / PipelineRateHz);

    /// <summary>The pipeline index at the record's sample <paramref name="recordSample"/> (nearest).</summary>
    public long ToPipelineSample(long recordSample) => (long)Math.Round((recordSample - _firstFrame) * PipelineRateHz / RecordRateHz);

    /// <summary>The record's first replayed sample (<see cref="ReplayOptions.FromSeconds"/> in samples).</summary>
    public long FirstRecordSample => _firstFrame;

    /// <summary>Record samples one pass replays: to <see cref="ReplayOptions.ToSeconds"/> or the record's end (null: unknown length).</summary>
    public long? PassRecordSamples => _passFrames != long.MaxValue ? _passFrames
        : _header.SampleCount is long n && n > 0 ? Math.Max(0, n - _firstFrame) : null;

    public async ValueTask<bool> ReadAsync(SampleBlock block, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        block.Count = 0;
        while (_outPos >= _outCount)
        {
            if (!Refill())
            {
                if (!_options.Loop) return false;
                Rewind();
            }
        }
        var n = Math.Min(block.Capacity, _outCount - _outPos);
        for (var c = 0; c < Leads.Count; c++)
        {
            if (!Info.Present[c]) { Array.Clear(block.Buffer(c), 0, n); block.SourceQuality[c] = SignalQuality.Absent; }
            else block.SourceQuality[c] = SignalQuality.Good;
        }
        for (var l = 0; l < _channels.Length; l++)
        {
            Array.Copy(_out[l], _outPos, block.Buffer(_channels[l]), 0, n);
            if (_fifoInvalid[l]) block.SourceQuality[_channels[l]] |= SignalQuality.LeadOff;
        }
        _outPos += n;
        block.Count = n;
        block.GapBefore = _pendingGap;
        _nextIndex += _pendingGap;
        _pendingGap = 0;
        block.StartIndex = _nextIndex;
        _nextIndex += n;

        if (_options.RealTime)
        {
            if (_startTicks < 0) { _startTicks = _time.GetTimestamp(); _paceOrigin = block.StartIndex; }
            var due = TimeSpan.FromSeconds((_nextIndex - _paceOrigin) / PipelineRateHz / _options.Speed);
            var elapsed = _time.GetElapsedTime(_startTicks);
            if (due > elapsed) await Task.Delay(due - elapsed, _time, cancellationToken).ConfigureAwait(false);
        }
        return true;
    }

    /// <summary>Reads the next chunk and resamples it into the FIFO. False when the record is exhausted.</summary>
    private bool Refill()
    {
        _outPos = 0;
        _outCount = 0;
        if (_flushed) return false;
        Array.Clear(_invalidInChunk);
        var lanes = _in.Length;
        int frames = 0;
        var nsig = _header.Signals.Count;
        if (!_ended)
        {
            if (_passRead == 0 && !SkipToStart()) _ended = true;
            else
            {
                var want = (int)Math.Min(_frame.Length / Math.Max(1, nsig), _passFrames - _passRead);
                frames = want <= 0 ? 0 : _reader.ReadFrames(_frame.AsSpan(0, want * nsig));
                _passRead += frames;
                if (frames == 0) _ended = true;
            }
        }
        for (var f = 0; f < frames; f++)
        {
            for (var s = 0; s < nsig; s++)
            {
                var lane = _laneOfSignal[s];
                if (lane < 0) continue;
                var v = _header.Signals[s].ToMicrovolts(_frame[f * nsig + s]) + _zeroShift[s];
                if (float.IsNaN(v)) { v = _lastValid[lane]; _invalidInChunk[lane] = true; }
                else _lastValid[lane] = v;
                _in[lane][f] = v;
            }
        }
        if (_channels.Length == 0) { _flushed = _ended; return !_ended; }
        if (_resampler is null)
        {
            if (_ended) { _flushed = true; return false; }
            for (var l = 0; l < lanes; l++) Array.Copy(_in[l], _out[l], frames);
            _outCount = frames;
        }
        else if (!_ended)
        {
            _outCount = _resampler.Process(_in, 0, frames, _out, 0, _out[0].Length);
        }
        else
        {
            _outCount = _resampler.Flush(_out, 0, _out[0].Length);
            _flushed = true;
            if (_outCount == 0) return false;
        }
        for (var l = 0; l < lanes; l++) _fifoInvalid[l] = _invalidInChunk[l];
        return true;
    }

    /// <summary>Reads and drops the frames before <see cref="ReplayOptions.FromSeconds"/>. False when the record ends first.</summary>
    private bool SkipToStart()
    {
        var nsig = Math.Max(1, _header.Signals.Count);
        for (long left = _firstFrame; left > 0;)
        {
            var n = _reader.ReadFrames(_frame.AsSpan(0, (int)Math.Min(_frame.Length / nsig, left) * nsig));
            if (n == 0) return false;
            left -= n;
        }
        return true;
    }

    private void Rewind()
    {
        _passRead = 0;
        KeepWarnings();
        _reader.Dispose();
        _reader = WfdbSignalReader.Open(_header, WfdbChecksumPolicy.Warn);
        _resampler?.Reset();
        _ended = false;
        _flushed = false;
        _pendingGap = 1; // a new pass is not continuous with the previous one
    }

    /// <summary>
    /// µV added to every sample of a signal whose header puts physical zero (the baseline) outside the converter's own
    /// range (ADC zero ± half the ADC resolution): no recorder measures that way, and the samples then sit around the
    /// ADC zero. The MIT-BIH noise-stress records are such a case (11-bit ADC around 0, baseline 1024, samples around
    /// 0): read as declared they carry a −5.12 mV offset and sit at the end of the declared range; shifted, they equal
    /// the clean record 118 they were made from. 0 for every consistent header.
    /// </summary>
    internal static float ZeroShift(WfdbSignalSpec spec)
    {
        var bits = spec.AdcResolution;
        if (bits < 2 || bits > 24) return 0;
        var half = 1L << (bits - 1);
        if (spec.Baseline >= spec.AdcZero - half && spec.Baseline <= spec.AdcZero + half - 1) return 0;
        return -spec.ToMicrovolts(spec.AdcZero);
    }

    /// <summary>Smaller distance (µV) from zero to either end of the converter's range, after <paramref name="shift"/>.</summary>
    private static float FullScale(WfdbSignalSpec spec, float shift)
    {
        var bits = spec.AdcResolution > 0 ? spec.AdcResolution : spec.Format == 212 ? 12 : 16;
        if (bits > 24) return float.NaN;
        var half = 1L << (bits - 1);
        var hi = Math.Abs(spec.ToMicrovolts((int)Math.Clamp(spec.AdcZero + half - 1, int.MinValue + 1, int.MaxValue)) + shift);
        var lo = Math.Abs(spec.ToMicrovolts((int)Math.Clamp(spec.AdcZero - half + 1, int.MinValue + 1, int.MaxValue)) + shift);
        var fs = Math.Min(hi, lo);
        return float.IsFinite(fs) && fs > 0 ? fs : float.NaN;
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        return ValueTask.CompletedTask;
    }
}
