namespace EcgEdge.Wfdb;

/// <summary>A parsed WFDB header (.hea): the record line, one <see cref="WfdbSignalSpec"/> per signal, and the comments.</summary>
/// <param name="RecordName">The record name from the record line (e.g. "101").</param>
/// <param name="SignalCount">The number of signals; equals <see cref="Signals"/>.Count.</param>
/// <param name="SamplingFrequency">Frames per second per signal; <see cref="DefaultSamplingFrequency"/> when absent.</param>
/// <param name="SampleCount">Samples per signal, or null when the header gives 0 or nothing (length unknown; checksums are then not verified).</param>
/// <param name="Signals">The signal specifications, in header order.</param>
/// <param name="Comments">The text of the '#' comment lines, without the '#' and surrounding white space.</param>
/// <param name="BaseTime">The base time field (e.g. "10:30:00"), or null.</param>
/// <param name="BaseDate">The base date field (e.g. "25/12/2020"), or null.</param>
/// <remarks>
/// Only single-segment records are supported; a multi-segment record line ("name/segments") is rejected with a
/// <see cref="WfdbFormatException"/>. Lines may end with CRLF or LF.
/// </remarks>
public sealed record WfdbHeader(
    string RecordName,
    int SignalCount,
    double SamplingFrequency,
    long? SampleCount,
    IReadOnlyList<WfdbSignalSpec> Signals,
    IReadOnlyList<string> Comments,
    string? BaseTime,
    string? BaseDate)
{
    /// <summary>The WFDB default sampling frequency (Hz) used when the record line gives none.</summary>
    public const double DefaultSamplingFrequency = 250;

    /// <summary>The counter frequency (ticks per second) when the record line gives one ("freq/counterfreq").</summary>
    public double? CounterFrequency { get; init; }

    /// <summary>The base counter value when the record line gives one ("freq/counterfreq(base)").</summary>
    public double? BaseCounter { get; init; }

    /// <summary>The directory the header was read from; signal file names are resolved against it.</summary>
    public string Directory { get; init; } = string.Empty;

    /// <summary>The header path (or the source name given to <see cref="Parse(TextReader, string)"/>), used in error messages.</summary>
    public string SourcePath { get; init; } = string.Empty;

    /// <summary>
    /// A short identity of the recording that survives renamed folders: record name, sampling frequency, samples per signal
    /// and the first signal's checksum ("201/360/650000/-22131"). Model manifests list the training records by it
    /// (<c>training_records</c>), so that evaluation can say which results come from training data.
    /// tools/train/ecgnat/wfdb.py: signature computes the same string.
    /// </summary>
    public string Signature => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{RecordName}/{SamplingFrequency:0.###}/{SampleCount ?? 0}/{(Signals.Count > 0 ? Signals[0].Checksum ?? 0 : 0)}");

    /// <summary>The duration of the record, or null when <see cref="SampleCount"/> is unknown.</summary>
    public TimeSpan? Duration => SampleCount is long n ? TimeSpan.FromSeconds(n / SamplingFrequency) : null;

    /// <summary>The full path of the file that holds <paramref name="signal"/> (its file name resolved against <see cref="Directory"/>).</summary>
    public string GetSignalFilePath(WfdbSignalSpec signal)
    {
        ArgumentNullException.ThrowIfNull(signal);
        return Path.Combine(Directory, signal.FileName);
    }

    /// <summary>Reads and parses a header file.</summary>
    /// <param name="headerPath">Path of the .hea file.</param>
    /// <exception cref="WfdbFormatException">The header is malformed (the exception names the file and line).</exception>
    /// <exception cref="FileNotFoundException">The file (or its folder) does not exist.</exception>
    public static WfdbHeader Parse(string headerPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(headerPath);
        using var reader = new StreamReader(SignalFileDecoder.OpenFile(headerPath), detectEncodingFromByteOrderMarks: true);
        return Parse(reader, headerPath);
    }

    /// <summary>Parses a header from text.</summary>
    /// <param name="reader">The header text.</param>
    /// <param name="sourceName">
    /// The path the text came from; used in error messages and to set <see cref="Directory"/> (its directory part, or the
    /// current directory when it has none).
    /// </param>
    /// <exception cref="WfdbFormatException">The header is malformed (the exception names the source and line).</exception>
    public static WfdbHeader Parse(TextReader reader, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(sourceName);
        return WfdbHeaderParser.Parse(reader.ReadToEnd(), sourceName);
    }
}
