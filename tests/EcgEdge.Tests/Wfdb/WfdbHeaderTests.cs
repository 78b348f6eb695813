using EcgEdge.Wfdb;
using Xunit;

namespace EcgEdge.Tests.Wfdb;

public class WfdbHeaderTests
{
    private static WfdbHeader ParseText(string text) => WfdbHeader.Parse(new StringReader(text), "/data/test.hea");

    private static WfdbFormatException ParseError(string text) =>
        Assert.ThrowsAny<WfdbFormatException>(() => ParseText(text));

    [SkippableFact]
    public void Mitdb_101_header_with_crlf()
    {
        string dir = TestData.Require("mitdb");
        string path = Path.Combine(dir, "101.hea");
        Assert.Contains("\r\n", File.ReadAllText(path));

        WfdbHeader h = WfdbHeader.Parse(path);

        Assert.Equal("101", h.RecordName);
        Assert.Equal(2, h.SignalCount);
        Assert.Equal(360, h.SamplingFrequency);
        Assert.Equal(650000, h.SampleCount);
        Assert.Equal(Path.GetFullPath(dir), h.Directory);
        Assert.Equal(new[] { "75 F 1011 654 x1", "Diapres" }, h.Comments);
        WfdbSignalSpec s0 = h.Signals[0];
        Assert.Equal("101.dat", s0.FileName);
        Assert.Equal(212, s0.Format);
        Assert.Equal(200, s0.Gain);
        Assert.True(s0.IsCalibrated);
        Assert.Equal(1024, s0.Baseline);
        Assert.False(s0.HasExplicitBaseline);
        Assert.Equal("mV", s0.Units);
        Assert.Equal(11, s0.AdcResolution);
        Assert.Equal(1024, s0.AdcZero);
        Assert.Equal(955, s0.InitialValue);
        Assert.Equal(29832, s0.Checksum);
        Assert.Equal(0, s0.BlockSize);
        Assert.Equal("MLII", s0.Description);
        Assert.Equal("V1", h.Signals[1].Description);
        Assert.Equal(992, h.Signals[1].InitialValue);
        Assert.Equal(Path.Combine(dir, "101.dat"), h.GetSignalFilePath(s0));
    }

    [Fact]
    public void Lf_and_crlf_give_the_same_header()
    {
        const string Lf = "r1 1 500 10\n r1.dat 16 200 12 0 5 50 0 ECG lead\n# note\n";
        WfdbHeader a = ParseText(Lf);
        WfdbHeader b = ParseText(Lf.Replace("\n", "\r\n", StringComparison.Ordinal));
        Assert.Equal(a.Signals[0], b.Signals[0]);
        Assert.Equal(a.Comments, b.Comments);
        Assert.Equal("ECG lead", a.Signals[0].Description);
        Assert.Equal("note", a.Comments[0]);
    }

    [Theory]
    [InlineData("200", 200.0, 0, false, "mV", true)]
    [InlineData("200(1024)/mV", 200.0, 1024, true, "mV", true)]
    [InlineData("0", 200.0, 0, false, "mV", false)]
    [InlineData("1000.0(0)/mV", 1000.0, 0, true, "mV", true)]
    [InlineData("5.5/uV", 5.5, 0, false, "uV", true)]
    [InlineData("1716(6)/mV", 1716.0, 6, true, "mV", true)]
    [InlineData("30061.276794035417(-161790)/mV", 30061.276794035417, -161790, true, "mV", true)]
    [InlineData("-100/mmHg", -100.0, 0, false, "mmHg", true)]
    public void Gain_forms(string field, double gain, int baseline, bool explicitBaseline, string units, bool calibrated)
    {
        WfdbSignalSpec s = ParseText($"r 1 360 10\nr.dat 16 {field} 12 0 0 0 0 x\n").Signals[0];
        Assert.Equal(gain, s.Gain);
        Assert.Equal(baseline, s.Baseline);
        Assert.Equal(explicitBaseline, s.HasExplicitBaseline);
        Assert.Equal(units, s.Units);
        Assert.Equal(calibrated, s.IsCalibrated);
    }

    [Fact]
    public void Baseline_defaults_to_adc_zero()
    {
        WfdbSignalSpec s = ParseText("r 1 360 10\nr.dat 212 200 11 1024 0 0 0 x\n").Signals[0];
        Assert.Equal(1024, s.Baseline);
        Assert.Equal(5.0 / 200, s.ToPhysical(1029), 12);
    }

    [Fact]
    public void Format_field_with_samples_per_frame_skew_and_offset()
    {
        WfdbSignalSpec s = ParseText("E 1 500 5000\nE.mat 16x1+24 1000.0(0)/mV 16 0 -68 1250 0 I\n").Signals[0];
        Assert.Equal(16, s.Format);
        Assert.Equal(1, s.SamplesPerFrame);
        Assert.Equal(24, s.ByteOffset);
        Assert.Equal(0, s.Skew);

        s = ParseText("r 1 360\nr.dat 212x4:-3+512\n").Signals[0];
        Assert.Equal((212, 4, -3, 512L), (s.Format, s.SamplesPerFrame, s.Skew, s.ByteOffset));
    }

    [Fact]
    public void Optional_fields_take_wfdb_defaults()
    {
        WfdbHeader h = ParseText("rec 2\nrec.dat 212\nrec.dat 16 100\n");
        Assert.Equal(WfdbHeader.DefaultSamplingFrequency, h.SamplingFrequency);
        Assert.Null(h.SampleCount);
        Assert.Null(h.BaseTime);
        WfdbSignalSpec s = h.Signals[0];
        Assert.Equal(200, s.Gain);
        Assert.False(s.IsCalibrated);
        Assert.Equal("mV", s.Units);
        Assert.Equal(12, s.AdcResolution);
        Assert.Equal(0, s.AdcZero);
        Assert.Null(s.InitialValue);
        Assert.Null(s.Checksum);
        Assert.Equal("record rec, signal 0", s.Description);
        Assert.Equal(16, h.Signals[1].AdcResolution);
        Assert.Equal(100, h.Signals[1].Gain);
    }

    [Fact]
    public void Zero_sample_count_means_unknown()
    {
        Assert.Null(ParseText("r 0 360 0\n").SampleCount);
    }

    [Fact]
    public void Record_line_with_counter_frequency_base_time_and_date()
    {
        WfdbHeader h = ParseText("# leading comment\n\nrec 0 360/720(12.5) 1000 10:20:30.5 01/02/2003\n# trailing\n");
        Assert.Equal(360, h.SamplingFrequency);
        Assert.Equal(720, h.CounterFrequency);
        Assert.Equal(12.5, h.BaseCounter);
        Assert.Equal(1000, h.SampleCount);
        Assert.Equal("10:20:30.5", h.BaseTime);
        Assert.Equal("01/02/2003", h.BaseDate);
        Assert.Equal(new[] { "leading comment", "trailing" }, h.Comments);
        Assert.Empty(h.Signals);
    }

    [Fact]
    public void Comments_between_signal_lines_are_kept()
    {
        WfdbHeader h = ParseText("r 2 360 10\nr.dat 16 200 12 0 0 0 0 a\n#between\nr.dat 16 200 12 0 0 0 0 b\n");
        Assert.Equal(new[] { "a", "b" }, h.Signals.Select(s => s.Description));
        Assert.Equal(new[] { "between" }, h.Comments);
    }

    [Fact]
    public void Missing_signal_count_is_an_error()
    {
        WfdbFormatException e = ParseError("rec\n");
        Assert.Equal("/data/test.hea", e.FilePath);
        Assert.Equal(1, e.Line);
        Assert.Equal(0, e.Offset);
        Assert.Contains("/data/test.hea, line 1 (offset 0): ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_format_is_an_error()
    {
        WfdbFormatException e = ParseError("r 1 360 10\r\nr.dat\r\n");
        Assert.Equal(2, e.Line);
        Assert.Equal(12, e.Offset);
        Assert.Contains("format", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("r 1 360 10\nr.dat 16 abc 12 0 0 0 0 x\n", 2, "gain")]
    [InlineData("r 1 360 10\nr.dat 16 200(x)/mV 12 0 0 0 0 x\n", 2, "baseline")]
    [InlineData("r 1 360 10\nr.dat 16 200(5/mV 12 0 0 0 0 x\n", 2, "parenthesis")]
    [InlineData("r 1 360 10\nr.dat 16 NaN 12 0 0 0 0 x\n", 2, "gain")]
    [InlineData("r 1 360 10\nr.dat 16 1e999 12 0 0 0 0 x\n", 2, "gain")]
    [InlineData("r 1 360 10\nr.dat 16 200/ 12 0 0 0 0 x\n", 2, "unit")]
    [InlineData("r -1 360 10\n", 1, "negative")]
    [InlineData("r 1 360 -5\nr.dat 16\n", 1, "negative")]
    [InlineData("r 1 360 9999999999999999999999\nr.dat 16\n", 1, "sample count")]
    [InlineData("r 1 abc 10\nr.dat 16\n", 1, "sampling frequency")]
    [InlineData("r 1 0 10\nr.dat 16\n", 1, "not positive")]
    [InlineData("r 1 360 10\nr.dat 17\n", 2, "unknown signal format 17")]
    [InlineData("r 1 360 10\nr.dat sixteen\n", 2, "format")]
    [InlineData("r 1 360 10\nr.dat 16x0\n", 2, "samples per frame")]
    [InlineData("r 1 360 10\nr.dat 16+abc\n", 2, "byte offset")]
    [InlineData("r 1 360 10\nr.dat 16?\n", 2, "format field")]
    [InlineData("r 1 360 10\nr.dat 16 200 12 0 99999999999 0 0 x\n", 2, "initial value")]
    [InlineData("r 1 360 10\nr.dat 16 200 12 0 0 0.5 0 x\n", 2, "checksum")]
    [InlineData("r 1 360 10\nr.dat 16 200 -1 0 0 0 0 x\n", 2, "ADC resolution")]
    [InlineData("r 1 360 10\nr.dat 16 200 12 0 0 0 -4 x\n", 2, "block size")]
    [InlineData("r 1 360 10 0:0:0 1/1/2000 extra\n", 1, "more than 6 fields")]
    [InlineData("r/3 2 360 10\n", 1, "multi-segment")]
    [InlineData("r 1 360/x 10\n", 1, "counter frequency")]
    public void Bad_header_lines_are_rejected_with_the_line(string text, int line, string expected)
    {
        WfdbFormatException e = ParseError(text);
        Assert.Equal(line, e.Line);
        Assert.NotNull(e.Offset);
        Assert.Contains(expected, e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Too_few_signal_lines_is_an_error()
    {
        WfdbFormatException e = ParseError("r 3 360 10\nr.dat 16\nr.dat 16\n# c\n");
        Assert.Equal(5, e.Line);
        Assert.Contains("declares 3 signal(s) but the header has 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Too_many_signal_lines_is_an_error()
    {
        WfdbFormatException e = ParseError("r 1 360 10\nr.dat 16\nr.dat 16\n");
        Assert.Equal(3, e.Line);
        Assert.Contains("wrong signal count", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_header_is_an_error()
    {
        Assert.Contains("no record line", ParseError("\n# only a comment\n").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_header_file_is_FileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => WfdbHeader.Parse(Path.Combine(Path.GetTempPath(), "no-such-record-xyz.hea")));
    }

    [SkippableFact]
    public void All_real_headers_parse()
    {
        int count = 0;
        foreach (string name in new[] { "mitdb", "nstdb", "cinc2021-sample", "cpsc2021-sample" })
        {
            string? dir = TestData.Dir(name);
            if (dir is null)
            {
                continue;
            }

            foreach (string path in Directory.EnumerateFiles(dir, "*.hea"))
            {
                WfdbHeader h = WfdbHeader.Parse(path);
                Assert.Equal(h.SignalCount, h.Signals.Count);
                Assert.NotNull(h.SampleCount);
                count++;
            }
        }

        Skip.If(count == 0, "no shared data");
    }

    [SkippableFact]
    public void Nstdb_118e06_has_a_signed_checksum_and_explicit_baseline()
    {
        string dir = TestData.Require("nstdb");
        WfdbHeader h = WfdbHeader.Parse(Path.Combine(dir, "118e06.hea"));
        Assert.Equal(16, h.Signals[0].Format);
        Assert.Equal(1024, h.Signals[0].Baseline);
        Assert.Equal(0, h.Signals[0].AdcZero);
        Assert.Equal(-30272, h.Signals[1].Checksum);
    }

    [SkippableFact]
    public void Ptbxl_lowercase_mv_units_are_millivolts()
    {
        string dir = TestData.Require("cinc2021-sample");
        WfdbHeader h = WfdbHeader.Parse(Path.Combine(dir, "HR06000.hea"));
        Assert.Equal("mv", h.Signals[0].Units);
        Assert.Equal(1000, h.Signals[0].MicrovoltsPerUnit);
    }
}
