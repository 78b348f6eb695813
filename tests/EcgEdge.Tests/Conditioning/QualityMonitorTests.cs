using EcgEdge.Conditioning;
using EcgEdge.Core.Signals;

namespace EcgEdge.Tests.Conditioning;

public class QualityMonitorTests
{
    private const double Fs = 500;

    private static List<SignalQuality[]> Assess(float[]?[] channels, float fullScale = 5000)
    {
        var info = Synthetic.Info(Fs, channels, fullScale);
        var o = new ConditioningOptions();
        var cond = new SignalConditioner(o, Fs);
        var q = new QualityMonitor(o.Quality, info);
        var verdicts = new List<SignalQuality[]>();
        Synthetic.Stream(channels, 50, b =>
        {
            q.ObserveRaw(b);
            cond.Process(b);
            q.ObserveConditioned(b);
            if (q.SegmentCompleted) verdicts.Add(q.Current.ToArray());
        });
        return verdicts;
    }

    [Fact]
    public void Clean_ecg_is_good_flat_is_flat_noise_is_noisy_and_missing_is_absent()
    {
        const double seconds = 20;
        var beats = Synthetic.Regular(70, seconds);
        var channels = new float[]?[Leads.Count];
        channels[(int)Lead.I] = Synthetic.Ecg(Fs, seconds, beats, 1000, noiseUv: 10);
        channels[(int)Lead.II] = new float[(int)(Fs * seconds)]; // disconnected: nothing at all
        var rng = new Random(5);
        channels[(int)Lead.V1] = Enumerable.Range(0, (int)(Fs * seconds)).Select(_ => (float)(300 * (rng.NextDouble() + rng.NextDouble() + rng.NextDouble() - 1.5))).ToArray();
        var v = Assess(channels);
        Assert.Equal(10, v.Count);
        foreach (var seg in v.Skip(1))
        {
            Assert.Equal(SignalQuality.Good, seg[(int)Lead.I]);
            Assert.Equal(SignalQuality.FlatLine, seg[(int)Lead.II]);
            Assert.Equal(SignalQuality.HighNoise, seg[(int)Lead.V1]);
            Assert.Equal(SignalQuality.Absent, seg[(int)Lead.V6]);
        }
    }

    [Fact]
    public void Samples_at_full_scale_flag_saturation_in_their_segment_only()
    {
        const double seconds = 10;
        var x = Synthetic.Ecg(Fs, seconds, Synthetic.Regular(60, seconds), 1000);
        for (var i = 2600; i < 2700; i++) x[i] = 5000; // 2-s segments of 1000 samples: 2600 lies in the third (index 2)
        var channels = new float[]?[Leads.Count];
        channels[(int)Lead.II] = x;
        var v = Assess(channels);
        Assert.Equal(SignalQuality.Saturated, v[2][(int)Lead.II] & SignalQuality.Saturated);
        Assert.Equal(SignalQuality.Good, v[4][(int)Lead.II] & SignalQuality.Saturated);
    }

    [Fact]
    public void Source_lead_off_is_reported_without_waiting_for_the_segment()
    {
        var info = Synthetic.Info(Fs, [null, new float[10]]);
        var q = new QualityMonitor(new QualityOptions(), info);
        var b = new SampleBlock(10) { Count = 10 };
        for (var c = 0; c < Leads.Count; c++) b.SourceQuality[c] = info.Present[c] ? SignalQuality.Good : SignalQuality.Absent;
        b.SourceQuality[(int)Lead.II] = SignalQuality.LeadOff;
        q.ObserveRaw(b);
        q.ObserveConditioned(b);
        Assert.True(q.Changed);
        Assert.Equal(SignalQuality.LeadOff, q.Current[(int)Lead.II] & SignalQuality.LeadOff);
        Assert.False(q.SegmentCompleted);
    }
}
