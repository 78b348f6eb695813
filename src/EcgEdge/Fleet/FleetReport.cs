using System.Text.Json.Serialization;

namespace EcgEdge.Fleet;

/// <summary>What a fleet simulation measured (printed, and written with <c>--json</c>). Keys are stable; extend only.</summary>
public sealed record FleetReport
{
    public required int Devices { get; init; }
    public required IReadOnlyList<string> Brokers { get; init; }
    public required string Protocol { get; init; }
    public required double DurationS { get; init; }
    public required double AlertsPerDevicePerMinute { get; init; }
    public required double VitalsIntervalS { get; init; }
    public required IReadOnlyList<string> Records { get; init; }

    /// <summary>Seconds from the first device started to every device connected (null: not all connected).</summary>
    public double? AllConnectedS { get; init; }

    /// <summary>Alerts stored in a device outbox (fsync'd): the product's promise starts here.</summary>
    public required long AlertsSent { get; init; }
    /// <summary>Alerts the broker acknowledged (PUBACK) to a device.</summary>
    public required long AlertsAcked { get; init; }
    /// <summary>Distinct sent alerts the consumer received.</summary>
    public required long AlertsReceived { get; init; }
    /// <summary>Sent alerts the consumer never received (must be 0).</summary>
    public required long AlertsLost { get; init; }
    /// <summary>Alerts the outbox refused (full disk): counted apart, since the device would hold them.</summary>
    public required long AlertsNotStored { get; init; }
    /// <summary>Copies dropped by the consumer's de-duplication (at-least-once delivery).</summary>
    public required long Duplicates { get; init; }
    /// <summary>Alerts on the fleet's topics that this run did not send (another run's leftovers).</summary>
    public required long Unexpected { get; init; }
    public required IReadOnlyList<string> LostIdsSample { get; init; }

    /// <summary>Alert stored in the outbox → consumer received it, milliseconds.</summary>
    public required LatencySummary EndToEndMs { get; init; }
    /// <summary>Alert stored in the outbox → PUBACK, milliseconds.</summary>
    public required LatencySummary PubackMs { get; init; }

    public required long VitalsSent { get; init; }
    public required long VitalsDropped { get; init; }
    /// <summary>Messages (alerts + vitals) handed to the brokers per second of emission.</summary>
    public required double MessagesPerS { get; init; }
    public required double AlertsReceivedPerS { get; init; }
    public required long Reconnects { get; init; }
    public required long ConnectionLosses { get; init; }
    public required long Resends { get; init; }
    public required IReadOnlyDictionary<string, int> DevicesByEndpointAtEnd { get; init; }

    /// <summary>Process CPU (devices + consumer) per device, in % of one core, over the emission phase.</summary>
    public required double CpuCorePercentPerDevice { get; init; }
    public required double CpuCorePercentTotal { get; init; }
    public required double PeakWorkingSetMb { get; init; }
    /// <summary>(Peak working set − working set before the devices started) / devices.</summary>
    public required double WorkingSetKbPerDevice { get; init; }

    public required double DrainS { get; init; }
    public required IReadOnlyList<FleetSample> Timeline { get; init; }
}

public sealed record LatencySummary(long Count, double P50, double P90, double P99, double Max)
{
    public static LatencySummary Of(List<double> values)
    {
        if (values.Count == 0) return new LatencySummary(0, double.NaN, double.NaN, double.NaN, double.NaN);
        values.Sort();
        double Q(double q) => Math.Round(values[Math.Min(values.Count - 1, (int)Math.Ceiling(q * values.Count) - 1)], 1);
        return new LatencySummary(values.Count, Q(0.5), Q(0.9), Q(0.99), Math.Round(values[^1], 1));
    }
}

/// <summary>One second of the run: devices connected (in total and per endpoint), alerts sent and received so far.</summary>
public sealed record FleetSample(double T, int Connected, IReadOnlyList<int> ConnectedPerEndpoint, long Sent, long Received, bool ConsumerConnected);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(FleetReport))]
public sealed partial class FleetJsonContext : JsonSerializerContext;
