using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EcgEdge.Transport.Outbox;

/// <summary>
/// Durable, crash-safe, bounded store-and-forward queue of <see cref="TransportMessage"/>s.
/// <para>
/// On disk: append-only segment files <c>{firstSequence:D20}.seg</c> of framed message records and one ack log
/// <c>acks.log</c> of framed ack/evict records. A frame is <c>magic(4) length(4) crc32(4) body(length)</c>,
/// little-endian. Every enqueue and every acknowledge is written, flushed and fsync'd (<c>Flush(true)</c>) before
/// the call returns. Files are 0600, the directory 0700.
/// </para>
/// <para>
/// Recovery at <see cref="Open"/>: a torn record at the end of a file (crash mid-write) is dropped, counted in
/// <see cref="OutboxStatistics.TornRecordsDropped"/>, logged, and the file truncated to its last good record.
/// A corrupt record followed by valid records (bit rot, not a crash) is skipped, counted in
/// <see cref="OutboxStatistics.CorruptRecordsSkipped"/> and logged as an error: the outbox still opens, because
/// refusing to start would stop every later alert too.
/// </para>
/// <para>
/// Full policy (<see cref="DurableOutboxOptions.MaxBytes"/>): first reclaim acknowledged records (compaction); then
/// evict the oldest pending <see cref="MessagePriority.Trend"/> messages (counted, logged as a warning); alerts are
/// never evicted. If there is still no room the message is refused with <see cref="OutboxFullException"/>
/// (counted, logged as critical): nothing is ever dropped silently. Alerts alone may also spend the alert reserve
/// (<see cref="DurableOutboxOptions.AlertReserveBytes"/>, a pre-allocated file inside the size limit), both when the
/// limit is reached and when the disk itself is full; the reserve is written back when acknowledgements free room.
/// </para>
/// Thread-safe: one lock guards all state; intended for one producer plus one sender.
/// </summary>
public sealed partial class DurableOutbox : IDisposable
{
    private const uint Magic = 0xEC6E0B01;
    private const int HeaderBytes = 12;
    private const int MaxBodyBytes = 128 * 1024 * 1024;
    private const byte KindMessage = 1, KindAck = 2, KindEvict = 3, KindHighWater = 4;
    private const byte FormatVersion = 1;
    private const int AckBodyBytes = 1 + 8;
    private const string SegmentSuffix = ".seg";
    private const string AckLogName = "acks.log";
    /// <summary>The pre-allocated alert reserve (zeros; never read).</summary>
    public const string ReserveFileName = "alert-reserve.bin";
    private const int ReserveSlackBytes = 16 * 1024;   // freed beyond the frame: the new segment's inode, directory entry and extents
    /// <summary>Alerts up to this frame size may spend the whole reserve (see EnsureRoom).</summary>
    public const int SmallAlertFrameBytes = 16 * 1024;

    private readonly DurableOutboxOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private FileStream? _dirLock;
    private readonly SemaphoreSlim _available = new(0, 1);
    private readonly List<Segment> _segments = [];
    private readonly SortedDictionary<long, Entry> _pending = [];
    private readonly Dictionary<string, long> _byId = new(StringComparer.Ordinal);
    private FileStream? _active;
    private FileStream _ackLog;
    private long _nextSequence = 1;
    private long _pendingBytes;
    private int _pendingAlerts;
    private bool _disposed;

    private long _enqueued, _acknowledged, _evicted, _rejected, _recovered, _torn, _corrupt, _segDeleted, _segRewritten, _fromReserve;
    private FileStream? _reserve;
    private long _reserveLength;

    private sealed class Segment(long firstSequence, string path)
    {
        public long FirstSequence { get; } = firstSequence;
        public string Path { get; } = path;
        public long Length { get; set; }
        public int Live { get; set; }
        public int Dead { get; set; }
    }

    private sealed class Entry(long sequence, string id, MessagePriority priority, Segment segment, long offset, int length)
    {
        public long Sequence { get; } = sequence;
        public string Id { get; } = id;
        public MessagePriority Priority { get; } = priority;
        public Segment Segment { get; set; } = segment;
        public long Offset { get; set; } = offset;
        public int Length { get; } = length; // whole frame
    }

    private DurableOutbox(DurableOutboxOptions options, ILogger logger, TimeProvider time, FileStream ackLog)
    {
        _options = options;
        _logger = logger;
        _time = time;
        _ackLog = ackLog;
    }

    /// <summary>The directory holding the outbox.</summary>
    public string Directory => _options.Directory;

    /// <summary>Number of messages waiting for an acknowledgement.</summary>
    public int PendingCount { get { lock (_gate) return _pending.Count; } }

    /// <summary>Bytes the messages use on disk (segments + ack log); the alert reserve file, inside the same limit, is
    /// <see cref="OutboxStatistics.ReserveBytes"/>.</summary>
    public long DiskBytes { get { lock (_gate) return DiskBytesLocked(); } }

    /// <summary>A snapshot of the counters.</summary>
    public OutboxStatistics Statistics
    {
        get
        {
            lock (_gate)
            {
                return new OutboxStatistics
                {
                    Enqueued = _enqueued, Acknowledged = _acknowledged, EvictedTrends = _evicted, RejectedFull = _rejected,
                    Recovered = _recovered, TornRecordsDropped = _torn, CorruptRecordsSkipped = _corrupt,
                    SegmentsDeleted = _segDeleted, SegmentsRewritten = _segRewritten,
                    Pending = _pending.Count, PendingAlerts = _pendingAlerts, PendingBytes = _pendingBytes, DiskBytes = DiskBytesLocked(),
                    ReserveBytes = _reserveLength, AlertsStoredFromReserve = _fromReserve,
                };
            }
        }
    }

    /// <summary>Opens (creating if needed) the outbox in <see cref="DurableOutboxOptions.Directory"/> and recovers pending messages.</summary>
    public static DurableOutbox Open(DurableOutboxOptions options, ILogger<DurableOutbox>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (new DurableOutboxOptionsValidator().Validate(DurableOutboxOptions.SectionName, options) is { Failed: true } invalid)
            throw new ArgumentException(string.Join(" ", invalid.Failures));
        var copy = new DurableOutboxOptions
        {
            Directory = Path.GetFullPath(options.Directory), MaxBytes = options.MaxBytes, SegmentBytes = options.SegmentBytes,
            MaxMessageBytes = options.MaxMessageBytes, AckLogCompactBytes = options.AckLogCompactBytes, AlertReserveBytes = options.AlertReserveBytes,
        };
        UnixFs.CreatePrivateDirectory(copy.Directory);
        // One worker per outbox: an exclusive lock on outbox.lock (flock on Linux) held until Dispose.
        FileStream dirLock;
        try
        {
            var lockOptions = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
            if (!OperatingSystem.IsWindows()) lockOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            dirLock = new FileStream(Path.Combine(copy.Directory, "outbox.lock"), lockOptions);
        }
        catch (IOException e)
        {
            throw new IOException($"the outbox '{copy.Directory}' is in use by another worker ({e.Message})", e);
        }
        FileStream ackLog;
        try
        {
            foreach (var tmp in System.IO.Directory.EnumerateFiles(copy.Directory, "*.tmp")) File.Delete(tmp);
            ackLog = UnixFs.CreateOrOpenForAppend(Path.Combine(copy.Directory, AckLogName));
        }
        catch
        {
            dirLock.Dispose();
            throw;
        }
        var outbox = new DurableOutbox(copy, (ILogger?)logger ?? NullLogger.Instance, timeProvider ?? TimeProvider.System, ackLog) { _dirLock = dirLock };
        try
        {
            outbox.Recover();
            lock (outbox._gate) outbox.OpenReserve();
        }
        catch
        {
            outbox.Dispose();
            throw;
        }
        return outbox;
    }

    /// <summary>
    /// Stores <paramref name="message"/> durably (fsync'd) and returns its sequence number. Returns only after the data
    /// is on disk; never waits for the network.
    /// </summary>
    /// <exception cref="OutboxFullException">No room even after compaction and trend eviction (see class remarks).</exception>
    /// <exception cref="ArgumentException">The message is invalid, too large, or its id is already pending.</exception>
    public long Enqueue(TransportMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        message.EnsureValid();
        var idBytes = Encoding.UTF8.GetBytes(message.Id);
        var topicBytes = Encoding.UTF8.GetBytes(message.Topic);
        var bodyLength = 1 + 1 + 8 + 8 + 1 + 4 + 2 + idBytes.Length + 2 + topicBytes.Length + 4 + message.Payload.Length;
        if (bodyLength > _options.MaxMessageBytes)
            throw new ArgumentException($"Message {message.Id} is {bodyLength} bytes; the outbox accepts at most {_options.MaxMessageBytes}.", nameof(message));
        var frame = new byte[HeaderBytes + bodyLength];

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_byId.ContainsKey(message.Id)) throw new ArgumentException($"A message with id {message.Id} is already pending.", nameof(message));
            EnsureRoom(frame.Length, message);

            var sequence = _nextSequence;
            EncodeMessage(frame.AsSpan(HeaderBytes), sequence, message, idBytes, topicBytes);
            SealFrame(frame);

            var isAlert = message.Priority == MessagePriority.Alert;
            // Inside the size limit the reserve file gives way to the alert (it is part of the limit) ...
            var usedReserve = isAlert && ShrinkReserveTo(Math.Min(_reserveLength, SegmentCapacity - SegmentBytesOnDisk() - frame.Length));
            Segment segment;
            while (true)
            {
                try
                {
                    segment = ActiveSegmentFor(frame.Length, sequence);
                    AppendDurably(_active!, frame, segment.Length);
                    break;
                }
                // ... and when the disk itself is full (another file grew), the reserve's blocks are freed for it.
                catch (IOException e) when (isAlert && _reserveLength > 0)
                {
                    LogDiskFullReserve(message.Id, e.Message, _reserveLength);
                    ShrinkReserveTo(Math.Max(0, _reserveLength - frame.Length - ReserveSlackBytes));
                    usedReserve = true;
                }
            }
            if (usedReserve)
            {
                _fromReserve++;
                LogStoredFromReserve(message.Id, _reserveLength, _fromReserve);
            }
            var offset = segment.Length;
            segment.Length += frame.Length;
            segment.Live++;
            _nextSequence = sequence + 1;
            var entry = new Entry(sequence, message.Id, message.Priority, segment, offset, frame.Length);
            _pending.Add(sequence, entry);
            _byId.Add(message.Id, sequence);
            _pendingBytes += frame.Length;
            if (message.Priority == MessagePriority.Alert) _pendingAlerts++;
            _enqueued++;
            if (_available.CurrentCount == 0)
            {
                try { _available.Release(); } catch (SemaphoreFullException) { }
            }
            return sequence;
        }
    }

    /// <summary>The oldest pending message, if any (read back from disk).</summary>
    public bool TryPeek(out OutboxEntry? entry)
    {
        var list = PeekPending(1);
        entry = list.Count > 0 ? list[0] : null;
        return entry is not null;
    }

    /// <summary>Up to <paramref name="max"/> pending messages, oldest first.</summary>
    public IReadOnlyList<OutboxEntry> PeekPending(int max = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        var result = new List<OutboxEntry>();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            List<Entry>? unreadable = null;
            foreach (var e in _pending.Values)
            {
                if (result.Count >= max) break;
                var read = ReadEntry(e);
                if (read is null) (unreadable ??= []).Add(e);
                else result.Add(read);
            }
            if (unreadable is not null)
                foreach (var e in unreadable)
                {
                    // Bit rot after open: the record cannot be sent. Remove it loudly rather than block the queue forever.
                    _corrupt++;
                    LogUnreadable(e.Id, e.Sequence, e.Segment.Path);
                    WriteAck(KindEvict, e.Sequence);
                    RemoveEntry(e);
                }
        }
        return result;
    }

    /// <summary>Completes when at least one message is pending (or the token is cancelled).</summary>
    public async Task WaitForPendingAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (PendingCount > 0) return;
            await _available.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Removes the message with <paramref name="id"/> after the broker acknowledged it (the ack is fsync'd).
    /// Returns false when no such message is pending.
    /// </summary>
    public bool Acknowledge(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_byId.TryGetValue(id, out var sequence)) return false;
            var entry = _pending[sequence];
            WriteAck(KindAck, sequence);
            RemoveEntry(entry);
            _acknowledged++;
            DeleteEmptySealedSegments();
            if (_ackLog.Length > _options.AckLogCompactBytes) CompactAll();
            RefillReserve();
            return true;
        }
    }

    /// <summary>File in the outbox folder that keeps messages the broker refused for good (JSON lines, 0600).</summary>
    public const string DeadLetterFileName = "dead-letter.jsonl";

    /// <summary>
    /// Moves a pending message the broker refuses permanently out of the queue: appends it (id, sequence, topic,
    /// reason, times, payload as UTF-8 text and base64) to <see cref="DeadLetterFileName"/> with fsync, then
    /// acknowledges it so that the messages behind it can go. Returns false when no such message is pending.
    /// </summary>
    public bool DeadLetter(OutboxEntry entry, string reason, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(reason);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_byId.ContainsKey(entry.Message.Id)) return false;
            var path = Path.Combine(_options.Directory, DeadLetterFileName);
            var isNew = !File.Exists(path);
            var m = entry.Message;
            var line = new System.Buffers.ArrayBufferWriter<byte>(m.Payload.Length * 2 + 256);
            using (var w = new System.Text.Json.Utf8JsonWriter(line))
            {
                w.WriteStartObject();
                w.WriteString("id", m.Id);
                w.WriteNumber("sequence", entry.Sequence);
                w.WriteString("topic", m.Topic);
                w.WriteString("reason", reason);
                w.WriteString("createdAt", m.CreatedAt);
                w.WriteString("deadLetteredAt", now);
                w.WriteString("priority", m.Priority.ToString());
                w.WriteString("payload", System.Text.Encoding.UTF8.GetString(m.Payload.Span));
                w.WriteBase64String("payloadBase64", m.Payload.Span);
                w.WriteEndObject();
            }
            using (var file = UnixFs.CreateOrOpenForAppend(path))
            {
                file.Write(line.WrittenSpan);
                file.Write("\n"u8);
                file.Flush(flushToDisk: true);
            }
            if (isNew) UnixFs.FsyncDirectory(_options.Directory);
            return Acknowledge(m.Id);
        }
    }

    /// <summary>Reclaims the space of acknowledged and evicted records now (normally automatic).</summary>
    public void Compact()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            CompactAll();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _active?.Dispose();
            _ackLog.Dispose();
            _reserve?.Dispose();
            _dirLock?.Dispose();
        }
        _available.Dispose();
    }

    // ---------------------------------------------------------------- writing

    private long DiskBytesLocked()
    {
        long total = _ackLog.Length;
        foreach (var s in _segments) total += s.Length;
        return total;
    }

    /// <summary>Bytes the segments may use: the ack log's compaction threshold plus one ack frame is kept in reserve.</summary>
    private long SegmentCapacity => _options.MaxBytes - _options.AckLogCompactBytes - HeaderBytes - AckBodyBytes;

    private long SegmentBytesOnDisk()
    {
        long total = 0;
        foreach (var s in _segments) total += s.Length;
        return total;
    }

    private void EnsureRoom(int frameLength, TransportMessage message)
    {
        // Other messages must leave the reserve whole; alerts may spend its first half, and small alerts (an alert stored
        // without its strip, ~2 kB) all of it: an outbox full of undelivered alerts still takes a few hundred more alarms.
        var reserve = _options.EffectiveAlertReserveBytes;
        var capacity = message.Priority != MessagePriority.Alert ? SegmentCapacity - reserve
            : frameLength <= SmallAlertFrameBytes ? SegmentCapacity : SegmentCapacity - reserve / 2;
        if (SegmentBytesOnDisk() + frameLength <= capacity) return;

        // 1. Reclaim acknowledged records.
        CompactAll();
        if (SegmentBytesOnDisk() + frameLength <= capacity) return;

        // 2. Evict the oldest trends until the live data plus the new message fits, then compact again.
        var evicted = 0;
        while (_pendingBytes + frameLength > capacity)
        {
            Entry? oldestTrend = null;
            foreach (var e in _pending.Values)
                if (e.Priority == MessagePriority.Trend) { oldestTrend = e; break; }
            if (oldestTrend is null) break;
            WriteAck(KindEvict, oldestTrend.Sequence);
            RemoveEntry(oldestTrend);
            _evicted++;
            evicted++;
        }
        if (evicted > 0)
        {
            LogEvicted(evicted, message.Id, _evicted);
            CompactAll();
            if (SegmentBytesOnDisk() + frameLength <= capacity) return;
        }

        // 3. Refuse, loudly.
        _rejected++;
        LogFull(message.Priority, message.Id, _options.MaxBytes, _pendingAlerts, _pendingBytes, _rejected);
        throw new OutboxFullException(
            $"Outbox full: {message.Priority} message {message.Id} ({frameLength} bytes) refused; {_pending.Count} messages " +
            $"({_pendingAlerts} alerts, {_pendingBytes} bytes) are pending and the outbox may use {_options.MaxBytes} bytes.")
        {
            MessageId = message.Id, Priority = message.Priority, CapacityBytes = _options.MaxBytes, PendingBytes = _pendingBytes,
        };
    }

    private Segment ActiveSegmentFor(int frameLength, long sequence)
    {
        if (_active is not null && _segments.Count > 0)
        {
            var last = _segments[^1];
            if (last.Length == 0 || last.Length + frameLength <= _options.SegmentBytes) return last;
        }
        RollSegment(sequence);
        return _segments[^1];
    }

    private void RollSegment(long firstSequence)
    {
        _active?.Dispose();
        _active = null;
        var path = SegmentPath(firstSequence);
        // An empty segment left by a failed append already has this name: replace it rather than list it twice.
        if (_segments.Count > 0 && _segments[^1].Path == path) _segments.RemoveAt(_segments.Count - 1);
        _active = UnixFs.CreateOrOpenForAppend(path);
        _active.SetLength(0);
        UnixFs.FsyncDirectory(_options.Directory);
        _segments.Add(new Segment(firstSequence, path));
    }

    private string SegmentPath(long firstSequence) =>
        Path.Combine(_options.Directory, firstSequence.ToString("D20", CultureInfo.InvariantCulture) + SegmentSuffix);

    private static void AppendDurably(FileStream stream, byte[] frame, long expectedLength)
    {
        try
        {
            stream.Position = expectedLength;
            stream.Write(frame);
            stream.Flush(flushToDisk: true);
        }
        catch
        {
            // Do not leave half a record behind a later good one (it would read as a corrupt middle record).
            try { stream.SetLength(expectedLength); stream.Flush(true); } catch (IOException) { }
            throw;
        }
    }

    private void WriteAck(byte kind, long sequence)
    {
        var frame = new byte[HeaderBytes + AckBodyBytes];
        frame[HeaderBytes] = kind;
        BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(HeaderBytes + 1), sequence);
        SealFrame(frame);
        AppendDurably(_ackLog, frame, _ackLog.Length);
    }

    private void RemoveEntry(Entry e)
    {
        _pending.Remove(e.Sequence);
        _byId.Remove(e.Id);
        _pendingBytes -= e.Length;
        if (e.Priority == MessagePriority.Alert) _pendingAlerts--;
        e.Segment.Live--;
        e.Segment.Dead++;
    }

    /// <summary>
    /// Rewrites every segment holding dead records so that only pending records remain on disk, then truncates the
    /// ack log to a single high-water record. Order matters for crash safety: segments are rewritten (tmp file, fsync,
    /// rename, directory fsync) before the acks that made their records dead are forgotten.
    /// </summary>
    private void CompactAll()
    {
        if (_segments.Count > 0 && _segments[^1].Dead > 0)
        {
            // Seal the active segment so that it can be rewritten; the next enqueue starts a new one.
            _active?.Dispose();
            _active = null;
        }
        var changed = false;
        for (var i = _segments.Count - 1; i >= 0; i--)
        {
            var s = _segments[i];
            var isActive = i == _segments.Count - 1 && _active is not null;
            if (isActive || s.Dead == 0) continue;
            if (s.Live == 0)
            {
                File.Delete(s.Path);
                _segments.RemoveAt(i);
                _segDeleted++;
            }
            else RewriteSegment(s);
            changed = true;
        }
        if (changed) UnixFs.FsyncDirectory(_options.Directory);

        // Every dead record is gone from disk: the ack log only needs to remember where numbering stands.
        var path = Path.Combine(_options.Directory, AckLogName);
        var tmp = path + ".tmp";
        using (var s = UnixFs.CreateNew(tmp))
        {
            var frame = new byte[HeaderBytes + AckBodyBytes];
            frame[HeaderBytes] = KindHighWater;
            BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(HeaderBytes + 1), _nextSequence - 1);
            SealFrame(frame);
            s.Write(frame);
            s.Flush(true);
        }
        _ackLog.Dispose();
        File.Move(tmp, path, overwrite: true);
        UnixFs.FsyncDirectory(_options.Directory);
        _ackLog = UnixFs.CreateOrOpenForAppend(path);
    }

    private void RewriteSegment(Segment s)
    {
        var live = new List<Entry>(s.Live);
        foreach (var e in _pending.Values) if (e.Segment == s) live.Add(e);
        var tmp = s.Path + ".tmp";
        var offsets = new long[live.Count];
        using (var source = File.OpenHandle(s.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        using (var target = UnixFs.CreateNew(tmp))
        {
            long position = 0;
            for (var i = 0; i < live.Count; i++)
            {
                var buffer = new byte[live[i].Length];
                ReadExactly(source, buffer, live[i].Offset);
                target.Write(buffer);
                offsets[i] = position;
                position += buffer.Length;
            }
            target.Flush(true);
            s.Length = position;
        }
        File.Move(tmp, s.Path, overwrite: true);
        for (var i = 0; i < live.Count; i++) live[i].Offset = offsets[i];
        s.Dead = 0;
        _segRewritten++;
    }

    // ---------------------------------------------------------------- alert reserve

    private void OpenReserve()
    {
        var path = Path.Combine(_options.Directory, ReserveFileName);
        if (_options.EffectiveAlertReserveBytes == 0)
        {
            if (File.Exists(path)) File.Delete(path);
            return;
        }
        _reserve = UnixFs.CreateOrOpenForAppend(path);
        _reserveLength = _reserve.Length;
        // A reserve longer than its share (a smaller limit configured since) gives the difference back.
        ShrinkReserveTo(Math.Min(_reserveLength, ReserveTarget));
        RefillReserve();
        if (_reserveLength < _options.EffectiveAlertReserveBytes) LogReserveShort(_reserveLength, _options.EffectiveAlertReserveBytes);
    }

    /// <summary>The reserve's size when nothing of it is spent: its share, less what stored messages already occupy of it.</summary>
    private long ReserveTarget => Math.Clamp(SegmentCapacity - SegmentBytesOnDisk(), 0, _options.EffectiveAlertReserveBytes);

    /// <summary>Truncates the reserve file (its blocks go back to the file system, fsync'd); true when it shrank.</summary>
    private bool ShrinkReserveTo(long length)
    {
        if (_reserve is null || length >= _reserveLength) return false;
        length = Math.Max(0, length);
        _reserve.SetLength(length);
        _reserve.Flush(flushToDisk: true);
        _reserveLength = length;
        return true;
    }

    /// <summary>Writes the reserve back up to its target with real blocks (zeros, fsync'd; not a sparse extension, which would
    /// reserve nothing). A disk still full leaves it short, tried again at the next acknowledgement.</summary>
    private void RefillReserve()
    {
        if (_reserve is null) return;
        var target = ReserveTarget;
        if (_reserveLength >= target) return;
        var zeros = new byte[Math.Min(64 * 1024, target - _reserveLength)];
        try
        {
            _reserve.Position = _reserveLength;
            while (_reserve.Position < target)
                _reserve.Write(zeros, 0, (int)Math.Min(zeros.Length, target - _reserve.Position));
            _reserve.Flush(flushToDisk: true);
            _reserveLength = target;
        }
        catch (IOException)
        {
            try { _reserve.SetLength(_reserveLength); _reserve.Flush(true); } catch (IOException) { }
        }
    }

    // ---------------------------------------------------------------- encoding

    private static void SealFrame(byte[] frame)
    {
        var body = frame.AsSpan(HeaderBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(frame, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(4), body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(8), Crc32.Compute(body));
    }

    private static void EncodeMessage(Span<byte> body, long sequence, TransportMessage m, byte[] id, byte[] topic)
    {
        var p = 0;
        body[p++] = KindMessage;
        body[p++] = FormatVersion;
        BinaryPrimitives.WriteInt64LittleEndian(body[p..], sequence); p += 8;
        BinaryPrimitives.WriteInt64LittleEndian(body[p..], m.CreatedAt.ToUnixTimeMilliseconds()); p += 8;
        body[p++] = (byte)((m.Qos == MessageQos.AtLeastOnce ? 1 : 0) | (m.Retain ? 2 : 0) | (m.Priority == MessagePriority.Alert ? 4 : 0));
        BinaryPrimitives.WriteUInt32LittleEndian(body[p..], m.ExpirySeconds); p += 4;
        BinaryPrimitives.WriteUInt16LittleEndian(body[p..], (ushort)id.Length); p += 2;
        id.CopyTo(body[p..]); p += id.Length;
        BinaryPrimitives.WriteUInt16LittleEndian(body[p..], (ushort)topic.Length); p += 2;
        topic.CopyTo(body[p..]); p += topic.Length;
        BinaryPrimitives.WriteInt32LittleEndian(body[p..], m.Payload.Length); p += 4;
        m.Payload.Span.CopyTo(body[p..]);
    }

    private static bool TryDecodeMessage(ReadOnlySpan<byte> body, out long sequence, out TransportMessage? message)
    {
        sequence = 0;
        message = null;
        try
        {
            var p = 0;
            if (body[p++] != KindMessage || body[p++] != FormatVersion) return false;
            sequence = BinaryPrimitives.ReadInt64LittleEndian(body[p..]); p += 8;
            var created = BinaryPrimitives.ReadInt64LittleEndian(body[p..]); p += 8;
            var flags = body[p++];
            var expiry = BinaryPrimitives.ReadUInt32LittleEndian(body[p..]); p += 4;
            int idLength = BinaryPrimitives.ReadUInt16LittleEndian(body[p..]); p += 2;
            var id = Encoding.UTF8.GetString(body.Slice(p, idLength)); p += idLength;
            int topicLength = BinaryPrimitives.ReadUInt16LittleEndian(body[p..]); p += 2;
            var topic = Encoding.UTF8.GetString(body.Slice(p, topicLength)); p += topicLength;
            var payloadLength = BinaryPrimitives.ReadInt32LittleEndian(body[p..]); p += 4;
            if (payloadLength < 0 || p + payloadLength != body.Length) return false;
            message = new TransportMessage
            {
                Id = id, Topic = topic, Payload = body.Slice(p, payloadLength).ToArray(),
                Qos = (flags & 1) != 0 ? MessageQos.AtLeastOnce : MessageQos.AtMostOnce,
                Retain = (flags & 2) != 0,
                Priority = (flags & 4) != 0 ? MessagePriority.Alert : MessagePriority.Trend,
                CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(created),
                ExpirySeconds = expiry,
            };
            return true;
        }
        catch (ArgumentOutOfRangeException) { return false; }
    }

    private OutboxEntry? ReadEntry(Entry e)
    {
        try
        {
            var frame = new byte[e.Length];
            using (var handle = File.OpenHandle(e.Segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
                ReadExactly(handle, frame, e.Offset);
            if (!TryParseFrame(frame, 0, out var bodyLength) || bodyLength + HeaderBytes != frame.Length) return null;
            if (!TryDecodeMessage(frame.AsSpan(HeaderBytes), out var sequence, out var message) || sequence != e.Sequence) return null;
            return new OutboxEntry(e.Sequence, message!);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static void ReadExactly(Microsoft.Win32.SafeHandles.SafeFileHandle handle, byte[] buffer, long offset)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            var n = RandomAccess.Read(handle, buffer.AsSpan(done), offset + done);
            if (n <= 0) throw new EndOfStreamException("Outbox segment is shorter than its index says.");
            done += n;
        }
    }

    /// <summary>True when a complete frame with a valid CRC starts at <paramref name="offset"/>.</summary>
    private static bool TryParseFrame(ReadOnlySpan<byte> data, long offset, out int bodyLength)
    {
        bodyLength = 0;
        if (offset + HeaderBytes > data.Length) return false;
        var header = data.Slice((int)offset, HeaderBytes);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic) return false;
        var length = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        if (length <= 0 || length > MaxBodyBytes || offset + HeaderBytes + length > data.Length) return false;
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (Crc32.Compute(data.Slice((int)offset + HeaderBytes, length)) != crc) return false;
        bodyLength = length;
        return true;
    }

    // ---------------------------------------------------------------- recovery

    private readonly record struct ScanResult(long GoodEnd, int Corrupt, bool TornTail);

    /// <summary>
    /// Walks the frames of <paramref name="data"/>. A bad frame followed (after a resync on the magic) by a good one
    /// is corrupt and skipped; a bad frame with nothing valid after it is a torn tail: everything from it is dropped.
    /// </summary>
    private static ScanResult Scan(byte[] data, Action<long, int> onFrame)
    {
        long position = 0;
        var corrupt = 0;
        while (position < data.Length)
        {
            if (TryParseFrame(data, position, out var bodyLength))
            {
                onFrame(position, bodyLength);
                position += HeaderBytes + bodyLength;
                continue;
            }
            var next = -1L;
            for (var q = position + 1; q + HeaderBytes <= data.Length; q++)
            {
                if (data[q] != 0x01 || BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan((int)q)) != Magic) continue;
                if (TryParseFrame(data, q, out _)) { next = q; break; }
            }
            if (next < 0) return new ScanResult(position, corrupt, TornTail: true);
            corrupt++;
            position = next;
        }
        return new ScanResult(position, corrupt, TornTail: false);
    }

    private void Recover()
    {
        lock (_gate)
        {
            // Ack log first: which sequences are done.
            var acked = new HashSet<long>();
            long highWater = 0;
            var ackPath = Path.Combine(_options.Directory, AckLogName);
            var ackData = File.ReadAllBytes(ackPath);
            var ackScan = Scan(ackData, (offset, length) =>
            {
                if (length != AckBodyBytes) return;
                var kind = ackData[offset + HeaderBytes];
                var seq = BinaryPrimitives.ReadInt64LittleEndian(ackData.AsSpan((int)offset + HeaderBytes + 1));
                if (kind is KindAck or KindEvict) acked.Add(seq);
                highWater = Math.Max(highWater, seq);
            });
            FinishScan(_ackLog, ackPath, ackData.Length, ackScan, isLastFile: true);

            var files = System.IO.Directory.EnumerateFiles(_options.Directory, "*" + SegmentSuffix)
                .Select(f => (Path: f, First: long.TryParse(Path.GetFileNameWithoutExtension(f), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1))
                .Where(f => f.First >= 0)
                .OrderBy(f => f.First)
                .ToList();
            for (var i = 0; i < files.Count; i++)
            {
                var segment = new Segment(files[i].First, files[i].Path);
                var data = File.ReadAllBytes(segment.Path);
                var scan = Scan(data, (offset, length) =>
                {
                    if (!TryDecodeMessage(data.AsSpan((int)offset + HeaderBytes, length), out var seq, out var message))
                    {
                        _corrupt++;
                        LogUndecodable(segment.Path, offset);
                        return;
                    }
                    highWater = Math.Max(highWater, seq);
                    if (acked.Contains(seq) || _pending.ContainsKey(seq) || _byId.ContainsKey(message!.Id))
                    {
                        segment.Dead++;
                        return;
                    }
                    var entry = new Entry(seq, message.Id, message.Priority, segment, offset, HeaderBytes + length);
                    _pending.Add(seq, entry);
                    _byId.Add(message.Id, seq);
                    _pendingBytes += entry.Length;
                    if (message.Priority == MessagePriority.Alert) _pendingAlerts++;
                    segment.Live++;
                });
                if (scan.TornTail || scan.GoodEnd < data.Length)
                {
                    using var fs = new FileStream(segment.Path, FileMode.Open, FileAccess.Write, FileShare.Read | FileShare.Delete);
                    FinishScan(fs, segment.Path, data.Length, scan, isLastFile: i == files.Count - 1);
                }
                else if (scan.Corrupt > 0) FinishScan(null, segment.Path, data.Length, scan, isLastFile: i == files.Count - 1);
                segment.Length = scan.GoodEnd;
                _segments.Add(segment);
            }
            _nextSequence = highWater + 1;
            _recovered = _pending.Count;

            // Resume appending to the last segment if it has room.
            if (_segments.Count > 0 && _segments[^1].Length < _options.SegmentBytes)
            {
                _active = UnixFs.CreateOrOpenForAppend(_segments[^1].Path);
                _active.Position = _segments[^1].Length;
            }
            else if (_segments.Count > 0) _active = null; // next enqueue rolls
            DeleteEmptySealedSegments();
            if (_pending.Count > 0) _available.Release();
            LogOpened(_options.Directory, _pending.Count, _pendingAlerts, _torn, _corrupt);
        }
    }

    /// <summary>Deletes sealed segments whose records are all acknowledged or evicted (never the active one).</summary>
    private void DeleteEmptySealedSegments()
    {
        var lastIndex = _active is null ? _segments.Count : _segments.Count - 1;
        var deleted = false;
        for (var i = lastIndex - 1; i >= 0; i--)
        {
            if (_segments[i].Live > 0) continue;
            File.Delete(_segments[i].Path);
            _segments.RemoveAt(i);
            _segDeleted++;
            deleted = true;
        }
        if (deleted) UnixFs.FsyncDirectory(_options.Directory);
    }

    private void FinishScan(FileStream? stream, string path, long fileLength, ScanResult scan, bool isLastFile)
    {
        if (scan.Corrupt > 0)
        {
            _corrupt += scan.Corrupt;
            LogCorrupt(scan.Corrupt, path);
        }
        if (!scan.TornTail) return;
        var dropped = fileLength - scan.GoodEnd;
        if (isLastFile) { _torn++; LogTorn(path, dropped, scan.GoodEnd); }
        else { _corrupt++; LogCorrupt(1, path); }
        if (stream is not null)
        {
            stream.SetLength(scan.GoodEnd);
            stream.Flush(true);
            stream.Position = scan.GoodEnd;
        }
    }

    // ---------------------------------------------------------------- logging

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox {Directory} opened: {Pending} pending ({Alerts} alerts), {Torn} torn and {Corrupt} corrupt records dropped")]
    private partial void LogOpened(string directory, int pending, int alerts, long torn, long corrupt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox file {Path}: dropped a torn record at its end ({Bytes} bytes from offset {Offset}), left by an interrupted write")]
    private partial void LogTorn(string path, long bytes, long offset);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox file {Path}: skipped {Count} corrupt record(s); the messages they held are lost")]
    private partial void LogCorrupt(int count, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox file {Path}: record at offset {Offset} has a valid checksum but cannot be decoded; skipped")]
    private partial void LogUndecodable(string path, long offset);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox message {Id} (sequence {Sequence}) in {Path} cannot be read back any more; removed from the queue")]
    private partial void LogUnreadable(string id, long sequence, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox full: evicted the {Count} oldest trend message(s) to store {Id} ({Total} evicted since start)")]
    private partial void LogEvicted(int count, string id, long total);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Outbox full: {Priority} message {Id} REFUSED; capacity {Capacity} bytes, {Alerts} alerts ({PendingBytes} bytes) pending; {Total} refused since start")]
    private partial void LogFull(MessagePriority priority, string id, long capacity, int alerts, long pendingBytes, long total);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Disk full while storing alert {Id} ({Reason}): freeing the alert reserve ({Reserve} bytes left)")]
    private partial void LogDiskFullReserve(string id, string reason, long reserve);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {Id} stored from the alert reserve ({Reserve} bytes of reserve left; {Total} alerts since start)")]
    private partial void LogStoredFromReserve(string id, long reserve, long total);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert reserve is {Length} of {Target} bytes (the disk is full); written back as acknowledgements free room")]
    private partial void LogReserveShort(long length, long target);
}
