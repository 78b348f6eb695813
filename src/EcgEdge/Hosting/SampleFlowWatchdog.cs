using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace EcgEdge.Hosting;

/// <summary>Samples the pipeline has processed; written by the pipeline thread, read by the watchdog.</summary>
public sealed class PipelineProgress
{
    private long _samples;

    public long Samples => Interlocked.Read(ref _samples);

    public void Add(int samples) => Interlocked.Add(ref _samples, samples);
}

/// <summary>
/// Feeds the systemd watchdog (<c>WatchdogSec=</c> in the unit; systemd passes it as <c>WATCHDOG_USEC</c>) only while
/// samples actually flow: every half watchdog period it sends <c>WATCHDOG=1</c> if the pipeline processed samples since
/// the previous check. A stalled ADS1298 (no DRDY), a blocked source or a dead pipeline thread stop the pings, and systemd
/// restarts the worker (<c>Restart=on-failure</c>). Without <c>WATCHDOG_USEC</c> (not under systemd) it does nothing.
/// </summary>
public sealed partial class SampleFlowWatchdog(PipelineProgress progress, ISystemdNotifier notifier, TimeProvider time,
    ILogger<SampleFlowWatchdog> logger, TimeSpan? period = null) : BackgroundService
{
    private readonly TimeSpan? _period = period ?? FromEnvironment();

    /// <summary>Watchdog pings sent.</summary>
    public long Pings { get; private set; }

    /// <summary>Checks at which no sample had flowed (no ping sent).</summary>
    public long Missed { get; private set; }

    /// <summary>True once the periodic check is running (its timer exists).</summary>
    public bool IsArmed { get; private set; }

    /// <summary>Half of systemd's watchdog period, or null when the service has no watchdog.</summary>
    public static TimeSpan? FromEnvironment()
    {
        var usec = Environment.GetEnvironmentVariable("WATCHDOG_USEC");
        return long.TryParse(usec, out var us) && us > 0 ? TimeSpan.FromMicroseconds(us / 2.0) : null;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_period is not { } period || !notifier.IsEnabled) return;
        LogArmed(period.TotalSeconds);
        using var timer = new PeriodicTimer(period, time);
        var last = progress.Samples;
        IsArmed = true;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var now = progress.Samples;
                if (now != last)
                {
                    notifier.Notify(new ServiceState("WATCHDOG=1"));
                    Pings++;
                    last = now;
                }
                else
                {
                    if (Missed++ == 0 || Missed % 10 == 0) LogStalled(period.TotalSeconds, Missed);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "systemd watchdog armed: pinged every {Seconds:F1} s while samples flow")]
    private partial void LogArmed(double seconds);

    [LoggerMessage(Level = LogLevel.Critical, Message = "No samples processed in {Seconds:F1} s: watchdog not fed ({Missed} missed); systemd will restart the worker")]
    private partial void LogStalled(double seconds, long missed);
}
