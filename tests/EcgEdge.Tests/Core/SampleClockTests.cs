using EcgEdge.Core.Signals;

namespace EcgEdge.Tests.Core;

public class SampleClockTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Signal_time_is_the_index_over_the_rate()
    {
        var clock = new SampleClock(T0, 500);
        Assert.Equal(T0, clock.At(0));
        Assert.Equal(T0.AddSeconds(12.5), clock.At(6250));
        // The same arithmetic as the lambdas it replaced: start + index / rate.
        Assert.Equal(T0.AddSeconds(123457 / 500.0), clock.At(123457));
    }

    [Fact]
    public void A_paced_replay_follows_the_wall_clock()
    {
        // Replay:Speed 4: four signal-seconds per wall second.
        var clock = new SampleClock(T0, 500, WallScale: 1 / 4.0);
        Assert.Equal(T0.AddSeconds(10), clock.At(500 * 40));
    }

    [Fact]
    public void Scale_zero_stamps_the_start()
    {
        var clock = new SampleClock(T0, 500, WallScale: 0);
        Assert.Equal(T0, clock.At(1_000_000));
    }
}
