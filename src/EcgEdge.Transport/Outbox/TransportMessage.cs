namespace EcgEdge.Transport.Outbox;

/// <summary>How urgent a message is; decides what the outbox may evict when it is full.</summary>
public enum MessagePriority : byte
{
    /// <summary>A trend or summary: may be evicted (counted, logged) when the outbox is full.</summary>
    Trend = 0,

    /// <summary>An alarm: never evicted; when there is no room the enqueue fails with <see cref="OutboxFullException"/>.</summary>
    Alert = 1,
}

/// <summary>MQTT delivery guarantee (QoS 2 is deliberately not offered: the outbox + message ids give at-least-once
/// with de-duplication on the receiving side).</summary>
public enum MessageQos : byte
{
    /// <summary>QoS 0, best effort: never persisted.</summary>
    AtMostOnce = 0,

    /// <summary>QoS 1: persisted in the outbox until the broker's PUBACK.</summary>
    AtLeastOnce = 1,
}

/// <summary>
/// One message for the transport: topic + JSON payload bytes + delivery flags + a unique id. Transport-agnostic
/// (no MQTTnet types) so the outbox and the event engine do not depend on the MQTT library.
/// </summary>
public sealed class TransportMessage
{
    /// <summary>Longest accepted id, UTF-8 bytes.</summary>
    public const int MaxIdBytes = 128;

    /// <summary>Longest accepted topic, UTF-8 bytes.</summary>
    public const int MaxTopicBytes = 1024;

    /// <summary>Unique id (sent as the MQTT 5 user property <c>message-id</c>; receivers de-duplicate on it).</summary>
    public required string Id { get; init; }

    /// <summary>Full MQTT topic name (no wildcards).</summary>
    public required string Topic { get; init; }

    /// <summary>Payload, UTF-8 JSON.</summary>
    public required ReadOnlyMemory<byte> Payload { get; init; }

    public MessageQos Qos { get; init; } = MessageQos.AtLeastOnce;

    public bool Retain { get; init; }

    public MessagePriority Priority { get; init; } = MessagePriority.Alert;

    /// <summary>When the message was created (informational; persisted with the message).</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>MQTT 5 message expiry interval in seconds; 0 = never expires.</summary>
    public uint ExpirySeconds { get; init; }

    /// <summary>A new time-ordered unique id (UUID v7, 32 hex digits).</summary>
    public static string NewId(TimeProvider? timeProvider = null) =>
        Guid.CreateVersion7((timeProvider ?? TimeProvider.System).GetUtcNow()).ToString("N");

    /// <summary>Throws <see cref="ArgumentException"/> when the message cannot be sent or stored.</summary>
    public void EnsureValid()
    {
        if (string.IsNullOrEmpty(Id) || System.Text.Encoding.UTF8.GetByteCount(Id) > MaxIdBytes)
            throw new ArgumentException($"Message id must be 1..{MaxIdBytes} UTF-8 bytes.", nameof(Id));
        if (string.IsNullOrEmpty(Topic) || System.Text.Encoding.UTF8.GetByteCount(Topic) > MaxTopicBytes)
            throw new ArgumentException($"Topic must be 1..{MaxTopicBytes} UTF-8 bytes.", nameof(Topic));
        if (Topic.Contains('#') || Topic.Contains('+') || Topic.Contains('\0'))
            throw new ArgumentException("Topic must not contain wildcards or NUL.", nameof(Topic));
        if (!Enum.IsDefined(Qos)) throw new ArgumentException("Unknown QoS.", nameof(Qos));
        if (!Enum.IsDefined(Priority)) throw new ArgumentException("Unknown priority.", nameof(Priority));
    }

    public override string ToString() => $"{Priority} {Id} -> {Topic} ({Payload.Length} bytes, QoS {(int)Qos}{(Retain ? ", retained" : "")})";
}

/// <summary>A message held by the outbox, with its position in the outbox's total order.</summary>
/// <param name="Sequence">Monotonic sequence number assigned at enqueue; pending messages are sent in this order.</param>
/// <param name="Message">The message.</param>
public sealed record OutboxEntry(long Sequence, TransportMessage Message);
