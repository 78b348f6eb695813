using EcgEdge.Acquisition.Ads1298;
using EcgEdge.Acquisition.Replay;
using EcgEdge.Core.Signals;

namespace EcgEdge.Pipeline;

/// <summary>The pipeline's sources by <see cref="SourceKind"/>: the one place that turns the configured kind into a source.</summary>
public static class SourceFactory
{
    /// <summary>
    /// Opens the configured source: a replayed record, the ADS1298 on its SPI bus, or the ADS1298 driver against the
    /// emulator fed with the replay record (same lead mapping and pace settings).
    /// </summary>
    public static ISampleSource Open(SourceKind kind, ReplayOptions replay, Ads1298Options ads, double rateHz, TimeProvider time) => kind switch
    {
        SourceKind.Replay => new ReplaySource(replay, rateHz, time),
        SourceKind.Ads1298 => Ads1298Driver.OpenHardware(ads, rateHz, time),
        SourceKind.Emulator => Ads1298Driver.OpenEmulator(ads, rateHz, replay.Record, replay.Leads, replay.RealTime, timeProvider: time),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown source"),
    };
}
