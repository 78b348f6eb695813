using EcgEdge.Wfdb;
using Xunit;

namespace EcgEdge.Tests.Wfdb;

public class WfdbSignalReaderTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(2 * 4096 + 3)]
    [InlineData(1_000_000)]
    public void Streaming_matches_loading_for_any_buffer_size(int bufferInts)
    {
        using var dir = new TempDirectory();
        string path = WfdbTestSignals.WriteRecord(dir.Path, 212, 2, 20001);
        WfdbRecord r = WfdbRecord.Load(path);

        int[][] streamed = WfdbTestSignals.ReadStreaming(r.Header, bufferInts);

        Assert.Equal(r.Samples[0], streamed[0]);
        Assert.Equal(r.Samples[1], streamed[1]);
    }

    [SkippableFact]
    public void Streaming_mitdb_101_matches_load()
    {
        string dir = TestData.Require("mitdb");
        WfdbRecord r = WfdbRecord.Load(Path.Combine(dir, "101.hea"));
        int[][] streamed = WfdbTestSignals.ReadStreaming(r.Header, 2 * 1000 + 1);
        Assert.Equal(r.Samples[0], streamed[0]);
        Assert.Equal(r.Samples[1], streamed[1]);
    }

    [Fact]
    public void ReadFrames_does_not_allocate()
    {
        using var dir = new TempDirectory();
        string path = WfdbTestSignals.WriteRecord(dir.Path, 212, 3, 200_000);
        using WfdbSignalReader reader = WfdbSignalReader.Open(WfdbHeader.Parse(path));
        int[] buffer = new int[3 * 250];
        bool everyPassFull = true;
        // Each pass reads 100 blocks, through several buffer refills.
        Assert.Equal(0, Allocations.SmallestPerPass(() =>
        {
            long frames = 0;
            for (int i = 0; i < 100; i++)
            {
                frames += reader.ReadFrames(buffer);
            }

            everyPassFull &= frames == 100 * 250;
        }, warmups: 1)); // the record holds 8 passes of 25,000 frames: 1 warm-up and up to 5 measured fit
        Assert.True(everyPassFull);
    }

    [Fact]
    public void Reading_past_the_end_returns_zero()
    {
        using var dir = new TempDirectory();
        string path = WfdbTestSignals.WriteRecord(dir.Path, 16, 2, 10);
        using WfdbSignalReader reader = WfdbSignalReader.Open(WfdbHeader.Parse(path));
        int[] buffer = new int[100];
        Assert.Equal(10, reader.ReadFrames(buffer));
        Assert.Equal(0, reader.ReadFrames(buffer));
        Assert.Equal(0, reader.ReadFrames(buffer));
        Assert.Equal(10, reader.FramesRead);

        using WfdbSignalReader other = WfdbSignalReader.Open(reader.Header);
        Assert.Throws<ArgumentException>(() => other.ReadFrames(new int[1]));
    }

    [Fact]
    public void Unknown_sample_count_reads_to_the_end_of_the_file()
    {
        using var dir = new TempDirectory();
        string path = WfdbTestSignals.WriteRecord(dir.Path, 212, 2, 5001);
        string text = File.ReadAllText(path).Replace("rec 2 360 5001", "rec 2 360", StringComparison.Ordinal);
        File.WriteAllText(path, text);

        WfdbRecord r = WfdbRecord.Load(path);

        Assert.Null(r.Header.SampleCount);
        Assert.Equal(5001, r.SampleCount);
        Assert.Equal(WfdbTestSignals.Random(2, 5001, 212)[1], r.Samples[1]);
    }

    [Fact]
    public void Unknown_sample_count_with_a_partial_frame_is_an_error()
    {
        using var dir = new TempDirectory();
        string path = WfdbTestSignals.WriteRecord(dir.Path, 16, 2, 100);
        File.WriteAllText(path, File.ReadAllText(path).Replace("rec 2 360 100", "rec 2 360", StringComparison.Ordinal));
        using (FileStream f = File.OpenWrite(dir.File("rec.dat")))
        {
            f.SetLength(400 - 2);
        }

        WfdbFormatException e = Assert.ThrowsAny<WfdbFormatException>(() => WfdbRecord.Load(path));
        Assert.Equal(dir.File("rec.dat"), e.FilePath);
        Assert.Equal(398, e.Offset);
        Assert.Contains("middle of a frame", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a.dat", 0)]
    [InlineData("b.dat", 1)]
    [InlineData("c.dat", 2)]
    public void Unknown_sample_count_with_files_of_different_lengths_names_the_short_file(string shortFile, int shortIndex)
    {
        using var dir = new TempDirectory();
        WfdbSignalSpec[] specs = [WfdbTestSignals.Spec("a.dat", 16, "a"), WfdbTestSignals.Spec("b.dat", 16, "b"), WfdbTestSignals.Spec("c.dat", 212, "c")];
        WfdbWriter.WriteRecord(dir.Path, "rec", 250, specs, WfdbTestSignals.Random(3, 1000, 212));
        File.WriteAllText(dir.File("rec.hea"), File.ReadAllText(dir.File("rec.hea")).Replace("rec 3 250 1000", "rec 3 250", StringComparison.Ordinal));
        long length = new FileInfo(dir.File(shortFile)).Length;
        using (FileStream f = File.OpenWrite(dir.File(shortFile)))
        {
            f.SetLength(shortIndex == 2 ? length - 3 : length - 2); // one frame (two for the 212 file) less
        }

        WfdbFormatException e = Assert.ThrowsAny<WfdbFormatException>(() => WfdbRecord.Load(dir.File("rec")));
        Assert.Equal(dir.File(shortFile), e.FilePath);
        Assert.Contains("ends before the other files", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(80, new byte[] { 0x00, 0x80, 0xFF }, new[] { -128, 0, 127 })]
    [InlineData(160, new byte[] { 0x00, 0x00, 0x00, 0x80, 0xFF, 0xFF }, new[] { -32768, 0, 32767 })]
    [InlineData(61, new byte[] { 0x80, 0x00, 0x01, 0x02, 0x7F, 0xFF }, new[] { -32768, 258, 32767 })]
    [InlineData(16, new byte[] { 0x00, 0x80, 0x02, 0x01, 0xFF, 0x7F }, new[] { -32768, 258, 32767 })]
    [InlineData(24, new byte[] { 0x00, 0x00, 0x80, 0x03, 0x02, 0x01, 0xFF, 0xFF, 0xFF }, new[] { -8388608, 0x010203, -1 })]
    [InlineData(32, new byte[] { 0x04, 0x03, 0x02, 0x01, 0xFE, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0x80 }, new[] { 0x01020304, -2, int.MinValue })]
    [InlineData(212, new byte[] { 0x23, 0xF1, 0xFF, 0x00, 0x08 }, new[] { 0x123, -1, -2048 })]
    public void Formats_decode_known_bytes(int format, byte[] bytes, int[] expected)
    {
        using var dir = new TempDirectory();
        dir.Write("f.dat", bytes);
        string header = dir.Write("f.hea", $"f 1 100 {expected.Length}\nf.dat {format} 200 0 0 {expected[0]}\n");

        WfdbRecord r = WfdbRecord.Load(header);

        Assert.Equal(expected, r.Samples[0]);
    }

    [Theory]
    [InlineData("f.dat 310", "format 310 is not supported")]
    [InlineData("f.dat 8", "format 8 is not supported")]
    [InlineData("f.dat 16x2", "samples per frame")]
    [InlineData("f.dat 16:1", "skew")]
    [InlineData("- 16", "standard input")]
    public void Unsupported_layouts_are_rejected(string signalLine, string expected)
    {
        using var dir = new TempDirectory();
        dir.Write("f.dat", new byte[16]);
        string header = dir.Write("f.hea", $"f 1 100 4\n{signalLine}\n");
        WfdbFormatException e = Assert.ThrowsAny<WfdbFormatException>(() => WfdbRecord.Load(header));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("not supported", e.Message, StringComparison.Ordinal);
        Assert.Equal(header, e.FilePath);
    }

    [Fact]
    public void Signals_of_one_file_must_agree_and_be_consecutive()
    {
        using var dir = new TempDirectory();
        dir.Write("a.dat", new byte[64]);
        dir.Write("b.dat", new byte[64]);
        string mixed = dir.Write("m.hea", "m 2 100 4\na.dat 16\na.dat 212\n");
        Assert.Contains("different formats", Assert.ThrowsAny<WfdbFormatException>(() => WfdbRecord.Load(mixed)).Message, StringComparison.Ordinal);
        string split = dir.Write("s.hea", "s 3 100 4\na.dat 16\nb.dat 16\na.dat 16\n");
        Assert.Contains("consecutive", Assert.ThrowsAny<WfdbFormatException>(() => WfdbRecord.Load(split)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_signal_file_is_FileNotFound()
    {
        using var dir = new TempDirectory();
        string header = dir.Write("f.hea", "f 1 100 4\nf.dat 16\n");
        Assert.Throws<FileNotFoundException>(() => WfdbRecord.Load(header));
    }

    [Fact]
    public void Record_without_signals_loads_empty()
    {
        using var dir = new TempDirectory();
        WfdbRecord r = WfdbRecord.Load(dir.Write("f.hea", "f 0 100 4\n"));
        Assert.Empty(r.Samples);
        Assert.Equal(0, r.SampleCount);
    }
}
