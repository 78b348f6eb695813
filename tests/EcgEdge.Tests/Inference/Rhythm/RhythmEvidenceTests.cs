using EcgEdge.Inference.Rhythm;

namespace EcgEdge.Tests.Inference.Rhythm;

/// <summary>
/// The rhythm evidence on synthetic rhythms whose truth is known by construction: sinus rhythm, AF (irregular RR, no P
/// wave, fibrillatory waves), ventricular bigeminy (premature wide beats without P, compensatory pauses) and atrial
/// flutter (sawtooth waves, regular conduction).
/// </summary>
public class RhythmEvidenceTests
{
    private const double ModelHz = 250, PipelineHz = 500;
    private const int Window = 2500, Hop = 1250;

    /// <summary>One beat of a synthetic rhythm: R time, whether a P wave precedes it, whether its QRS is wide (ventricular).</summary>
    private readonly record struct Beat(double T, bool P, bool Wide);

    /// <summary>Lead II at the model rate, in mV.</summary>
    private static float[] Signal(double seconds, IReadOnlyList<Beat> beats, Func<double, double>? atrial = null, int seed = 3)
    {
        var n = (int)(seconds * ModelHz);
        var x = new float[n];
        foreach (var b in beats)
        {
            if (b.P) Synthetic.AddGaussian(x, ModelHz, b.T - 0.16, 0.025, 0.12);
            if (b.Wide)
            {
                Synthetic.AddGaussian(x, ModelHz, b.T, 0.035, -1.2);
                Synthetic.AddGaussian(x, ModelHz, b.T + 0.30, 0.06, 0.35);
            }
            else
            {
                Synthetic.AddGaussian(x, ModelHz, b.T - 0.025, 0.008, -0.12);
                Synthetic.AddGaussian(x, ModelHz, b.T, 0.010, 1.0);
                Synthetic.AddGaussian(x, ModelHz, b.T + 0.025, 0.008, -0.2);
                Synthetic.AddGaussian(x, ModelHz, b.T + 0.28, 0.05, 0.25);
            }
        }
        var rng = new Random(seed);
        for (var i = 0; i < n; i++) x[i] += (float)((atrial?.Invoke(i / ModelHz) ?? 0) + 0.005 * Gaussian(rng));
        return x;
    }

    private static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>Runs the evidence over the signal as the inference stage does (10-s windows every 5 s) and returns every window's features.</summary>
    private static List<float[]> Run(float[] lead, IReadOnlyList<Beat> beats, RhythmEvidence? evidence = null)
    {
        evidence ??= new RhythmEvidence(PipelineHz, ModelHz);
        var mask = new float[8];
        mask[1] = 1;
        var window = new float[8 * Window];
        var features = new List<float[]>();
        var next = 0;
        for (var start = 0; start + Window <= lead.Length; start += Hop)
        {
            var end = start + Window;
            // beats are reported a little after their R peak (the detector's delay): those up to the window's end
            while (next < beats.Count && beats[next].T * ModelHz < end) evidence.Add(beats[next++].T * PipelineHz);
            Array.Clear(window);
            lead.AsSpan(start, Window).CopyTo(window.AsSpan(1 * Window, Window));
            var startIndex = (long)start * 2;
            evidence.Observe(window, mask, startIndex, 2, Window, Window, double.PositiveInfinity);
            var f = new float[RhythmFeatures.Count];
            evidence.Features(f, startIndex + 2L * Window, [0.9f, 0.05f, 0.03f, 0.02f], 1, 2);
            features.Add(f);
        }
        return features;
    }

    private static List<Beat> Sinus(double seconds, double bpm = 72) =>
        Synthetic.Regular(bpm, seconds).Select(t => new Beat(t, true, false)).ToList();

    private static List<Beat> Af(double seconds, int seed = 5)
    {
        var rng = new Random(seed);
        var list = new List<Beat>();
        for (var t = 0.6; t < seconds - 0.5; t += 0.45 + 0.5 * rng.NextDouble()) list.Add(new Beat(t, false, false));
        return list;
    }

    /// <summary>Fibrillatory waves: ~6 Hz with a wandering frequency and amplitude (about 50–80 µV).</summary>
    private static Func<double, double> FibrillatoryWaves(int seed = 7)
    {
        var rng = new Random(seed);
        var phase = new double[4];
        var freq = new[] { 5.3, 6.1, 6.9, 7.7 };
        for (var k = 0; k < 4; k++) phase[k] = 2 * Math.PI * rng.NextDouble();
        return t => 0.03 * Math.Sin(2 * Math.PI * freq[0] * t + phase[0]) + 0.025 * Math.Sin(2 * Math.PI * freq[1] * t + phase[1])
            + 0.02 * Math.Sin(2 * Math.PI * freq[2] * t + phase[2]) + 0.015 * Math.Sin(2 * Math.PI * freq[3] * t + phase[3]);
    }

    private static List<Beat> Bigeminy(double seconds, double rr = 0.85)
    {
        var list = new List<Beat>();
        var t = 0.6;
        var k = 0;
        while (t < seconds - 1.2)
        {
            list.Add(new Beat(t, true, false));
            if (k++ % 2 == 0)
            {
                list.Add(new Beat(t + 0.55 * rr, false, true)); // premature ventricular beat
                t += 2 * rr;                                    // and its full compensatory pause
            }
            else t += rr;
        }
        return list;
    }

    private static float F(float[] f, string name) => f[RhythmFeatures.IndexOf(name)];

    [Fact]
    public void Sinus_rhythm_is_regular_with_a_consistent_p_wave_before_every_beat()
    {
        var beats = Sinus(60);
        var f = Run(Signal(60, beats), beats).Last();
        Assert.InRange(F(f, "beats"), 34, 38); // 30 s at 72 bpm
        Assert.InRange(F(f, "hr"), 0.70f, 0.74f);
        Assert.Equal(0f, F(f, "irr"));
        Assert.Equal(0f, F(f, "irr_clean"));
        Assert.Equal(0f, F(f, "ectopic"));
        Assert.Equal(1f, F(f, "p_present"));
        Assert.True(F(f, "p_corr") > 0.95f, $"p_corr {F(f, "p_corr")}");
        Assert.True(F(f, "pr_sd") < 0.05f, $"pr_sd {F(f, "pr_sd")}"); // R − P peak varies < 5 ms
        Assert.Equal(0f, F(f, "irr32"));
        Assert.Equal(0.05f, F(f, "net_af")); // the network's posteriors are passed through
        Assert.Equal(0.03f, F(f, "net_noise"));
    }

    [Fact]
    public void Atrial_fibrillation_is_irregular_without_p_waves_and_its_diastole_oscillates()
    {
        var beats = Af(60);
        var af = Run(Signal(60, beats, FibrillatoryWaves()), beats).Last();
        var sinusBeats = Sinus(60);
        var sinus = Run(Signal(60, sinusBeats), sinusBeats).Last();
        Assert.True(F(af, "irr") > 0.6f, $"irr {F(af, "irr")}");
        Assert.True(F(af, "irr_clean") > 0.5f, $"irr_clean {F(af, "irr_clean")}");
        Assert.True(F(af, "nrmssd_clean") > 0.15f, $"nrmssd_clean {F(af, "nrmssd_clean")}");
        // Fibrillatory bumps pass for P waves now and then, but never consistently: not in place, not alike.
        Assert.True(F(af, "p_present") < 0.8f, $"p_present {F(af, "p_present")}");
        Assert.True(F(af, "pr_sd") > 3 * F(sinus, "pr_sd") && F(af, "pr_sd") > 0.2f, $"pr_sd AF {F(af, "pr_sd")} sinus {F(sinus, "pr_sd")}");
        Assert.True(F(af, "p_corr_high") < 0.5f, $"p_corr_high {F(af, "p_corr_high")}");
        Assert.True(F(af, "cosen") > F(sinus, "cosen") + 1, $"cosen AF {F(af, "cosen")} sinus {F(sinus, "cosen")}");
        Assert.True(F(af, "sd_ratio") > 0.6f, $"sd_ratio {F(af, "sd_ratio")}");
        Assert.True(F(af, "dia_extrema") > F(sinus, "dia_extrema"), $"dia_extrema AF {F(af, "dia_extrema")} sinus {F(sinus, "dia_extrema")}");
        Assert.True(F(af, "atrial_rms") > 2 * F(sinus, "atrial_rms"), $"atrial_rms AF {F(af, "atrial_rms")} sinus {F(sinus, "atrial_rms")}");
        // The fibrillatory waves are not locked to the QRS: they survive the cancellation, at their own frequency.
        Assert.InRange(F(af, "atrial_df") * 10, 5.0f, 8.0f);
    }

    [Fact]
    public void Bigeminy_is_irregular_beat_to_beat_but_regular_once_the_ectopic_beats_are_handled()
    {
        var beats = Bigeminy(60);
        var f = Run(Signal(60, beats), beats).Last();
        Assert.True(F(f, "irr") > 0.9f, $"irr {F(f, "irr")}");            // short-long-short-long
        Assert.True(F(f, "ectopic") is > 0.3f and < 0.6f, $"ectopic {F(f, "ectopic")}");
        Assert.True(F(f, "irr_clean") < 0.1f, $"irr_clean {F(f, "irr_clean")}"); // N–N spans over one PVC are regular
        Assert.True(F(f, "nrmssd_clean") < 0.03f, $"nrmssd_clean {F(f, "nrmssd_clean")}");
        Assert.True(F(f, "p_present") > 0.9f, $"p_present {F(f, "p_present")}"); // the sinus beats keep their P waves
    }

    [Fact]
    public void Atrial_flutter_oscillates_through_the_diastole_although_its_rhythm_is_regular()
    {
        // 300/min flutter waves (5 Hz sawtooth, 0.15 mV) with 4:1 conduction: regular 75 bpm, no sinus P waves.
        var beats = Synthetic.Regular(75, 60).Select(t => new Beat(t, false, false)).ToList();
        double Saw(double t) => 0.15 * (2 * (t * 5 - Math.Floor(t * 5 + 0.5)));
        var f = Run(Signal(60, beats, Saw), beats).Last();
        var sinusBeats = Sinus(60, 75);
        var sinus = Run(Signal(60, sinusBeats), sinusBeats).Last();
        Assert.Equal(0f, F(f, "irr"));
        // Every flutter cycle turns twice (10 turns/s at 5 Hz; the turns at the ends of a ~0.37-s diastole go uncounted,
        // so ≥ 6/s); a sinus diastole holds
        // one P bump.
        Assert.True(F(f, "dia_extrema") * 10 >= 6, $"flutter {F(f, "dia_extrema") * 10}/s");
        Assert.True(F(f, "dia_extrema") >= 1.8f * F(sinus, "dia_extrema"), $"flutter {F(f, "dia_extrema")} sinus {F(sinus, "dia_extrema")}");
        // Average-beat subtraction cannot see it: with a fixed conduction ratio the flutter waves are locked to the QRS
        // and cancel with it (the known limit of the method; the diastole carries the evidence instead).
        Assert.True(F(f, "atrial_rms") < 3 * F(sinus, "atrial_rms") + 0.01f, $"flutter {F(f, "atrial_rms")} sinus {F(sinus, "atrial_rms")}");
    }

    [Fact]
    public void A_beat_is_measured_once_and_a_p_wave_is_found_where_it_was_put()
    {
        var beats = Sinus(40);
        var evidence = new RhythmEvidence(PipelineHz, ModelHz);
        var measured = new List<(double Position, AtrialMeasure M)>();
        evidence.Measured = (pos, m) => measured.Add((pos, m));
        Run(Signal(40, beats), beats, evidence);
        Assert.Equal(measured.Count, measured.Select(m => m.Position).Distinct().Count());
        Assert.True(measured.Count >= beats.Count - 3, $"{measured.Count} of {beats.Count} beats measured");
        var withP = measured.Where(m => m.M.PPresent).ToList();
        Assert.True(withP.Count >= measured.Count - 2);
        Assert.All(withP, m => Assert.InRange(m.M.PeakToRS, 0.152f, 0.168f)); // the P peak was put 160 ms before R
        Assert.All(withP, m => Assert.InRange(m.M.AmplitudeMv, 0.09f, 0.13f));
    }

    [Fact]
    public void Observing_windows_and_computing_features_allocates_nothing()
    {
        var beats = Af(600);
        var lead = Signal(600, beats, FibrillatoryWaves());
        var evidence = new RhythmEvidence(PipelineHz, ModelHz);
        var mask = new float[8];
        mask[1] = 1;
        var window = new float[8 * Window];
        var f = new float[RhythmFeatures.Count];
        float[] probs = [0.5f, 0.4f, 0.05f, 0.05f];
        var next = 0;
        var start = 0;
        void Step()
        {
            var end = start + Window;
            while (next < beats.Count && beats[next].T * ModelHz < end) evidence.Add(beats[next++].T * PipelineHz);
            lead.AsSpan(start, Window).CopyTo(window.AsSpan(Window, Window));
            evidence.Observe(window, mask, start * 2L, 2, Window, Window, double.PositiveInfinity);
            evidence.Features(f, start * 2L + 2L * Window, probs, 1, 2);
            start += Hop;
        }
        Assert.Equal(0, Allocations.SmallestPerPass(() => { for (var k = 0; k < 8; k++) Step(); }));
    }

    [Fact]
    public void In_bigeminy_the_ventricular_beats_are_premature_wide_and_unlike_the_dominant_beat_and_the_sinus_beats_are_not()
    {
        var beats = Bigeminy(120);
        var evidence = new RhythmEvidence(PipelineHz, ModelHz);
        Run(Signal(120, beats), beats, evidence);
        var f = new float[BeatFeatures.Count];
        var v = new List<float[]>();
        var n = new List<float[]>();
        foreach (var b in beats.Where(b => b.T > 20 && b.T < 110))
        {
            Assert.True(evidence.BeatFeaturesOf(b.T * PipelineHz, f));
            (b.Wide ? v : n).Add((float[])f.Clone());
        }
        float Med(List<float[]> x, int k) => x.Select(r => r[k]).Order().ElementAt(x.Count / 2);
        // The sinus beats are the patient's dominant beat (there are as many PVCs, but the sinus beats came first and
        // the PVCs' clusters never hold more), regular against the local rhythm, with their P waves.
        Assert.True(n.All(r => r[BeatFeatures.QrsDominant] == 1f));
        Assert.True(Med(n, BeatFeatures.QrsCorr) > 0.98f);
        Assert.True(Med(n, BeatFeatures.PPresent) == 1f);
        Assert.True(Med(n, BeatFeatures.PCorr) > 0.9f);
        // The PVCs: premature (0.55 of the local RR), a full compensatory pause after, wide, unlike the dominant beat, no P.
        Assert.True(v.All(r => r[BeatFeatures.QrsDominant] == 0f));
        Assert.InRange(Med(v, BeatFeatures.RrPre), 0.5f, 0.6f);
        Assert.InRange(Med(v, BeatFeatures.RrRatio), 2.4f, 2.8f);
        Assert.True(Med(v, BeatFeatures.QrsCorr) < 0.7f, $"qrs_corr {Med(v, BeatFeatures.QrsCorr)}");
        Assert.True(Med(v, BeatFeatures.QrsWidthRatio) > 2f, $"width ratio {Med(v, BeatFeatures.QrsWidthRatio)}");
        Assert.Equal(0f, Med(v, BeatFeatures.PPresent));
    }
}
