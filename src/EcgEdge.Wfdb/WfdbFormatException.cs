using System.Globalization;

namespace EcgEdge.Wfdb;

/// <summary>
/// The content of a WFDB file (header, signal or annotation file) is malformed, truncated or inconsistent.
/// </summary>
/// <remarks>
/// Every error caused by bad file content is reported with this type (or a subclass such as
/// <see cref="WfdbChecksumException"/>), never as an <see cref="IndexOutOfRangeException"/>,
/// <see cref="FormatException"/> or <see cref="OverflowException"/>. A missing file is reported with the usual
/// <see cref="FileNotFoundException"/>, and other I/O failures with <see cref="IOException"/>.
/// </remarks>
public class WfdbFormatException : Exception
{
    /// <summary>Creates an exception for a problem in <paramref name="filePath"/>.</summary>
    /// <param name="filePath">The file (or source name) that holds the bad content.</param>
    /// <param name="offset">The byte offset of the problem in the file (for header files the character offset of the line start), or null.</param>
    /// <param name="reason">What is wrong, without the location (the location is added to <see cref="Exception.Message"/>).</param>
    /// <param name="line">The 1-based line number, for text (header) files.</param>
    /// <param name="innerException">The underlying exception, if any.</param>
    public WfdbFormatException(string filePath, long? offset, string reason, int? line = null, Exception? innerException = null)
        : base(BuildMessage(filePath, reason, offset, line), innerException)
    {
        FilePath = filePath ?? string.Empty;
        Reason = reason ?? string.Empty;
        Offset = offset;
        Line = line;
    }

    /// <summary>The file (or source name given by the caller) that holds the bad content.</summary>
    public string FilePath { get; }

    /// <summary>
    /// The byte offset of the problem in <see cref="FilePath"/>. For header files this is the character offset of the
    /// start of the offending line (equal to the byte offset for ASCII headers). Null when no position applies.
    /// </summary>
    public long? Offset { get; }

    /// <summary>The 1-based line number of the problem in a header file; null for binary files.</summary>
    public int? Line { get; }

    /// <summary>The description of the problem without the file name and position.</summary>
    public string Reason { get; }

    private static string BuildMessage(string? filePath, string? reason, long? offset, int? line)
    {
        string where = line is int l
            ? offset is long lineOffset
                ? string.Create(CultureInfo.InvariantCulture, $"{filePath}, line {l} (offset {lineOffset})")
                : string.Create(CultureInfo.InvariantCulture, $"{filePath}, line {l}")
            : offset is long o
                ? string.Create(CultureInfo.InvariantCulture, $"{filePath}, byte offset {o}")
                : filePath ?? string.Empty;
        return where + ": " + reason;
    }
}

/// <summary>Which stored value did not match the decoded samples.</summary>
public enum WfdbChecksumKind
{
    /// <summary>The 16-bit checksum of all samples of the signal (header field 8).</summary>
    Checksum,

    /// <summary>The initial value, i.e. the first sample of the signal (header field 7).</summary>
    InitialValue,
}

/// <summary>
/// The samples decoded from a signal file do not match the checksum or the initial value stored in the header.
/// </summary>
public sealed class WfdbChecksumException : WfdbFormatException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="filePath">The signal file.</param>
    /// <param name="offset">Byte offset: where the signal data starts (initial value) or ends (checksum).</param>
    /// <param name="signalIndex">0-based index of the signal in the header.</param>
    /// <param name="signalDescription">The signal description (lead name).</param>
    /// <param name="kind">Which value did not match.</param>
    /// <param name="expected">The value from the header.</param>
    /// <param name="actual">The value computed from the samples (for checksums, the sum modulo 65536).</param>
    public WfdbChecksumException(string filePath, long? offset, int signalIndex, string signalDescription, WfdbChecksumKind kind, int expected, int actual)
        : base(filePath, offset, BuildReason(signalIndex, signalDescription, kind, expected, actual))
    {
        SignalIndex = signalIndex;
        SignalDescription = signalDescription;
        Kind = kind;
        Expected = expected;
        Actual = actual;
    }

    /// <summary>0-based index of the signal in the header.</summary>
    public int SignalIndex { get; }

    /// <summary>The signal description (lead name) from the header.</summary>
    public string SignalDescription { get; }

    /// <summary>Which value did not match.</summary>
    public WfdbChecksumKind Kind { get; }

    /// <summary>The value stored in the header.</summary>
    public int Expected { get; }

    /// <summary>The value computed from the decoded samples (checksums: modulo 65536, 0..65535).</summary>
    public int Actual { get; }

    private static string BuildReason(int signalIndex, string description, WfdbChecksumKind kind, int expected, int actual) =>
        kind == WfdbChecksumKind.Checksum
            ? string.Create(CultureInfo.InvariantCulture,
                $"checksum mismatch in signal {signalIndex} ({description}): header says {expected} ({expected & 0xFFFF} mod 65536), samples sum to {actual} mod 65536")
            : string.Create(CultureInfo.InvariantCulture,
                $"initial value mismatch in signal {signalIndex} ({description}): header says {expected}, first sample is {actual}");
}
