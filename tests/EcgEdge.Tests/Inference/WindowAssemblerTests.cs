using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Inference;

namespace EcgEdge.Tests.Inference;

public class WindowAssemblerTests
{
    private static bool[] OnlyII => [false, true, false, false, false, false, false, false];

    private static SampleBlock Ramp(long start, int count, int gap = 0)
    {
        var b = new SampleBlock(count) { Count = count, StartIndex = start, GapBefore = gap };
        for (var i = 0; i < count; i++) b.Buffer((int)Lead.II)[i] = start + i; // value = pipeline index (µV)
        return b;
    }

    [Fact]
    public void Windows_of_10_s_every_5_s_at_250_Hz_from_500_Hz_with_delay()
    {
        // 500 Hz → 250 Hz, window 2500, hop 1250, delay 250 (1 s), scale µV → mV.
        var w = new WindowAssembler(500, 250, 2500, 1250, 250, 0.001f, OnlyII);
        var windows = new List<(long Start, float First, float Last)>();
        for (long t = 0; t < 500 * 31; t += 50)
        {
            if (w.Push(Ramp(t, 50)))
                windows.Add((w.Window.StartIndex, w.Window.Samples[2500 * 1], w.Window.Samples[2500 * 1 + 2499]));
        }
        // Ready after 11 s (10 s + 1 s delay), then every 5 s: windows start at 0, 5, 10, 15, 20 s.
        Assert.Equal([0L, 2500, 5000, 7500, 10000], windows.Select(x => x.Start));
        foreach (var x in windows)
        {
            Assert.Equal(x.Start / 1000f, x.First, 4);                 // decimated: every 2nd sample, scaled to mV
            Assert.Equal((x.Start + 4998) / 1000f, x.Last, 4);
        }
        Assert.False(w.Window.IsTail);
        Assert.Equal(2500, w.Window.ValidLength);
        Assert.All(Enumerable.Range(0, 8).Where(c => c != 1), c => Assert.Equal(0f, w.Window.LeadPresent[c]));
        Assert.Equal(1f, w.Window.LeadPresent[1]);
    }

    [Fact]
    public void A_gap_restarts_assembly_so_no_window_spans_it()
    {
        var w = new WindowAssembler(500, 250, 500, 250, 0, 1f, OnlyII);
        var starts = new List<long>();
        long t = 0;
        for (; t < 1500; t += 50) if (w.Push(Ramp(t, 50))) starts.Add(w.Window.StartIndex);
        t += 333; // 333 samples lost
        var first = true;
        for (var end = t + 2000; t < end; t += 50)
        {
            if (w.Push(Ramp(t, 50, first ? 333 : 0))) starts.Add(w.Window.StartIndex);
            first = false;
        }
        Assert.Equal([0L, 500, 1833, 2333, 2833], starts);
    }

    [Fact]
    public void Flush_hands_out_the_window_waiting_for_its_delay_then_a_tail_window_ending_at_the_last_sample()
    {
        // 1 kSPS pipeline → 250 Hz model, window 100 (0.4 s), hop 50, delay 30; 23 blocks of 10 = 230 samples → 57.5 model samples.
        var w = new WindowAssembler(1000, 250, 100, 50, 30, 1f, OnlyII);
        var got = new List<(long Start, bool Tail, int Valid, long RunEnd, float First, float Last)>();
        for (long t = 0; t < 2300; t += 10)
            if (w.Push(Ramp(t, 10))) got.Add((w.Window.StartIndex, w.Window.IsTail, w.Window.ValidLength, w.Window.RunEndIndex, w.Window.Samples[100], w.Window.Samples[199]));
        while (w.FlushNext()) got.Add((w.Window.StartIndex, w.Window.IsTail, w.Window.ValidLength, w.Window.RunEndIndex, w.Window.Samples[100], w.Window.Samples[199]));
        // Model samples 0..574 (pipeline 0, 4, ..., 2296). Regular windows end at 100, 150, ..., 550; those ending at
        // <= 545 (575 - delay 30) came out during the stream, 550 waits for its delay and comes with the flush, then the
        // tail ends at 575.
        var regular = Enumerable.Range(0, 9).Select(k => 200L * k).ToList();
        Assert.Equal(regular.Append(1800L).Append(1900L), got.Select(g => g.Start));
        Assert.Equal(Enumerable.Repeat(false, 9).Append(false).Append(true), got.Select(g => g.Tail));
        var tail = got[^1];
        Assert.Equal(100, tail.Valid);
        Assert.Equal(2300, tail.RunEnd);
        Assert.Equal(1900f, tail.First);
        Assert.Equal(2296f, tail.Last);
        Assert.False(w.FlushNext());
    }

    [Fact]
    public void A_run_shorter_than_a_window_gives_one_zero_padded_tail_window()
    {
        var w = new WindowAssembler(500, 250, 2500, 1250, 250, 1f, OnlyII);
        for (long t = 1000; t < 1000 + 1200; t += 50) Assert.False(w.Push(Ramp(t, 50)));
        Assert.True(w.FlushNext());
        Assert.True(w.Window.IsTail);
        Assert.Equal(1000, w.Window.StartIndex);
        Assert.Equal(600, w.Window.ValidLength);
        Assert.Equal(1000f + 2 * 599, w.Window.Samples[2500 + 599]);
        Assert.Equal(0f, w.Window.Samples[2500 + 600]);
        Assert.False(w.FlushNext());
        // A new run after the flush starts its own grid.
        for (long t = 5000; t < 5000 + 5000 + 500; t += 50)
            if (w.Push(Ramp(t, 50))) Assert.Equal(5000, w.Window.StartIndex);
    }
}
