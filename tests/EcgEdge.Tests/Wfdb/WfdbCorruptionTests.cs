using EcgEdge.Wfdb;
using Xunit;

namespace EcgEdge.Tests.Wfdb;

/// <summary>Truncated and corrupted signal files must give typed errors naming the file and offset.</summary>
public class WfdbCorruptionTests
{
    private static void Truncate(string path, long length)
    {
        using FileStream f = File.OpenWrite(path);
        f.SetLength(length);
    }

    [Theory]
    [InlineData(212, 2, 1000, 1500)]
    [InlineData(212, 1, 1001, 750)]
    [InlineData(16, 3, 1000, 5999)]
    [InlineData(16, 1, 1000, 0)]
    public void Truncated_dat_names_the_file_and_the_offset(int format, int signals, int length, long keep)
    {
        using var dir = new TempDirectory();
        string header = WfdbTestSignals.WriteRecord(dir.Path, format, signals, length);
        Truncate(dir.File("rec.dat"), keep);

        WfdbFormatException e = Assert.ThrowsAny<WfdbFormatException>(() => WfdbRecord.Load(header));

        Assert.IsNotType<WfdbChecksumException>(e);
        Assert.Equal(dir.File("rec.dat"), e.FilePath);
        Assert.Equal(keep, e.Offset);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
        Assert.Contains(dir.File("rec.dat") + ", byte offset " + keep, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Streaming_a_truncated_file_returns_the_data_then_throws()
    {
        using var dir = new TempDirectory();
        string header = WfdbTestSignals.WriteRecord(dir.Path, 16, 2, 10_000);
        Truncate(dir.File("rec.dat"), 4 * 6000);
        using WfdbSignalReader reader = WfdbSignalReader.Open(WfdbHeader.Parse(header));
        int[] buffer = new int[2 * 1000];
        long frames = 0;

        WfdbFormatException e = Assert.ThrowsAny<WfdbFormatException>(() =>
        {
            int n;
            while ((n = reader.ReadFrames(buffer)) > 0)
            {
                frames += n;
            }
        });

        Assert.Equal(6000, frames);
        Assert.Equal(24000, e.Offset);
        Assert.Throws<WfdbFormatException>(reader.EnsureFilesAreLongEnough);
    }

    [SkippableFact]
    public void Truncated_copy_of_mitdb_101()
    {
        string mitdb = TestData.Require("mitdb");
        using var dir = new TempDirectory();
        File.Copy(Path.Combine(mitdb, "101.hea"), dir.File("101.hea"));
        using (FileStream source = File.OpenRead(Path.Combine(mitdb, "101.dat")))
        using (FileStream target = File.Create(dir.File("101.dat")))
        {
            byte[] part = new byte[100_000];
            source.ReadExactly(part);
            target.Write(part);
        }

        WfdbFormatException e = Assert.ThrowsAny<WfdbFormatException>(() => WfdbRecord.Load(dir.File("101")));
        Assert.Equal(dir.File("101.dat"), e.FilePath);
        Assert.Equal(100_000, e.Offset);
        Assert.Contains("1950000 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Checksum_mismatch_names_the_signal()
    {
        using var dir = new TempDirectory();
        string header = WfdbTestSignals.WriteRecord(dir.Path, 212, 2, 1000);
        WfdbHeader h = WfdbHeader.Parse(header);
        int good = h.Signals[1].Checksum!.Value;
        WfdbHeader bad = h with { Signals = [h.Signals[0], h.Signals[1] with { Checksum = good + 1 }] };

        WfdbChecksumException e = Assert.Throws<WfdbChecksumException>(() => WfdbRecord.Load(bad));

        Assert.Equal(1, e.SignalIndex);
        Assert.Equal("sig1", e.SignalDescription);
        Assert.Equal(WfdbChecksumKind.Checksum, e.Kind);
        Assert.Equal(good + 1, e.Expected);
        Assert.Equal(good & 0xFFFF, e.Actual);
        Assert.Equal(dir.File("rec.dat"), e.FilePath);
        Assert.Equal(3000, e.Offset);
        Assert.Contains("signal 1 (sig1)", e.Message, StringComparison.Ordinal);

        Assert.Equal(1000, WfdbRecord.Load(bad, verifyChecksums: false).SampleCount);
    }

    [Fact]
    public void Corrupted_byte_is_caught_by_the_checksum()
    {
        using var dir = new TempDirectory();
        string header = WfdbTestSignals.WriteRecord(dir.Path, 16, 2, 1000);
        byte[] bytes = File.ReadAllBytes(dir.File("rec.dat"));
        bytes[2001] ^= 0x10;
        File.WriteAllBytes(dir.File("rec.dat"), bytes);

        WfdbChecksumException e = Assert.Throws<WfdbChecksumException>(() => WfdbRecord.Load(header));
        Assert.Equal(0, e.SignalIndex);
    }

    [Fact]
    public void Initial_value_mismatch_is_reported()
    {
        using var dir = new TempDirectory();
        string header = WfdbTestSignals.WriteRecord(dir.Path, 16, 2, 100);
        WfdbHeader h = WfdbHeader.Parse(header);
        WfdbHeader bad = h with { Signals = [h.Signals[0] with { InitialValue = h.Signals[0].InitialValue + 1 }, h.Signals[1]] };

        WfdbChecksumException e = Assert.Throws<WfdbChecksumException>(() => WfdbRecord.Load(bad));

        Assert.Equal(WfdbChecksumKind.InitialValue, e.Kind);
        Assert.Equal(0, e.SignalIndex);
        Assert.Equal(0, e.Offset);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65536)]
    [InlineData(-65536)]
    public void Signed_and_unsigned_checksums_are_equivalent(int shift)
    {
        using var dir = new TempDirectory();
        string header = WfdbTestSignals.WriteRecord(dir.Path, 16, 1, 1000);
        WfdbHeader h = WfdbHeader.Parse(header);
        int stored = h.Signals[0].Checksum!.Value;
        WfdbHeader variant = h with { Signals = [h.Signals[0] with { Checksum = stored + shift }] };

        Assert.Equal(1000, WfdbRecord.Load(variant).SampleCount);
    }

    [Fact]
    public void Byte_offset_beyond_the_end_of_the_file()
    {
        using var dir = new TempDirectory();
        dir.Write("f.mat", new byte[10]);
        string header = dir.Write("f.hea", "f 1 500 5\nf.mat 16+24 1000(0)/mV 16 0\n");
        WfdbFormatException e = Assert.ThrowsAny<WfdbFormatException>(() => WfdbRecord.Load(header));
        Assert.Equal(10, e.Offset);
        Assert.Equal(dir.File("f.mat"), e.FilePath);
    }

    [Fact]
    public void Multi_file_record_with_one_file_truncated()
    {
        using var dir = new TempDirectory();
        WfdbSignalSpec[] specs = [WfdbTestSignals.Spec("a.dat", 16, "a"), WfdbTestSignals.Spec("b.dat", 16, "b")];
        WfdbWriter.WriteRecord(dir.Path, "rec", 250, specs, WfdbTestSignals.Random(2, 5000, 16));
        Truncate(dir.File("b.dat"), 5000);

        WfdbFormatException e = Assert.ThrowsAny<WfdbFormatException>(() => WfdbRecord.Load(dir.File("rec")));
        Assert.Equal(dir.File("b.dat"), e.FilePath);
        Assert.Equal(5000, e.Offset);

        WfdbFormatException ex = Assert.ThrowsAny<WfdbFormatException>(() => WfdbTestSignals.ReadStreaming(WfdbHeader.Parse(dir.File("rec.hea")), 2 * 100));
        Assert.Equal(dir.File("b.dat"), ex.FilePath);
    }
}
