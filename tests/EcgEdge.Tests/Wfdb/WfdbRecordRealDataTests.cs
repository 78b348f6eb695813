using EcgEdge.Wfdb;
using Xunit;

namespace EcgEdge.Tests.Wfdb;

/// <summary>Decodes the shared real recordings and checks them against their headers.</summary>
public class WfdbRecordRealDataTests
{
    /// <summary>Independent check: first sample = initial value, sum of samples = checksum (mod 65536).</summary>
    private static void AssertMatchesHeader(WfdbRecord record)
    {
        WfdbHeader h = record.Header;
        Assert.Equal(h.SignalCount, record.Samples.Length);
        if (h.SampleCount is long n)
        {
            Assert.Equal(n, record.SampleCount);
        }

        for (int s = 0; s < h.SignalCount; s++)
        {
            int[] x = record.Samples[s];
            Assert.Equal(record.SampleCount, x.Length);
            if (h.Signals[s].InitialValue is int initial)
            {
                Assert.Equal(initial, x[0]);
            }

            if (h.Signals[s].Checksum is int checksum)
            {
                int sum = 0;
                foreach (int v in x)
                {
                    sum += v;
                }

                Assert.Equal(checksum & 0xFFFF, sum & 0xFFFF);
            }
        }
    }

    /// <summary>
    /// Streams a whole record (the reader verifies every initial value and checksum) and returns the frame count;
    /// cheaper than <see cref="WfdbRecord.Load(string)"/> for the 30-minute records.
    /// </summary>
    private static long StreamAndVerify(string headerPath)
    {
        WfdbHeader h = WfdbHeader.Parse(headerPath);
        using WfdbSignalReader reader = WfdbSignalReader.Open(h);
        int[] buffer = new int[h.SignalCount * 8192];
        int frames = reader.ReadFrames(buffer);
        for (int s = 0; s < h.SignalCount; s++)
        {
            Assert.Equal(h.Signals[s].InitialValue, buffer[s]);
        }

        long total = frames;
        while ((frames = reader.ReadFrames(buffer)) > 0)
        {
            total += frames;
        }

        Assert.Equal(h.SampleCount, total);
        return total;
    }

    [SkippableFact]
    public void Mitdb_101_known_values()
    {
        string dir = TestData.Require("mitdb");
        WfdbRecord r = WfdbRecord.Load(Path.Combine(dir, "101"));
        Assert.Equal(650000, r.SampleCount);
        Assert.Equal(new[] { 955, 955, 955 }, r.Samples[0][..3]);
        Assert.Equal(new[] { 992, 992, 992 }, r.Samples[1][..3]);
        Assert.Equal((946, 1004), (r.Samples[0][1000], r.Samples[1][1000]));
        Assert.Equal((983, 999), (r.Samples[0][100000], r.Samples[1][100000]));
        Assert.Equal((1024, 1024), (r.Samples[0][^1], r.Samples[1][^1]));
        Assert.Equal(-0.345, r.Header.Signals[0].ToPhysical(r.Samples[0][0]), 12);
    }

    [SkippableFact]
    public void All_mitdb_records_decode_and_match_their_checksums()
    {
        string dir = TestData.Require("mitdb");
        IReadOnlyList<string> names = WfdbRecordPath.ListRecords(dir);
        Assert.Equal(26, names.Count);
        foreach (string name in names)
        {
            Assert.Equal(650000, StreamAndVerify(WfdbRecordPath.ResolveHeaderPath(dir, name)));
        }

        AssertMatchesHeader(WfdbRecord.Load(Path.Combine(dir, "208"))); // independent sums for one record
    }

    [SkippableFact]
    public void Nstdb_records_decode_with_signed_and_unsigned_checksums()
    {
        string dir = TestData.Require("nstdb");
        foreach (string name in new[] { "118e00", "118e12", "118e24", "bw", "ma" })
        {
            Assert.Equal(650000, StreamAndVerify(Path.Combine(dir, name + ".hea")));
        }

        WfdbRecord e06 = WfdbRecord.Load(Path.Combine(dir, "118e06"));
        AssertMatchesHeader(e06);
        Assert.Equal(16, e06.Header.Signals[1].Format);
        Assert.Equal(-30272, e06.Header.Signals[1].Checksum);
        Assert.Equal(new[] { -167, -103 }, new[] { e06.Samples[0][0], e06.Samples[1][0] });
    }

    [SkippableFact]
    public void Cinc_mat_files_with_a_24_byte_offset()
    {
        string dir = TestData.Require("cinc2021-sample");
        IReadOnlyList<string> names = WfdbRecordPath.ListRecords(dir);
        Assert.Equal(50, names.Count);
        foreach (string name in names)
        {
            WfdbRecord r = WfdbRecord.Load(Path.Combine(dir, name));
            Assert.Equal(12, r.Header.SignalCount);
            Assert.Equal(24, r.Header.Signals[0].ByteOffset);
            AssertMatchesHeader(r);
        }

        WfdbRecord e = WfdbRecord.Load(Path.Combine(dir, "E07500"));
        int[] firstFrame = new int[12];
        for (int s = 0; s < 12; s++)
        {
            firstFrame[s] = e.Samples[s][0];
        }

        Assert.Equal(new[] { -68, -58, 9, 63, -39, -24, 156, 97, -146, -68, -48, -156 }, firstFrame);
        Assert.Equal(-68f, e.Header.Signals[0].ToMicrovolts(-68)); // 1000 adu/mV: 1 adu = 1 uV
    }

    [SkippableFact]
    public void Cpsc2021_records_decode()
    {
        string dir = TestData.Require("cpsc2021-sample");
        IReadOnlyList<string> names = WfdbRecordPath.ListRecords(dir);
        // The 18-record sample plus the records added to it later (its README), whichever of them are present.
        Assert.Equal(18, names.Count(n => !TestData.Cpsc2021AddedRecords.Contains(n)));
        foreach (string name in names)
        {
            WfdbRecord r = WfdbRecord.Load(Path.Combine(dir, name));
            Assert.Equal(200, r.Header.SamplingFrequency);
            AssertMatchesHeader(r);
        }
    }

    [SkippableFact]
    public void Ludb_records_decode()
    {
        string dir = TestData.Require("ludb");
        IReadOnlyList<string> names = WfdbRecordPath.ListRecords(dir);
        Assert.Equal(200, names.Count);
        Assert.Equal("data/1", names[0]);
        foreach (string name in names.Where((_, i) => i % 4 == 0)) // 50 of 200 records keeps the test fast
        {
            WfdbRecord r = WfdbRecord.Load(WfdbRecordPath.ResolveHeaderPath(dir, name));
            Assert.Equal(500, r.Header.SamplingFrequency);
            Assert.Equal(12, r.Header.SignalCount);
            AssertMatchesHeader(r);
        }

        WfdbHeader one = WfdbHeader.Parse(Path.Combine(dir, "data", "1.hea"));
        Assert.Equal((1716.0, 6, 16), (one.Signals[0].Gain, one.Signals[0].Baseline, one.Signals[0].AdcResolution));
        Assert.Equal("i", one.Signals[0].Description);
    }

    [SkippableFact]
    public void Ptbxl_records_decode()
    {
        string dir = Path.Combine(TestData.Require("ptbxl"), "records500", "00000");
        IReadOnlyList<string> names = WfdbRecordPath.ListRecords(dir);
        Assert.Equal(500, names.Count);
        foreach (string name in names.Where((_, i) => i % 10 == 0)) // 50 of 500 records keeps the test fast
        {
            WfdbRecord r = WfdbRecord.Load(Path.Combine(dir, name));
            Assert.Equal(5000, r.SampleCount);
            AssertMatchesHeader(r);
        }
    }
}
