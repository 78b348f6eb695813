using Xunit;
using EcgEdge.Acquisition.Ads1298;
using static EcgEdge.Tests.Acquisition.Ads1298.Ads1298TestKit;

namespace EcgEdge.Tests.Acquisition.Ads1298;

public class Ads1298SelfTestTests
{
    [Theory]
    [InlineData(500)]
    [InlineData(2000)]
    public async Task Healthy_emulator_passes(double rate)
    {
        var (_, driver) = Create(FastOptions(rate), pipelineRate: 500);
        using var _d = driver;
        var report = await Ads1298SelfTest.RunAsync(driver).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(report.Passed, report.Format());
        Assert.Equal(0, report.ExitCode);
        Assert.Equal(8, report.Channels.Count);
        foreach (var c in report.Channels)
        {
            Assert.InRange(c.AmplitudeMicrovolts, 990, 1010);      // 1 × VREF/2.4 mV
            Assert.InRange(c.FrequencyHz, 1.93, 1.97);             // fCLK / 2^20
            // Emulator floor 0.6 µV RMS at the data rate; 4:1 decimation keeps a quarter of the white-noise power.
            Assert.InRange(c.NoiseMicrovoltsRms, 0.6 * Math.Sqrt(500 / rate) * 0.8, 0.6 * Math.Sqrt(500 / rate) * 1.2);
        }
        Assert.Contains("RESULT   : PASS", report.Format(), StringComparison.Ordinal);
        // The driver is left streaming with its original configuration.
        Assert.Equal(Ads1298Mux.Normal, driver.Options.Mux);
    }

    [Theory]
    [InlineData(Ads1298ChannelFault.Dead, 3)]
    [InlineData(Ads1298ChannelFault.Noisy, 6)]
    public async Task A_broken_channel_fails(Ads1298ChannelFault fault, int channel)
    {
        var (emu, driver) = Create();
        using var _d = driver;
        emu.SetChannelFault(channel, fault);
        var report = await Ads1298SelfTest.RunAsync(driver).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.False(report.Passed);
        Assert.Equal(1, report.ExitCode);
        Assert.False(report.Channels[channel].Passed);
        Assert.All(report.Channels.Where(c => c.Channel != channel), c => Assert.True(c.Passed));
        if (fault == Ads1298ChannelFault.Dead) Assert.False(report.Channels[channel].AmplitudeOk);
        else Assert.False(report.Channels[channel].NoiseOk);
        Assert.Contains("FAIL", report.Format(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lead_off_is_reported_and_fails_only_when_electrodes_are_required()
    {
        var (emu, driver) = Create();
        using var _d = driver;
        emu.SetLeadOff(0b0000_0100, 0);
        var report = await Ads1298SelfTest.RunAsync(driver);
        Assert.True(report.Passed, report.Format());
        Assert.True(report.Channels[2].LeadOffPositive);
        var strict = await Ads1298SelfTest.RunAsync(driver, new Ads1298SelfTestOptions { RequireElectrodesAttached = true });
        Assert.False(strict.Passed);
        Assert.False(strict.Channels[2].LeadOffOk);
    }

    [Fact]
    public async Task Unknown_device_fails_the_id_check()
    {
        var (_, driver) = Create(emuOptions: new Ads1298EmulatorOptions { DeviceId = 0x3E });
        using var _d = driver;
        var report = await Ads1298SelfTest.RunAsync(driver);
        Assert.False(report.Passed);
        Assert.Equal((byte)0x3E, report.DeviceId!.Value.Value);
        Assert.Contains("0x3E", report.Format(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ads1296_reports_two_absent_channels_and_passes()
    {
        var (_, driver) = Create(emuOptions: new Ads1298EmulatorOptions { DeviceId = Ads1298DeviceId.Ads1296 });
        using var _d = driver;
        var report = await Ads1298SelfTest.RunAsync(driver);
        Assert.True(report.Passed, report.Format());
        Assert.False(report.Channels[6].Present);
        Assert.Contains("absent", report.Format(), StringComparison.Ordinal);
    }
}
