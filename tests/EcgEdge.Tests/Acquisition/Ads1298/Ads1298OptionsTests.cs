using Xunit;
using EcgEdge.Acquisition.Ads1298;

namespace EcgEdge.Tests.Acquisition.Ads1298;

public class Ads1298OptionsTests
{
    /// <summary>What the generated validator (attributes and cross-field rules) says; empty when valid.</summary>
    private static IReadOnlyList<string> Errors(Ads1298Options o) =>
        new Ads1298OptionsValidator().Validate(Ads1298Options.SectionName, o) is { Failed: true } r ? [.. r.Failures] : [];

    [Fact]
    public void Defaults_are_valid_500_sps_hr_gain_6_vref_2v4()
    {
        var o = new Ads1298Options();
        Assert.Empty(Errors(o));
        Assert.Equal(500, o.DataRateHz);
        Assert.True(o.HighResolution);
        Assert.Equal(6, o.Gain);
        Assert.Equal(2.4, o.ReferenceVolts);
        Assert.True(o.RightLegDrive);
        Assert.True(o.WilsonCentralTerminal);
        Assert.Equal(Ads1298LeadOffMode.Dc, o.LeadOffMode);
        Assert.Equal(6, o.LeadOffCurrentNanoamps);
        Assert.Equal(95, o.LeadOffThresholdPercent);
        Assert.Equal("Ads1298", Ads1298Options.SectionName);
    }

    [Theory]
    [InlineData(nameof(Ads1298Options.DataRateHz), 300.0, "DataRateHz 300 is not available")]
    [InlineData(nameof(Ads1298Options.Gain), 5, "Gain 5 is not a PGA gain")]
    [InlineData(nameof(Ads1298Options.ReferenceVolts), 3.3, "ReferenceVolts must be 2.4 or 4")]
    [InlineData(nameof(Ads1298Options.LeadOffCurrentNanoamps), 7, "LeadOffCurrentNanoamps must be 6, 12, 18 or 24")]
    [InlineData(nameof(Ads1298Options.LeadOffThresholdPercent), 93.0, "LeadOffThresholdPercent must be one of")]
    [InlineData(nameof(Ads1298Options.ChannelGains), "6,6,6", "ChannelGains must list 8 gains")]
    [InlineData(nameof(Ads1298Options.ChannelGains), "6,6,6,6,6,6,6,24", "ChannelGains entry 8 '24'")]
    [InlineData(nameof(Ads1298Options.PowerDownChannels), "V9", "PowerDownChannels entry 'V9'")]
    [InlineData(nameof(Ads1298Options.SpiClockHz), 8_000_000, "SpiClockHz")]
    public void Invalid_values_give_clear_messages(string property, object value, string expected)
    {
        var o = new Ads1298Options();
        var p = typeof(Ads1298Options).GetProperty(property)!;
        p.SetValue(o, Convert.ChangeType(value, p.PropertyType, System.Globalization.CultureInfo.InvariantCulture));
        var errors = Errors(o);
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
        var ex = Assert.Throws<Ads1298ConfigurationException>(() => Ads1298OptionsValidator.ThrowIfInvalid(o));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void High_rates_need_a_fast_enough_spi_clock()
    {
        var o = new Ads1298Options { DataRateHz = 8000 };
        Assert.Contains(Errors(o), e => e.Contains("raise SpiClockHz", StringComparison.Ordinal));
        o.SpiClockHz = 4_096_000;
        Assert.Empty(Errors(o));
        Assert.Equal(0x82, o.ToRegisters()[(int)Ads1298Register.Config1]); // HR, DR = 010
    }

    [Fact]
    public void Low_power_250_sps_and_4v_reference_and_power_down()
    {
        var o = new Ads1298Options
        {
            DataRateHz = 250, HighResolution = false, ReferenceVolts = 4.0, PowerDownChannels = "V5,V6",
            ChannelGains = "1,2,3,4,6,8,12,12", LeadOffMode = Ads1298LeadOffMode.Ac, LeadOffCurrentNanoamps = 24,
            LeadOffThresholdPercent = 70,
        };
        Assert.Empty(Errors(o));
        var r = o.ToRegisters();
        Assert.Equal(0x06, r[(int)Ads1298Register.Config1]);
        Assert.Equal(0xEC, r[(int)Ads1298Register.Config3]); // + VREF_4V
        Assert.Equal(0xE0 | 0x0C | 0x01, r[(int)Ads1298Register.Loff]);
        byte[] chset = [0x10, 0x20, 0x30, 0x40, 0x00, 0x50, 0xE1, 0xE1]; // CH7/CH8: PD | gain 12 | shorted
        Assert.Equal(chset, r.AsSpan((int)Ads1298Register.Ch1Set, 8).ToArray());
        Assert.Equal(0x3F, r[(int)Ads1298Register.LoffSensP]); // powered-down channels not sensed
        Assert.True(o.IsPoweredDown(6) && o.IsPoweredDown(7) && !o.IsPoweredDown(5));
        Assert.Equal(4.0 / 12 / 8388608 * 1e6, o.MicrovoltsPerLsb(7), 12);
    }

    [Fact]
    public void Test_signal_and_lead_off_off()
    {
        var o = new Ads1298Options { Mux = Ads1298Mux.TestSignal, TestSignal = Ads1298TestSignal.Fast, TestSignalDoubleAmplitude = true, LeadOffMode = Ads1298LeadOffMode.Off };
        var r = o.ToRegisters();
        Assert.Equal(0x40 | 0x10 | 0x04 | 0x01, r[(int)Ads1298Register.Config2]);
        Assert.Equal(0x05, r[(int)Ads1298Register.Ch1Set]);
        Assert.Equal(0, r[(int)Ads1298Register.Loff]);
        Assert.Equal(0, r[(int)Ads1298Register.Config4]);
        Assert.Contains(Errors(new Ads1298Options { Mux = Ads1298Mux.TestSignal }), e => e.Contains("needs TestSignal", StringComparison.Ordinal));
    }

    [Fact]
    public void Data_rate_table_matches_the_datasheet()
    {
        double[] hr = [32000, 16000, 8000, 4000, 2000, 1000, 500];
        double[] lp = [16000, 8000, 4000, 2000, 1000, 500, 250];
        for (var dr = 0; dr <= 6; dr++)
        {
            Assert.Equal(hr[dr], Ads1298Timing.DataRate(true, dr));
            Assert.Equal(lp[dr], Ads1298Timing.DataRate(false, dr));
        }
        Assert.Equal(0.9765625, Ads1298Timing.TestSignalHz(0));
        Assert.Equal(1.953125, Ads1298Timing.TestSignalHz(1));
    }
}
