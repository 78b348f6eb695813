using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using static EcgEdge.Wfdb.AnnotationFormat;

namespace EcgEdge.Wfdb;

/// <summary>Writes MIT-format (WFDB) annotation files, readable by WFDB's rdann, bxb and by <see cref="AnnotationReader"/>.</summary>
/// <remarks>
/// The encoding follows WFDB's putann(): an interval above 1023 (and every NOTQRS annotation) is written as a SKIP
/// followed by the annotation word; SUB is written when the subtype is nonzero, CHN and NUM when they differ from the
/// previous annotation (both start at 0), then AUX, padded to an even length. The file ends with the word 0.
/// </remarks>
public static class AnnotationWriter
{
    /// <summary>Writes annotations to a file (created or overwritten).</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="annotations">The annotations, in non-decreasing <see cref="WfdbAnnotation.Sample"/> order.</param>
    /// <param name="nulTerminateAux">
    /// True to store a NUL after each aux string (counted in its length), as in the original MIT-BIH files;
    /// false (default) to store only the characters. WFDB tools read both the same way.
    /// </param>
    /// <exception cref="ArgumentException">The annotations are out of order or have invalid fields.</exception>
    public static void Write(string path, IEnumerable<WfdbAnnotation> annotations, bool nulTerminateAux = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(annotations);
        using var stream = new MemoryStream();
        Write(stream, annotations, nulTerminateAux); // validate everything before touching the file
        File.WriteAllBytes(path, stream.ToArray());
    }

    /// <summary>Writes annotations to a stream.</summary>
    /// <remarks>
    /// Annotations are validated while they are written: after an <see cref="ArgumentException"/> the stream may hold
    /// a partial file. The path overload validates everything before it creates the file.
    /// </remarks>
    /// <param name="stream">The destination.</param>
    /// <param name="annotations">The annotations, in non-decreasing <see cref="WfdbAnnotation.Sample"/> order.</param>
    /// <param name="nulTerminateAux">True to store a NUL after each aux string; see <see cref="Write(string, IEnumerable{WfdbAnnotation}, bool)"/>.</param>
    /// <exception cref="ArgumentException">The annotations are out of order or have invalid fields.</exception>
    public static void Write(Stream stream, IEnumerable<WfdbAnnotation> annotations, bool nulTerminateAux = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(annotations);
        var output = new BufferedStream(stream, 16 * 1024);
        Span<byte> aux = stackalloc byte[MaxAuxLength + 1];
        long previous = 0;
        byte channel = 0;
        sbyte number = 0;
        int index = 0;
        foreach (WfdbAnnotation a in annotations)
        {
            Validate(a, index, previous);
            long delta = a.Sample - previous;
            if (a.Code == AnnotationCode.NotQrs)
            {
                // Word 0 would mean end-of-file: WFDB writes a SKIP to one sample earlier, then an interval of 1.
                WriteSkip(output, delta - 1, index);
                delta = 1;
            }
            else if (delta > MaxInterval)
            {
                WriteSkip(output, delta, index);
                delta = 0;
            }

            WriteWord(output, ((int)a.Code << CodeShift) | (int)delta);
            if (a.SubType != 0)
            {
                WriteWord(output, (Sub << CodeShift) | (a.SubType & DataMask));
            }

            if (a.Channel != channel)
            {
                WriteWord(output, (Chn << CodeShift) | a.Channel);
                channel = a.Channel;
            }

            if (a.Number != number)
            {
                WriteWord(output, (Num << CodeShift) | (a.Number & DataMask));
                number = a.Number;
            }

            if (!string.IsNullOrEmpty(a.Aux))
            {
                int length = EncodeAux(a.Aux, aux, nulTerminateAux, index);
                WriteWord(output, (Aux << CodeShift) | length);
                output.Write(aux[..((length + 1) & ~1)]);
            }

            previous = a.Sample;
            index++;
        }

        WriteWord(output, 0);
        output.Flush();
    }

    private static void Validate(WfdbAnnotation a, int index, long previous)
    {
        if (a.Sample < previous)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"Annotation {index} at sample {a.Sample} comes before the previous one at {previous}; annotations must be in time order."), "annotations");
        }

        if ((int)a.Code > AnnotationCodes.MaxCode)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"Annotation {index} has code {(int)a.Code}; codes above {AnnotationCodes.MaxCode} are not annotation types."), "annotations");
        }
    }

    private static int EncodeAux(string text, Span<byte> buffer, bool terminate, int index)
    {
        int max = terminate ? MaxAuxLength - 1 : MaxAuxLength;
        if (text.Length > max)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"Annotation {index}: the aux string has {text.Length} characters; at most {max} fit."), "annotations");
        }

        foreach (char c in text)
        {
            if (c > '\u00FF')
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"Annotation {index}: the aux string contains '{c}', which is not a Latin-1 character."), "annotations");
            }
        }

        int length = Encoding.Latin1.GetBytes(text, buffer);
        if (terminate)
        {
            buffer[length++] = 0;
        }

        buffer[length] = 0; // padding byte when the length is odd
        return length;
    }

    private static void WriteSkip(Stream output, long interval, int index)
    {
        if (interval is > int.MaxValue or < int.MinValue)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"Annotation {index}: the interval {interval} does not fit in a 32-bit SKIP."), "annotations");
        }

        WriteWord(output, Skip << CodeShift);
        uint v = unchecked((uint)(int)interval);
        WriteWord(output, (int)(v >> 16));
        WriteWord(output, (int)(v & 0xFFFF));
    }

    private static void WriteWord(Stream output, int word)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)word);
        output.Write(b);
    }
}
