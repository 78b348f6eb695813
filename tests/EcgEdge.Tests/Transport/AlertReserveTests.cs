using System.Diagnostics;
using EcgEdge.Transport.Outbox;

namespace EcgEdge.Tests.Transport;

/// <summary>
/// The outbox's alert reserve (<see cref="DurableOutboxOptions.AlertReserveBytes"/>): a real pre-allocated file inside the
/// size limit that only alerts spend — at the size limit, and when the disk itself is full (a 1-MB tmpfs, filled).
/// </summary>
public sealed class AlertReserveTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ecgedge-reserve-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Run("umount", _dir);
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static int Run(string file, params string[] args)
    {
        try
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            p.WaitForExit();
            return p.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception) { return -1; }
    }

    private static TransportMessage Alert(int i, int bytes) => OutboxTests.Message(i, MessagePriority.Alert, bytes);

    private static TransportMessage Trend(int i, int bytes) => OutboxTests.Message(i, MessagePriority.Trend, bytes);

    private string ReservePath => Path.Combine(_dir, DurableOutbox.ReserveFileName);

    [Fact]
    public void The_reserve_is_a_file_inside_the_limit_that_trends_cannot_use_and_alerts_can()
    {
        var options = new DurableOutboxOptions { Directory = _dir, MaxBytes = 512 * 1024, MaxMessageBytes = 32 * 1024, AckLogCompactBytes = 4 * 1024 };
        Assert.Equal(64 * 1024, options.EffectiveAlertReserveBytes);          // an eighth of the limit
        using var o = DurableOutbox.Open(options);
        Assert.Equal(64 * 1024, new FileInfo(ReservePath).Length);
        Assert.Equal(64 * 1024, o.Statistics.ReserveBytes);

        // Trends well past the limit: older trends are evicted for newer ones, and they stay out of the reserve.
        for (var n = 0; n < 200; n++) o.Enqueue(Trend(n, 8 * 1024));
        Assert.True(o.Statistics.EvictedTrends > 0);
        Assert.True(o.Statistics.PendingBytes <= options.MaxBytes - 64 * 1024, $"{o.Statistics.PendingBytes} bytes of trends");
        Assert.Equal(64 * 1024, new FileInfo(ReservePath).Length);
        // An alert evicts trends as before; once only alerts are left, alerts with a strip spend the first half of the
        // reserve and small alerts the rest.
        var big = 0;
        try { while (true) o.Enqueue(Alert(100_000 + big++, 20 * 1024)); }
        catch (OutboxFullException) { }
        var afterBig = new FileInfo(ReservePath).Length;
        Assert.InRange(afterBig, 1, 32 * 1024 + 20 * 1024);
        var small = 0;
        try { while (true) o.Enqueue(Alert(200_000 + small++, 1500)); }
        catch (OutboxFullException) { }
        Assert.True(small > 10, $"{small} small alerts");
        Assert.True(new FileInfo(ReservePath).Length < afterBig);
        Assert.True(o.Statistics.AlertsStoredFromReserve > 0);
        var total = Directory.GetFiles(_dir).Sum(f => new FileInfo(f).Length) - new FileInfo(Path.Combine(_dir, "outbox.lock")).Length;
        Assert.True(total <= options.MaxBytes, $"{total} bytes on disk for a limit of {options.MaxBytes}");

        // Acknowledging gives the reserve back (written, not sparse).
        foreach (var e in o.PeekPending()) o.Acknowledge(e.Message.Id);
        o.Compact();
        Assert.Equal(64 * 1024, new FileInfo(ReservePath).Length);
    }

    [SkippableFact]
    public void On_a_full_disk_alerts_are_stored_from_the_reserve_and_survive_a_reopen()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "tmpfs");
        Directory.CreateDirectory(_dir);
        Skip.If(Run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", _dir) != 0, "mounting a 1-MB tmpfs needs root (CAP_SYS_ADMIN)");
        var outboxDir = Path.Combine(_dir, "outbox");
        var options = new DurableOutboxOptions { Directory = outboxDir, MaxBytes = 8 * 1024 * 1024, AlertReserveBytes = 256 * 1024, MaxMessageBytes = 32 * 1024 };
        var stored = new List<string>();
        using (var o = DurableOutbox.Open(options))
        {
            Assert.Equal(256 * 1024, o.Statistics.ReserveBytes);
            // Another file fills the disk (logs, a core dump): the outbox is far below its own limit.
            using (var filler = new FileStream(Path.Combine(_dir, "filler"), FileMode.Create))
            {
                var block = new byte[4096];
                try { while (true) { filler.Write(block); filler.Flush(true); } }
                catch (IOException) { }
            }
            Assert.Throws<IOException>(() => o.Enqueue(Trend(0, 1000)));     // a trend finds the disk full ...
            for (var i = 1; i <= 6; i++)                                         // ... alerts still go in
            {
                o.Enqueue(Alert(i, 20 * 1024));
                stored.Add($"m{i:D6}");
            }
            Assert.True(o.Statistics.ReserveBytes < 256 * 1024);
            Assert.InRange(o.Statistics.AlertsStoredFromReserve, 1, 6);   // some fit in what an earlier one freed beyond its frame
        }
        // a restart (or a crash: every alert was fsync'd) finds them all
        using (var o = DurableOutbox.Open(options))
        {
            Assert.Equal(stored, o.PeekPending().Select(e => e.Message.Id));
            File.Delete(Path.Combine(_dir, "filler"));
            foreach (var id in stored) o.Acknowledge(id);
            Assert.Equal(256 * 1024, o.Statistics.ReserveBytes);                // room again: the reserve is written back
        }
    }
}
