using EcgEdge.Wfdb;
using Xunit;

namespace EcgEdge.Tests.Wfdb;

public class WfdbSignalSpecTests
{
    private static WfdbSignalSpec Spec(int format = 16, double gain = 200, int adcZero = 0, string units = "mV") =>
        new() { FileName = "x.dat", Format = format, Gain = gain, AdcZero = adcZero, Units = units };

    [Theory]
    [InlineData("mV", 1000.0)]
    [InlineData("mv", 1000.0)]
    [InlineData("uV", 1.0)]
    [InlineData("\u00B5V", 1.0)]
    [InlineData("\u03BCV", 1.0)]
    [InlineData("V", 1_000_000.0)]
    [InlineData("nV", 0.001)]
    public void Voltage_units_convert_to_microvolts(string units, double perUnit)
    {
        WfdbSignalSpec s = Spec(gain: 100, units: units);
        Assert.Equal(perUnit, s.MicrovoltsPerUnit);
        Assert.Equal(50 / 100.0 * perUnit, s.ToMicrovolts(50), 1e-6 * perUnit);
        Assert.Equal(0.5, s.ToPhysical(50));
    }

    [Fact]
    public void Non_voltage_units_cannot_be_converted_to_microvolts()
    {
        WfdbSignalSpec s = Spec(units: "mmHg");
        Assert.True(double.IsNaN(s.MicrovoltsPerUnit));
        Assert.Equal(1.0, s.ToPhysical(200));
        Assert.Throws<InvalidOperationException>(() => s.ToMicrovolts(1));
    }

    [Fact]
    public void Mitdb_calibration()
    {
        WfdbSignalSpec s = Spec(format: 212, gain: 200, adcZero: 1024);
        Assert.Equal(-0.145, s.ToPhysical(995), 12);
        Assert.Equal(-145f, s.ToMicrovolts(995));
    }

    [Fact]
    public void Explicit_baseline_overrides_adc_zero()
    {
        WfdbSignalSpec s = Spec(gain: 200, adcZero: 0) with { Baseline = 1024 };
        Assert.Equal(0f, s.ToMicrovolts(1024));
        Assert.Equal(1000f, s.ToMicrovolts(1224));
    }

    [Fact]
    public void Zero_gain_means_default_200()
    {
        WfdbSignalSpec s = Spec(gain: 0);
        Assert.Equal(200, s.Gain);
        Assert.False(s.IsCalibrated);
        Assert.Equal(1000f, s.ToMicrovolts(200));
    }

    [Theory]
    [InlineData(16, -32768)]
    [InlineData(212, -2048)]
    [InlineData(80, -128)]
    [InlineData(24, -8388608)]
    public void Invalid_samples_are_NaN(int format, int invalid)
    {
        WfdbSignalSpec s = Spec(format: format);
        Assert.Equal(invalid, s.InvalidValue);
        Assert.True(s.IsInvalid(invalid));
        Assert.False(s.IsInvalid(invalid + 1));
        Assert.True(float.IsNaN(s.ToMicrovolts(invalid)));
        Assert.True(double.IsNaN(s.ToPhysical(invalid)));
        Assert.False(float.IsNaN(s.ToMicrovolts(invalid + 1)));
    }

    [Fact]
    public void Block_conversion_matches_single_conversion()
    {
        WfdbSignalSpec s = Spec(gain: 1716, units: "mV") with { Baseline = 6 };
        int[] adu = [-32768, -5, 0, 6, 1722, 32767];
        float[] uv = new float[adu.Length];
        s.ToMicrovolts(adu, uv);
        for (int i = 0; i < adu.Length; i++)
        {
            Assert.Equal(s.ToMicrovolts(adu[i]), uv[i]);
        }

        Assert.True(float.IsNaN(uv[0]));
        Assert.Throws<ArgumentException>(() => s.ToMicrovolts(adu, new float[2]));
    }
}
