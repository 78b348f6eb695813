using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace EcgEdge.Transport.Outbox;

/// <summary>
/// Options of <see cref="DurableOutbox"/> (configuration section <see cref="SectionName"/>). Defaults live here and only
/// here. Checked by the source-generated <see cref="DurableOutboxOptionsValidator"/>: the DataAnnotations, then the
/// cross-field rule of <see cref="Validate"/>; as part of the transport, by <see cref="Mqtt.MqttTransportOptionsValidator"/>.
/// (The generated validator formats a range failure itself, ignoring an attribute's ErrorMessage: a range message reads
/// "The field Mqtt:Outbox.MaxBytes must be between …", which names the setting.)
/// </summary>
public sealed class DurableOutboxOptions : IValidatableObject
{
    /// <summary>The section the outbox is bound from (inside the MQTT transport's).</summary>
    public const string SectionName = "Mqtt:Outbox";

    public const long DefaultMaxBytes = 64L * 1024 * 1024;
    public const int DefaultSegmentBytes = 4 * 1024 * 1024;
    public const int DefaultMaxMessageBytes = 1024 * 1024;
    public const int DefaultAckLogCompactBytes = 64 * 1024;
    public const long DefaultAlertReserveBytes = 4L * 1024 * 1024;

    /// <summary>Directory of the outbox (created with mode 0700). Required.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Outbox: Directory is required.")]
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

    /// <summary>The cross-field rule, beyond the DataAnnotations (run by the generated validator with them).</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // Only once each size is in its own range: a size already refused would make this message noise.
        var sizesValid = MaxBytes >= 64L * 1024 && MaxMessageBytes is >= 1024 and <= 64 * 1024 * 1024 && AckLogCompactBytes is >= 1024 and <= 64 * 1024 * 1024;
        if (sizesValid && MaxBytes < (long)AckLogCompactBytes + 2L * (MaxMessageBytes + 2048))
            yield return new ValidationResult(
                $"Outbox: MaxBytes ({MaxBytes}) must hold the ack log ({AckLogCompactBytes}) plus two maximal messages ({MaxMessageBytes} each).",
                [nameof(MaxBytes)]);
    }
}

/// <summary>Source-generated (reflection-free, trimming-safe) validator: the DataAnnotations and <see cref="DurableOutboxOptions.Validate"/>.</summary>
[OptionsValidator]
public sealed partial class DurableOutboxOptionsValidator : IValidateOptions<DurableOutboxOptions>;
