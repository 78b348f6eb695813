using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace EcgEdge.Wfdb;

/// <summary>
/// Decodes the interleaved sample stream of one signal file in one of the supported formats, with its own buffer.
/// Allocation-free after construction.
/// </summary>
internal sealed class SignalFileDecoder : IDisposable
{
    private const int BufferSize = 64 * 1024;

    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[BufferSize];
    private readonly int _format;
    private int _start;
    private int _end;
    private long _bufferFileOffset;
    private bool _eof;
    private bool _hasPending;
    private int _pending;

    public SignalFileDecoder(string path, int format, long byteOffset)
    {
        Path = path;
        _format = format;
        _stream = OpenFile(path);
        FileLength = _stream.Length;
        if (byteOffset > 0)
        {
            if (byteOffset > FileLength)
            {
                _stream.Dispose();
                throw new WfdbFormatException(path, FileLength, $"the file has {FileLength} bytes, fewer than its byte offset {byteOffset}");
            }

            _stream.Seek(byteOffset, SeekOrigin.Begin);
        }

        _bufferFileOffset = byteOffset;
    }

    /// <summary>The file path.</summary>
    public string Path { get; }

    /// <summary>The file length in bytes when it was opened.</summary>
    public long FileLength { get; }

    /// <summary>The byte offset of the next undecoded byte.</summary>
    public long Position => _bufferFileOffset + _start;

    /// <summary>
    /// Decodes up to <paramref name="destination"/>.Length samples. Returns fewer only at the end of the file.
    /// </summary>
    public int Decode(Span<int> destination)
    {
        int written = 0;
        if (_hasPending && destination.Length > 0)
        {
            destination[0] = _pending;
            _hasPending = false;
            written = 1;
        }

        while (written < destination.Length)
        {
            int unit = UnitBytes;
            if (_end - _start < unit && !Fill(unit))
            {
                // End of file: format 212 may end with a lone sample stored in 2 bytes.
                if (_format == 212 && _end - _start == 2)
                {
                    destination[written++] = Sign12(_buffer[_start] | (_buffer[_start + 1] & 0x0F) << 8);
                    _start += 2;
                }

                break;
            }

            written += DecodeBuffered(destination[written..]);
        }

        return written;
    }

    /// <summary>Bytes left in the file that were not decoded (a partial sample at the end).</summary>
    public int RemainingBytes => _end - _start;

    public void Dispose() => _stream.Dispose();

    /// <summary>
    /// Opens a file for reading; a missing folder is reported like a missing file, and a path that names a folder or a file
    /// that may not be read as an <see cref="IOException"/> (the contract of <see cref="WfdbFormatException"/>).
    /// </summary>
    internal static FileStream OpenFile(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        }
        catch (DirectoryNotFoundException ex)
        {
            throw new FileNotFoundException($"Could not find file '{path}'.", path, ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new IOException(Directory.Exists(path) ? $"'{path}' is a folder, not a file." : $"Access to '{path}' is denied.", ex);
        }
    }

    private int UnitBytes => _format switch
    {
        212 or 24 => 3,
        16 or 61 or 160 => 2,
        32 => 4,
        _ => 1,
    };

    /// <summary>Decodes whole units from the buffer into <paramref name="dest"/>; returns the samples written.</summary>
    private int DecodeBuffered(Span<int> dest)
    {
        ReadOnlySpan<byte> b = _buffer.AsSpan(_start, _end - _start);
        int n = 0;
        int p = 0;
        switch (_format)
        {
            case 16:
                {
                    int count = Math.Min(dest.Length, b.Length / 2);
                    if (BitConverter.IsLittleEndian)
                    {
                        ReadOnlySpan<short> words = MemoryMarshal.Cast<byte, short>(b[..(2 * count)]);
                        Span<int> target = dest[..count];
                        for (int i = 0; i < words.Length; i++)
                        {
                            target[i] = words[i];
                        }
                    }
                    else
                    {
                        for (int i = 0; i < count; i++)
                        {
                            dest[i] = BinaryPrimitives.ReadInt16LittleEndian(b[(2 * i)..]);
                        }
                    }

                    n = count;
                    p = 2 * count;
                    break;
                }

            case 61:
                for (; n < dest.Length && p + 2 <= b.Length; n++, p += 2)
                {
                    dest[n] = BinaryPrimitives.ReadInt16BigEndian(b[p..]);
                }

                break;
            case 160:
                for (; n < dest.Length && p + 2 <= b.Length; n++, p += 2)
                {
                    dest[n] = BinaryPrimitives.ReadUInt16LittleEndian(b[p..]) - 32768;
                }

                break;
            case 80:
                for (; n < dest.Length && p < b.Length; n++, p++)
                {
                    dest[n] = b[p] - 128;
                }

                break;
            case 24:
                for (; n < dest.Length && p + 3 <= b.Length; n++, p += 3)
                {
                    dest[n] = (b[p] | b[p + 1] << 8 | b[p + 2] << 16) << 8 >> 8;
                }

                break;
            case 32:
                for (; n < dest.Length && p + 4 <= b.Length; n++, p += 4)
                {
                    dest[n] = BinaryPrimitives.ReadInt32LittleEndian(b[p..]);
                }

                break;
            case 212:
                {
                    // Whole pairs first (3 bytes -> 2 samples), then possibly one pair split across calls.
                    int pairs = Math.Min(dest.Length / 2, b.Length / 3);
                    ReadOnlySpan<byte> src = b[..(3 * pairs)];
                    Span<int> target = dest[..(2 * pairs)];
                    for (int i = 0, j = 0; i < src.Length; i += 3, j += 2)
                    {
                        int b1 = src[i + 1];
                        target[j] = Sign12(src[i] | (b1 & 0x0F) << 8);
                        target[j + 1] = Sign12(src[i + 2] | (b1 & 0xF0) << 4);
                    }

                    n = 2 * pairs;
                    p = 3 * pairs;
                    if (n < dest.Length && p + 3 <= b.Length)
                    {
                        int b1 = b[p + 1];
                        dest[n++] = Sign12(b[p] | (b1 & 0x0F) << 8);
                        _pending = Sign12(b[p + 2] | (b1 & 0xF0) << 4);
                        _hasPending = true;
                        p += 3;
                    }

                    break;
                }

            default:
                throw new InvalidOperationException("unsupported format " + _format);
        }

        _start += p;
        return n;
    }

    private static int Sign12(int v) => v << 20 >> 20;

    /// <summary>Moves leftover bytes to the front and reads more; false when fewer than <paramref name="needed"/> bytes are available.</summary>
    private bool Fill(int needed)
    {
        if (_start > 0)
        {
            int left = _end - _start;
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, left);
            _bufferFileOffset += _start;
            _start = 0;
            _end = left;
        }

        while (!_eof && _end < _buffer.Length)
        {
            int read = _stream.Read(_buffer, _end, _buffer.Length - _end);
            if (read == 0)
            {
                _eof = true;
                break;
            }

            _end += read;
        }

        return _end - _start >= needed;
    }
}
