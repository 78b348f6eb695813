namespace EcgEdge.Wfdb;

/// <summary>Facts about the WFDB signal storage formats.</summary>
/// <remarks>
/// Formats that <see cref="WfdbSignalReader"/> can decode: 16 and 61 (16-bit little/big-endian), 212 (two 12-bit
/// samples in 3 bytes), 80 and 160 (8 and 16-bit offset binary), 24 and 32 (24/32-bit little-endian).
/// The other formats of the WFDB specification (0, 8, 310, 311, 508, 516, 524) are recognised in headers but
/// cannot be read.
/// </remarks>
public static class WfdbSignalFormats
{
    /// <summary>True when <paramref name="format"/> is a format defined by the WFDB specification.</summary>
    public static bool IsKnown(int format) => format switch
    {
        0 or 8 or 16 or 24 or 32 or 61 or 80 or 160 or 212 or 310 or 311 or 508 or 516 or 524 => true,
        _ => false,
    };

    /// <summary>True when this library can read (and, for 16 and 212, write) signals in <paramref name="format"/>.</summary>
    public static bool IsSupported(int format) => format switch
    {
        16 or 24 or 32 or 61 or 80 or 160 or 212 => true,
        _ => false,
    };

    /// <summary>The ADC resolution (bits) assumed when the header gives 0 or nothing.</summary>
    public static int DefaultAdcResolution(int format) => format switch
    {
        80 or 8 => 8,
        310 or 311 => 10,
        212 => 12,
        16 or 61 or 160 or 516 => 16,
        24 or 524 => 24,
        32 => 32,
        508 => 8,
        _ => 12,
    };

    /// <summary>
    /// The stored value that marks an invalid (missing) sample in <paramref name="format"/>: the most negative
    /// value the format can hold (-32768 for 16, -2048 for 212, -128 for 80, ...).
    /// </summary>
    public static int InvalidSample(int format) => format switch
    {
        8 or 80 or 508 => -128,
        310 or 311 => -512,
        212 => -2048,
        24 or 524 => -(1 << 23),
        32 => int.MinValue,
        _ => -32768,
    };

    /// <summary>The smallest and largest ADU value that <paramref name="format"/> can store.</summary>
    internal static (int Min, int Max) Range(int format) => format switch
    {
        80 => (-128, 127),
        212 => (-2048, 2047),
        24 => (-(1 << 23), (1 << 23) - 1),
        32 => (int.MinValue, int.MaxValue),
        _ => (-32768, 32767),
    };

    /// <summary>
    /// Bytes needed to store <paramref name="frames"/> frames of <paramref name="signals"/> signals in a supported
    /// format after <paramref name="byteOffset"/> header bytes; saturates at <see cref="long.MaxValue"/>.
    /// </summary>
    internal static long BytesFor(int format, long frames, int signals, long byteOffset)
    {
        Int128 samples = (Int128)frames * signals;
        Int128 bytes = format switch
        {
            212 => (3 * samples + 1) / 2,
            80 => samples,
            16 or 61 or 160 => 2 * samples,
            24 => 3 * samples,
            32 => 4 * samples,
            _ => throw new ArgumentOutOfRangeException(nameof(format)),
        };
        bytes += byteOffset;
        return bytes > long.MaxValue ? long.MaxValue : (long)bytes;
    }
}
