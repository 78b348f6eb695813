namespace EcgEdge.Transport.Outbox;

/// <summary>
/// The outbox has no room for a message even after compaction and after evicting every pending trend message.
/// The message was NOT stored: the caller must surface this (alarm on the device, log critical, health status);
/// it is also counted in <see cref="OutboxStatistics.RejectedFull"/>.
/// </summary>
public sealed class OutboxFullException : IOException
{
    public OutboxFullException(string message) : base(message) { }

    public OutboxFullException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Id of the refused message.</summary>
    public string? MessageId { get; init; }

    /// <summary>Priority of the refused message.</summary>
    public MessagePriority Priority { get; init; }

    /// <summary>Bytes the outbox may use (<see cref="DurableOutboxOptions.MaxBytes"/>).</summary>
    public long CapacityBytes { get; init; }

    /// <summary>Bytes held by pending alerts when the message was refused.</summary>
    public long PendingBytes { get; init; }
}

/// <summary>Counters of an outbox since it was opened (recovery counters describe the last open).</summary>
public sealed record OutboxStatistics
{
    public long Enqueued { get; init; }
    public long Acknowledged { get; init; }
    /// <summary>Trend messages evicted to make room (never alerts).</summary>
    public long EvictedTrends { get; init; }
    /// <summary>Messages refused with <see cref="OutboxFullException"/>.</summary>
    public long RejectedFull { get; init; }
    /// <summary>Pending messages found when the outbox was opened.</summary>
    public long Recovered { get; init; }
    /// <summary>Torn (partially written) records dropped from the end of a file at open.</summary>
    public long TornRecordsDropped { get; init; }
    /// <summary>Corrupt records (bad CRC / framing) skipped at open or found unreadable later.</summary>
    public long CorruptRecordsSkipped { get; init; }
    public long SegmentsDeleted { get; init; }
    public long SegmentsRewritten { get; init; }
    public int Pending { get; init; }
    public int PendingAlerts { get; init; }
    public long PendingBytes { get; init; }
    public long DiskBytes { get; init; }
    /// <summary>Bytes of the alert reserve file now (<see cref="DurableOutboxOptions.AlertReserveBytes"/>).</summary>
    public long ReserveBytes { get; init; }
    /// <summary>Alerts stored by spending the reserve (size limit reached, or the disk full).</summary>
    public long AlertsStoredFromReserve { get; init; }
}
