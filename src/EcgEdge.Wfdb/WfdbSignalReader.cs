using System.Globalization;

namespace EcgEdge.Wfdb;

/// <summary>
/// Streams the samples of a WFDB record frame by frame, as raw ADC units, verifying initial values and checksums.
/// </summary>
/// <remarks>
/// <para>
/// Signals may share one file (interleaved) or live in several files; consecutive header lines with the same file
/// name form one file. All signals of a file must have the same format and byte offset.
/// Supported formats are listed in <see cref="WfdbSignalFormats"/>. Samples-per-frame above 1, a nonzero skew and
/// reading from standard input ("-") are rejected with a <see cref="WfdbFormatException"/>.
/// </para>
/// <para>
/// When the header declares a sample count, exactly that many frames are returned (extra bytes at the end of a file
/// are ignored) and a file that ends early raises a <see cref="WfdbFormatException"/> naming the file and the byte
/// offset where its data ended. After the last frame, every declared checksum is verified. When the sample count is
/// unknown, frames are read until the files end; a partial frame at the end is an error, and checksums are not verified.
/// The first frame is always checked against the declared initial values.
/// </para>
/// </remarks>
public sealed class WfdbSignalReader : IDisposable
{
    private const int ChunkFrames = 4096;

    /// <summary>Most samples in the decoding buffers of a record with several files (all files together).</summary>
    private const int MaxScratchSamples = 1 << 20;

    private readonly Group[] _groups;
    private readonly int _chunkFrames;
    private readonly long? _frameCount;
    private readonly bool _verify;
    private readonly bool _warnOnly;
    private List<string>? _warnings;
    private readonly int[] _sums;
    private bool _initialChecked;
    private bool _finished;
    private bool _disposed;

    private WfdbSignalReader(WfdbHeader header, Group[] groups, int chunkFrames, WfdbChecksumPolicy policy)
    {
        Header = header;
        _groups = groups;
        _chunkFrames = chunkFrames;
        _frameCount = header.SampleCount;
        _verify = policy != WfdbChecksumPolicy.Skip;
        _warnOnly = policy == WfdbChecksumPolicy.Warn;
        _sums = new int[header.Signals.Count];
    }

    /// <summary>The header of the record being read.</summary>
    public WfdbHeader Header { get; }

    /// <summary>
    /// With <see cref="WfdbChecksumPolicy.Warn"/>: the initial-value and checksum mismatches found so far, as messages
    /// (the record is read anyway, as WFDB's own tools do).
    /// </summary>
    public IReadOnlyList<string> Warnings => (IReadOnlyList<string>?)_warnings ?? [];

    private void Mismatch(WfdbChecksumException e)
    {
        if (!_warnOnly) throw e;
        (_warnings ??= []).Add(e.Message);
    }

    /// <summary>The number of signals, i.e. the number of values in one frame.</summary>
    public int SignalCount => Header.Signals.Count;

    /// <summary>The number of frames returned so far.</summary>
    public long FramesRead { get; private set; }

    /// <summary>The number of frames the header declares, or null when unknown.</summary>
    public long? FrameCount => _frameCount;

    /// <summary>Opens the signal files of <paramref name="header"/>.</summary>
    /// <param name="header">The parsed header; its <see cref="WfdbHeader.Directory"/> locates the signal files.</param>
    /// <param name="verifyChecksums">False to skip the initial-value and checksum checks.</param>
    /// <exception cref="WfdbFormatException">The header describes signals that cannot be read (unsupported format, skew, ...).</exception>
    /// <exception cref="FileNotFoundException">A signal file does not exist.</exception>
    public static WfdbSignalReader Open(WfdbHeader header, bool verifyChecksums = true) =>
        Open(header, verifyChecksums ? WfdbChecksumPolicy.Verify : WfdbChecksumPolicy.Skip);

    /// <summary>Opens the signal files of <paramref name="header"/>; <paramref name="policy"/> says what a checksum or
    /// initial-value mismatch does.</summary>
    public static WfdbSignalReader Open(WfdbHeader header, WfdbChecksumPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(header);
        var layout = PlanGroups(header);
        var groups = new Group[layout.Count];
        int chunkFrames = ChunkFramesFor(header.Signals.Count);
        try
        {
            for (int g = 0; g < layout.Count; g++)
            {
                (int first, int count) = layout[g];
                WfdbSignalSpec spec = header.Signals[first];
                var decoder = new SignalFileDecoder(header.GetSignalFilePath(spec), spec.Format, spec.ByteOffset);
                groups[g] = new Group(decoder, first, count, spec.Format, spec.ByteOffset, layout.Count > 1 ? new int[chunkFrames * count] : null);
            }
        }
        catch
        {
            foreach (Group? opened in groups)
            {
                opened?.Decoder.Dispose();
            }

            throw;
        }

        return new WfdbSignalReader(header, groups, chunkFrames, policy);
    }

    /// <summary>Frames decoded per step with several files: <see cref="ChunkFrames"/>, fewer when there are many signals.</summary>
    private static int ChunkFramesFor(int signals) => Math.Clamp(MaxScratchSamples / Math.Max(signals, 1), 1, ChunkFrames);

    /// <summary>
    /// Reads frames into <paramref name="destination"/>, interleaved: sample of signal s in frame f at
    /// [f * <see cref="SignalCount"/> + s]. Fills as many whole frames as fit and remain.
    /// </summary>
    /// <param name="destination">Receives the samples (ADU); must hold at least one frame.</param>
    /// <returns>The number of frames read; 0 at the end of the record.</returns>
    /// <exception cref="WfdbFormatException">A file is truncated or ends in the middle of a frame.</exception>
    /// <exception cref="WfdbChecksumException">An initial value or (at the end) a checksum does not match.</exception>
    public int ReadFrames(Span<int> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int nsig = SignalCount;
        if (nsig == 0 || _finished)
        {
            return 0;
        }

        if (destination.Length < nsig)
        {
            throw new ArgumentException("The destination must hold at least one frame.", nameof(destination));
        }

        long wanted = destination.Length / nsig;
        if (_frameCount is long declared)
        {
            wanted = Math.Min(wanted, declared - FramesRead);
        }

        int total = 0;
        while (total < wanted)
        {
            int n = (int)Math.Min(wanted - total, _groups.Length == 1 ? int.MaxValue / nsig : _chunkFrames);
            Span<int> frames = destination.Slice(total * nsig, n * nsig);
            int got = DecodeFrames(frames, n);
            Accumulate(frames[..(got * nsig)]);
            total += got;
            if (got < n)
            {
                break;
            }
        }

        FramesRead += total;
        if (total < wanted || (_frameCount is long count && FramesRead == count))
        {
            Finish();
        }

        return total;
    }

    /// <summary>
    /// Throws a <see cref="WfdbFormatException"/> now if a signal file is shorter than the declared sample count
    /// requires (instead of when the data runs out). Does nothing when the sample count is unknown.
    /// </summary>
    public void EnsureFilesAreLongEnough()
    {
        if (_frameCount is not long count)
        {
            return;
        }

        foreach (Group g in _groups)
        {
            long needed = WfdbSignalFormats.BytesFor(g.Format, count, g.Count, g.ByteOffset);
            if (g.Decoder.FileLength < needed)
            {
                throw Truncated(g, count);
            }
        }
    }

    /// <summary>Closes the signal files.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            foreach (Group g in _groups)
            {
                g.Decoder.Dispose();
            }
        }
    }

    /// <summary>Decodes <paramref name="n"/> frames of every file; returns the frames decoded by all of them.</summary>
    private int DecodeFrames(Span<int> frames, int n)
    {
        int nsig = SignalCount;
        if (_groups.Length == 1)
        {
            Group only = _groups[0];
            int samples = only.Decoder.Decode(frames);
            if (samples < frames.Length)
            {
                OnShortRead(only, samples);
            }

            return samples / nsig;
        }

        int common = n;
        for (int gi = 0; gi < _groups.Length; gi++)
        {
            Group g = _groups[gi];
            Span<int> scratch = g.Scratch.AsSpan(0, n * g.Count);
            int samples = g.Decoder.Decode(scratch);
            int got = samples / g.Count;
            if (samples < scratch.Length)
            {
                OnShortRead(g, samples);
            }

            if (gi > 0 && got != common)
            {
                Group shorter = got < common ? g : _groups[gi - 1];
                throw new WfdbFormatException(shorter.Decoder.Path, shorter.Decoder.Position,
                    "the signal file ends before the other files of the record");
            }

            common = got;
            for (int f = 0; f < got; f++)
            {
                scratch.Slice(f * g.Count, g.Count).CopyTo(frames.Slice(f * nsig + g.First, g.Count));
            }
        }

        return common;
    }

    /// <summary>A file returned fewer samples than asked: decide whether that is an error.</summary>
    private void OnShortRead(Group g, int samples)
    {
        if (_frameCount is long count)
        {
            throw Truncated(g, count);
        }

        if (samples % g.Count != 0 || g.Decoder.RemainingBytes != 0)
        {
            throw new WfdbFormatException(g.Decoder.Path, g.Decoder.FileLength,
                "the signal file ends in the middle of a frame (the file is truncated)");
        }
    }

    private WfdbFormatException Truncated(Group g, long count)
    {
        long needed = WfdbSignalFormats.BytesFor(g.Format, count, g.Count, g.ByteOffset);
        return new WfdbFormatException(g.Decoder.Path, g.Decoder.FileLength, string.Create(CultureInfo.InvariantCulture,
            $"signal data ends at byte {g.Decoder.FileLength}, but {count} frames of {g.Count} signal(s) in format {g.Format} need {needed} bytes (the file is truncated)"));
    }

    private void Accumulate(ReadOnlySpan<int> frames)
    {
        if (!_verify || frames.IsEmpty)
        {
            return;
        }

        int nsig = SignalCount;
        if (!_initialChecked)
        {
            _initialChecked = true;
            for (int s = 0; s < nsig; s++)
            {
                WfdbSignalSpec spec = Header.Signals[s];
                if (spec.InitialValue is int initial && initial != frames[s])
                {
                    Mismatch(new WfdbChecksumException(Header.GetSignalFilePath(spec), spec.ByteOffset, s, spec.Description,
                        WfdbChecksumKind.InitialValue, initial, frames[s]));
                }
            }
        }

        for (int s = 0; s < nsig; s++)
        {
            int sum = 0;
            for (int i = s; i < frames.Length; i += nsig)
            {
                sum += frames[i];
            }

            _sums[s] += sum;
        }
    }

    private void Finish()
    {
        _finished = true;
        if (!_verify || _frameCount is not long count || FramesRead != count)
        {
            return;
        }

        for (int s = 0; s < SignalCount; s++)
        {
            WfdbSignalSpec spec = Header.Signals[s];
            if (spec.Checksum is int expected && ((_sums[s] - expected) & 0xFFFF) != 0)
            {
                Group g = GroupOf(s);
                Mismatch(new WfdbChecksumException(g.Decoder.Path, g.Decoder.Position, s, spec.Description,
                    WfdbChecksumKind.Checksum, expected, _sums[s] & 0xFFFF));
            }
        }
    }

    private Group GroupOf(int signal)
    {
        foreach (Group g in _groups)
        {
            if (signal >= g.First && signal < g.First + g.Count)
            {
                return g;
            }
        }

        return _groups[0];
    }

    /// <summary>Splits the signals into runs that share a file, and checks that they can be read.</summary>
    private static List<(int First, int Count)> PlanGroups(WfdbHeader header)
    {
        var runs = new List<(int First, int Count)>();
        IReadOnlyList<WfdbSignalSpec> signals = header.Signals;
        for (int s = 0; s < signals.Count; s++)
        {
            WfdbSignalSpec spec = signals[s];
            string where = string.Create(CultureInfo.InvariantCulture, $"signal {s} ({spec.Description})");
            if (!WfdbSignalFormats.IsSupported(spec.Format))
            {
                throw new WfdbFormatException(header.SourcePath, null, $"{where}: signal format {spec.Format} is not supported");
            }

            if (spec.SamplesPerFrame != 1)
            {
                throw new WfdbFormatException(header.SourcePath, null, $"{where}: {spec.SamplesPerFrame} samples per frame (multi-frequency records) are not supported");
            }

            if (spec.Skew != 0)
            {
                throw new WfdbFormatException(header.SourcePath, null, $"{where}: a skew of {spec.Skew} is not supported");
            }

            if (spec.ByteOffset < 0)
            {
                throw new WfdbFormatException(header.SourcePath, null, $"{where}: the byte offset {spec.ByteOffset} is negative");
            }

            if (spec.FileName == "-")
            {
                throw new WfdbFormatException(header.SourcePath, null, $"{where}: reading signals from standard input is not supported");
            }

            if (s > 0 && string.Equals(spec.FileName, signals[s - 1].FileName, StringComparison.Ordinal))
            {
                WfdbSignalSpec first = signals[runs[^1].First];
                if (spec.Format != first.Format || spec.ByteOffset != first.ByteOffset)
                {
                    throw new WfdbFormatException(header.SourcePath, null, $"{where}: signals in file '{spec.FileName}' have different formats or byte offsets");
                }

                runs[^1] = (runs[^1].First, runs[^1].Count + 1);
                continue;
            }

            for (int r = 0; r < runs.Count; r++)
            {
                if (string.Equals(signals[runs[r].First].FileName, spec.FileName, StringComparison.Ordinal))
                {
                    throw new WfdbFormatException(header.SourcePath, null, $"{where}: the signals of file '{spec.FileName}' are not on consecutive lines, which is not supported");
                }
            }

            runs.Add((s, 1));
        }

        return runs;
    }

    /// <summary>The signals stored in one file: header indices [First, First + Count).</summary>
    private sealed class Group(SignalFileDecoder decoder, int first, int count, int format, long byteOffset, int[]? scratch)
    {
        public SignalFileDecoder Decoder { get; } = decoder;

        public int First { get; } = first;

        public int Count { get; } = count;

        public int Format { get; } = format;

        public long ByteOffset { get; } = byteOffset;

        /// <summary>Decoding buffer for records with several files; empty for a single file (decoded in place).</summary>
        public int[] Scratch { get; } = scratch ?? [];
    }
}

/// <summary>What a signal reader does with the header's initial values and checksums.</summary>
public enum WfdbChecksumPolicy
{
    /// <summary>A mismatch is an error (<see cref="WfdbChecksumException"/>).</summary>
    Verify,

    /// <summary>
    /// A mismatch is a warning (<see cref="WfdbSignalReader.Warnings"/>) and the record is read: what WFDB's own tools do,
    /// and what records as published need (the PhysioNet/CinC 2017 headers carry a checksum of 0, some a wrong initial value).
    /// </summary>
    Warn,

    /// <summary>Not checked.</summary>
    Skip,
}
