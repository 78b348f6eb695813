using System.Text;
using EcgEdge.Transport.Outbox;

namespace EcgEdge.Tests.Transport;

public sealed class OutboxTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ecgedge-outbox-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private DurableOutbox Open(long maxBytes = DurableOutboxOptions.DefaultMaxBytes, int segmentBytes = DurableOutboxOptions.DefaultSegmentBytes, int ackLogBytes = DurableOutboxOptions.DefaultAckLogCompactBytes) =>
        DurableOutbox.Open(new DurableOutboxOptions { Directory = _dir, MaxBytes = maxBytes, SegmentBytes = segmentBytes, AckLogCompactBytes = ackLogBytes, MaxMessageBytes = 8 * 1024 });

    internal static TransportMessage Message(int i, MessagePriority priority = MessagePriority.Alert, int payloadBytes = 40) => new()
    {
        Id = $"m{i:D6}",
        Topic = "ecgedge/dev1/alerts",
        Payload = Encoding.UTF8.GetBytes($"{{\"n\":{i},\"pad\":\"{new string('x', Math.Max(0, payloadBytes - 20))}\"}}"),
        Priority = priority,
        Qos = MessageQos.AtLeastOnce,
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000 + i),
        ExpirySeconds = (uint)(i % 3),
        Retain = i % 5 == 0,
    };

    private static List<string> Ids(DurableOutbox o) => o.PeekPending().Select(e => e.Message.Id).ToList();

    private string SegmentFile() => Directory.GetFiles(_dir, "*.seg").Order().Last();

    [Fact]
    public void Messages_round_trip_in_order_across_reopen()
    {
        using (var o = Open())
        {
            for (var i = 0; i < 20; i++) Assert.Equal(i + 1, o.Enqueue(Message(i)));
        }
        using (var o = Open())
        {
            var pending = o.PeekPending();
            Assert.Equal(Enumerable.Range(0, 20).Select(i => $"m{i:D6}"), pending.Select(e => e.Message.Id));
            Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), pending.Select(e => e.Sequence));
            var m7 = pending[7].Message;
            var expected = Message(7);
            Assert.Equal(expected.Topic, m7.Topic);
            Assert.Equal(expected.Payload.ToArray(), m7.Payload.ToArray());
            Assert.Equal(expected.CreatedAt, m7.CreatedAt);
            Assert.Equal(expected.ExpirySeconds, m7.ExpirySeconds);
            Assert.Equal(expected.Retain, m7.Retain);
            Assert.Equal(20, o.Statistics.Recovered);
            Assert.Equal(21, o.Enqueue(Message(20)));
        }
    }

    [Fact]
    public void Acknowledge_removes_the_message_durably_and_order_of_the_rest_is_kept()
    {
        using (var o = Open())
        {
            for (var i = 0; i < 10; i++) o.Enqueue(Message(i));
            Assert.True(o.Acknowledge("m000000"));
            Assert.True(o.Acknowledge("m000004"));
            Assert.False(o.Acknowledge("m000004"));
            Assert.False(o.Acknowledge("nope"));
            Assert.True(o.TryPeek(out var head));
            Assert.Equal("m000001", head!.Message.Id);
        }
        using (var o = Open())
        {
            Assert.Equal(["m000001", "m000002", "m000003", "m000005", "m000006", "m000007", "m000008", "m000009"], Ids(o));
            // Ids of acknowledged messages can be reused; sequence numbers never are.
            Assert.Equal(11, o.Enqueue(Message(0)));
        }
    }

    [Fact]
    public void A_duplicate_pending_id_is_refused()
    {
        using var o = Open();
        o.Enqueue(Message(1));
        Assert.Throws<ArgumentException>(() => o.Enqueue(Message(1)));
        Assert.Equal(1, o.PendingCount);
    }

    [Fact]
    public void A_torn_last_record_at_every_byte_position_loses_only_that_record()
    {
        using (var o = Open())
            for (var i = 0; i < 5; i++) o.Enqueue(Message(i, payloadBytes: 60));
        var file = SegmentFile();
        var full = File.ReadAllBytes(file);
        int lastLength;
        using (var o = Open()) lastLength = RecordLength(o); // all records have the same size here
        Assert.Equal(full.Length, new FileInfo(file).Length);
        var lastStart = full.Length - lastLength;

        for (var cut = lastStart; cut < full.Length; cut++)
        {
            File.WriteAllBytes(file, full.AsSpan(0, cut).ToArray());
            File.WriteAllBytes(Path.Combine(_dir, "acks.log"), []);
            using var o = Open();
            Assert.Equal(["m000000", "m000001", "m000002", "m000003"], Ids(o));
            Assert.Equal(cut == lastStart ? 0 : 1, o.Statistics.TornRecordsDropped);
            Assert.Equal(0, o.Statistics.CorruptRecordsSkipped);
            Assert.Equal(lastStart, new FileInfo(file).Length); // truncated to the last good record
            // and the outbox keeps working after recovery
            o.Enqueue(Message(99));
        }
        using (var o = Open()) Assert.Equal(["m000000", "m000001", "m000002", "m000003", "m000099"], Ids(o));
    }

    private int RecordLength(DurableOutbox o) => (int)(o.Statistics.PendingBytes / o.Statistics.Pending);

    [Fact]
    public void Garbage_instead_of_the_last_record_is_a_torn_tail()
    {
        using (var o = Open())
            for (var i = 0; i < 3; i++) o.Enqueue(Message(i));
        var file = SegmentFile();
        var bytes = File.ReadAllBytes(file);
        var recordLength = bytes.Length / 3;
        for (var i = bytes.Length - recordLength + 5; i < bytes.Length; i++) bytes[i] = 0; // zero-filled block after a crash
        File.WriteAllBytes(file, bytes);
        using (var o = Open())
        {
            Assert.Equal(["m000000", "m000001"], Ids(o));
            Assert.Equal(1, o.Statistics.TornRecordsDropped);
        }
    }

    [Fact]
    public void A_corrupt_middle_record_is_skipped_counted_and_the_rest_recovered()
    {
        using (var o = Open())
            for (var i = 0; i < 5; i++) o.Enqueue(Message(i));
        var file = SegmentFile();
        var bytes = File.ReadAllBytes(file);
        var recordLength = bytes.Length / 5;
        bytes[2 * recordLength + 30] ^= 0xFF; // flip a byte inside record 2's body
        File.WriteAllBytes(file, bytes);
        using (var o = Open())
        {
            Assert.Equal(["m000000", "m000001", "m000003", "m000004"], Ids(o));
            Assert.Equal(1, o.Statistics.CorruptRecordsSkipped);
            Assert.Equal(0, o.Statistics.TornRecordsDropped);
        }
        bytes[2 * recordLength + 5] ^= 0xFF; // and a broken length field
        File.WriteAllBytes(file, bytes);
        using (var o = Open())
            Assert.Equal(["m000000", "m000001", "m000003", "m000004"], Ids(o));
    }

    [Fact]
    public void A_torn_ack_record_only_means_the_message_is_sent_again()
    {
        using (var o = Open())
        {
            for (var i = 0; i < 3; i++) o.Enqueue(Message(i));
            o.Acknowledge("m000000");
            o.Acknowledge("m000001");
        }
        var acks = Path.Combine(_dir, "acks.log");
        var bytes = File.ReadAllBytes(acks);
        File.WriteAllBytes(acks, bytes.AsSpan(0, bytes.Length - 3).ToArray());
        using (var o = Open())
        {
            Assert.Equal(["m000001", "m000002"], Ids(o));
            Assert.Equal(1, o.Statistics.TornRecordsDropped);
        }
    }

    [Fact]
    public void Segments_roll_and_acknowledged_segments_are_deleted()
    {
        using var o = Open(segmentBytes: 4096);
        for (var i = 0; i < 100; i++) o.Enqueue(Message(i, payloadBytes: 200));
        var segments = Directory.GetFiles(_dir, "*.seg").Length;
        Assert.True(segments >= 5, $"{segments} segments");
        var before = o.DiskBytes;
        for (var i = 0; i < 90; i++) Assert.True(o.Acknowledge($"m{i:D6}"));
        Assert.True(Directory.GetFiles(_dir, "*.seg").Length < segments);
        o.Compact();
        Assert.True(o.DiskBytes < before / 5, $"{o.DiskBytes} of {before}");
        Assert.Equal(Enumerable.Range(90, 10).Select(i => $"m{i:D6}"), Ids(o));
        Assert.True(o.Statistics.SegmentsDeleted > 0);
    }

    [Fact]
    public void Ack_log_compaction_keeps_the_state_and_sequence_numbers()
    {
        using (var o = Open(segmentBytes: 4096, ackLogBytes: 1024))
        {
            for (var i = 0; i < 300; i++)
            {
                o.Enqueue(Message(i));
                if (i % 10 != 0) o.Acknowledge($"m{i:D6}");
            }
            Assert.True(new FileInfo(Path.Combine(_dir, "acks.log")).Length <= 1024 + 21);
            Assert.True(o.Statistics.SegmentsRewritten > 0);
        }
        using (var o = Open(segmentBytes: 4096, ackLogBytes: 1024))
        {
            Assert.Equal(Enumerable.Range(0, 30).Select(i => $"m{i * 10:D6}"), Ids(o));
            Assert.Equal(301, o.Enqueue(Message(1000)));
        }
    }

    [Fact]
    public void Full_outbox_evicts_oldest_trends_first_then_refuses_alerts_loudly()
    {
        const long max = 64 * 1024;
        using var o = Open(maxBytes: max, segmentBytes: 4096, ackLogBytes: 4096);
        var n = 0;
        // Fill with alternating trends and alerts until the first eviction.
        while (o.Statistics.EvictedTrends == 0)
        {
            o.Enqueue(Message(n, n % 2 == 0 ? MessagePriority.Trend : MessagePriority.Alert, payloadBytes: 500));
            n++;
            Assert.True(o.DiskBytes <= max);
        }
        var firstPending = o.PeekPending().First(e => e.Message.Priority == MessagePriority.Trend).Message.Id;
        Assert.NotEqual("m000000", firstPending); // the oldest trend went first
        Assert.Contains("m000001", Ids(o));      // alerts are never evicted

        // Keep adding alerts: all trends go, then alerts are refused with a typed exception.
        OutboxFullException? full = null;
        var alertsStored = o.PeekPending().Count(e => e.Message.Priority == MessagePriority.Alert);
        for (var i = 0; i < 1000 && full is null; i++, n++)
        {
            try
            {
                o.Enqueue(Message(n, MessagePriority.Alert, payloadBytes: 500));
                alertsStored++;
            }
            catch (OutboxFullException ex) { full = ex; }
            Assert.True(o.DiskBytes <= max);
        }
        Assert.NotNull(full);
        Assert.Equal($"m{n - 1:D6}", full.MessageId);
        Assert.Equal(MessagePriority.Alert, full.Priority);
        Assert.DoesNotContain(o.PeekPending(), e => e.Message.Priority == MessagePriority.Trend);
        Assert.Equal(alertsStored, o.PendingCount);
        Assert.Equal(1, o.Statistics.RejectedFull);
        // a trend is refused too once only alerts are left
        Assert.Throws<OutboxFullException>(() => o.Enqueue(Message(n + 1, MessagePriority.Trend, payloadBytes: 500)));

        // After acknowledgements there is room again.
        foreach (var id in Ids(o).Take(10)) o.Acknowledge(id);
        o.Enqueue(Message(n + 2, MessagePriority.Alert, payloadBytes: 500));
    }

    [SkippableFact]
    public void Files_are_0600_and_the_directory_0700()
    {
        Skip.If(OperatingSystem.IsWindows(), "POSIX permissions only");
        if (OperatingSystem.IsWindows()) return;
        Directory.CreateDirectory(_dir); // pre-existing with a wide mode gets tightened
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_111_101);
        using var o = Open();
        o.Enqueue(Message(1));
        Assert.Equal((UnixFileMode)0b111_000_000, File.GetUnixFileMode(_dir));
        var files = Directory.GetFiles(_dir);
        Assert.Contains(files, f => f.EndsWith(".seg", StringComparison.Ordinal));
        foreach (var f in files) Assert.Equal((UnixFileMode)0b110_000_000, File.GetUnixFileMode(f));
    }

    [Fact]
    public async Task Waiting_for_pending_completes_on_enqueue_from_another_thread()
    {
        using var o = Open();
        var wait = o.WaitForPendingAsync(CancellationToken.None);
        Assert.False(wait.IsCompleted);
        await Task.Run(() => o.Enqueue(Message(1)));
        await wait.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Invalid_options_and_messages_are_refused_with_clear_messages()
    {
        var ex = Assert.Throws<ArgumentException>(() => DurableOutbox.Open(new DurableOutboxOptions { Directory = "", MaxBytes = 10 }));
        Assert.Contains("Directory is required", ex.Message);
        Assert.Contains("MaxBytes", ex.Message);
        using var o = Open();
        Assert.Throws<ArgumentException>(() => o.Enqueue(new TransportMessage { Id = "a", Topic = "x/#", Payload = new byte[1] }));
        Assert.Throws<ArgumentException>(() => o.Enqueue(new TransportMessage { Id = "", Topic = "x", Payload = new byte[1] }));
        Assert.Throws<ArgumentException>(() => o.Enqueue(new TransportMessage { Id = "big", Topic = "x", Payload = new byte[9000] }));
    }

    [Fact]
    public void A_second_worker_cannot_open_an_outbox_in_use()
    {
        using var first = DurableOutbox.Open(new DurableOutboxOptions { Directory = _dir });
        var e = Assert.Throws<IOException>(() => DurableOutbox.Open(new DurableOutboxOptions { Directory = _dir }));
        Assert.Contains("in use by another worker", e.Message);
        first.Dispose();
        using var again = DurableOutbox.Open(new DurableOutboxOptions { Directory = _dir });
    }
}
