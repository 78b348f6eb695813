using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Events.Alerts;
using EcgEdge.Inference;
using EcgEdge.Inference.Rhythm;

namespace EcgEdge.Tests.Events;

/// <summary>Alarm criteria and hysteresis of <see cref="EventEngine"/> on scripted inputs (500 Hz sample indices).</summary>
public class EventEngineTests
{
    private const double Fs = 500;
    private static readonly bool[] OnlyII = [false, true, false, false, false, false, false, false];
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);

    private sealed class Harness
    {
        public readonly CollectingAlertSink Sink = new();
        public readonly EventEngine Engine;
        private readonly SampleBlock _block = new(50);
        public long Now;
        private long _lastBeat = -1;

        public Harness(EventOptions? o = null)
        {
            Engine = new EventEngine(o ?? new EventOptions(), "dev", Fs, OnlyII, new SampleClock(T0, Fs), "test-model", Sink);
        }

        /// <summary>Runs time forward to <paramref name="seconds"/>, with a beat every 60/bpm s when bpm > 0.</summary>
        public void Until(double seconds, double bpm, Func<int, BeatClass>? cls = null) =>
            Until(seconds, bpm, cls is null ? null : s => (cls(s), default(QrsMeasure)));

        /// <summary>As above, each beat with its class and its QRS against the dominant beat.</summary>
        public void Until(double seconds, double bpm, Func<int, (BeatClass Class, QrsMeasure Qrs)>? cls)
        {
            var end = (long)(seconds * Fs);
            while (Now < end)
            {
                if (bpm > 0 && (_lastBeat < 0 || Now - _lastBeat >= 60 / bpm * Fs))
                {
                    var rr = _lastBeat < 0 ? double.NaN : (Now - _lastBeat) / Fs;
                    var beat = new DetectedBeat(Now, Now + 100, rr, bpm, 1, false);
                    Engine.OnBeat(beat);
                    if (cls is not null)
                    {
                        var (c, q) = cls((int)(Now / Fs));
                        Engine.OnBeatClassified(new ClassifiedBeat(beat, c, 0.9f, q));
                    }
                    _lastBeat = Now;
                }
                _block.Count = 50;
                _block.StartIndex = Now;
                _block.Buffer((int)Lead.II).AsSpan().Fill(100f);
                Engine.OnBlock(_block);
                Now += 50;
            }
        }

        public List<Alert> Of(AlertType t) => Sink.Alerts.Where(a => a.Type == t).ToList();
    }

    [Fact]
    public void A_pause_rises_from_medium_to_high_and_becomes_asystole_then_ends_with_the_next_beat()
    {
        var h = new Harness();
        h.Until(10, 75);
        var lastBeat = (h.Now - 1) / 400 * 400;
        h.Until(22, 0);    // 12 s without a QRS
        h.Until(25, 75);
        var pause = h.Of(AlertType.Pause);
        Assert.Equal([AlertPhase.Onset, AlertPhase.Update, AlertPhase.Offset], pause.Select(a => a.Phase));
        Assert.Equal([AlertSeverity.Medium, AlertSeverity.High, AlertSeverity.High], pause.Select(a => a.Severity));
        Assert.All(pause, a => Assert.Equal(pause[0].EpisodeId, a.EpisodeId));
        Assert.Equal(lastBeat, pause[0].Onset.SampleIndex);
        Assert.InRange(pause[2].DurationS!.Value, 12, 12.5);
        var asystole = h.Of(AlertType.Asystole);
        Assert.Equal([AlertPhase.Onset, AlertPhase.Offset], asystole.Select(a => a.Phase));
        Assert.Equal(AlertSeverity.High, asystole[0].Severity);
        Assert.NotNull(pause[0].Strip);
        Assert.Null(pause[2].Strip); // offsets carry no strip
    }

    [Fact]
    public void A_pause_while_every_electrode_is_off_is_a_lead_off_alert_not_a_pause()
    {
        var h = new Harness();
        h.Until(10, 75);
        var q = new SignalQuality[8];
        Array.Fill(q, SignalQuality.Absent);
        q[(int)Lead.II] = SignalQuality.LeadOff;
        h.Engine.OnQualityChanged(h.Now, q);
        h.Until(30, 0);
        Assert.Empty(h.Of(AlertType.Pause));
        Assert.Empty(h.Of(AlertType.Asystole));
        var off = Assert.Single(h.Of(AlertType.LeadOff));
        Assert.Equal(AlertSeverity.Low, off.Severity);
        Assert.Equal("LeadOff", off.LeadState["II"]);
        q[(int)Lead.II] = SignalQuality.Good;
        h.Engine.OnQualityChanged(h.Now, q);
        h.Until(31, 75);
        Assert.Equal(AlertPhase.Offset, h.Of(AlertType.LeadOff).Last().Phase);
    }

    [Fact]
    public void Bradycardia_needs_10_s_to_start_and_10_s_above_the_threshold_plus_hysteresis_to_end()
    {
        var h = new Harness();
        h.Until(20, 70);
        h.Until(28, 35);
        Assert.Empty(h.Of(AlertType.Bradycardia)); // 8 s: not sustained yet
        h.Until(40, 35);
        var onset = Assert.Single(h.Of(AlertType.Bradycardia));
        Assert.Equal(AlertSeverity.Medium, onset.Severity);
        Assert.InRange(onset.Onset.SampleIndex / Fs, 20, 22); // the first beat at the new rate
        h.Until(70, 43);                            // above 40 but below 45: still bradycardia
        Assert.Single(h.Of(AlertType.Bradycardia));
        h.Until(90, 60);
        var offset = h.Of(AlertType.Bradycardia).Last();
        Assert.Equal(AlertPhase.Offset, offset.Phase);
        Assert.InRange(offset.Offset!.SampleIndex / Fs, 70, 71.5);
    }

    [Fact]
    public void Tachycardia_above_180_bpm_is_high_priority()
    {
        var h = new Harness();
        h.Until(5, 80);
        h.Until(30, 190);
        var t = Assert.Single(h.Of(AlertType.Tachycardia));
        Assert.Equal(AlertSeverity.High, t.Severity);
    }

    [Fact]
    public void A_short_ventricular_run_is_counted_as_non_sustained_vt_in_the_trend_not_alarmed()
    {
        var h = new Harness(new EventOptions { TrendIntervalS = 60 });
        // 120 bpm; seconds 10-11 hold 2 V beats (a couplet), seconds 20-21.5 hold a 4-beat run (NSVT), 40-47 a 16-beat run
        // at 120 bpm (≥ 15 at ≥ 120: the MCOT criterion).
        h.Until(61, 120, s => s is 10 or 20 or 21 || s is >= 40 and < 48 ? BeatClass.V : BeatClass.N);
        var vt = h.Of(AlertType.VentricularTachycardia);
        Assert.Equal([AlertPhase.Onset, AlertPhase.Offset], vt.Select(a => a.Phase));
        Assert.Equal(AlertSeverity.High, vt[0].Severity);
        Assert.InRange(vt[0].Onset.SampleIndex / Fs, 40, 40.1);   // back-dated to the run's first beat
        Assert.Contains("15 ventricular of 15 beats", vt[0].Criteria, StringComparison.Ordinal); // raised at the 15th
        var trend = Assert.Single(h.Sink.Trends);
        Assert.Equal(1, trend.NsvtRuns);                            // the 4-beat run; the couplet is no run
        Assert.Equal(4, trend.LongestNsvtBeats);

        var slow = new Harness();
        slow.Until(60, 60, s => s is >= 20 and < 25 ? BeatClass.V : BeatClass.N); // 5 V beats at 60 bpm: idioventricular, not VT
        Assert.Empty(slow.Of(AlertType.VentricularTachycardia));
    }

    [Fact]
    public void A_slower_run_raises_the_vt_alarm_once_it_is_sustained_for_30_s()
    {
        var h = new Harness();
        h.Until(80, 105, s => s is >= 10 and < 50 ? BeatClass.V : BeatClass.N); // 105 bpm: below the MCOT rate
        var vt = h.Of(AlertType.VentricularTachycardia);
        Assert.Equal([AlertPhase.Onset, AlertPhase.Offset], vt.Select(a => a.Phase));
        Assert.Equal(AlertSeverity.High, vt[0].Severity);
        Assert.Contains("sustained", vt[0].Criteria, StringComparison.Ordinal);
        Assert.InRange(vt[0].Onset.SampleIndex / Fs, 10, 10.6);
    }

    [Fact]
    public void A_ventricular_run_survives_single_other_beats_but_bigeminy_is_not_vt()
    {
        // 150 bpm; from second 10 to 20 every fifth beat is called fusion or normal (as the network does inside slow VT):
        // 80% ventricular, one other beat at a time -> one run, alarmed; it ends at two consecutive normal beats.
        var beat = 0;
        var h = new Harness();
        h.Until(40, 150, s => s is >= 10 and < 20 ? (beat++ % 5 == 4 ? (beat % 2 == 0 ? BeatClass.F : BeatClass.N) : BeatClass.V) : BeatClass.N);
        var vt = h.Of(AlertType.VentricularTachycardia);
        Assert.Equal([AlertPhase.Onset, AlertPhase.Offset], vt.Select(a => a.Phase));
        Assert.InRange(vt[0].Onset.SampleIndex / Fs, 10, 10.1);
        Assert.InRange(vt[1].Offset!.SampleIndex / Fs, 19, 20);

        // ventricular bigeminy at 150 bpm for 40 s: half the beats ventricular, never VT
        beat = 0;
        var bigeminy = new Harness();
        bigeminy.Until(60, 150, s => s is >= 10 and < 50 && beat++ % 2 == 0 ? BeatClass.V : BeatClass.N);
        Assert.Empty(bigeminy.Of(AlertType.VentricularTachycardia));

        // strictly consecutive runs when no gap is tolerated: the same 80% stretch is broken into 4-beat runs
        beat = 0;
        var strict = new Harness(new EventOptions { VtRunMaxGapBeats = 0 });
        strict.Until(40, 150, s => s is >= 10 and < 20 ? (beat++ % 5 == 4 ? BeatClass.F : BeatClass.V) : BeatClass.N);
        Assert.Empty(strict.Of(AlertType.VentricularTachycardia));
    }

    // A normal beat of the patient's dominant cluster (80 ms by the width measure), and complexes outside it.
    private static readonly QrsMeasure Dominant = new() { Valid = true, Correlation = 0.98f, WidthRatio = 1f, WidthS = 0.08f, InDominant = true };
    private static QrsMeasure Other(float widthRatio, bool inDominant = false) =>
        new() { Valid = true, Correlation = 0.5f, WidthRatio = widthRatio, WidthS = 0.08f * widthRatio, InDominant = inDominant };

    [Fact]
    public void A_wide_complex_tachycardia_unlike_the_dominant_beat_is_vt_when_the_model_calls_its_beats_normal()
    {
        // 150 bpm from second 20 to 40, every beat called N by the model (as fold networks do with unseen patients' VT),
        // its QRS outside the dominant cluster and 2.4x as wide: the MCOT criterion on morphology -> one VT episode.
        var h = new Harness(new EventOptions { TrendIntervalS = 60 });
        h.Until(61, 150, s => s is >= 20 and < 40 ? (BeatClass.N, Other(2.4f)) : (BeatClass.N, Dominant));
        var vt = h.Of(AlertType.VentricularTachycardia);
        Assert.Equal([AlertPhase.Onset, AlertPhase.Offset], vt.Select(a => a.Phase));
        Assert.InRange(vt[0].Onset.SampleIndex / Fs, 20, 20.1);
        Assert.InRange(vt[1].Offset!.SampleIndex / Fs, 39.5, 40);
        // The beat classes stay the model's: no VEB counted from morphology.
        Assert.Equal(0, Assert.Single(h.Sink.Trends).Veb);

        // Not ventricular: complexes outside the dominant cluster but only 1.5x as wide (aberrant, noisy), a wide
        // complex that is the patient's own dominant beat (bundle-branch block), a beat not measured yet, and any
        // complex at all when the morphology rule is off.
        foreach (var (qrs, options) in new[]
                 {
                     (Other(1.5f), new EventOptions()),
                     (Other(2.4f, inDominant: true), new EventOptions()),
                     (default(QrsMeasure), new EventOptions()),
                     (Other(2.4f), new EventOptions { VtWideQrsRatio = 0 }),
                 })
        {
            var no = new Harness(options);
            no.Until(60, 150, s => s is >= 20 and < 40 ? (BeatClass.N, qrs) : (BeatClass.N, Dominant));
            Assert.Empty(no.Of(AlertType.VentricularTachycardia));
        }
    }

    [Fact]
    public void Vt_goes_on_when_the_online_clustering_adopts_the_vt_complex_as_the_dominant_beat()
    {
        // 150 bpm VT from second 20 to 140 (300 beats): after second 80 the VT complex has become the dominant cluster
        // (width ratio 1 against itself) while it stays 2.4x as wide as the sinus beat before the run. The episode must
        // last until the QRS narrows, not end when the clustering changes its mind.
        var h = new Harness();
        h.Until(160, 150, s => s switch
        {
            >= 20 and < 80 => (BeatClass.N, Other(2.4f)),
            >= 80 and < 140 => (BeatClass.N, new QrsMeasure { Valid = true, Correlation = 0.95f, WidthRatio = 1f, WidthS = 0.08f * 2.4f, InDominant = true }),
            _ => (BeatClass.N, Dominant),
        });
        var vt = h.Of(AlertType.VentricularTachycardia);
        Assert.Equal([AlertPhase.Onset, AlertPhase.Offset], vt.Select(a => a.Phase));
        Assert.InRange(vt[1].Offset!.SampleIndex / Fs, 139.5, 140);
    }

    [Fact]
    public void A_vt_wide_qrs_ratio_between_0_and_1_2_is_a_configuration_error()
    {
        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        var bad = new EventOptions { VtWideQrsRatio = 1.1 };
        Assert.False(System.ComponentModel.DataAnnotations.Validator.TryValidateObject(bad, new(bad), results, validateAllProperties: true));
        Assert.Contains(results, r => r.ErrorMessage!.Contains("VtWideQrsRatio", StringComparison.Ordinal));
        foreach (var ok in new[] { 0.0, 1.2, 2.0 })
        {
            var o = new EventOptions { VtWideQrsRatio = ok };
            Assert.True(System.ComponentModel.DataAnnotations.Validator.TryValidateObject(o, new(o), [], validateAllProperties: true));
        }
    }

    private static RhythmDecision D(double from, RhythmClass c, float p = 0.9f) =>
        new((long)(from * Fs), (long)((from + 5) * Fs), c, p, (long)((from - 2.5) * Fs));

    [Fact]
    public void Af_starts_after_30_s_of_af_ignores_noise_in_between_ends_after_30_s_of_other_rhythm_and_respects_the_refractory_period()
    {
        var h = new Harness();
        h.Until(1, 90);
        var t = 0.0;
        void Feed(RhythmClass c, int n, float p = 0.9f) { for (var i = 0; i < n; i++, t += 5) h.Engine.OnRhythm(D(t, c, p), [0.1f, 0.9f, 0, 0]); }
        Feed(RhythmClass.SinusOther, 4);
        Feed(RhythmClass.AfAfl, 3);
        Feed(RhythmClass.Noise, 2);               // noise neither breaks nor extends the AF run
        Feed(RhythmClass.AfAfl, 2);
        Assert.Empty(h.Of(AlertType.AtrialFibrillation)); // 25 s of AF so far
        Feed(RhythmClass.AfAfl, 1, 0.4f);         // below the probability threshold: does not count
        Feed(RhythmClass.AfAfl, 1);
        var onset = Assert.Single(h.Of(AlertType.AtrialFibrillation));
        Assert.Equal(20 * Fs, onset.Onset.SampleIndex);
        Feed(RhythmClass.SinusOther, 5);
        Assert.Single(h.Of(AlertType.AtrialFibrillation));
        Feed(RhythmClass.SinusOther, 1);
        var offset = h.Of(AlertType.AtrialFibrillation).Last();
        Assert.Equal(AlertPhase.Offset, offset.Phase);
        Assert.Equal(65 * Fs, offset.Offset!.SampleIndex); // where the non-AF rhythm began
        // Within the 60-s refractory period a new AF episode is not announced again.
        Feed(RhythmClass.AfAfl, 7);
        Assert.Equal(2, h.Of(AlertType.AtrialFibrillation).Count);
    }

    [Fact]
    public void A_ventricular_stretch_of_up_to_60_s_inside_af_neither_ends_nor_restarts_the_af_episode_a_longer_one_counts_as_non_af()
    {
        var h = new Harness();
        h.Until(1, 90);
        var t = 0.0;
        void Feed(RhythmClass c, int n) { for (var i = 0; i < n; i++, t += 5) h.Engine.OnRhythm(D(t, c), [0.1f, 0.9f, 0, 0]); }
        Feed(RhythmClass.AfAfl, 6);
        Assert.Single(h.Of(AlertType.AtrialFibrillation));
        Feed(RhythmClass.VtVf, 12);               // 60 s decided VT/VF (more than the 30-s AF offset): AF stays open
        Feed(RhythmClass.AfAfl, 2);
        var only = Assert.Single(h.Of(AlertType.AtrialFibrillation));
        Assert.Equal(AlertPhase.Onset, only.Phase);
        Feed(RhythmClass.VtVf, 12);               // 60 s: still bridged
        Feed(RhythmClass.VtVf, 6);                // beyond 60 s the stretch is non-AF: 30 s of it close the episode
        var offset = h.Of(AlertType.AtrialFibrillation).Last();
        Assert.Equal(AlertPhase.Offset, offset.Phase);
        Assert.Equal((t - 30) * Fs, offset.Offset!.SampleIndex); // where the non-AF part of the stretch began
    }

    [Fact]
    public void The_ectopy_burden_is_a_periodic_trend_message()
    {
        var h = new Harness(new EventOptions { TrendIntervalS = 60 });
        h.Until(61, 60, s => s % 10 == 0 ? BeatClass.V : s % 10 == 5 ? BeatClass.S : BeatClass.N);
        var trend = Assert.Single(h.Sink.Trends);
        Assert.Equal(60, trend.Beats);
        Assert.Equal(6, trend.Veb);
        Assert.Equal(6, trend.Sveb);
        Assert.Equal(360, trend.VebPerHour, 0);
        Assert.Equal(10, trend.VebPercent, 1);
        Assert.Empty(h.Sink.Alerts);
    }

    [Fact]
    public void Ending_monitoring_closes_every_open_episode_with_an_offset_that_says_so_and_takes_no_more_input()
    {
        var h = new Harness();
        h.Until(15, 35); // bradycardia: 35 bpm (< 40) for more than 10 s
        var onset = Assert.Single(h.Of(AlertType.Bradycardia));
        Assert.Equal(AlertPhase.Onset, onset.Phase);

        Assert.Equal(1, h.Engine.EndMonitoring(h.Engine.Now, interrupted: true, "source failed: the file is truncated"));
        var offset = h.Of(AlertType.Bradycardia).Last();
        Assert.Equal(AlertPhase.Offset, offset.Phase);
        Assert.Equal(onset.EpisodeId, offset.EpisodeId);
        Assert.Equal(Alert.MonitoringInterrupted, offset.EndedBy);
        Assert.Equal(h.Engine.Now, offset.Offset!.SampleIndex);
        Assert.Contains("monitoring interrupted: source failed: the file is truncated", offset.Criteria, StringComparison.Ordinal);
        // Every lead is listed: II was judged by nobody in this harness (pending), the others are not acquired.
        Assert.Equal("absent", offset.LeadState["I"]);
        Assert.Equal("absent", offset.LeadState["V6"]);
        Assert.Equal("pending", offset.LeadState["II"]);

        // Nothing after the end: no new episode, no second end.
        var count = h.Sink.Alerts.Count;
        h.Until(60, 20);
        Assert.Equal(0, h.Engine.EndMonitoring(h.Engine.Now, interrupted: false, "stop"));
        Assert.Equal(count, h.Sink.Alerts.Count);
    }

    [Fact]
    public void A_normal_stop_closes_episodes_as_stopped_and_ending_with_none_open_publishes_nothing()
    {
        var h = new Harness();
        h.Until(15, 190); // tachycardia, high priority (> 180 bpm)
        Assert.Equal(1, h.Engine.EndMonitoring(h.Engine.Now, interrupted: false, "the worker was stopped"));
        Assert.Equal(Alert.MonitoringStopped, h.Of(AlertType.Tachycardia).Last().EndedBy);

        var quiet = new Harness();
        quiet.Until(15, 70);
        Assert.Equal(0, quiet.Engine.EndMonitoring(quiet.Engine.Now, interrupted: false, "the worker was stopped"));
        Assert.Empty(quiet.Sink.Alerts);
    }

    [Fact]
    public void A_gap_of_lost_samples_interrupts_open_episodes_and_is_never_read_as_a_pause()
    {
        var h = new Harness();
        h.Until(15, 35);
        Assert.Single(h.Of(AlertType.Bradycardia));
        // 20 s of samples lost (missed DRDY, a stalled front-end): the next block starts after the gap.
        var block = new SampleBlock(50) { Count = 50, StartIndex = h.Now + (long)(20 * Fs), GapBefore = (int)(20 * Fs) };
        block.Buffer((int)Lead.II).AsSpan().Fill(100f);
        h.Engine.OnBlock(block);
        var offset = h.Of(AlertType.Bradycardia).Last();
        Assert.Equal(AlertPhase.Offset, offset.Phase);
        Assert.Equal(Alert.MonitoringInterrupted, offset.EndedBy);
        Assert.Equal(h.Now, offset.Offset!.SampleIndex); // where the signal stopped, not where it came back
        Assert.Empty(h.Of(AlertType.Pause));
        Assert.Empty(h.Of(AlertType.Asystole));
        Assert.False(h.Engine.Ended); // monitoring resumes after a gap

        // A short gap (below Events:MonitoringGapS) is bridged: nothing is closed.
        var g = new Harness();
        g.Until(15, 35);
        var shortGap = new SampleBlock(50) { Count = 50, StartIndex = g.Now + 100, GapBefore = 100 };
        g.Engine.OnBlock(shortGap);
        Assert.Single(g.Of(AlertType.Bradycardia));
    }
}
