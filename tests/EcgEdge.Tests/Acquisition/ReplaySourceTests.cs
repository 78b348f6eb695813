using EcgEdge.Acquisition.Replay;
using EcgEdge.Core.Signals;
using EcgEdge.Wfdb;

namespace EcgEdge.Tests.Acquisition;

public class ReplaySourceTests
{
    private static string Bundled => Path.Combine(TestData.RepoRoot, "src", "EcgEdge", "Resources", "mitdb", "201");

    private static async Task<(SourceInfo Info, float[][] Data, long Count)> ReadAll(ReplayOptions o, double rate, int maxFrames)
    {
        await using var src = new ReplaySource(o, rate);
        var data = new float[Leads.Count][];
        for (var c = 0; c < Leads.Count; c++) data[c] = new float[maxFrames];
        var block = new SampleBlock(333);
        long n = 0;
        while (n < maxFrames && await src.ReadAsync(block, CancellationToken.None))
        {
            Assert.Equal(n, block.StartIndex);
            Assert.Equal(0, block.GapBefore);
            var take = (int)Math.Min(block.Count, maxFrames - n);
            for (var c = 0; c < Leads.Count; c++) block.Channel(c)[..take].CopyTo(data[c].AsSpan((int)n));
            n += take;
        }
        return (src.Info, data, n);
    }

    [Fact]
    public async Task Mitdb_leads_map_MLII_to_II_and_V1_to_V1_others_absent()
    {
        var (info, data, _) = await ReadAll(new ReplayOptions { Record = Bundled }, 360, 3600);
        Assert.Equal([false, true, true, false, false, false, false, false], info.Present);
        Assert.Equal("MLII", info.SourceLabels[(int)Lead.II]);
        Assert.Equal("V1", info.SourceLabels[(int)Lead.V1]);
        Assert.All(data[(int)Lead.I], v => Assert.Equal(0f, v));
        // At the record's own rate the replay is the header's calibration of the raw samples: (adu - 1024) / 200 mV.
        var rec = WfdbRecord.Load(Bundled);
        for (var i = 0; i < 3600; i++)
            Assert.Equal((rec.Samples[0][i] - 1024) / 200.0 * 1000, data[(int)Lead.II][i], 3);
        // 11-bit converter at 200 adu/mV: saturation at ±1023 adu ≈ 5.1 mV.
        Assert.Equal(1023 / 200.0 * 1000, info.FullScaleMicrovolts[(int)Lead.II], 1);
    }

    [Fact]
    public async Task A_segment_starts_and_ends_where_asked_and_maps_back_to_record_samples()
    {
        var rec = WfdbRecord.Load(Bundled);
        var options = new ReplayOptions { Record = Bundled, FromSeconds = 100, ToSeconds = 110 };
        var (_, data, n) = await ReadAll(options, 360, 100_000);
        Assert.Equal(3600, n); // 10 s at the record's own rate
        for (var i = 0; i < 3600; i++)
            Assert.Equal((rec.Samples[0][36_000 + i] - 1024) / 200.0 * 1000, data[(int)Lead.II][i], 3);
        await using var src = new ReplaySource(options, 500);
        Assert.Equal(36_000, src.FirstRecordSample);
        Assert.Equal(36_000 + 360, src.ToRecordSample(500));
        Assert.Equal(500, src.ToPipelineSample(36_000 + 360));
        Assert.Equal(3600, src.PassRecordSamples);
    }

    [Fact]
    public async Task A_looped_segment_starts_every_pass_at_its_start()
    {
        await using var src = new ReplaySource(new ReplayOptions { Record = Bundled, FromSeconds = 50, ToSeconds = 51, Loop = true }, 360);
        var rec = WfdbRecord.Load(Bundled);
        var block = new SampleBlock(360);
        var firsts = new List<float>();
        for (var pass = 0; pass < 3; pass++)
        {
            Assert.True(await src.ReadAsync(block, CancellationToken.None));
            Assert.Equal(360, block.Count);
            Assert.Equal(pass == 0 ? 0 : 1, block.GapBefore); // a new pass is not continuous with the last
            firsts.Add(block.Channel((int)Lead.II)[0]);
        }
        Assert.All(firsts, v => Assert.Equal((rec.Samples[0][50 * 360] - 1024) / 200.0 * 1000, v, 3));
    }

    [Fact]
    public void A_segment_outside_the_record_or_inverted_is_refused_with_its_reason()
    {
        var late = Assert.Throws<ArgumentException>(() => new ReplaySource(new ReplayOptions { Record = Bundled, FromSeconds = 5000 }, 360));
        Assert.Contains("after the end of record 201", late.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new ReplaySource(new ReplayOptions { Record = Bundled, FromSeconds = 10, ToSeconds = 5 }, 360));
        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        var bad = new ReplayOptions { Record = Bundled, FromSeconds = 10, ToSeconds = 10 };
        Assert.False(System.ComponentModel.DataAnnotations.Validator.TryValidateObject(bad, new(bad), results, validateAllProperties: true));
        Assert.Contains(results, r => r.ErrorMessage!.Contains("Replay:ToSeconds", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Resampled_to_500_Hz_keeps_time_alignment()
    {
        var (_, at360, _) = await ReadAll(new ReplayOptions { Record = Bundled }, 360, 36000);
        var (_, at500, count) = await ReadAll(new ReplayOptions { Record = Bundled }, 500, 50000);
        Assert.Equal(50000, count);
        // Every 18 record samples = 25 pipeline samples exactly (zero-delay resampler): compare the coinciding instants.
        double maxErr = 0, maxAbs = 0;
        for (var k = 10; k < 1990; k++)
        {
            var a = at360[(int)Lead.II][18 * k];
            var b = at500[(int)Lead.II][25 * k];
            maxErr = Math.Max(maxErr, Math.Abs(a - b));
            maxAbs = Math.Max(maxAbs, Math.Abs(a));
        }
        Assert.True(maxErr < 0.02 * maxAbs, $"max difference {maxErr:F1} µV of {maxAbs:F0} µV");
    }

    [Fact]
    public async Task Leads_override_assigns_signals_in_order_and_skips_dashes()
    {
        var (info, _, _) = await ReadAll(new ReplayOptions { Record = Bundled, Leads = "-,V2" }, 500, 1000);
        Assert.Equal([false, false, false, true, false, false, false, false], info.Present);
        await Assert.ThrowsAsync<ArgumentException>(async () => await ReadAll(new ReplayOptions { Record = Bundled, Leads = "II,II" }, 500, 10));
        await Assert.ThrowsAsync<ArgumentException>(async () => await ReadAll(new ReplayOptions { Record = Bundled, Leads = "II,X9" }, 500, 10));
        await Assert.ThrowsAsync<ArgumentException>(async () => await ReadAll(new ReplayOptions { Record = Bundled, Leads = "II,V1,V2" }, 500, 10));
    }

    [Fact]
    public async Task Unlabelled_single_lead_feeds_lead_II()
    {
        using var dir = new Wfdb.TempDirectory();
        var x = Enumerable.Range(0, 3000).Select(i => (int)(500 * Math.Sin(i / 20.0))).ToArray();
        WfdbWriter.WriteRecord(dir.Path, "one", 300, [new WfdbSignalSpec { FileName = "one.dat", Format = 16, Gain = 1000, Description = "ECG" }], [x]);
        var (info, _, n) = await ReadAll(new ReplayOptions { Record = Path.Combine(dir.Path, "one") }, 500, 100000);
        Assert.Equal([false, true, false, false, false, false, false, false], info.Present);
        Assert.Equal(5000, n); // 10 s at 300 Hz → 10 s at 500 Hz
    }

    [Fact]
    public async Task Truncated_signal_file_is_a_typed_error_naming_the_file()
    {
        using var dir = new Wfdb.TempDirectory();
        foreach (var ext in new[] { "hea", "dat" }) File.Copy(Bundled + "." + ext, Path.Combine(dir.Path, "201." + ext));
        using (var f = File.OpenWrite(Path.Combine(dir.Path, "201.dat"))) f.SetLength(100_000);
        var e = await Assert.ThrowsAnyAsync<WfdbFormatException>(async () => await ReadAll(new ReplayOptions { Record = Path.Combine(dir.Path, "201") }, 500, 1_000_000));
        Assert.Contains("201.dat", e.FilePath);
        Assert.NotNull(e.Offset);
    }

    [Fact]
    public async Task Loop_replays_again_with_a_gap_marker()
    {
        using var dir = new Wfdb.TempDirectory();
        var x = Enumerable.Range(0, 500).Select(i => i % 100).ToArray();
        WfdbWriter.WriteRecord(dir.Path, "short", 500, [new WfdbSignalSpec { FileName = "short.dat", Format = 16, Gain = 200, Description = "II" }], [x]);
        await using var src = new ReplaySource(new ReplayOptions { Record = Path.Combine(dir.Path, "short"), Loop = true }, 500);
        var block = new SampleBlock(200);
        var gaps = new List<(long Start, int Gap)>();
        for (var i = 0; i < 8; i++)
        {
            Assert.True(await src.ReadAsync(block, CancellationToken.None));
            if (block.GapBefore > 0) gaps.Add((block.StartIndex, block.GapBefore));
        }
        Assert.Equal([(501L, 1), (1002L, 1)], gaps); // passes of 500 frames: 200+200+100 per pass
    }

    [SkippableFact]
    public async Task A_header_whose_baseline_lies_outside_its_own_adc_range_is_read_around_the_adc_zero()
    {
        // MIT-BIH noise-stress 118e24: "200(1024) 11 0" (baseline 1024, 11-bit ADC around 0), samples around 0. Its first
        // 5 minutes are record 118 unchanged (noise starts at 5 min); 118's header is consistent ("200 11 1024").
        var nst = Path.Combine(TestData.Require("nstdb"), "118e24");
        var clean = Path.Combine(TestData.Require("mitdb"), "118");
        await using var a = new ReplaySource(new ReplayOptions { Record = nst }, 500);
        await using var b = new ReplaySource(new ReplayOptions { Record = clean }, 500);
        // Full scale: (2047 − 1024) / 200 adu/mV for 118 and, around the ADC zero, (1023 − 0) / 200 + 0.005 for 118e24.
        Assert.Equal(5115f, a.Info.FullScaleMicrovolts[(int)Lead.II], 1f);
        Assert.Equal(5115f, b.Info.FullScaleMicrovolts[(int)Lead.II], 1f);
        var x = new SampleBlock(1000);
        var y = new SampleBlock(1000);
        for (var k = 0; k < 10; k++) // 20 s
        {
            Assert.True(await a.ReadAsync(x, CancellationToken.None));
            Assert.True(await b.ReadAsync(y, CancellationToken.None));
            for (var i = 0; i < x.Count; i++) Assert.Equal(y.Channel(Lead.II)[i], x.Channel(Lead.II)[i], 0.01f);
        }
    }
}
