using EcgEdge.Verbs;

namespace EcgEdge.Tests.Host;

public class SelftestTests
{
    [Fact]
    public async Task Selftest_on_the_emulator_passes_and_bad_usage_is_refused()
    {
        Assert.Equal(0, await SelftestVerb.RunAsync(["--source", "emulator"]));
        await Assert.ThrowsAsync<UsageException>(() => SelftestVerb.RunAsync(["--source", "replay"]));
    }

    [Fact]
    public async Task Selftest_on_missing_hardware_fails_with_exit_code_1()
    {
        // No /dev/spidev9.9 here: the driver reports the missing device, the verb fails cleanly.
        Assert.Equal(1, await SelftestVerb.RunAsync(["--source", "ads1298", "--Ads1298:SpiBus=9", "--Ads1298:ChipSelect=9", "--Ads1298:DrdyPin=25"]));
    }
}
