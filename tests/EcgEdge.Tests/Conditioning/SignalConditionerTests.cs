using EcgEdge.Conditioning;
using EcgEdge.Core.Signals;

namespace EcgEdge.Tests.Conditioning;

public class SignalConditionerTests
{
    private const double Fs = 500;

    private static float[] Run(ConditioningOptions o, float[] x, bool absentOther = true)
    {
        var cond = new SignalConditioner(o, Fs);
        var output = new float[x.Length];
        var channels = new float[]?[Leads.Count];
        channels[(int)Lead.II] = x;
        Synthetic.Stream(channels, 64, b =>
        {
            cond.Process(b);
            b.Channel(Lead.II).CopyTo(output.AsSpan((int)b.StartIndex));
            if (absentOther) Assert.All(Enumerable.Range(0, Leads.Count).Where(c => c != (int)Lead.II), c => Assert.True(b.Buffer(c).All(v => v == 0)));
        });
        return output;
    }

    private static double Rms(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (var v in x) s += (double)v * v;
        return Math.Sqrt(s / x.Length);
    }

    [Fact]
    public void Mains_is_removed_and_the_ecg_band_passes()
    {
        var n = (int)(Fs * 20);
        foreach (var mains in new[] { 50.0, 60.0 })
        {
            var o = new ConditioningOptions { MainsHz = mains };
            var hum = Enumerable.Range(0, n).Select(i => (float)(500 * Math.Sin(2 * Math.PI * mains * i / Fs))).ToArray();
            var tone = Enumerable.Range(0, n).Select(i => (float)(500 * Math.Sin(2 * Math.PI * 10 * i / Fs))).ToArray();
            var humOut = Run(o, hum);
            var toneOut = Run(o, tone);
            var tail = (int)(Fs * 10);
            Assert.True(Rms(humOut.AsSpan(tail)) < Rms(hum.AsSpan(tail)) * 0.01, $"{mains} Hz hum attenuated by < 40 dB");
            var gainDb = 20 * Math.Log10(Rms(toneOut.AsSpan(tail)) / Rms(tone.AsSpan(tail)));
            Assert.InRange(gainDb, -0.5, 0.5);
        }
    }

    [Fact]
    public void Baseline_offset_and_wander_are_removed_without_start_transient()
    {
        var n = (int)(Fs * 30);
        // 20 mV electrode offset + 0.15 Hz respiration wander.
        var x = Enumerable.Range(0, n).Select(i => (float)(20000 + 800 * Math.Sin(2 * Math.PI * 0.15 * i / Fs))).ToArray();
        var y = Run(new ConditioningOptions(), x);
        Assert.True(y.Max(Math.Abs) < 800 * 0.35, $"max {y.Max(Math.Abs)}"); // 0.15 Hz is 10 dB down at a 0.5 Hz 2nd-order corner
        Assert.True(Math.Abs(y[0]) < 1, "steady-state start: no step from the 20 mV offset");
    }

    [Fact]
    public void Design_lists_highpass_notch_lowpass_sections()
    {
        var s = SignalConditioner.Design(new ConditioningOptions { MainsHz = 60 }, Fs);
        Assert.Equal(1 + 1 + 2, s.Length);
        Assert.Equal(3, SignalConditioner.Design(new ConditioningOptions { MainsHz = 0 }, Fs).Length);
    }
}
