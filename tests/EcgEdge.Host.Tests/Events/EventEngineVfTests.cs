using EcgEdge.Core.Signals;
using EcgEdge.Evaluation;
using EcgEdge.Events.Alerts;
using EcgEdge.Inference;
using EcgEdge.Verbs;
using EcgEdge.Wfdb;
using Microsoft.Extensions.Configuration;

namespace EcgEdge.Tests.Events;

/// <summary>
/// The VF alarm of <see cref="EventEngine"/> (shockable-rhythm analysis of the signal): onset latency and offset on a
/// synthetic VF stretch, priority with and without noise, the lead it is judged on, no alarm on noise, no allocation per
/// segment, its options; and on real recordings (MIT-BIH 207's ventricular flutter, the 0-dB noise-stress record).
/// </summary>
public class EventEngineVfTests
{
    private const double Fs = 500;
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);

    private sealed class Sink : IAlertSink
    {
        public EventEngine? Engine;
        public readonly List<(Alert Alert, double RaisedS)> Alerts = [];
        public void Publish(Alert alert) => Alerts.Add((alert, Engine!.Now / Fs));
        public void Publish(EctopyTrend trend) { }
        public List<(Alert Alert, double RaisedS)> Vf => Alerts.Where(a => a.Alert.Type == AlertType.VentricularFibrillation).ToList();
    }

    /// <summary>Feeds 500-Hz signal per lead (II and optionally V1) to an engine in 50-sample blocks.</summary>
    private sealed class Harness
    {
        public readonly Sink Sink = new();
        public readonly EventEngine Engine;
        private readonly SampleBlock _block = new(50);
        private readonly bool[] _present;
        public long Now;

        public Harness(bool withV1 = false, EventOptions? o = null)
        {
            _present = [false, true, withV1, false, false, false, false, false];
            Engine = new EventEngine(o ?? new EventOptions(), "dev", Fs, _present, new SampleClock(T0, Fs), "test-model", Sink);
            Sink.Engine = Engine;
        }

        /// <summary>Runs to the end of <paramref name="ii"/> (and <paramref name="v1"/>), starting at <see cref="Now"/>.</summary>
        public void Feed(float[] ii, float[]? v1 = null, Action<long>? perBlock = null)
        {
            for (var start = 0; start + 50 <= ii.Length; start += 50)
            {
                _block.Count = 50;
                _block.StartIndex = Now;
                Array.Copy(ii, start, _block.Buffer((int)Lead.II), 0, 50);
                if (v1 is not null) Array.Copy(v1, start, _block.Buffer((int)Lead.V1), 0, 50);
                perBlock?.Invoke(Now);
                Engine.OnBlock(_block);
                Now += 50;
            }
        }

        public void Quality(SignalQuality ii, SignalQuality v1 = SignalQuality.Good)
        {
            var q = new SignalQuality[Leads.Count];
            for (var c = 0; c < q.Length; c++) q[c] = _present[c] ? SignalQuality.Good : SignalQuality.Absent;
            q[(int)Lead.II] = ii;
            if (_present[(int)Lead.V1]) q[(int)Lead.V1] = v1;
            Engine.OnQualityChanged(Now, q);
        }

        public void Rhythm(RhythmClass c) =>
            Engine.OnRhythm(new RhythmDecision(Now - (long)(5 * Fs), Now, c, 0.9f, Now - (long)(10 * Fs)), [0.25f, 0.25f, 0.25f, 0.25f]);
    }

    private static float[] Sinus(double seconds, double bpm = 75, int seed = 1, double noiseUv = 10) =>
        Synthetic.Ecg(Fs, seconds, Synthetic.Regular(bpm, seconds, 0.3), 1000, noiseUv: noiseUv, seed: seed);

    private static float[] Vf(double seconds, double hz = 5, int seed = 1, double amplitudeUv = 500) =>
        Synthetic.Vf(hz, seed, amplitudeUv, noiseUv: 20, n: (int)(seconds * Fs), fs: Fs);

    [Fact]
    public void A_vf_stretch_raises_a_high_priority_alarm_within_6_s_and_ends_about_8_s_after_it()
    {
        foreach (var (hz, seed) in new[] { (4.0, 1), (5.0, 2), (6.5, 3) })
        {
            var h = new Harness();
            h.Feed(Sinus(60));
            h.Feed(Vf(30, hz, seed));
            h.Feed(Sinus(60, seed: 2));
            var vf = h.Sink.Vf;
            Assert.Equal([AlertPhase.Onset, AlertPhase.Offset], vf.Select(a => a.Alert.Phase));
            var (onset, raised) = vf[0];
            Assert.InRange(raised - 60, 0, 6);                              // the latency target: median ≤ 6 s
            Assert.InRange(onset.Onset.SampleIndex / Fs, 55, 62);            // back-dated to the first shockable segment
            Assert.Equal(AlertSeverity.High, onset.Severity);
            Assert.NotNull(onset.Strip);
            Assert.Contains("shockable rhythm", onset.Criteria);
            Assert.Contains("VF filter", onset.Criteria);
            Assert.InRange(vf[1].Alert.Offset!.SampleIndex / Fs, 88, 96);   // VF ended at 90 s
            Assert.InRange(vf[1].RaisedS, 96, 104);                         // after 8 s without a shockable segment
        }
    }

    [Fact]
    public void A_1_s_burst_raises_no_alarm_a_2_s_burst_of_clean_coarse_vf_a_short_one()
    {
        // A segment is judged as a whole: one half full of clean, coarse VF can be conclusive on its own (that is what
        // brings the latency under 6 s), so a 2-s burst raises a short episode — as 3 ventricular beats raise a VT alarm.
        var h = new Harness();
        h.Feed(Sinus(30));
        h.Feed(Vf(1, 5, 4));
        h.Feed(Sinus(30, seed: 3));
        Assert.Empty(h.Sink.Vf);
        h.Feed(Vf(2, 5, 4));
        h.Feed(Sinus(30, seed: 3));
        var vf = h.Sink.Vf;
        Assert.Equal([AlertPhase.Onset, AlertPhase.Offset], vf.Select(a => a.Alert.Phase));
        Assert.InRange(vf[1].Alert.DurationS!.Value, 2, 8);
    }

    [Fact]
    public void Noise_lowers_a_vf_alarm_to_low_priority_and_never_raises_it_a_readable_signal_does()
    {
        var h = new Harness();
        h.Feed(Sinus(50));
        h.Rhythm(RhythmClass.Noise);                                        // the model calls the signal noise
        h.Feed(Vf(20));
        var onset = Assert.Single(h.Sink.Vf).Alert;
        Assert.Equal(AlertSeverity.Low, onset.Severity);                    // never silenced by noise alone, but downgraded
        Assert.Contains("downgraded: noisy signal", onset.Criteria);
        h.Rhythm(RhythmClass.VtVf);                                         // readable again (not noise)
        h.Feed(Vf(6, seed: 5));
        var vf = h.Sink.Vf;
        Assert.Equal([AlertPhase.Onset, AlertPhase.Update], vf.Select(a => a.Alert.Phase));
        Assert.Equal(AlertSeverity.High, vf[1].Alert.Severity);
        Assert.Equal(onset.EpisodeId, vf[1].Alert.EpisodeId);
        Assert.Contains("readable signal", vf[1].Alert.Criteria);
    }

    [Fact]
    public void Vf_is_judged_on_another_lead_when_lead_ii_is_off_and_not_at_all_when_every_lead_is()
    {
        var h = new Harness(withV1: true);
        h.Feed(Sinus(20), Sinus(20, seed: 4));
        h.Quality(SignalQuality.LeadOff);                                   // II detached: a flat line
        h.Feed(new float[(int)(20 * Fs)], Vf(20));
        var onset = Assert.Single(h.Sink.Vf).Alert;
        Assert.Contains("segments of V1", onset.Criteria);

        var off = new Harness();
        off.Feed(Sinus(20));
        off.Quality(SignalQuality.LeadOff);
        off.Feed(Vf(30));                                                   // what an unusable electrode shows is not judged
        Assert.Empty(off.Sink.Vf);
    }

    [Fact]
    public void Noise_stress_like_artefact_on_sinus_rhythm_raises_no_vf_alarm()
    {
        // 10 minutes of sinus rhythm (60–110 bpm) with, alternating every 2 minutes as in the MIT-BIH noise stress test,
        // electrode-motion-like artefact at 0 dB SNR: baseline jumps and swings (0.1–3 Hz), motion spikes, and bursts of
        // muscle noise (20–60 Hz).
        var r = new Random(7);
        double G() => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
        var h = new Harness();
        for (var block = 0; block < 5; block++)
        {
            var bpm = 60 + 50 * r.NextDouble();
            var x = Sinus(120, bpm, seed: 10 + block);
            if (block % 2 == 1)
            {
                double lf = 0, lf2 = 0, hf1 = 0;
                var burst = 0;
                for (var i = 0; i < x.Length; i++)
                {
                    lf += 0.02 * (G() * 300 - lf);                          // ~1.6-Hz first-order low-pass noise
                    lf2 += 0.004 * (G() * 800 - lf2);                       // slower swings
                    var step = r.NextDouble() < 0.0004 ? 1500 * G() : 0;    // electrode jumps
                    if (burst <= 0 && r.NextDouble() < 0.0006) burst = (int)(Fs * (0.3 + r.NextDouble()));
                    var w = G();
                    var emg = burst-- > 0 ? 500 * (w - hf1) : 0;            // differenced white noise: muscle-like
                    hf1 = w;
                    x[i] += (float)(4 * lf + 3 * lf2 + step + emg);
                }
            }
            h.Feed(x);
        }
        Assert.Empty(h.Sink.Vf);
    }

    [Fact]
    public void Judging_a_segment_in_the_engine_allocates_nothing_between_messages()
    {
        var h = new Harness();
        h.Feed(Sinus(20));
        h.Feed(Vf(20));                                                     // the VF episode is open: no message until its end
        var vf = Vf(60, seed: 6);
        var sinus = Sinus(60, seed: 7);
        var alerts = h.Sink.Alerts.Count;
        var bytes = Allocations.SmallestPerPass(() => h.Feed(vf, perBlock: null), warmups: 1, attempts: 3);
        Assert.Equal(alerts, h.Sink.Alerts.Count);
        Assert.Equal(0, bytes);
        h.Feed(sinus);                                                      // the offset (a message) …
        var quiet = Allocations.SmallestPerPass(() => h.Feed(Sinus60), warmups: 1, attempts: 3);
        Assert.Equal(0, quiet);                                             // … then sinus rhythm, judged every 2 s
    }

    private static readonly float[] Sinus60 = Sinus(60, seed: 8);

    /// <summary>What the worker's one validator (attributes and cross-field rules) says of <paramref name="o"/>.</summary>
    private static IEnumerable<string> Failures(EventOptions o) => new EcgEdge.Pipeline.EventOptionsValidator().Validate(null, o).Failures ?? [];

    [Fact]
    public void Vf_options_are_validated_and_the_shipped_configuration_holds_the_defaults()
    {
        Assert.Contains(Failures(new EventOptions { VfHopS = 5 }), p => p.Contains("VfHopS"));
        Assert.Contains(Failures(new EventOptions { VfSingleSegmentVotes = 2, VfMinVotes = 3 }), p => p.Contains("VfSingleSegmentVotes"));
        Assert.Empty(Failures(new EventOptions()));
        Assert.Empty(Failures(new EventOptions { VfSingleSegmentVotes = 0 }));

        var path = Path.Combine(TestData.RepoRoot, "src", "EcgEdge", "appsettings.json");
        var bound = AppConfiguration.BindEvents(new ConfigurationBuilder().AddJsonFile(path).Build());
        var d = new EventOptions();
        Assert.Equal(ShockableCriteria.From(d), ShockableCriteria.From(bound));
        Assert.Equal((d.VfSegmentLengthS, d.VfHopS, d.VfSegments, d.VfOffsetS), (bound.VfSegmentLengthS, bound.VfHopS, bound.VfSegments, bound.VfOffsetS));
    }

    [SkippableFact]
    public async Task The_ventricular_flutter_of_mit_bih_207_raises_vf_alarms_on_it_and_nowhere_else()
    {
        var db = TestData.Require("mitdb");
        var (alerts, replay) = await EventEngineRecordTests.RunAsync(Path.Combine(db, "207"));
        await using var _ = replay;
        var reference = AnnotationReader.Read(Path.Combine(db, "207.atr"));
        var len = replay.Header.SampleCount!.Value;
        List<(double From, double To)> Ref(Func<string?, bool> kind) =>
            RhythmScoring.ReferenceIntervals(reference, len, kind).Select(i => (i.From / 360.0, i.To / 360.0)).ToList();
        var vf = Ref(EpisodeScoring.IsVf);
        var ventricular = vf.Concat(Ref(EpisodeScoring.IsVt)).ToList();
        var episodes = alerts.Where(a => a.Type == AlertType.VentricularFibrillation && a.Phase == AlertPhase.Offset)
            .Select(a => (From: a.Onset.SampleIndex / 500.0, To: a.Offset!.SampleIndex / 500.0)).ToList();
        var report = string.Join(", ", episodes.Select(e => $"{e.From:F1}-{e.To:F1}")) + " | reference VF/VFL " + string.Join(", ", vf.Select(r => $"{r.From:F1}-{r.To:F1}"));
        Assert.True(episodes.Count >= 3, report);
        foreach (var e in episodes)
            Assert.True(ventricular.Any(r => e.From < r.To && e.To > r.From), $"VF alarm {e.From:F1}-{e.To:F1} on no ventricular episode: {report}");
        foreach (var r in vf.Where(r => r.To - r.From >= 10))
            Assert.True(episodes.Any(e => e.From < r.To && e.To > r.From && e.From <= r.From + 6), $"{r.From:F1}-{r.To:F1} missed or late: {report}");
    }

    [SkippableFact]
    public async Task The_0_db_noise_stress_record_raises_no_vf_alarm()
    {
        var db = TestData.Require("nstdb");
        var (alerts, replay) = await EventEngineRecordTests.RunAsync(Path.Combine(db, "118e00"));
        await using var _ = replay;
        Assert.DoesNotContain(alerts, a => a.Type == AlertType.VentricularFibrillation);
    }
}
