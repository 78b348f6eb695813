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
    public void Windows_of_10_s_every_5_s_at_250_Hz_from_500_Hz_with_beats_and_delay()
    {
        // 500 Hz → 250 Hz, window 2500, hop 1250, delay 250 (1 s), scale µV → mV.
        var w = new WindowAssembler(500, 250, 2500, 1250, 250, 0.001f, OnlyII);
        var windows = new List<(long Start, float First, float Last, long[] Beats, int[] Offsets)>();
        for (long t = 0; t < 500 * 31; t += 50)
        {
            for (var k = t; k < t + 50; k++)
                if (k % 400 == 7) w.OnBeat(new DetectedBeat(k, k + 150, 0.8, 75, 1, false));
            if (w.Push(Ramp(t, 50)))
                windows.Add((w.Window.StartIndex, w.Window.Samples[2500 * 1], w.Window.Samples[2500 * 1 + 2499],
                    w.Window.BeatIndices[..w.Window.BeatCount].ToArray(), w.Window.BeatOffsets[..w.Window.BeatCount].ToArray()));
        }
        // Ready after 11 s (10 s + 1 s delay), then every 5 s: windows start at 0, 5, 10, 15, 20 s.
        Assert.Equal([0L, 2500, 5000, 7500, 10000], windows.Select(x => x.Start));
        foreach (var x in windows)
        {
            Assert.Equal(x.Start / 1000f, x.First, 4);                 // decimated: every 2nd sample, scaled to mV
            Assert.Equal((x.Start + 4998) / 1000f, x.Last, 4);
            var expected = Enumerable.Range(0, 200).Select(i => 400L * i + 7).Where(b => b >= x.Start && b < x.Start + 5000).ToArray();
            Assert.Equal(expected, x.Beats);
            Assert.Equal(expected.Select(b => (int)((b - x.Start) / 2)), x.Offsets);
        }
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
}
