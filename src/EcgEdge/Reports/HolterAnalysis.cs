using EcgEdge.Core.Signals;
using EcgEdge.Evaluation;
using EcgEdge.Events.Alerts;
using EcgEdge.Inference;

namespace EcgEdge.Reports;

/// <summary>One period of the trend (an hour on long recordings, shorter on short ones: <see cref="HolterAnalysis.TrendBinSeconds"/>).</summary>
/// <param name="StartS">Start, seconds from the record's first sample.</param>
/// <param name="HrMin">Lowest 10-s average heart rate in the period (bpm; null: no readable 10 s).</param>
/// <param name="HrMean">Mean heart rate of the period's readable RR intervals.</param>
/// <param name="HrMax">Highest 10-s average.</param>
/// <param name="AfS">Seconds decided AF/flutter.</param>
/// <param name="NoiseS">Seconds decided unreadable (noise).</param>
public sealed record TrendBin(double StartS, double EndS, double? HrMin, double? HrMean, double? HrMax, long Beats, long N, long S, long V,
    long Other, double AfS, double NoiseS);

/// <summary>Time-domain heart-rate variability over normal-to-normal intervals (Task Force of the ESC/NASPE 1996 definitions).</summary>
/// <param name="NnCount">Normal-to-normal intervals used.</param>
/// <param name="SdnnMs">Standard deviation of the NN intervals.</param>
/// <param name="RmssdMs">Root mean square of successive NN differences.</param>
/// <param name="Pnn50">Share (%) of successive NN differences above 50 ms.</param>
public sealed record HrvSummary(int NnCount, double? MeanNnMs, double? SdnnMs, double? RmssdMs, double? Pnn50);

/// <summary>Runs of consecutive beats of one class (ventricular or supraventricular).</summary>
/// <param name="Couplets">Runs of exactly two beats.</param>
/// <param name="Runs">Runs of three or more.</param>
/// <param name="Longest">Beats in the longest run (0: none).</param>
/// <param name="LongestAtS">Where the longest run starts (seconds).</param>
/// <param name="LongestRateBpm">Its mean rate.</param>
/// <param name="FastestRateBpm">The fastest run of three or more (bpm) and where it starts.</param>
public sealed record BeatRuns(int Couplets, int Runs, int Longest, double? LongestAtS, double? LongestRateBpm, double? FastestRateBpm, double? FastestAtS);

/// <summary>An alarm episode as the device raised it: its onset alert and, when it ended, its offset.</summary>
/// <param name="Type">The alert's type.</param>
/// <param name="OnsetS">Onset, seconds from the record's first sample.</param>
/// <param name="DurationS">Duration (null: still open when monitoring ended — it cannot be, an end of monitoring closes it).</param>
/// <param name="HeartRateBpm">Highest heart rate the episode's messages carried.</param>
public sealed record EpisodeRow(AlertType Type, AlertSeverity Severity, double OnsetS, double? DurationS, double? HeartRateBpm, string Criteria);

/// <summary>An event worth a strip, ranked by clinical weight.</summary>
/// <param name="Title">What the strip shows ("VT, 14 beats at 162 bpm").</param>
/// <param name="AtS">The event's onset, seconds from the record's first sample (the strip starts a little before).</param>
/// <param name="Weight">Higher first: VF &gt; VT &gt; asystole &gt; pause &gt; NSVT &gt; AF &gt; rates.</param>
public sealed record SignificantEvent(string Title, double AtS, int Weight);

/// <summary>
/// What a Holter report says about one record: monitoring time and quality, heart-rate trend and variability, beat
/// counts and ectopy, rhythm burden, the device's alarm episodes and the events worth a strip. Computed from one
/// pipeline run (<see cref="RecordRun"/>) in one pass over its beats, so a 24-hour recording costs little beyond the
/// run itself.
/// </summary>
public sealed record HolterAnalysis(
    string Record, double FirstS, double DurationS, double RecordRateHz, IReadOnlyList<string> Leads,
    long Beats, long N, long S, long V, long F, long Q,
    double? HrMin, double? HrMinAtS, double? HrMean, double? HrMax, double? HrMaxAtS,
    double? LongestRrS, double? LongestRrAtS,
    HrvSummary Hrv, BeatRuns Ventricular, BeatRuns Supraventricular,
    double AfS, int AfEpisodes, double? LongestAfS, double NoiseS, IReadOnlyDictionary<string, double> LeadOffS,
    double TrendBinSeconds, IReadOnlyList<TrendBin> Trend, IReadOnlyList<EpisodeRow> Episodes, IReadOnlyList<SignificantEvent> Events)
{
    /// <summary>Seconds over which the heart rate is averaged for its minimum and maximum (Holter convention: short averages, not single RR).</summary>
    public const double HeartRateAverageSeconds = 10;

    /// <summary>What the record's header says of the patient (its comment lines, as the database wrote them), or null.</summary>
    public string? PatientNotes { get; init; }

    /// <summary>When the recording started, as its header writes it ("date time"), or null.</summary>
    public string? RecordedAt { get; init; }

    /// <summary>Normal-to-normal intervals outside this range (seconds) are artefacts or pauses, not variability.</summary>
    public const double NnMinS = 0.3, NnMaxS = 2.0;

    /// <summary>An NN interval differing from the one before by more than this share is left out of the HRV (missed or extra beat).</summary>
    public const double NnMaxChange = 0.2;

    /// <summary>Runs of three or more ventricular beats at or above this rate are non-sustained VT when the device raised no VT alarm.</summary>
    public const double NsvtMinBpm = 100;

    /// <summary>Events given a strip in a report, most significant first.</summary>
    public const int MaxEvents = 6;

    /// <summary>The trend's period: an hour from 6 hours of signal, 15 min from 1 hour, 5 min from 10 min, else 1 min.</summary>
    public static double BinSecondsFor(double durationS) => durationS >= 6 * 3600 ? 3600 : durationS >= 3600 ? 900 : durationS >= 600 ? 300 : 60;

    /// <summary>Analyses one run (it must have beat classes: a run with the model).</summary>
    public static HolterAnalysis Of(RecordRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var classes = run.Classes ?? throw new ArgumentException("the run has no beat classes (it ran without the model)", nameof(run));
        var fs = run.RecordRateHz;
        var first = run.FirstSample;
        var durationS = run.AnalysedSamples / fs;
        var beats = run.Beats;

        // Noise-decided intervals, merged and sorted: beats inside them are counted but their intervals are not rates.
        var noise = RhythmScoring.Merge(run.Rhythm.Where(r => r.Class == RhythmClass.Noise).Select(r => new Interval(r.From, r.To)));
        // HRV describes sinus-node modulation: intervals inside AF/flutter are irregular for another reason and left out.
        // AF: the device's AF episodes (AfEpisodes), as eval scores them.
        var rhythm = Inference.Rhythm.AfEpisodes.Relabel(run.Rhythm, fs);
        var af = RhythmScoring.Merge(rhythm.Where(r => r.Class == RhythmClass.AfAfl).Select(r => new Interval(r.From, r.To)));
        var afIndex = 0;
        var binS = BinSecondsFor(durationS);
        var binCount = Math.Max(1, (int)Math.Ceiling(durationS / binS - 1e-9));
        var bins = new BinAccumulator[binCount];
        for (var b = 0; b < binCount; b++) bins[b] = new BinAccumulator();
        var avgLen = (long)Math.Round(HeartRateAverageSeconds * fs);
        var avgCount = (int)Math.Max(1, (run.AnalysedSamples + avgLen - 1) / avgLen);
        var avgSum = new double[avgCount];
        var avgN = new int[avgCount];

        int BinOf(long sample) => Math.Clamp((int)((sample - first) / fs / binS), 0, binCount - 1);

        long[] counts = new long[5];
        double? longestRr = null, longestRrAt = null;
        var noiseIndex = 0;
        var nn = new List<double>(beats.Length);
        var nnSuccessive = new List<double>(beats.Length);
        double prevNn = double.NaN;
        for (var i = 0; i < beats.Length; i++)
        {
            var c = classes[i];
            counts[(int)c]++;
            var bin = bins[BinOf(beats[i])];
            bin.Beats++;
            bin.Classes[(int)c]++;
            if (i == 0) continue;
            while (noiseIndex < noise.Count && noise[noiseIndex].To <= beats[i - 1]) noiseIndex++;
            var inNoise = noiseIndex < noise.Count && noise[noiseIndex].From < beats[i];
            if (inNoise) { prevNn = double.NaN; continue; }
            var rr = (beats[i] - beats[i - 1]) / fs;
            if (rr <= 0) continue;
            var k = (int)Math.Clamp((beats[i] - first) / avgLen, 0, avgCount - 1);
            avgSum[k] += rr;
            avgN[k]++;
            bin.RrSum += rr;
            bin.RrCount++;
            if (longestRr is null || rr > longestRr) { longestRr = rr; longestRrAt = beats[i - 1] / fs; }
            while (afIndex < af.Count && af[afIndex].To <= beats[i - 1]) afIndex++;
            var inAf = afIndex < af.Count && af[afIndex].From < beats[i];
            if (!inAf && classes[i] == BeatClass.N && classes[i - 1] == BeatClass.N && rr >= NnMinS && rr <= NnMaxS)
            {
                if (double.IsNaN(prevNn) || Math.Abs(rr - prevNn) <= NnMaxChange * prevNn)
                {
                    if (!double.IsNaN(prevNn)) nnSuccessive.Add(rr - prevNn);
                    nn.Add(rr);
                }
                prevNn = rr;
            }
            else prevNn = double.NaN;
        }

        // 10-s averages (at least 2 intervals) give the minimum and maximum rate, overall and per period.
        double? hrMin = null, hrMax = null, hrMinAt = null, hrMaxAt = null;
        for (var k = 0; k < avgCount; k++)
        {
            if (avgN[k] < 2) continue;
            var rate = 60.0 / (avgSum[k] / avgN[k]);
            var at = (first + k * avgLen) / fs;
            var bin = bins[BinOf(first + k * avgLen)];
            bin.Min = bin.Min is null ? rate : Math.Min(bin.Min.Value, rate);
            bin.Max = bin.Max is null ? rate : Math.Max(bin.Max.Value, rate);
            if (hrMin is null || rate < hrMin) { hrMin = rate; hrMinAt = at; }
            if (hrMax is null || rate > hrMax) { hrMax = rate; hrMaxAt = at; }
        }
        double rrSum = 0;
        long rrCount = 0;
        foreach (var b in bins) { rrSum += b.RrSum; rrCount += b.RrCount; }
        // The mean over the same intervals, clamped into [min, max] only when rounding would put it outside.
        double? hrMean = rrCount > 0 ? 60.0 / (rrSum / rrCount) : null;
        if (hrMean is { } m && hrMin is { } lo && hrMax is { } hi) hrMean = Math.Clamp(m, lo, hi);

        // Rhythm burden per period.
        double afS = 0, noiseS = 0;
        foreach (var (from, to, cls) in rhythm)
        {
            if (cls is not (RhythmClass.AfAfl or RhythmClass.Noise)) continue;
            for (var s = from; s < to;)
            {
                var b = BinOf(s);
                var binEnd = first + (long)Math.Round((b + 1) * binS * fs);
                var end = b == binCount - 1 ? to : Math.Min(to, binEnd);
                var sec = (end - s) / fs;
                if (cls == RhythmClass.AfAfl) { bins[b].AfS += sec; afS += sec; }
                else { bins[b].NoiseS += sec; noiseS += sec; }
                if (end <= s) break;
                s = end;
            }
        }
        var afEpisodes = af;

        var trend = new List<TrendBin>(binCount);
        for (var b = 0; b < binCount; b++)
        {
            var x = bins[b];
            var start = first / fs + b * binS;
            trend.Add(new TrendBin(start, Math.Min(start + binS, first / fs + durationS), x.Min, x.RrCount > 0 ? 60.0 / (x.RrSum / x.RrCount) : null, x.Max,
                x.Beats, x.Classes[0], x.Classes[1], x.Classes[2], x.Classes[3] + x.Classes[4], x.AfS, x.NoiseS));
        }

        var ventricular = Runs(beats, classes, BeatClass.V, fs);
        var supraventricular = Runs(beats, classes, BeatClass.S, fs);
        var episodes = EpisodesOf(run.Alerts, fs);
        var leadOff = LeadOff(run, fs);

        return new HolterAnalysis(run.Name, first / fs, durationS, fs, run.Leads,
            beats.Length, counts[0], counts[1], counts[2], counts[3], counts[4],
            hrMin, hrMinAt, hrMean, hrMax, hrMaxAt, longestRr, longestRrAt,
            ComputeHrv(nn, nnSuccessive), ventricular, supraventricular,
            afS, afEpisodes.Count, afEpisodes.Count > 0 ? afEpisodes.Max(e => (e.To - e.From) / fs) : null, noiseS, leadOff,
            binS, trend, episodes, Significant(episodes, ventricular, afEpisodes, fs, hrMax, hrMaxAt, hrMin, hrMinAt))
        {
            PatientNotes = run.HeaderComments.Count > 0 ? string.Join(" · ", run.HeaderComments.Take(3)) : null,
            RecordedAt = run.HeaderStart,
        };
    }

    private sealed class BinAccumulator
    {
        public long Beats;
        public readonly long[] Classes = new long[5];
        public double RrSum;
        public long RrCount;
        public double? Min, Max;
        public double AfS, NoiseS;
    }

    private static HrvSummary ComputeHrv(List<double> nn, List<double> successive)
    {
        if (nn.Count < 2) return new HrvSummary(nn.Count, null, null, null, null);
        var mean = nn.Average();
        var sd = Math.Sqrt(nn.Sum(x => (x - mean) * (x - mean)) / (nn.Count - 1));
        double? rmssd = successive.Count > 0 ? Math.Sqrt(successive.Average(d => d * d)) * 1000 : null;
        double? pnn50 = successive.Count > 0 ? 100.0 * successive.Count(d => Math.Abs(d) > 0.05) / successive.Count : null;
        return new HrvSummary(nn.Count, mean * 1000, sd * 1000, rmssd, pnn50);
    }

    private static BeatRuns Runs(long[] beats, BeatClass[] classes, BeatClass k, double fs)
    {
        int couplets = 0, runs = 0, longest = 0;
        double? longestAt = null, longestRate = null, fastest = null, fastestAt = null;
        for (var i = 0; i < classes.Length;)
        {
            if (classes[i] != k) { i++; continue; }
            var j = i;
            while (j + 1 < classes.Length && classes[j + 1] == k) j++;
            var n = j - i + 1;
            if (n == 2) couplets++;
            if (n >= 3)
            {
                runs++;
                var rate = 60.0 * (n - 1) / ((beats[j] - beats[i]) / fs);
                if (n > longest) { longest = n; longestAt = beats[i] / fs; longestRate = rate; }
                if (fastest is null || rate > fastest) { fastest = rate; fastestAt = beats[i] / fs; }
            }
            i = j + 1;
        }
        return new BeatRuns(couplets, runs, longest, longestAt, longestRate, fastest, fastestAt);
    }

    private static List<EpisodeRow> EpisodesOf(IReadOnlyList<(Alert Alert, long RaisedAt)> alerts, double fs)
    {
        var rows = new List<EpisodeRow>();
        foreach (var group in alerts.Select(a => a.Alert).GroupBy(a => a.EpisodeId))
        {
            var onset = group.FirstOrDefault(a => a.Phase == AlertPhase.Onset) ?? group.First();
            var offset = group.LastOrDefault(a => a.Phase == AlertPhase.Offset);
            var hr = group.Select(a => a.HeartRateBpm).Where(h => h is { } v && double.IsFinite(v)).DefaultIfEmpty(null).Max();
            double? duration = offset?.DurationS ?? (offset?.Offset is { } o ? (o.SampleIndex - onset.Onset.SampleIndex) / fs : null);
            rows.Add(new EpisodeRow(onset.Type, group.Max(a => a.Severity), onset.Onset.SampleIndex / fs, duration, hr, onset.Criteria));
        }
        return [.. rows.OrderBy(r => r.OnsetS)];
    }

    private static Dictionary<string, double> LeadOff(RecordRun run, double fs)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        var end = run.FirstSample + run.AnalysedSamples;
        for (var c = 0; c < run.Present.Count && c < EcgEdge.Core.Signals.Leads.Count; c++)
        {
            if (!run.Present[c]) continue;
            double off = 0;
            for (var i = 0; i < run.QualityChanges.Count; i++)
            {
                var (at, q) = run.QualityChanges[i];
                if (c >= q.Length || (q[c] & (SignalQuality.LeadOff | SignalQuality.FlatLine)) == 0) continue;
                var until = i + 1 < run.QualityChanges.Count ? run.QualityChanges[i + 1].RecordSample : end;
                off += Math.Max(0, until - at) / fs;
            }
            result[EcgEdge.Core.Signals.Leads.Name(c)] = off;
        }
        return result;
    }

    private static List<SignificantEvent> Significant(List<EpisodeRow> episodes, BeatRuns ventricular, List<Interval> af, double fs,
        double? hrMax, double? hrMaxAt, double? hrMin, double? hrMinAt)
    {
        var found = new List<SignificantEvent>();
        static string Hr(double? bpm) => bpm is { } v ? $", {v:F0} bpm" : "";
        foreach (var e in episodes)
        {
            var (weight, name) = e.Type switch
            {
                AlertType.VentricularFibrillation => (100, "VF"),
                AlertType.VentricularTachycardia => (90, "VT"),
                AlertType.Asystole => (85, "Asystole"),
                AlertType.Pause => (70, "Pause"),
                AlertType.AtrialFibrillation => (50, "AF onset"),
                AlertType.Tachycardia => (40, "Tachycardia"),
                AlertType.Bradycardia => (40, "Bradycardia"),
                _ => (0, ""),
            };
            if (weight == 0) continue;
            var duration = e.DurationS is { } d ? ", " + HolterReport.Duration(d) : "";
            // A pause's rate is the one before it: not what the strip shows.
            var hr = e.Type is AlertType.Pause or AlertType.Asystole ? "" : Hr(e.HeartRateBpm);
            // Within a type, longer episodes first (a fraction of a point per second, so types keep their order).
            found.Add(new SignificantEvent($"{name}{duration}{hr}", e.OnsetS, weight * 1000 + (int)Math.Min(999, e.DurationS ?? 0)));
        }
        if (ventricular.Longest >= 3 && ventricular.LongestAtS is { } at && !episodes.Any(e => e.Type == AlertType.VentricularTachycardia && Math.Abs(e.OnsetS - at) < 30))
            found.Add(new SignificantEvent($"Longest ventricular run, {ventricular.Longest} beats{Hr(ventricular.LongestRateBpm)}", at, 60_000 + ventricular.Longest));
        if (af.Count > 0 && !episodes.Any(e => e.Type == AlertType.AtrialFibrillation))
        {
            var longest = af.MaxBy(e => e.To - e.From);
            found.Add(new SignificantEvent($"Longest AF/flutter stretch, {(longest.To - longest.From) / fs:F0} s", longest.From / fs, 50_000));
        }
        // The rates rank by how far they go (across the records of a folder too): faster first, then slower.
        if (hrMax is { } max && hrMaxAt is { } maxAt) found.Add(new SignificantEvent($"Fastest 10 s, {max:F0} bpm", maxAt, 20_000 + (int)Math.Clamp(max, 0, 400)));
        if (hrMin is { } min && hrMinAt is { } minAt) found.Add(new SignificantEvent($"Slowest 10 s, {min:F0} bpm", minAt, 19_000 + (int)Math.Clamp(300 - min, 0, 300)));

        // Most significant first; a second event within 10 s of a chosen one would show the same strip.
        var chosen = new List<SignificantEvent>();
        foreach (var e in found.OrderByDescending(e => e.Weight).ThenBy(e => e.AtS))
        {
            if (chosen.Count == MaxEvents) break;
            if (chosen.Any(c => Math.Abs(c.AtS - e.AtS) < 10)) continue;
            chosen.Add(e);
        }
        return chosen;
    }
}
