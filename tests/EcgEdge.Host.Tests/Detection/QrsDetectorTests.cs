using EcgEdge.Conditioning;
using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Evaluation;
using EcgEdge.Pipeline;

namespace EcgEdge.Tests.Detection;

public class QrsDetectorTests
{
    private const double Fs = 500;

    private sealed class Collect : IPipelineObserver
    {
        public List<DetectedBeat> Beats { get; } = [];
        public void OnBeat(in DetectedBeat beat) => Beats.Add(beat);
    }

    /// <summary>Runs the device pipeline (conditioning, quality, detection) over synthetic channels.</summary>
    private static List<DetectedBeat> Detect(float[]?[] channels)
    {
        var source = new Synthetic.ArraySource(Fs, channels);
        var pipeline = new EcgPipeline(source.Info, new ConditioningOptions(), new QrsDetectorOptions(), 50);
        var sink = new Collect();
        pipeline.RunAsync(source, sink, CancellationToken.None).GetAwaiter().GetResult();
        return sink.Beats;
    }

    private static void AssertFindsAll(IReadOnlyList<double> truth, List<DetectedBeat> beats, double toleranceSeconds)
    {
        var reference = truth.Select(t => (long)Math.Round(t * Fs)).ToArray();
        var test = beats.Select(b => b.SampleIndex).ToArray();
        var m = BeatMatcher.Match(reference, test, (long)Math.Round(toleranceSeconds * Fs));
        var missed = reference.Where((_, i) => m.ReferenceMatch[i] < 0).Select(t => $"{t / Fs:F3}");
        var extra = test.Where((_, j) => m.TestMatch[j] < 0).Select(t => $"{t / Fs:F3}");
        Assert.True(m.ReferenceMatch.All(x => x >= 0) && m.TestMatch.All(x => x >= 0),
            $"missed [{string.Join(", ", missed)}] s, extra [{string.Join(", ", extra)}] s");
    }

    [Fact]
    public void Regular_rhythm_every_beat_found_within_20_ms()
    {
        const double seconds = 60;
        var truth = Synthetic.Regular(72, seconds);
        var ch = new float[]?[Leads.Count];
        ch[(int)Lead.II] = Synthetic.Ecg(Fs, seconds, truth, 1200, noiseUv: 20, mainsUv: 100);
        var beats = Detect(ch);
        AssertFindsAll(truth, beats, 0.020);
        Assert.InRange(beats[^1].HeartRateBpm, 71, 73);
        Assert.InRange(beats[^1].RrSeconds, 0.82, 0.85);
        // Bounded latency: after the 2-s learning period every decision comes within 0.5 s of its R peak
        // (beats inside the learning period are reported when it ends).
        Assert.All(beats.Where(b => b.SampleIndex > 2 * Fs), b => Assert.InRange((b.DetectedAtIndex - b.SampleIndex) / Fs, 0, 0.5));
        Assert.All(beats, b => Assert.InRange(b.DetectedAtIndex / Fs, 0, Math.Max(2.5, b.SampleIndex / Fs + 0.5)));
    }

    [Fact]
    public void Irregular_rhythm_with_amplitude_changes_is_followed()
    {
        const double seconds = 120;
        var rng = new Random(11);
        var truth = new List<double>();
        for (var t = 0.6; t < seconds - 1; t += 0.4 + 0.8 * rng.NextDouble()) truth.Add(t); // 50–150 bpm, AF-like
        var ch = new float[]?[Leads.Count];
        var x = Synthetic.Ecg(Fs, seconds, truth, 1000, noiseUv: 15);
        for (var i = (int)(Fs * 60); i < x.Length; i++) x[i] *= 0.4f; // amplitude drop (posture change)
        ch[(int)Lead.II] = x;
        AssertFindsAll(truth, Detect(ch), 0.030);
    }

    [Fact]
    public void A_clean_lead_carries_detection_when_another_is_pure_noise()
    {
        const double seconds = 60;
        var truth = Synthetic.Regular(80, seconds);
        var ch = new float[]?[Leads.Count];
        ch[(int)Lead.II] = Synthetic.Ecg(Fs, seconds, truth, 1000, noiseUv: 10);
        var rng = new Random(2);
        ch[(int)Lead.V1] = Enumerable.Range(0, (int)(Fs * seconds)).Select(_ => (float)(400 * (rng.NextDouble() - 0.5))).ToArray();
        AssertFindsAll(truth, Detect(ch), 0.030);
    }

    [Fact]
    public void Silence_after_a_rhythm_produces_no_beats()
    {
        const double seconds = 40;
        var truth = Synthetic.Regular(60, 20);
        var ch = new float[]?[Leads.Count];
        ch[(int)Lead.II] = Synthetic.Ecg(Fs, seconds, truth, 1000, noiseUv: 5, seed: 4); // asystole from 20 s
        var beats = Detect(ch);
        Assert.All(beats, b => Assert.True(b.SampleIndex < 20.5 * Fs, $"beat at {b.SampleIndex / Fs:F2} s during asystole"));
        AssertFindsAll(truth, beats, 0.020);
    }
}
