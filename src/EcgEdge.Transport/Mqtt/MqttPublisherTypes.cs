namespace EcgEdge.Transport.Mqtt;

/// <summary>Connection state of <see cref="MqttPublisher"/>.</summary>
public enum MqttConnectionState
{
    /// <summary>Created, <see cref="MqttPublisher.Start"/> not called yet.</summary>
    NotStarted,

    /// <summary>A connect attempt is in progress.</summary>
    Connecting,

    /// <summary>Connected; the online status was published.</summary>
    Connected,

    /// <summary>Not connected; waiting for the next attempt (backoff).</summary>
    Disconnected,

    /// <summary>Stopped or disposed.</summary>
    Stopped,
}

/// <summary>Counters of a publisher since it was created.</summary>
public sealed record MqttPublisherCounters
{
    /// <summary>PUBLISH packets sent (outbox + best effort + status), including resends.</summary>
    public long Published { get; init; }

    /// <summary>Outbox messages acknowledged by the broker (PUBACK with a success reason code) and removed.</summary>
    public long Acknowledged { get; init; }

    /// <summary>PUBACKs with a failure reason code (the message stays in the outbox and is retried; see <see cref="DeadLettered"/>).</summary>
    public long Rejected { get; init; }

    /// <summary>Outbox messages the broker refused permanently <see cref="MqttPublisher.DeadLetterAfterRejections"/> times in a
    /// row (not authorized, topic name invalid, payload format invalid): moved to the outbox's dead-letter file.</summary>
    public long DeadLettered { get; init; }

    /// <summary>Outbox messages sent again after a failure, timeout or rejection.</summary>
    public long Retries { get; init; }

    /// <summary>Successful connections after the first one.</summary>
    public long Reconnects { get; init; }

    /// <summary>Failed connect attempts.</summary>
    public long ConnectFailures { get; init; }

    /// <summary>Connections found dead (failed ping or publish) by the connection loop.</summary>
    public long ConnectionLosses { get; init; }

    public long BestEffortSent { get; init; }

    /// <summary>Best-effort messages dropped: queue full (oldest first) or older than their expiry.</summary>
    public long BestEffortDropped { get; init; }
}

/// <summary>Reconnect delay: exponential backoff with jitter.</summary>
public static class ReconnectBackoff
{
    /// <summary>
    /// Delay before attempt number <paramref name="attempt"/> (1 = first retry): <c>min · 2^(attempt−1)</c> capped at
    /// <c>max</c>, then multiplied by <c>1 + jitter · (2·random01 − 1)</c> and clamped to [0, max].
    /// </summary>
    public static TimeSpan Compute(int attempt, TimeSpan min, TimeSpan max, double jitter, double random01)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(attempt);
        var exponent = Math.Min(attempt - 1, 30);
        var baseTicks = Math.Min((double)max.Ticks, min.Ticks * Math.Pow(2, exponent));
        var factor = 1 + jitter * (2 * Math.Clamp(random01, 0, 1) - 1);
        var ticks = Math.Clamp(baseTicks * factor, 0, max.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }
}
