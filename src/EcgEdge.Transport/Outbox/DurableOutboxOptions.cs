using System.ComponentModel.DataAnnotations;

namespace EcgEdge.Transport.Outbox;

/// <summary>Options of <see cref="DurableOutbox"/>. Defaults live here and only here.</summary>
public sealed class DurableOutboxOptions
{
    public const long DefaultMaxBytes = 64L * 1024 * 1024;
    public const int DefaultSegmentBytes = 4 * 1024 * 1024;
    public const int DefaultMaxMessageBytes = 1024 * 1024;
    public const int DefaultAckLogCompactBytes = 64 * 1024;
    public const long DefaultAlertReserveBytes = 4L * 1024 * 1024;

    /// <summary>Directory of the outbox (created with mode 0700). Required.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Directory { get; set; } = "";

    /// <summary>Upper bound of the bytes on disk (segments + ack log). When reached, see the full policy in docs/mqtt.md.</summary>
    [Range(64L * 1024, long.MaxValue)]
    public long MaxBytes { get; set; } = DefaultMaxBytes;

    /// <summary>A new segment file is started when the active one would exceed this size.</summary>
    [Range(4 * 1024, int.MaxValue)]
    public int SegmentBytes { get; set; } = DefaultSegmentBytes;

    /// <summary>Largest accepted message (topic + id + payload), bytes.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = DefaultMaxMessageBytes;

    /// <summary>The ack log is compacted (with the segments) once it grows past this size.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int AckLogCompactBytes { get; set; } = DefaultAckLogCompactBytes;

    /// <summary>
    /// Space inside <see cref="MaxBytes"/> that only alerts may use, held as a pre-allocated file (<c>alert-reserve.bin</c>)
    /// so that it exists on the disk, not only in the accounting: when the outbox is at its size limit, or the disk is full
    /// (other files grew), an alert is stored by shrinking the reserve file, and the reserve is written back once
    /// acknowledgements free room. Alerts with a strip may spend half of it; the other half is kept for small alerts (an alert
    /// stored without its strip when the outbox cannot take it whole), so an outbox full of undelivered alerts still stores
    /// alarms. At most an eighth of <see cref="MaxBytes"/> is used (<see cref="EffectiveAlertReserveBytes"/>); 0 turns it off.
    /// </summary>
    [Range(0L, long.MaxValue)]
    public long AlertReserveBytes { get; set; } = DefaultAlertReserveBytes;

    /// <summary>The reserve actually kept: <see cref="AlertReserveBytes"/>, at most <see cref="MaxBytes"/> / 8.</summary>
    public long EffectiveAlertReserveBytes => Math.Min(AlertReserveBytes, MaxBytes / 8);

    /// <summary>Returns every problem with these options (empty when valid).</summary>
    public IReadOnlyList<string> GetValidationErrors()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Directory)) errors.Add("Outbox: Directory is required.");
        if (MaxBytes < 64L * 1024) errors.Add($"Outbox: MaxBytes must be at least 65536 (was {MaxBytes}).");
        if (SegmentBytes < 4 * 1024) errors.Add($"Outbox: SegmentBytes must be at least 4096 (was {SegmentBytes}).");
        if (MaxMessageBytes < 1024) errors.Add($"Outbox: MaxMessageBytes must be at least 1024 (was {MaxMessageBytes}).");
        if (AckLogCompactBytes < 1024) errors.Add($"Outbox: AckLogCompactBytes must be at least 1024 (was {AckLogCompactBytes}).");
        if (AlertReserveBytes < 0) errors.Add($"Outbox: AlertReserveBytes must be 0 (off) or positive (was {AlertReserveBytes}).");
        if (errors.Count == 0 && MaxBytes < (long)AckLogCompactBytes + 2L * (MaxMessageBytes + 2048))
            errors.Add($"Outbox: MaxBytes ({MaxBytes}) must hold the ack log ({AckLogCompactBytes}) plus two maximal messages ({MaxMessageBytes} each).");
        return errors;
    }

    /// <summary>Throws <see cref="ArgumentException"/> listing every problem.</summary>
    public void Validate()
    {
        var errors = GetValidationErrors();
        if (errors.Count > 0) throw new ArgumentException(string.Join(" ", errors));
    }
}
