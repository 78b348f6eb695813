using System.ComponentModel.DataAnnotations;

namespace EcgEdge.Acquisition.Replay;

/// <summary>How a WFDB recording is replayed as if it came from the front-end.</summary>
public sealed class ReplayOptions : IValidatableObject
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Replay";

    /// <summary>Path of the record: the .hea file, or the record path without extension.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Record { get; set; } = "";

    /// <summary>
    /// Optional lead assignment per signal of the record, in order (e.g. "II,V1"; "-" skips a signal).
    /// When empty, each signal's own label maps (MLII → II, V1 → V1 ...).
    /// </summary>
    public string? Leads { get; set; }

    /// <summary>Deliver frames at the recording's pace (true) or as fast as possible (false).</summary>
    public bool RealTime { get; set; }

    /// <summary>With <see cref="RealTime"/>: pace at this multiple of real time (e.g. 20 for soak and outage tests).</summary>
    [Range(0.01, 100000.0)]
    public double Speed { get; set; } = 1;

    /// <summary>Start again at the beginning when the record ends (with a gap marker between passes).</summary>
    public bool Loop { get; set; }

    /// <summary>
    /// Where in the record the replay starts, seconds from its first sample (0: the beginning). The samples before it are
    /// read and dropped (the signal files' checksums still cover them); record sample indices reported by the replay stay
    /// those of the whole record. A loop starts every pass here.
    /// </summary>
    [Range(0.0, 1e9)]
    public double FromSeconds { get; set; }

    /// <summary>
    /// Where the replay stops, seconds from the record's first sample (null: the record's end). With <see cref="Loop"/>,
    /// each pass ends here. Must lie after <see cref="FromSeconds"/>.
    /// </summary>
    [Range(0.0, 1e9)]
    public double? ToSeconds { get; set; }

    /// <summary>Frames read from the file per chunk.</summary>
    [Range(16, 65536)]
    public int ChunkFrames { get; set; } = 1024;

    /// <summary>The rules beyond the DataAnnotations: a record path the file system can take, a segment that is not empty.</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Record is not null && Record.Contains('\0'))
            yield return new ValidationResult("Replay:Record must not contain a NUL character.", [nameof(Record)]);
        if (ToSeconds is { } to && to <= FromSeconds)
            yield return new ValidationResult($"Replay:ToSeconds ({to}) must lie after Replay:FromSeconds ({FromSeconds})", [nameof(ToSeconds)]);
    }
}
