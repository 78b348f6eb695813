using EcgEdge.Inference;
using EcgEdge.Inference.Rhythm;

namespace EcgEdge.Tests.Inference.Rhythm;

/// <summary><see cref="SupraventricularRule"/> on scripted RR sequences (positions in samples at 500 Hz).</summary>
public class SupraventricularRuleTests
{
    private const double Fs = 500;

    /// <summary>A beat's evidence: a normal QRS of the dominant cluster, a P wave like the sinus P unless said, outside AF.</summary>
    private static float[] Features(bool sinusP = true, bool wide = false, float af = 0f)
    {
        var f = new float[BeatFeatures.Count];
        f[BeatFeatures.QrsDominant] = wide ? 0f : 1f;
        f[BeatFeatures.QrsWidthRatio] = wide ? 2.5f : 1f;
        f[BeatFeatures.QrsCorr] = wide ? 0.4f : 0.98f;
        f[BeatFeatures.PPresent] = 1f;
        f[BeatFeatures.PTemplate] = 1f;
        f[BeatFeatures.PCorr] = sinusP ? 0.97f : 0.5f;
        f[BeatFeatures.AfContext] = af;
        return f;
    }

    /// <summary>Runs the rule over beats at the given RR intervals (s); each beat's features and network V from the callbacks.</summary>
    private static List<BeatClass> Run(IReadOnlyList<double> rr, Func<int, float[]>? features = null, Func<int, bool>? networkV = null,
                                       bool veto = false)
    {
        var rule = new SupraventricularRule(Fs) { DominantBeatVeto = veto };
        var t = new List<double> { 0 };
        foreach (var x in rr) t.Add(t[^1] + x * Fs);
        var classes = new List<BeatClass>();
        for (var i = 0; i < t.Count; i++)
        {
            var next = i + 1 < t.Count ? t[i + 1] : double.NaN;
            classes.Add(rule.Decide(t[i], next, networkV?.Invoke(i) == true ? BeatClass.V : BeatClass.N, features?.Invoke(i) ?? Features()));
        }
        return classes;
    }

    /// <summary>Every beat's evidence is <see cref="Features"/>'s, but beat 12's <paramref name="feature"/> is <paramref name="value"/>.</summary>
    private static Func<int, float[]> Beat12(int feature, float value) => i =>
    {
        var f = Features();
        if (i == 12) f[feature] = value;
        return f;
    };

    private static List<int> Indices(List<BeatClass> c, BeatClass k) => [.. c.Select((x, i) => (x, i)).Where(p => p.x == k).Select(p => p.i)];

    [Fact]
    public void A_premature_atrial_beat_with_a_pause_after_it_is_s_and_the_sinus_beats_are_n()
    {
        // sinus at 0.8 s; beat 12 comes 0.5 s after beat 11 and is followed by a 1.0-s pause
        var rr = Enumerable.Repeat(0.8, 11).Concat([0.5, 1.0]).Concat(Enumerable.Repeat(0.8, 8)).ToList();
        var c = Run(rr);
        Assert.Equal([12], Indices(c, BeatClass.S));
        Assert.Empty(Indices(c, BeatClass.V));
    }

    [Fact]
    public void An_atrial_run_is_s_throughout_and_sinus_acceleration_is_not()
    {
        // sinus 0.8 s, then 6 beats at 0.45 s with ectopic P waves, then a pause and sinus again
        var rr = Enumerable.Repeat(0.8, 11).Concat(Enumerable.Repeat(0.45, 6)).Concat([1.0]).Concat(Enumerable.Repeat(0.8, 6)).ToList();
        var c = Run(rr, i => Features(sinusP: i is < 12 or > 17));
        Assert.Equal([12, 13, 14, 15, 16, 17], Indices(c, BeatClass.S));

        // the same run, but its P waves are the patient's sinus P: only the abrupt first beat may be read as premature;
        // the run does not continue through sinus P waves
        var sinus = Run(rr);
        Assert.Equal([12], Indices(sinus, BeatClass.S));

        // a gradual sinus acceleration (2 % shorter each beat) is never premature-and-abrupt
        var gradual = Enumerable.Repeat(0.8, 11).Concat(Enumerable.Range(1, 20).Select(k => 0.8 * Math.Pow(0.98, k))).ToList();
        Assert.Empty(Indices(Run(gradual), BeatClass.S));
    }

    [Fact]
    public void Ventricular_beats_come_from_the_network_and_wide_complexes_or_af_are_never_s()
    {
        var rr = Enumerable.Repeat(0.8, 11).Concat([0.5, 1.0]).Concat(Enumerable.Repeat(0.8, 8)).ToList();
        var v = Run(rr, i => Features(wide: i == 12), networkV: i => i == 12);
        Assert.Equal([12], Indices(v, BeatClass.V));
        Assert.Empty(Indices(v, BeatClass.S));

        // the network misses it, but it is a wide complex unlike the dominant beat: not S (N; the VT criterion reads the QRS)
        Assert.Empty(Indices(Run(rr, i => Features(wide: i == 12)), BeatClass.S));

        // the window's rhythm is AF: no S
        Assert.Empty(Indices(Run(rr, _ => Features(af: 0.8f)), BeatClass.S));
    }

    [Fact]
    public void A_beat_whose_successor_is_not_known_yet_is_not_judged_and_reset_forgets_the_rhythm()
    {
        var rule = new SupraventricularRule(Fs);
        double t = 0;
        for (var i = 0; i < 12; i++, t += 0.8 * Fs) Assert.Equal(BeatClass.N, rule.Decide(t, t + 0.8 * Fs, BeatClass.N, Features()));
        // premature, but its successor unknown: N
        t -= 0.3 * Fs;
        Assert.Equal(BeatClass.N, rule.Decide(t, double.NaN, BeatClass.N, Features()));

        rule.Reset();
        // after a reset the first beats have no normal-to-normal history: even a premature beat is N
        double u = 0;
        var c = new List<BeatClass>();
        foreach (var rr in new[] { 0.8, 0.8, 0.4, 1.2, 0.8 })
        {
            c.Add(rule.Decide(u, u + rr * Fs, BeatClass.N, Features()));
            u += rr * Fs;
        }
        Assert.DoesNotContain(BeatClass.S, c);
    }

    [Fact]
    public void The_networks_f_and_q_are_kept_its_s_is_not_and_the_rule_reads_f_and_q_as_n()
    {
        var rule = new SupraventricularRule(Fs);
        double t = 0;
        var got = new List<BeatClass>();
        // sinus at 0.8 s; the network calls beat 5 F, beat 7 Q and beat 9 S: reported F, Q and N; all count as normal
        // history, so the premature beat 14 (0.5 s, then a pause) is S
        var network = new Dictionary<int, BeatClass> { [5] = BeatClass.F, [7] = BeatClass.Q, [9] = BeatClass.S };
        var rr = Enumerable.Repeat(0.8, 13).Concat([0.5, 1.0, 0.8, 0.8]).ToList();
        for (var i = 0; i <= rr.Count; i++)
        {
            var next = i < rr.Count ? t + rr[i] * Fs : double.NaN;
            got.Add(rule.Decide(t, next, network.GetValueOrDefault(i, BeatClass.N), Features()));
            if (i < rr.Count) t += rr[i] * Fs;
        }
        Assert.Equal(BeatClass.F, got[5]);
        Assert.Equal(BeatClass.Q, got[7]);
        Assert.Equal(BeatClass.N, got[9]);
        Assert.Equal([14], Indices(got, BeatClass.S));
    }

    [Fact]
    public void With_the_veto_on_the_networks_v_on_a_beat_like_the_patients_dominant_beat_is_judged_as_n()
    {
        var rr = Enumerable.Repeat(0.8, 11).Concat([0.5, 1.0]).Concat(Enumerable.Repeat(0.8, 8)).ToList();
        // the network calls the sinus beat 5 V: it joined the dominant cluster with a normal width, so it is N
        var sinusV = Run(rr, networkV: i => i == 5, veto: true);
        Assert.Empty(Indices(sinusV, BeatClass.V));
        Assert.Equal([12], Indices(sinusV, BeatClass.S));
        Assert.Equal([5], Indices(Run(rr, networkV: i => i == 5), BeatClass.V));

        // vetoed, a premature beat 12 (0.65 s after a 0.8-s rhythm) is judged as the network's N: with its pause, S
        var early = Enumerable.Repeat(0.8, 11).Concat([0.65, 1.0]).Concat(Enumerable.Repeat(0.8, 8)).ToList();
        Assert.Equal([12], Indices(Run(early, networkV: i => i == 12, veto: true), BeatClass.S));

        // in the dominant cluster but 1.5x as wide (an aberrant or ventricular beat that joined it): the network's V stays
        var wider = Run(early, Beat12(BeatFeatures.QrsWidthRatio, 1.5f), networkV: i => i == 12, veto: true);
        Assert.Equal([12], Indices(wider, BeatClass.V));

        // at >= 100 bpm no veto: a ventricular run may have joined the dominant cluster (the VT criterion counts its V)
        var run = Enumerable.Repeat(0.8, 11).Concat(Enumerable.Repeat(0.45, 6)).Concat([1.0]).Concat(Enumerable.Repeat(0.8, 6)).ToList();
        Assert.Equal([12, 13, 14, 15, 16, 17], Indices(Run(run, networkV: i => i is >= 12 and <= 17, veto: true), BeatClass.V));

        // after a V (a couplet or a slow ventricular run that joined the dominant cluster): no veto
        var couplet = Run(early, Beat12(BeatFeatures.QrsDominant, 0f), networkV: i => i is 12 or 13, veto: true);
        Assert.Equal([12, 13], Indices(couplet, BeatClass.V));

        // outside the dominant cluster at a normal width: the network's V stays
        var other = Run(early, Beat12(BeatFeatures.QrsDominant, 0f), networkV: i => i == 12, veto: true);
        Assert.Equal([12], Indices(other, BeatClass.V));
    }
}
