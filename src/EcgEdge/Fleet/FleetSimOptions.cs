using System.ComponentModel.DataAnnotations;
using EcgEdge.Transport.Mqtt;
using Microsoft.Extensions.Options;

namespace EcgEdge.Fleet;

/// <summary>
/// Settings of a fleet simulation (<c>ecgedge fleet-sim</c>); defaults in one place. Checked by the source-generated
/// <see cref="FleetSimOptionsValidator"/>: the DataAnnotations, then the rules of <see cref="Validate"/>.
/// </summary>
public sealed class FleetSimOptions : IValidatableObject
{
    /// <summary>The name failures are reported under: the options come from fleet-sim's command line, not from a configuration section.</summary>
    public const string SectionName = "fleet-sim";

    /// <summary>Simulated devices, each with its own MQTT connection, durable outbox, status and last will.</summary>
    [Range(1, 100_000)]
    public int Devices { get; set; } = 100;

    /// <summary>Broker endpoints (mqtt://host:port). Device <c>i</c> starts on endpoint <c>i mod n</c> and fails over to the next.</summary>
    public List<string> Brokers { get; set; } = [];

    /// <summary>Seconds during which devices emit (then the run drains and checks).</summary>
    public double DurationSeconds { get; set; } = 60;

    /// <summary>Alerts per device per minute (a Poisson process per device, seeded).</summary>
    public double AlertsPerDevicePerMinute { get; set; } = 2;

    /// <summary>Seconds between a device's vitals messages (QoS 0).</summary>
    public double VitalsIntervalSeconds { get; set; } = 10;

    public MqttProtocolLevel ProtocolVersion { get; set; } = MqttProtocolLevel.V500;

    /// <summary>Topic prefix of the simulated fleet (kept apart from real devices' <c>ecgedge</c>).</summary>
    public string TopicPrefix { get; set; } = "ecgfleet";

    /// <summary>Folder holding one outbox per device; a new temporary folder (deleted afterwards) when empty.</summary>
    public string? OutboxRoot { get; set; }

    /// <summary>Device keep-alive (the broker's last-will delay is 1.5 × this).</summary>
    [Range(1, 3600)]
    public int KeepAliveSeconds { get; set; } = 15;

    /// <summary>How long to wait, after emitting stops, for every outbox to drain and every alert to arrive.</summary>
    public double DrainTimeoutSeconds { get; set; } = 120;

    public int Seed { get; set; } = 1;

    /// <summary>Seconds over which device connections are started (a real fleet does not connect in one instant).</summary>
    public double RampSeconds { get; set; } = 5;

    /// <summary>Client id of the checking consumer; a fresh one per run unless set (it owns a persistent session).</summary>
    public string? ConsumerClientId { get; set; }

    /// <summary>The rules beyond the DataAnnotations (run by the generated validator with them).</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var errors = new List<string>();
        if (Brokers is null || Brokers.Count == 0) errors.Add("at least one broker URL is needed");
        else
            foreach (var b in Brokers)
                if (!MqttEndpoint.TryParse(b, out _, out var why)) errors.Add($"broker '{b}': {why}");
        // Written as !(x > 0) so that NaN is refused too.
        if (!(DurationSeconds > 0)) errors.Add($"duration {DurationSeconds} must be > 0");
        if (!(AlertsPerDevicePerMinute >= 0)) errors.Add($"alert rate {AlertsPerDevicePerMinute} must be >= 0");
        if (!(VitalsIntervalSeconds > 0)) errors.Add($"vitals interval {VitalsIntervalSeconds} must be > 0");
        if (!Enum.IsDefined(ProtocolVersion)) errors.Add($"protocol {ProtocolVersion} is not V311 or V500");
        if (string.IsNullOrWhiteSpace(TopicPrefix) || TopicPrefix.AsSpan().IndexOfAny("+#") >= 0) errors.Add($"prefix '{TopicPrefix}' is not a topic level");
        if (!(DrainTimeoutSeconds >= 0)) errors.Add($"drain timeout {DrainTimeoutSeconds} must be >= 0");
        if (!(RampSeconds >= 0)) errors.Add($"ramp {RampSeconds} must be >= 0");
        return errors.Select(e => new ValidationResult(e));
    }
}

/// <summary>Source-generated (reflection-free, trimming-safe) validator of <see cref="FleetSimOptions"/>.</summary>
[OptionsValidator]
public sealed partial class FleetSimOptionsValidator : IValidateOptions<FleetSimOptions>
{
    /// <summary>Throws <see cref="ArgumentException"/> ("fleet-sim: …") listing every problem.</summary>
    public static void ThrowIfInvalid(FleetSimOptions options)
    {
        if (new FleetSimOptionsValidator().Validate(FleetSimOptions.SectionName, options) is { Failed: true } invalid)
            throw new ArgumentException(FleetSimOptions.SectionName + ": " + string.Join("; ", invalid.Failures));
    }
}
