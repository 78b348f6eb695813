namespace EcgEdge.Strips;

/// <summary>
/// An alert file, or the ECG strip inside it, cannot be rendered: the file is unreadable or not an alert in JSON, the
/// alert carries no strip, or the strip's <c>data</c> or fields are malformed or inconsistent.
/// </summary>
/// <remarks>
/// Every problem caused by bad input is reported with this type, never as a <see cref="FormatException"/>,
/// <see cref="System.Text.Json.JsonException"/>, <see cref="IndexOutOfRangeException"/> or
/// <see cref="NullReferenceException"/>; <c>ecgedge strip</c> reports it on one line with exit code 2.
/// </remarks>
public sealed class StripFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="reason">What is wrong, without the file name (which is added to <see cref="Exception.Message"/>).</param>
    /// <param name="filePath">The alert file, or null when the alert did not come from a file.</param>
    /// <param name="innerException">The underlying exception, if any.</param>
    public StripFormatException(string reason, string? filePath = null, Exception? innerException = null)
        : base(filePath is null ? reason : filePath + ": " + reason, innerException)
    {
        Reason = reason ?? string.Empty;
        FilePath = filePath;
    }

    /// <summary>The description of the problem without the file name.</summary>
    public string Reason { get; }

    /// <summary>The alert file, or null when the alert did not come from a file.</summary>
    public string? FilePath { get; }

    /// <summary>
    /// The same problem reported against <paramref name="filePath"/> (for problems found after the alert was loaded);
    /// this exception becomes the inner exception so that where it was thrown is kept.
    /// </summary>
    public StripFormatException WithFile(string filePath) => new(Reason, filePath, this);
}
