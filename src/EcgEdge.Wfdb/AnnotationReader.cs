using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using static EcgEdge.Wfdb.AnnotationFormat;

namespace EcgEdge.Wfdb;

/// <summary>Reads MIT-format (WFDB) annotation files such as .atr.</summary>
/// <remarks>
/// <para>
/// Each 16-bit little-endian word holds a type A (top 6 bits) and a value I (low 10 bits). A = 1..49 is an
/// annotation, I its interval from the previous annotation. Pseudo-annotations: SKIP (59) is followed by a signed
/// 32-bit interval (high 16-bit word first, each word little-endian) that is added to the time; SUB (61), CHN (62),
/// NUM (60) and AUX (63, I = byte count, then the bytes padded to an even count) modify the annotation they follow,
/// as in WFDB's getann(). CHN and NUM carry over to later annotations; SUB and AUX do not. A = 0 with I &gt; 0 is a
/// NOTQRS annotation; the word 0 ends the file.
/// </para>
/// <para>
/// Corrupt or truncated content raises a <see cref="WfdbFormatException"/> with the byte offset of the bad word:
/// an odd trailing byte, a missing end word, a SKIP or AUX running past the end, a type of 50..58, a modifier before
/// the first annotation, or a time before the start of the record.
/// </para>
/// </remarks>
public static class AnnotationReader
{
    /// <summary>Reads an annotation file.</summary>
    /// <exception cref="WfdbFormatException">The file is corrupt or truncated.</exception>
    /// <exception cref="FileNotFoundException">The file (or its folder) does not exist.</exception>
    public static IReadOnlyList<WfdbAnnotation> Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using FileStream stream = SignalFileDecoder.OpenFile(path);
        if (stream.Length > Array.MaxLength)
        {
            throw new WfdbFormatException(path, null, string.Create(CultureInfo.InvariantCulture,
                $"the file has {stream.Length} bytes, more than an annotation file can hold in memory"));
        }

        byte[] data = new byte[stream.Length];
        stream.ReadExactly(data);
        return Parse(data, path);
    }

    /// <summary>Reads annotations from a stream (read to its end).</summary>
    /// <param name="stream">The annotation file content.</param>
    /// <param name="sourceName">The name used in error messages.</param>
    /// <exception cref="WfdbFormatException">The content is corrupt or truncated.</exception>
    public static IReadOnlyList<WfdbAnnotation> Read(Stream stream, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(sourceName);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return Parse(copy.GetBuffer().AsSpan(0, (int)copy.Length), sourceName);
    }

    /// <summary>Parses the bytes of an annotation file.</summary>
    /// <param name="data">The file content.</param>
    /// <param name="sourceName">The name used in error messages.</param>
    /// <exception cref="WfdbFormatException">The content is corrupt or truncated.</exception>
    public static IReadOnlyList<WfdbAnnotation> Parse(ReadOnlySpan<byte> data, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(sourceName);
        var result = new List<WfdbAnnotation>(data.Length / 2);
        long time = 0;
        byte channel = 0;
        sbyte number = 0;
        WfdbAnnotation current = default;
        bool hasCurrent = false;
        int pos = 0;

        while (true)
        {
            if (data.Length - pos < 2)
            {
                throw new WfdbFormatException(sourceName, pos, data.Length - pos == 1
                    ? "odd trailing byte: the file is truncated"
                    : "the file ends without the end-of-annotations word (0): it is truncated");
            }

            int word = BinaryPrimitives.ReadUInt16LittleEndian(data[pos..]);
            int offset = pos;
            pos += 2;
            if (word == 0)
            {
                break;
            }

            int type = word >> CodeShift;
            int value = word & DataMask;
            switch (type)
            {
                case Skip:
                    if (data.Length - pos < 4)
                    {
                        throw new WfdbFormatException(sourceName, offset, "SKIP interval runs past the end of the file");
                    }

                    int high = BinaryPrimitives.ReadUInt16LittleEndian(data[pos..]);
                    int low = BinaryPrimitives.ReadUInt16LittleEndian(data[(pos + 2)..]);
                    time += (high << 16) | low; // signed 32-bit interval
                    pos += 4;
                    break;

                case Num:
                case Sub:
                case Chn:
                case Aux:
                    if (!hasCurrent)
                    {
                        throw new WfdbFormatException(sourceName, offset, string.Create(CultureInfo.InvariantCulture,
                            $"{PseudoName(type)} modifier before the first annotation"));
                    }

                    if (type == Num)
                    {
                        number = unchecked((sbyte)value);
                        current = current with { Number = number };
                    }
                    else if (type == Chn)
                    {
                        channel = unchecked((byte)value);
                        current = current with { Channel = channel };
                    }
                    else if (type == Sub)
                    {
                        current = current with { SubType = unchecked((sbyte)value) };
                    }
                    else
                    {
                        if (value > MaxAuxLength)
                        {
                            throw new WfdbFormatException(sourceName, offset, string.Create(CultureInfo.InvariantCulture,
                                $"AUX length {value} exceeds {MaxAuxLength}"));
                        }

                        int padded = (value + 1) & ~1;
                        if (data.Length - pos < padded)
                        {
                            throw new WfdbFormatException(sourceName, offset, string.Create(CultureInfo.InvariantCulture,
                                $"AUX string of {value} bytes runs past the end of the file ({data.Length} bytes)"));
                        }

                        current = current with { Aux = DecodeAux(data.Slice(pos, value)) };
                        pos += padded;
                    }

                    break;

                default:
                    if (type > AnnotationCodes.MaxCode)
                    {
                        throw new WfdbFormatException(sourceName, offset, string.Create(CultureInfo.InvariantCulture,
                            $"invalid annotation type {type}"));
                    }

                    if (hasCurrent)
                    {
                        result.Add(current);
                    }

                    time += value;
                    if (time < 0)
                    {
                        throw new WfdbFormatException(sourceName, offset, string.Create(CultureInfo.InvariantCulture,
                            $"annotation time {time} is before the start of the record"));
                    }

                    current = new WfdbAnnotation(time, (AnnotationCode)type, 0, channel, number);
                    hasCurrent = true;
                    break;
            }
        }

        if (hasCurrent)
        {
            result.Add(current);
        }

        return result;
    }

    private static string DecodeAux(ReadOnlySpan<byte> bytes)
    {
        int length = bytes.Length;
        while (length > 0 && bytes[length - 1] == 0)
        {
            length--;
        }

        return Encoding.Latin1.GetString(bytes[..length]);
    }

    private static string PseudoName(int type) => type switch
    {
        Num => "NUM",
        Sub => "SUB",
        Chn => "CHN",
        _ => "AUX",
    };
}
