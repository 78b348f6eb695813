using EcgEdge.Evaluation;
using EcgEdge.Events.Alerts;
using EcgEdge.Inference;
using EcgEdge.Reports;

namespace EcgEdge.Tests.Reports;

public class HolterAnalysisTests
{
    private const double Fs = 250;

    /// <summary>A run of <paramref name="seconds"/> with beats every <paramref name="rrS"/> seconds, all N unless <paramref name="classOf"/> says otherwise.</summary>
    private static RecordRun Run(double seconds, Func<int, double> rrS, Func<int, BeatClass>? classOf = null,
        IReadOnlyList<(long, long, RhythmClass)>? rhythm = null, IReadOnlyList<(Alert, long)>? alerts = null, long first = 0,
        Func<double, double>? rrAt = null)
    {
        var beats = new List<long>();
        for (double t = first / Fs + 0.5; t < first / Fs + seconds; t += rrAt?.Invoke(t) ?? rrS(beats.Count)) beats.Add((long)Math.Round(t * Fs));
        return new RecordRun
        {
            Name = "synthetic", RecordRateHz = Fs, RecordLength = first + (long)(seconds * Fs), DurationS = seconds, Leads = ["II=MLII"],
            Beats = [.. beats], Classes = beats.Select((_, i) => classOf?.Invoke(i) ?? BeatClass.N).ToArray(), HeartRate = new double[beats.Count],
            Rhythm = rhythm ?? [], Windows = [], Alerts = alerts ?? [], FirstSample = first, AnalysedSamples = (long)(seconds * Fs),
            Present = [false, true, false, false, false, false, false, false],
        };
    }

    [Fact]
    public void A_steady_60_bpm_hour_has_60_bpm_everywhere_and_no_variability()
    {
        var a = HolterAnalysis.Of(Run(3600, _ => 1.0));
        Assert.Equal(60, a.HrMin!.Value, 1);
        Assert.Equal(60, a.HrMean!.Value, 1);
        Assert.Equal(60, a.HrMax!.Value, 1);
        Assert.Equal(900, a.TrendBinSeconds); // an hour of signal: 15-min periods
        Assert.Equal(4, a.Trend.Count);
        Assert.All(a.Trend, b => Assert.Equal(900, b.Beats, 1.0));
        Assert.Equal(0, a.Hrv.SdnnMs!.Value, 3);
        Assert.Equal(0, a.Hrv.RmssdMs!.Value, 3);
        Assert.Equal(0, a.Hrv.Pnn50!.Value, 3);
        Assert.Equal(1000, a.Hrv.MeanNnMs!.Value, 1);
    }

    [Fact]
    public void Alternating_rr_gives_the_textbook_rmssd_and_pnn50()
    {
        // NN alternating 0.9 / 1.0 s: successive differences are all 100 ms, so RMSSD = 100 ms and pNN50 = 100 %;
        // SDNN of a two-valued series with equal counts = 50 ms (sample SD, slightly above).
        var a = HolterAnalysis.Of(Run(600, i => i % 2 == 0 ? 0.9 : 1.0));
        Assert.Equal(100, a.Hrv.RmssdMs!.Value, 0);
        Assert.Equal(100, a.Hrv.Pnn50!.Value, 1);
        Assert.InRange(a.Hrv.SdnnMs!.Value, 49.9, 50.2);
    }

    [Fact]
    public void Ectopic_runs_are_counted_and_their_intervals_kept_out_of_the_hrv()
    {
        // Every 20th beat starts a V couplet, every 100th a run of 4 V beats (at 0.5 s: 120 bpm).
        BeatClass Cls(int i) => i % 100 is >= 50 and < 54 ? BeatClass.V : i % 20 is 1 or 2 && i % 100 is < 50 or >= 54 ? BeatClass.V : BeatClass.N;
        double Rr(int i) => Cls(i) == BeatClass.V ? 0.5 : 1.0;
        var run = Run(1200, Rr, Cls);
        var a = HolterAnalysis.Of(run);
        Assert.True(a.Ventricular.Couplets > 0);
        Assert.True(a.Ventricular.Runs > 0);
        Assert.Equal(4, a.Ventricular.Longest);
        Assert.Equal(120, a.Ventricular.LongestRateBpm!.Value, 1);
        // Only N-N intervals within 20 % of the one before are NN: the HRV of this otherwise steady rhythm stays 0.
        Assert.Equal(0, a.Hrv.SdnnMs!.Value, 3);
        Assert.Equal(a.V, run.Classes!.Count(c => c == BeatClass.V));
        Assert.Contains(a.Events, e => e.Title.StartsWith("Longest ventricular run, 4 beats", StringComparison.Ordinal));
    }

    [Fact]
    public void Af_and_noise_become_burden_per_period_and_af_is_left_out_of_the_hrv()
    {
        // 20 min; AF from 300 s to 600 s, noise from 900 s to 960 s.
        var rhythm = new List<(long, long, RhythmClass)>
        {
            (0, (long)(300 * Fs), RhythmClass.SinusOther), ((long)(300 * Fs), (long)(600 * Fs), RhythmClass.AfAfl),
            ((long)(600 * Fs), (long)(900 * Fs), RhythmClass.SinusOther), ((long)(900 * Fs), (long)(960 * Fs), RhythmClass.Noise),
        };
        var irregular = new Random(7);
        var a = HolterAnalysis.Of(Run(1200, _ => 0, rhythm: rhythm, rrAt: t => t is >= 300 and < 600 ? 0.5 + 0.5 * irregular.NextDouble() : 1.0));
        Assert.Equal(300, a.AfS, 1);
        Assert.Equal(60, a.NoiseS, 1);
        Assert.Equal(1, a.AfEpisodes);
        Assert.Equal(300, a.LongestAfS!.Value, 1);
        Assert.Equal(300, a.Trend.Sum(b => b.AfS), 1);
        Assert.Equal(300, a.TrendBinSeconds);
        Assert.Equal(300, a.Trend[1].AfS, 1); // the second 5-min period is all AF
        // Irregular RR only inside the AF: with AF left out, the NN series is regular (one sample of rounding jitter at most).
        Assert.InRange(a.Hrv.SdnnMs!.Value, 0, 3);
        Assert.True(a.Hrv.NnCount > 800);
    }

    [Fact]
    public void Alarm_episodes_are_grouped_by_episode_and_ranked_for_strips()
    {
        Alert A(string episode, AlertType type, AlertPhase phase, long onset, long? offset, double? duration, double hr) => new(
            Alert.SchemaId, Guid.NewGuid().ToString("N"), "d", type, phase, AlertSeverity.High, episode,
            new TimePoint(DateTimeOffset.UnixEpoch, onset), offset is { } o ? new TimePoint(DateTimeOffset.UnixEpoch, o) : null, duration, hr, 1, null,
            new Dictionary<string, string>(), "test", null);
        var alerts = new List<(Alert, long)>
        {
            (A("e1", AlertType.AtrialFibrillation, AlertPhase.Onset, (long)(100 * Fs), null, null, 110), 0),
            (A("e1", AlertType.AtrialFibrillation, AlertPhase.Offset, (long)(100 * Fs), (long)(400 * Fs), 300, 120), 0),
            (A("e2", AlertType.VentricularTachycardia, AlertPhase.Onset, (long)(700 * Fs), null, null, 170), 0),
            (A("e2", AlertType.VentricularTachycardia, AlertPhase.Offset, (long)(700 * Fs), (long)(720 * Fs), 20, 175), 0),
        };
        var a = HolterAnalysis.Of(Run(1200, _ => 1.0, alerts: alerts));
        Assert.Equal(2, a.Episodes.Count);
        var af = a.Episodes[0];
        Assert.Equal((AlertType.AtrialFibrillation, 100.0, 300.0, 120.0), (af.Type, af.OnsetS, af.DurationS!.Value, af.HeartRateBpm!.Value));
        // VT before AF before the rates; an event within 10 s of a chosen one is not shown twice.
        Assert.StartsWith("VT", a.Events[0].Title, StringComparison.Ordinal);
        Assert.Equal(700, a.Events[0].AtS);
        Assert.StartsWith("AF onset", a.Events[1].Title, StringComparison.Ordinal);
        Assert.True(a.Events.Count <= HolterAnalysis.MaxEvents);
    }

    [Fact]
    public void The_headers_patient_notes_and_start_are_carried_to_the_report()
    {
        var run = Run(60, _ => 1.0);
        var a = HolterAnalysis.Of(new RecordRun
        {
            Name = run.Name, RecordRateHz = Fs, RecordLength = run.RecordLength, DurationS = 60, Leads = run.Leads, Beats = run.Beats,
            Classes = run.Classes, HeartRate = run.HeartRate, Rhythm = [], Windows = [], AnalysedSamples = run.AnalysedSamples, Present = run.Present,
            HeaderComments = ["69 M 1085 1629 x1", "Aldomet, Inderal", "third line", "fourth line"], HeaderStart = "25/12/2020 10:30:00",
        });
        Assert.Equal("69 M 1085 1629 x1 · Aldomet, Inderal · third line", a.PatientNotes); // the first three lines
        Assert.Equal("25/12/2020 10:30:00", a.RecordedAt);
        Assert.Null(HolterAnalysis.Of(run).PatientNotes);
    }

    [Fact]
    public void A_segment_reports_record_times_and_a_run_without_the_model_is_refused()
    {
        var a = HolterAnalysis.Of(Run(600, _ => 1.0, first: (long)(1000 * Fs)));
        Assert.Equal(1000, a.FirstS);
        Assert.Equal(1000, a.Trend[0].StartS);
        Assert.InRange(a.HrMinAtS!.Value, 1000, 1600);
        Assert.Throws<ArgumentException>(() => HolterAnalysis.Of(new RecordRun
        {
            Name = "x", RecordRateHz = Fs, RecordLength = 1, DurationS = 1, Leads = [], Beats = [], HeartRate = [], Rhythm = [], Windows = [],
        }));
    }

    [Theory]
    [InlineData(30, 60)]
    [InlineData(1800, 300)]
    [InlineData(3 * 3600, 900)]
    [InlineData(24 * 3600, 3600)]
    public void The_trend_period_follows_the_length(double seconds, double period) => Assert.Equal(period, HolterAnalysis.BinSecondsFor(seconds));
}
