using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace EcgEdge.Wfdb;

/// <summary>Writes WFDB headers and signal files (formats 16 and 212).</summary>
public static class WfdbWriter
{
    /// <summary>
    /// Writes a complete record: the header "<paramref name="recordName"/>.hea" and the signal file(s) named by the
    /// <see cref="WfdbSignalSpec.FileName"/> of each signal, with the initial values and checksums computed from the samples.
    /// </summary>
    /// <param name="directory">The folder to write to (must exist).</param>
    /// <param name="recordName">The record name (no extension, no folder).</param>
    /// <param name="samplingFrequency">Frames per second.</param>
    /// <param name="signals">
    /// One template per signal: file name, format (16 or 212), gain, baseline, units, ADC fields and description.
    /// Signals with the same file name must be on consecutive positions and share the format; their samples are
    /// interleaved in that file. <see cref="WfdbSignalSpec.ByteOffset"/> bytes of zeros are written before the samples.
    /// <see cref="WfdbSignalSpec.InitialValue"/> and <see cref="WfdbSignalSpec.Checksum"/> are replaced.
    /// </param>
    /// <param name="samples">The samples in ADU, one array per signal, all of the same length.</param>
    /// <param name="comments">Optional comment lines (without '#').</param>
    /// <returns>The header that was written.</returns>
    /// <exception cref="ArgumentException">The arguments are inconsistent or a sample does not fit the format.</exception>
    public static WfdbHeader WriteRecord(
        string directory,
        string recordName,
        double samplingFrequency,
        IReadOnlyList<WfdbSignalSpec> signals,
        IReadOnlyList<int[]> samples,
        IReadOnlyList<string>? comments = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentException.ThrowIfNullOrEmpty(recordName);
        ArgumentNullException.ThrowIfNull(signals);
        ArgumentNullException.ThrowIfNull(samples);
        if (recordName.AsSpan().IndexOfAny(" \t/\\") >= 0)
        {
            throw new ArgumentException("The record name must not contain white space or path separators.", nameof(recordName));
        }

        if (!double.IsFinite(samplingFrequency) || samplingFrequency <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(samplingFrequency), samplingFrequency, "The sampling frequency must be positive.");
        }

        if (samples.Count != signals.Count)
        {
            throw new ArgumentException("There must be one sample array per signal.", nameof(samples));
        }

        int length = samples.Count > 0 ? samples[0].Length : 0;
        var written = new WfdbSignalSpec[signals.Count];
        for (int s = 0; s < signals.Count; s++)
        {
            WfdbSignalSpec spec = signals[s] ?? throw new ArgumentException($"Signal {s} is null.", nameof(signals));
            int[] data = samples[s] ?? throw new ArgumentException($"The samples of signal {s} are null.", nameof(samples));
            if (data.Length != length)
            {
                throw new ArgumentException("All signals must have the same number of samples.", nameof(samples));
            }

            if (spec.Format is not (16 or 212))
            {
                throw new ArgumentException($"Signal {s}: only formats 16 and 212 can be written, not {spec.Format}.", nameof(signals));
            }

            if (spec.SamplesPerFrame != 1 || spec.Skew != 0)
            {
                throw new ArgumentException($"Signal {s}: samples per frame and skew are not supported.", nameof(signals));
            }

            if (spec.ByteOffset < 0)
            {
                throw new ArgumentException($"Signal {s}: the byte offset must not be negative.", nameof(signals));
            }

            (int min, int max) = WfdbSignalFormats.Range(spec.Format);
            int sum = 0;
            for (int i = 0; i < data.Length; i++)
            {
                int v = data[i];
                if (v < min || v > max)
                {
                    throw new ArgumentOutOfRangeException(nameof(samples), v, string.Create(CultureInfo.InvariantCulture,
                        $"Signal {s}, sample {i}: {v} is outside {min}..{max}, the range of format {spec.Format}."));
                }

                sum = unchecked(sum + v);
            }

            written[s] = spec with { InitialValue = length > 0 ? data[0] : spec.AdcZero, Checksum = unchecked((short)sum) };
        }

        int first = 0;
        while (first < written.Length)
        {
            int end = first + 1;
            while (end < written.Length && written[end].FileName == written[first].FileName)
            {
                if (written[end].Format != written[first].Format || written[end].ByteOffset != written[first].ByteOffset)
                {
                    throw new ArgumentException($"Signals in file '{written[first].FileName}' must share format and byte offset.", nameof(signals));
                }

                end++;
            }

            for (int later = end; later < written.Length; later++)
            {
                if (written[later].FileName == written[first].FileName)
                {
                    throw new ArgumentException($"The signals of file '{written[first].FileName}' must be consecutive.", nameof(signals));
                }
            }

            WriteSignalFile(Path.Combine(directory, written[first].FileName), written[first].Format, written[first].ByteOffset, samples, first, end - first, length);
            first = end;
        }

        var header = new WfdbHeader(recordName, written.Length, samplingFrequency, length > 0 ? length : null, written, comments ?? [], null, null)
        {
            Directory = Path.GetFullPath(directory),
            SourcePath = Path.Combine(Path.GetFullPath(directory), recordName + WfdbRecordPath.HeaderExtension),
        };
        WriteHeader(header.SourcePath, header);
        return header;
    }

    /// <summary>Writes a header file (lines end with CRLF, as WFDB writes them).</summary>
    /// <exception cref="ArgumentException">A field cannot be represented (see <see cref="WriteHeader(TextWriter, WfdbHeader)"/>).</exception>
    public static void WriteHeader(string path, WfdbHeader header)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(header);
        string text = FormatHeader(header);
        File.WriteAllText(path, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
    }

    /// <summary>Writes a header as text (lines end with CRLF).</summary>
    /// <remarks>
    /// A signal line is written up to its last known field: when <see cref="WfdbSignalSpec.InitialValue"/> or
    /// <see cref="WfdbSignalSpec.Checksum"/> is null the line stops before it, so a description can then not be written
    /// and an <see cref="ArgumentException"/> is thrown.
    /// </remarks>
    /// <exception cref="ArgumentException">A field cannot be represented.</exception>
    public static void WriteHeader(TextWriter writer, WfdbHeader header)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(header);
        writer.Write(FormatHeader(header));
    }

    /// <summary>Formats a header as the text of a .hea file (lines end with CRLF).</summary>
    /// <exception cref="ArgumentException">A field cannot be represented.</exception>
    public static string FormatHeader(WfdbHeader header)
    {
        ArgumentNullException.ThrowIfNull(header);
        if (header.Signals.Count != header.SignalCount)
        {
            throw new ArgumentException("SignalCount does not match the number of signals.", nameof(header));
        }

        CheckToken(header.RecordName, "record name");
        var sb = new StringBuilder();
        CultureInfo inv = CultureInfo.InvariantCulture;
        sb.Append(header.RecordName).Append(' ').Append(header.SignalCount.ToString(inv))
          .Append(' ').Append(header.SamplingFrequency.ToString("R", inv));
        if (header.CounterFrequency is double cf)
        {
            sb.Append('/').Append(cf.ToString("R", inv));
            if (header.BaseCounter is double bc)
            {
                sb.Append('(').Append(bc.ToString("R", inv)).Append(')');
            }
        }

        if (header.SampleCount is not null || header.BaseTime is not null)
        {
            sb.Append(' ').Append((header.SampleCount ?? 0).ToString(inv));
            if (header.BaseTime is not null)
            {
                CheckToken(header.BaseTime, "base time");
                sb.Append(' ').Append(header.BaseTime);
                if (header.BaseDate is not null)
                {
                    CheckToken(header.BaseDate, "base date");
                    sb.Append(' ').Append(header.BaseDate);
                }
            }
        }

        sb.Append("\r\n");
        for (int s = 0; s < header.Signals.Count; s++)
        {
            AppendSignalLine(sb, header.Signals[s], s);
        }

        foreach (string comment in header.Comments)
        {
            if (comment.AsSpan().IndexOfAny('\r', '\n') >= 0)
            {
                throw new ArgumentException("A comment must not contain line breaks.", nameof(header));
            }

            sb.Append('#').Append(comment.Length > 0 ? " " : string.Empty).Append(comment).Append("\r\n");
        }

        return sb.ToString();
    }

    /// <summary>
    /// Encodes interleaved samples in format 16 (16-bit little-endian) or 212 (two 12-bit samples in 3 bytes; an odd
    /// last sample takes 2 bytes) and writes them to <paramref name="stream"/>.
    /// </summary>
    /// <param name="stream">The destination.</param>
    /// <param name="format">16 or 212.</param>
    /// <param name="samples">The samples in file order (frame by frame, signal by signal).</param>
    /// <exception cref="ArgumentOutOfRangeException">A sample does not fit the format (-32768..32767 or -2048..2047).</exception>
    public static void WriteSamples(Stream stream, int format, ReadOnlySpan<int> samples)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (format is not (16 or 212))
        {
            throw new ArgumentOutOfRangeException(nameof(format), format, "Only formats 16 and 212 can be written.");
        }

        (int min, int max) = WfdbSignalFormats.Range(format);
        Span<byte> buffer = stackalloc byte[3 * 1024];
        int used = 0;
        int i = 0;
        while (i < samples.Length)
        {
            if (format == 16)
            {
                int v = Check(samples[i], min, max, i);
                BinaryPrimitives.WriteInt16LittleEndian(buffer[used..], (short)v);
                used += 2;
                i++;
            }
            else
            {
                int a = Check(samples[i], min, max, i) & 0xFFF;
                if (i + 1 < samples.Length)
                {
                    int b = Check(samples[i + 1], min, max, i + 1) & 0xFFF;
                    buffer[used] = (byte)a;
                    buffer[used + 1] = (byte)((a >> 8) | ((b >> 4) & 0xF0));
                    buffer[used + 2] = (byte)b;
                    used += 3;
                    i += 2;
                }
                else
                {
                    buffer[used] = (byte)a;
                    buffer[used + 1] = (byte)(a >> 8);
                    used += 2;
                    i++;
                }
            }

            if (used > buffer.Length - 3)
            {
                stream.Write(buffer[..used]);
                used = 0;
            }
        }

        stream.Write(buffer[..used]);
    }

    private static void WriteSignalFile(string path, int format, long byteOffset, IReadOnlyList<int[]> samples, int first, int count, int length)
    {
        const int ChunkFrames = 4096;
        int[] interleaved = new int[ChunkFrames * count];
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024);
        Span<byte> zeros = stackalloc byte[256];
        zeros.Clear();
        for (long left = byteOffset; left > 0; left -= zeros.Length)
        {
            stream.Write(zeros[..(int)Math.Min(left, zeros.Length)]);
        }

        for (int start = 0; start < length; start += ChunkFrames)
        {
            int frames = Math.Min(ChunkFrames, length - start);
            for (int f = 0; f < frames; f++)
            {
                for (int k = 0; k < count; k++)
                {
                    interleaved[f * count + k] = samples[first + k][start + f];
                }
            }

            // An odd 212 chunk would split a byte triple; chunks hold an even number of samples unless they are the last.
            WriteSamples(stream, format, interleaved.AsSpan(0, frames * count));
        }
    }

    private static void AppendSignalLine(StringBuilder sb, WfdbSignalSpec spec, int index)
    {
        CultureInfo inv = CultureInfo.InvariantCulture;
        CheckToken(spec.FileName, "file name");
        CheckToken(spec.Units, "units");
        sb.Append(spec.FileName).Append(' ').Append(spec.Format.ToString(inv));
        if (spec.SamplesPerFrame != 1)
        {
            sb.Append('x').Append(spec.SamplesPerFrame.ToString(inv));
        }

        if (spec.Skew != 0)
        {
            sb.Append(':').Append(spec.Skew.ToString(inv));
        }

        if (spec.ByteOffset != 0)
        {
            sb.Append('+').Append(spec.ByteOffset.ToString(inv));
        }

        sb.Append(' ').Append(spec.FormatGainField())
          .Append(' ').Append(spec.DeclaredAdcResolution.ToString(inv))
          .Append(' ').Append(spec.AdcZero.ToString(inv));
        bool needsAll = spec.Description.Length > 0 || spec.BlockSize != 0;
        if (spec.InitialValue is not int initial || spec.Checksum is not int checksum)
        {
            if (needsAll)
            {
                throw new ArgumentException(string.Create(inv,
                    $"Signal {index} has a description or block size but no initial value or checksum; set them (WriteRecord computes them)."));
            }

            if (spec.InitialValue is int only)
            {
                sb.Append(' ').Append(only.ToString(inv));
            }

            sb.Append("\r\n");
            return;
        }

        sb.Append(' ').Append(initial.ToString(inv))
          .Append(' ').Append(checksum.ToString(inv))
          .Append(' ').Append(spec.BlockSize.ToString(inv));
        if (spec.Description.Length > 0)
        {
            if (spec.Description.AsSpan().IndexOfAny('\r', '\n') >= 0)
            {
                throw new ArgumentException(string.Create(inv, $"The description of signal {index} contains a line break."));
            }

            sb.Append(' ').Append(spec.Description);
        }

        sb.Append("\r\n");
    }

    private static int Check(int value, int min, int max, int index) =>
        value >= min && value <= max
            ? value
            : throw new ArgumentOutOfRangeException("samples", value, string.Create(CultureInfo.InvariantCulture, $"Sample {index} is outside {min}..{max}."));

    private static void CheckToken(string value, string what)
    {
        if (string.IsNullOrEmpty(value) || value.AsSpan().IndexOfAny(" \t\r\n") >= 0)
        {
            throw new ArgumentException($"The {what} '{value}' must be non-empty and contain no white space.");
        }
    }
}
