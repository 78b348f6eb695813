using EcgEdge.Transport.Mqtt;

namespace EcgEdge.Fleet;

/// <summary>Settings of a fleet simulation (<c>ecgedge fleet-sim</c>); defaults in one place, checked by <see cref="Validate"/>.</summary>
public sealed class FleetSimOptions
{
    /// <summary>Simulated devices, each with its own MQTT connection, durable outbox, status and last will.</summary>
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
    public int KeepAliveSeconds { get; set; } = 15;

    /// <summary>How long to wait, after emitting stops, for every outbox to drain and every alert to arrive.</summary>
    public double DrainTimeoutSeconds { get; set; } = 120;

    public int Seed { get; set; } = 1;

    /// <summary>Seconds over which device connections are started (a real fleet does not connect in one instant).</summary>
    public double RampSeconds { get; set; } = 5;

    /// <summary>Client id of the checking consumer; a fresh one per run unless set (it owns a persistent session).</summary>
    public string? ConsumerClientId { get; set; }

    public void Validate()
    {
        var errors = new List<string>();
        if (Devices is < 1 or > 100_000) errors.Add($"devices {Devices} must be 1..100000");
        if (Brokers.Count == 0) errors.Add("at least one broker URL is needed");
        foreach (var b in Brokers)
            if (!MqttEndpoint.TryParse(b, out _, out var why)) errors.Add($"broker '{b}': {why}");
        if (!(DurationSeconds > 0)) errors.Add($"duration {DurationSeconds} must be > 0");
        if (!(AlertsPerDevicePerMinute >= 0)) errors.Add($"alert rate {AlertsPerDevicePerMinute} must be >= 0");
        if (!(VitalsIntervalSeconds > 0)) errors.Add($"vitals interval {VitalsIntervalSeconds} must be > 0");
        if (!Enum.IsDefined(ProtocolVersion)) errors.Add($"protocol {ProtocolVersion} is not V311 or V500");
        if (string.IsNullOrWhiteSpace(TopicPrefix) || TopicPrefix.AsSpan().IndexOfAny("+#") >= 0) errors.Add($"prefix '{TopicPrefix}' is not a topic level");
        if (KeepAliveSeconds is < 1 or > 3600) errors.Add($"keep-alive {KeepAliveSeconds} must be 1..3600 s");
        if (!(DrainTimeoutSeconds >= 0)) errors.Add($"drain timeout {DrainTimeoutSeconds} must be >= 0");
        if (!(RampSeconds >= 0)) errors.Add($"ramp {RampSeconds} must be >= 0");
        if (errors.Count > 0) throw new ArgumentException("fleet-sim: " + string.Join("; ", errors));
    }
}
