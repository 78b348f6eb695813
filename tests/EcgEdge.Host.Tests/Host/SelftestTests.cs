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

    [Fact]
    public async Task The_report_says_when_it_tested_the_emulator_and_not_hardware()
    {
        await using var driver = EcgEdge.Acquisition.Ads1298.Ads1298Driver.OpenEmulator(
            new EcgEdge.Acquisition.Ads1298.Ads1298Options(), 500, recordPath: null);
        var report = await EcgEdge.Acquisition.Ads1298.Ads1298SelfTest.RunAsync(driver);
        Assert.True(report.Emulated);
        var text = report.Format();
        Assert.Contains("source   : EMULATOR", text, StringComparison.Ordinal);
        Assert.Contains("RESULT   : PASS (EMULATOR: no hardware was tested)", text, StringComparison.Ordinal);
    }
}
