using EcgEdge.Wfdb;
using Xunit;

namespace EcgEdge.Tests.Wfdb;

public class WfdbWriterTests
{
    [Theory]
    [InlineData(16, 1, 1001)]
    [InlineData(16, 3, 1000)]
    [InlineData(212, 1, 1001)]
    [InlineData(212, 1, 1000)]
    [InlineData(212, 2, 999)]
    [InlineData(212, 3, 1001)]
    [InlineData(212, 12, 5000)]
    public void Written_records_read_back_identically(int format, int signals, int length)
    {
        using var dir = new TempDirectory();
        int[][] data = WfdbTestSignals.Random(signals, length, format);
        string headerPath = WfdbTestSignals.WriteRecord(dir.Path, format, signals, length);

        WfdbRecord r = WfdbRecord.Load(headerPath);

        Assert.Equal(length, r.SampleCount);
        for (int s = 0; s < signals; s++)
        {
            Assert.Equal(data[s], r.Samples[s]);
        }

        long expectedBytes = format == 16 ? 2L * signals * length : (3L * signals * length + 1) / 2;
        Assert.Equal(expectedBytes, new FileInfo(dir.File("rec.dat")).Length);
    }

    [Fact]
    public void Header_text_follows_the_wfdb_layout()
    {
        using var dir = new TempDirectory();
        WfdbSignalSpec[] specs =
        [
            WfdbTestSignals.Spec("rec.dat", 212, "MLII", adcZero: 1024) with { AdcResolution = 11 },
            WfdbTestSignals.Spec("rec.dat", 212, "V1", adcZero: 1024) with { AdcResolution = 11 },
        ];
        int[][] data = [[955, 1000, 2047], [992, -2048, 0]];

        WfdbHeader written = WfdbWriter.WriteRecord(dir.Path, "rec", 360, specs, data, ["75 F", "Diapres"]);

        string text = File.ReadAllText(dir.File("rec.hea"));
        Assert.Equal(
            "rec 2 360 3\r\n" +
            "rec.dat 212 200 11 1024 955 4002 0 MLII\r\n" +
            "rec.dat 212 200 11 1024 992 -1056 0 V1\r\n" +
            "# 75 F\r\n" +
            "# Diapres\r\n",
            text);
        Assert.Equal(4002, written.Signals[0].Checksum);
        WfdbHeader parsed = WfdbHeader.Parse(dir.File("rec.hea"));
        Assert.Equal(written.Signals, parsed.Signals);
        Assert.Equal(written.Comments, parsed.Comments);
    }

    [Fact]
    public void Checksums_are_written_as_signed_16_bit_values()
    {
        using var dir = new TempDirectory();
        WfdbHeader h = WfdbWriter.WriteRecord(dir.Path, "rec", 500, [WfdbTestSignals.Spec("rec.dat", 16, "I")], [[30000, 30000]]);
        Assert.Equal(60000 - 65536, h.Signals[0].Checksum);
        Assert.Contains(" -5536 ", File.ReadAllText(dir.File("rec.hea")), StringComparison.Ordinal);
    }

    [Fact]
    public void Explicit_baseline_units_and_byte_offset_are_written()
    {
        using var dir = new TempDirectory();
        WfdbSignalSpec spec = WfdbTestSignals.Spec("rec.mat", 16, "I") with { Gain = 1000, Baseline = 0, Units = "uV", ByteOffset = 24 };
        WfdbWriter.WriteRecord(dir.Path, "rec", 500, [spec, spec with { Description = "II" }], [[1, 2, 3], [4, 5, 6]]);

        string[] lines = File.ReadAllLines(dir.File("rec.hea"));
        Assert.Equal("rec.mat 16+24 1000(0)/uV 16 0 1 6 0 I", lines[1]);
        Assert.Equal(24 + 12, new FileInfo(dir.File("rec.mat")).Length);
        WfdbRecord r = WfdbRecord.Load(dir.File("rec"));
        Assert.Equal(new[] { 4, 5, 6 }, r.Samples[1]);
    }

    [Fact]
    public void Real_header_survives_format_and_parse()
    {
        string text = "118e06 2 360 650000\r\n" +
                      "118e06.dat 16 200(1024) 11 0 -167 25488 0 MLII\r\n" +
                      "118e06.dat 16 200(1024)/mV 11 0 -103 -30272 0 V1\r\n" +
                      "# Created by `nst' from records 118 and em (SNR = 6 dB)\r\n";
        WfdbHeader h = WfdbHeader.Parse(new StringReader(text), "118e06.hea");
        WfdbHeader again = WfdbHeader.Parse(new StringReader(WfdbWriter.FormatHeader(h)), "118e06.hea");
        Assert.Equal(h.Signals, again.Signals);
        Assert.Equal(h.Comments, again.Comments);
        Assert.Equal((h.RecordName, h.SamplingFrequency, h.SampleCount), (again.RecordName, again.SamplingFrequency, again.SampleCount));
    }

    [Fact]
    public void Signals_in_several_files()
    {
        using var dir = new TempDirectory();
        WfdbSignalSpec[] specs =
        [
            WfdbTestSignals.Spec("rec_a.dat", 16, "a0"),
            WfdbTestSignals.Spec("rec_a.dat", 16, "a1"),
            WfdbTestSignals.Spec("rec_b.dat", 212, "b0"),
        ];
        int[][] data = [.. WfdbTestSignals.Random(2, 10001, 16), WfdbTestSignals.Random(1, 10001, 212, seed: 7)[0]];
        WfdbWriter.WriteRecord(dir.Path, "rec", 250, specs, data);

        WfdbRecord r = WfdbRecord.Load(dir.File("rec.hea"));
        for (int s = 0; s < 3; s++)
        {
            Assert.Equal(data[s], r.Samples[s]);
        }

        int[][] streamed = WfdbTestSignals.ReadStreaming(r.Header, 3 * 333);
        for (int s = 0; s < 3; s++)
        {
            Assert.Equal(data[s], streamed[s]);
        }
    }

    [Fact]
    public void Out_of_range_samples_are_rejected_before_writing()
    {
        using var dir = new TempDirectory();
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            WfdbWriter.WriteRecord(dir.Path, "rec", 360, [WfdbTestSignals.Spec("rec.dat", 212, "x")], [[0, 2048]]));
        Assert.Empty(Directory.GetFiles(dir.Path));
        Assert.Throws<ArgumentOutOfRangeException>(() => WfdbWriter.WriteSamples(Stream.Null, 16, [40000]));
    }

    [Fact]
    public void Inconsistent_arguments_are_rejected()
    {
        using var dir = new TempDirectory();
        WfdbSignalSpec a = WfdbTestSignals.Spec("rec.dat", 16, "a");
        Assert.Throws<ArgumentException>(() => WfdbWriter.WriteRecord(dir.Path, "rec", 360, [a, a], [[1, 2], [1]]));
        Assert.Throws<ArgumentException>(() => WfdbWriter.WriteRecord(dir.Path, "rec", 360, [a], [[1], [2]]));
        Assert.Throws<ArgumentException>(() => WfdbWriter.WriteRecord(dir.Path, "rec", 360, [a with { Format = 80 }], [[1]]));
        Assert.Throws<ArgumentException>(() => WfdbWriter.WriteRecord(dir.Path, "rec", 360, [a, a with { Format = 212 }], [[1], [1]]));
        Assert.Throws<ArgumentException>(() => WfdbWriter.WriteRecord(dir.Path, "r e c", 360, [a], [[1]]));
        Assert.Throws<ArgumentOutOfRangeException>(() => WfdbWriter.WriteRecord(dir.Path, "rec", 0, [a], [[1]]));
    }

    [Fact]
    public void Format_212_packs_two_samples_in_three_bytes()
    {
        var stream = new MemoryStream();
        WfdbWriter.WriteSamples(stream, 212, [0x123, -1, -2048]);
        // s0 = 0x123, s1 = 0xFFF: bytes 23, (F<<4 | 1), FF; s2 alone = 0x800: bytes 00, 08.
        Assert.Equal(new byte[] { 0x23, 0xF1, 0xFF, 0x00, 0x08 }, stream.ToArray());
    }
}
