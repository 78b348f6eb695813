using Xunit;
using EcgEdge.Acquisition.Ads1298;
using EcgEdge.Acquisition.Replay;
using EcgEdge.Core.Dsp;
using EcgEdge.Core.Signals;
using static EcgEdge.Tests.Acquisition.Ads1298.Ads1298TestKit;

namespace EcgEdge.Tests.Acquisition.Ads1298;

/// <summary>A replayed MIT-BIH record through emulator + driver against the replay itself; injected faults.</summary>
public class Ads1298StreamingTests
{
    private static readonly double Lsb = Ads1298FrameDecoder.MicrovoltsPerLsb(2.4, 6);

    private static string Record(string name = "101") => Path.Combine(TestData.Require("mitdb"), name);

    private static ReplaySource Replay(string record, double rate) => new(new ReplayOptions { Record = record, RealTime = false }, rate);

    private static Ads1298Driver EmulatedRecord(string record, Ads1298Options o, double pipelineRate, out Ads1298Emulator emu)
    {
        emu = Ads1298Emulator.ForRecord(record, o.DataRateHz, options: new Ads1298EmulatorOptions { LogWire = false });
        return Ads1298Driver.OpenEmulated(emu, o, pipelineRate);
    }

    private static async Task<float[][]> Reference(string record, double rate, int frames)
    {
        await using var replay = Replay(record, rate);
        return await ReadAllAsync(replay, frames);
    }

    /// <summary>Largest |driver − reference| over the present channels at the indices the driver delivered.</summary>
    private static (double MaxError, int Compared, int Missing) Compare(float[][] got, float[][] reference, IReadOnlyList<bool> present, int from = 0, int to = int.MaxValue, Func<int, bool>? skip = null)
    {
        double max = 0;
        int compared = 0, missing = 0;
        for (var c = 0; c < Leads.Count; c++)
        {
            if (!present[c]) continue;
            var n = Math.Min(Math.Min(got[c].Length, reference[c].Length), to);
            for (var i = from; i < n; i++)
            {
                if (skip?.Invoke(i) == true) continue;
                if (float.IsNaN(got[c][i])) { missing++; continue; }
                max = Math.Max(max, Math.Abs(got[c][i] - reference[c][i]));
                compared++;
            }
        }
        return (max, compared, missing);
    }

    [SkippableFact]
    public async Task Mitbih_record_at_500_sps_matches_replay_within_one_lsb_with_no_frame_lost()
    {
        var record = Record();
        const int frames = (650000 * 500 + 359) / 360; // the whole record (ceil, as the replay)
        var reference = await Reference(record, 500, frames + 10);
        using var driver = EmulatedRecord(record, FastOptions(500), 500, out var emu);
        var blocks = new SampleBlock(250);
        var got = new float[8][];
        for (var c = 0; c < 8; c++) { got[c] = new float[frames + 10]; Array.Fill(got[c], float.NaN); }
        long expectedStart = 0, delivered = 0;
        while (await driver.ReadAsync(blocks, CancellationToken.None))
        {
            Assert.Equal(expectedStart, blocks.StartIndex);
            Assert.Equal(0, blocks.GapBefore);
            for (var c = 0; c < 8; c++) blocks.Channel(c).CopyTo(got[c].AsSpan((int)blocks.StartIndex));
            expectedStart += blocks.Count;
            delivered += blocks.Count;
            Assert.Equal(SignalQuality.Absent, blocks.SourceQuality[(int)Lead.I]); // not in the record: not wired
            Assert.Equal(SignalQuality.Good, blocks.SourceQuality[(int)Lead.II]);
        }
        Assert.Equal(frames, delivered);
        var (max, compared, missing) = Compare(got, reference, emu.Waveform!.Info.Present, 0, frames);
        Assert.True(max <= Lsb, $"max error {max} µV > 1 LSB ({Lsb} µV)");
        Assert.Equal(0, missing);
        Assert.Equal(2 * frames, compared); // MLII and V1
        Assert.Equal(new Ads1298Counters(frames, 0, 0, 0, frames, 0, 0, 0, 0), driver.Counters);
        Assert.Equal(emu.Waveform.Info.Present, driver.Info.Present);
        Assert.Equal("MLII", driver.Info.SourceLabels[(int)Lead.II]);
    }

    [SkippableFact]
    public async Task Mitbih_record_at_8ksps_decimated_to_500_matches_the_same_decimation_of_the_source()
    {
        var record = Record();
        const int outFrames = 60 * 500; // the first minute
        const int inFrames = outFrames * 16 + 1000;
        // Reference: the record replayed at 8 kSPS (as the emulator gets it) through the same 16:1 decimator.
        float[][] refOut;
        {
            var src = await Reference(record, 8000, inFrames);
            var dec = new PolyphaseResampler(1, 16, 8);
            refOut = new float[8][];
            for (var c = 0; c < 8; c++) { refOut[c] = new float[inFrames / 16 + 16]; for (var i = 0; i < inFrames; i++) if (float.IsNaN(src[c][i])) src[c][i] = 0; }
            dec.Process(src, 0, inFrames, refOut, 0, refOut[0].Length);
        }
        using var driver = EmulatedRecord(record, FastOptions(8000), 500, out var emu);
        Assert.Equal(500, driver.Info.SampleRateHz);
        var got = await ReadAllAsync(driver, outFrames);
        // Tolerance: 1 LSB. Quantisation is at most 0.5 LSB per input sample; the unity-gain low-pass averages it down.
        var (max, compared, missing) = Compare(got, refOut, emu.Waveform!.Info.Present, 0, outFrames);
        Assert.True(max <= Lsb, $"max error {max} µV > 1 LSB ({Lsb} µV)");
        Assert.Equal(0, missing);
        Assert.Equal(2 * outFrames, compared);
        Assert.Equal(0, driver.FramesDropped);
        Assert.Equal(0, driver.MissedDrdy);
        Assert.Equal(0, driver.GapFrames);
    }

    [SkippableFact]
    public async Task Each_injected_fault_is_counted_exactly_and_marked_as_a_gap_without_splicing_time()
    {
        var record = Record("106");
        const int frames = 20_000;
        var reference = await Reference(record, 500, frames);
        using var driver = EmulatedRecord(record, FastOptions(500), 500, out var emu);
        var got = new float[8][];
        for (var c = 0; c < 8; c++) { got[c] = new float[frames]; Array.Fill(got[c], float.NaN); }
        var block = new SampleBlock(100);
        var gaps = new List<(long Start, int Gap)>();
        var blockNo = 0;
        while (await driver.ReadAsync(block, CancellationToken.None) && block.StartIndex < frames - 100)
        {
            if (block.GapBefore > 0) gaps.Add((block.StartIndex, block.GapBefore));
            for (var c = 0; c < 8; c++) block.Channel(c).CopyTo(got[c].AsSpan((int)block.StartIndex));
            switch (blockNo++)
            {
                case 10: emu.InjectBitSlip(); break;
                case 20: emu.InjectBitSlip(2); break;       // two consecutive bad frames
                case 30: emu.InjectMissedDrdy(); break;
                case 40: emu.InjectMissedDrdy(3); break;    // three DRDYs in a row lost
                case 50: emu.InjectBitSlip(); emu.InjectMissedDrdy(); break;
            }
        }
        Assert.Equal(4, emu.BitSlipsApplied);
        Assert.Equal(5, emu.MissedDrdyApplied);
        Assert.Equal(4, driver.FramesDropped);
        Assert.Equal(5, driver.MissedDrdy);
        Assert.Equal(9, driver.GapFrames);
        Assert.Equal(0, driver.Reinitialisations);
        Assert.Equal(9, gaps.Sum(g => g.Gap));
        Assert.Equal(driver.FramesReceived + driver.GapFrames, driver.FramesExpected);
        // Time is never spliced: every delivered sample sits at the index of the source sample it came from.
        var (max, compared, missing) = Compare(got, reference, emu.Waveform!.Info.Present, 0, frames - 200);
        Assert.True(max <= Lsb, $"max error {max}");
        Assert.Equal(2 * 9, missing);
        Assert.True(compared > 2 * (frames - 300));
    }

    [SkippableFact]
    public async Task Missed_drdy_at_8ksps_is_counted_and_the_decimated_stream_shows_the_gap()
    {
        var record = Record();
        const int outFrames = 6000;
        using var driver = EmulatedRecord(record, FastOptions(8000), 500, out var emu);
        using var clean = EmulatedRecord(record, FastOptions(8000), 500, out _);
        var reference = await ReadAllAsync(clean, outFrames);
        var got = new float[8][];
        for (var c = 0; c < 8; c++) { got[c] = new float[outFrames]; Array.Fill(got[c], float.NaN); }
        var block = new SampleBlock(100);
        var gapStarts = new List<long>();
        var n = 0;
        while (await driver.ReadAsync(block, CancellationToken.None) && block.StartIndex + block.Count < outFrames)
        {
            if (block.GapBefore > 0) gapStarts.Add(block.StartIndex);
            for (var c = 0; c < 8; c++) block.Channel(c).CopyTo(got[c].AsSpan((int)block.StartIndex));
            if (++n == 20) emu.InjectMissedDrdy();
            if (n == 40) emu.InjectBitSlip();
        }
        Assert.Equal(1, driver.MissedDrdy);
        Assert.Equal(1, driver.FramesDropped);
        Assert.Equal(2, driver.GapFrames);
        Assert.Equal(2, gapStarts.Count);
        // Away from the two gaps (the decimator's ±10-output reach), the output equals the fault-free run.
        bool Near(int i) => gapStarts.Any(g => Math.Abs(i - g) < 12);
        var (max, _, missing) = Compare(got, reference, driver.Info.Present.Select((p, c) => c is 1 or 2).ToList(), 0, outFrames - 100, Near);
        Assert.True(max <= Lsb, $"max error {max}");
        Assert.Equal(0, missing);
    }

    [Fact]
    public async Task Spi_errors_lead_to_a_bounded_reinitialisation_and_streaming_resumes()
    {
        var (emu, driver) = Create();
        using var _ = driver;
        var faults = new List<Ads1298FaultEventArgs>();
        driver.Fault += (_, e) => faults.Add(e);
        var block = new SampleBlock(50);
        Assert.True(await driver.ReadAsync(block, CancellationToken.None));
        emu.InjectStuckBus(3); // the next frame read and the next two transfers throw
        var total = 0;
        var gap = 0;
        var read = Task.Run(async () =>
        {
            for (var i = 0; i < 10; i++)
            {
                Assert.True(await driver.ReadAsync(block, CancellationToken.None));
                total += block.Count;
                gap += block.GapBefore;
            }
        });
        await read.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(3, emu.StuckTransfers);
        Assert.Equal(3, driver.BusErrors);
        Assert.Equal(2, driver.ReinitFailures);
        Assert.Equal(1, driver.Reinitialisations);
        Assert.Equal(500, total);
        Assert.True(gap >= 1 && gap == driver.GapFrames, $"gap {gap}, GapFrames {driver.GapFrames}");
        Assert.Contains(faults, f => f.Kind == Ads1298FaultKind.Reinitialised);
        Assert.Equal(2, faults.Count(f => f.Kind == Ads1298FaultKind.ReinitFailed));
    }

    [Fact]
    public async Task A_dead_bus_fails_with_a_typed_exception_instead_of_hanging()
    {
        var (emu, driver) = Create();
        using var _ = driver;
        var block = new SampleBlock(50);
        Assert.True(await driver.ReadAsync(block, CancellationToken.None));
        emu.InjectStuckBus(int.MaxValue, Ads1298StuckBusMode.AllOnes);
        var ex = await Assert.ThrowsAsync<Ads1298DeviceFailedException>(() =>
            Task.Run(async () => { while (true) await driver.ReadAsync(block, CancellationToken.None); }).WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("gave up", ex.Message, StringComparison.Ordinal);
        Assert.Equal(driver.Options.MaxReinitAttempts, driver.ReinitFailures);
        Assert.Equal(driver.Options.MaxConsecutiveBadFrames, driver.FramesDropped);
        await Assert.ThrowsAsync<Ads1298DeviceFailedException>(async () => await driver.ReadAsync(block, CancellationToken.None));
    }

    [SkippableFact]
    public async Task A_stalled_chip_trips_the_drdy_watchdog_is_reinitialised_and_time_stays_aligned()
    {
        var record = Record();
        const int frames = 8000;
        var reference = await Reference(record, 500, frames);
        using var driver = EmulatedRecord(record, FastOptions(500), 500, out var emu);
        var got = new float[8][];
        for (var c = 0; c < 8; c++) { got[c] = new float[frames]; Array.Fill(got[c], float.NaN); }
        var block = new SampleBlock(100);
        var gaps = new List<int>();
        var n = 0;
        var run = Task.Run(async () =>
        {
            while (await driver.ReadAsync(block, CancellationToken.None) && block.StartIndex + block.Count < frames)
            {
                if (block.GapBefore > 0) gaps.Add(block.GapBefore);
                for (var c = 0; c < 8; c++) block.Channel(c).CopyTo(got[c].AsSpan((int)block.StartIndex));
                if (++n == 10) emu.InjectStall();
            }
        });
        await run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, driver.DrdyTimeouts);
        Assert.Equal(1, driver.Reinitialisations);
        Assert.Equal(0, driver.MissedDrdy); // the outage is a re-initialisation gap, not missed DRDYs
        Assert.Single(gaps);
        Assert.Equal(driver.GapFrames, gaps[0]);
        // The watchdog (200 ms = 100 frames) plus one frame period of restart.
        Assert.InRange(gaps[0], 100, 102);
        var (max, _, missing) = Compare(got, reference, emu.Waveform!.Info.Present, 0, frames - 200);
        Assert.True(max <= Lsb, $"max error {max}");
        Assert.Equal(2 * gaps[0], missing);
    }

    [Fact]
    public async Task Lead_off_bits_become_signal_quality_flags()
    {
        var (emu, driver) = Create();
        using var _ = driver;
        var block = new SampleBlock(20);
        await driver.ReadAsync(block, CancellationToken.None);
        Assert.All(block.SourceQuality, q => Assert.Equal(SignalQuality.Good, q));

        emu.SetLeadOff(positive: 0b0000_0100, negative: 0); // CH3P = V1 electrode
        await driver.ReadAsync(block, CancellationToken.None);
        await driver.ReadAsync(block, CancellationToken.None);
        Assert.Equal(SignalQuality.LeadOff, block.SourceQuality[(int)Lead.V1]);
        Assert.Equal(SignalQuality.Good, block.SourceQuality[(int)Lead.I]);
        Assert.Equal(SignalQuality.Good, block.SourceQuality[(int)Lead.V2]);
        Assert.Equal((byte)0x04, driver.LeadOff.Positive);

        emu.SetLeadOff(positive: 0, negative: 0b0000_0011); // RA (CH1N, CH2N): I, II and, through the WCT, V1..V6
        await driver.ReadAsync(block, CancellationToken.None);
        await driver.ReadAsync(block, CancellationToken.None);
        Assert.All(block.SourceQuality, q => Assert.Equal(SignalQuality.LeadOff, q));

        emu.SetLeadOff(0, 0);
        await driver.ReadAsync(block, CancellationToken.None);
        await driver.ReadAsync(block, CancellationToken.None);
        Assert.All(block.SourceQuality, q => Assert.Equal(SignalQuality.Good, q));
    }

    [Fact]
    public async Task Real_time_emulator_paces_frames_and_stops_cleanly()
    {
        var o = FastOptions(500);
        var (emu, driver) = Create(o, new Ads1298EmulatorOptions { RealTime = true });
        var block = new SampleBlock(25);
        var read = 0;
        await Task.Run(async () => { for (var i = 0; i < 4; i++) { await driver.ReadAsync(block, CancellationToken.None); read += block.Count; } })
            .WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(100, read);
        Assert.Equal(0, driver.GapFrames);
        await driver.DisposeAsync();
        Assert.False(emu.Converting);
        Assert.Throws<ObjectDisposedException>(() => emu.WriteByte(0x11));
    }
}
