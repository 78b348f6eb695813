namespace EcgEdge.Tests;

public sealed class AllocationsTests
{
    [Fact]
    public void A_pass_that_allocates_every_time_is_reported()
    {
        var sink = 0;
        var bytes = Allocations.SmallestPerPass(() => sink += new byte[1000].Length);
        Assert.InRange(bytes, 1000, 1100);
        Assert.Equal(8 * 1000, sink); // 3 warm-ups and 5 measured passes: none stopped early
    }

    [Fact]
    public void A_pass_that_allocates_nothing_measures_zero_and_stops_early()
    {
        var passes = 0;
        Assert.Equal(0, Allocations.SmallestPerPass(() => passes++));
        Assert.InRange(passes, 4, 8); // 3 warm-ups, then normally 1 measured pass (more only after runtime noise)
    }
}
