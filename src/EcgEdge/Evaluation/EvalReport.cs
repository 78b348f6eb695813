using System.Text.Json.Serialization;

namespace EcgEdge.Evaluation;

/// <summary>Counts as written to the eval JSON (se/ppv in %, null when undefined).</summary>
public sealed record CountsJson(long Tp, long Fn, long Fp, double? Se, double? Ppv)
{
    public static CountsJson From(DetectionCounts c) => new(c.Tp, c.Fn, c.Fp, Round(c.Se), Round(c.Ppv));
    internal static double? Round(double x) => double.IsNaN(x) ? null : Math.Round(x, 3);
}

/// <summary>AF scoring: EC57 episode and duration statistics, plus per-window counts (the model card's measure).</summary>
public sealed record AfJson(
    long ReferenceEpisodes, long DetectedEpisodes, long ReferenceEpisodesDetected, long DetectedEpisodesTrue,
    double? EpisodeSe, double? EpisodePpv,
    double ReferenceS, double DetectedS, double OverlapS, double? DurationSe, double? DurationPpv,
    CountsJson Windows)
{
    public static AfJson From(EpisodeCounts e, DetectionCounts windows, double fs) => new(
        e.ReferenceEpisodes, e.DetectedEpisodes, e.ReferenceDetected, e.DetectedTrue,
        CountsJson.Round(e.EpisodeSe), CountsJson.Round(e.EpisodePpv),
        Math.Round(e.ReferenceSamples / fs, 2), Math.Round(e.DetectedSamples / fs, 2), Math.Round(e.OverlapSamples / fs, 2),
        CountsJson.Round(e.DurationSe), CountsJson.Round(e.DurationPpv), CountsJson.From(windows));
}

/// <summary>One rhythm kind's episodes against the alarms (<see cref="EpisodeScoring"/>).</summary>
public sealed record EpisodeJson(
    [property: JsonPropertyName("reference_episodes")] int ReferenceEpisodes,
    [property: JsonPropertyName("detected")] int Detected,
    [property: JsonPropertyName("se")] double? Se,
    [property: JsonPropertyName("reference_episodes_min10s")] int ReferenceEpisodesMin10s,
    [property: JsonPropertyName("se_min10s")] double? SeMin10s,
    [property: JsonPropertyName("alarm_episodes")] int AlarmEpisodes,
    [property: JsonPropertyName("ppv")] double? Ppv,
    [property: JsonPropertyName("reference_s")] double ReferenceS,
    [property: JsonPropertyName("dur_se")] double? DurSe,
    [property: JsonPropertyName("alarm_s")] double AlarmS,
    [property: JsonPropertyName("dur_ppv")] double? DurPpv)
{
    public static EpisodeJson From(EpisodeTally t) => new(t.ReferenceEpisodes, t.Detected, CountsJson.Round(t.Se), t.ReferenceEpisodesMin10s,
        CountsJson.Round(t.SeMin10s), t.AlarmEpisodes, CountsJson.Round(t.Ppv),
        t.SampleRateHz > 0 ? Math.Round(t.ReferenceSamples / t.SampleRateHz, 2) : 0, CountsJson.Round(t.DurSe),
        t.SampleRateHz > 0 ? Math.Round(t.AlarmSamples / t.SampleRateHz, 2) : 0, CountsJson.Round(t.DurPpv));
}

/// <summary>One alarm type's onsets against the reference (<see cref="EpisodeScoring"/>).</summary>
public sealed record AlarmJson(
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("false")] int False,
    [property: JsonPropertyName("hours_outside_reference")] double HoursOutsideReference,
    [property: JsonPropertyName("false_per_hour")] double? FalsePerHour,
    [property: JsonPropertyName("latency_median_s")] double? LatencyMedianS,
    [property: JsonPropertyName("latency_max_s")] double? LatencyMaxS)
{
    public static AlarmJson From(AlarmTally t)
    {
        var l = t.LatenciesS.Order().ToList();
        return new(t.Count, t.False, Math.Round(t.HoursOutsideReference, 3), CountsJson.Round(t.FalsePerHour),
            l.Count == 0 ? null : Math.Round(l[l.Count / 2], 2), l.Count == 0 ? null : Math.Round(l[^1], 2));
    }
}

/// <summary>Beat-class confusion: rows reference N,S,V,F,Q; columns the model's class.</summary>
public sealed record BeatConfusionJson(IReadOnlyList<string> Classes, long[][] Matched, long[] Missed, long[] Extra)
{
    public static BeatConfusionJson From(BeatConfusion c) => new(["N", "S", "V", "F", "Q"], c.MatchedRows(), c.Missed, c.Extra);
}

/// <summary>Per-window rhythm confusion: rows the reference label of the window, columns the model's raw (unsmoothed) class.</summary>
public sealed record WindowRhythmJson(IReadOnlyList<string> Classes, long[][] Confusion);

/// <summary>One record's scores. Stable keys; later versions only add fields. Model fields are null without a model.</summary>
public sealed record RecordReport(
    string Record,
    CountsJson? Qrs,
    double DurationS,
    IReadOnlyList<string> Leads,
    long BeatsDetected,
    CountsJson? Veb = null,
    CountsJson? Sveb = null,
    AfJson? Af = null,
    BeatConfusionJson? BeatClasses = null,
    WindowRhythmJson? WindowRhythm = null,
    long? BeatsClassified = null,
    IReadOnlyList<string>? InTraining = null,
    IReadOnlyDictionary<string, EpisodeJson>? Episodes = null,
    IReadOnlyDictionary<string, AlarmJson>? Alarms = null);

public sealed record GrossReport(
    CountsJson Qrs,
    CountsJson? Veb = null,
    CountsJson? Sveb = null,
    AfJson? Af = null,
    BeatConfusionJson? BeatClasses = null,
    WindowRhythmJson? WindowRhythm = null,
    IReadOnlyDictionary<string, EpisodeJson>? Episodes = null,
    IReadOnlyDictionary<string, AlarmJson>? Alarms = null);

/// <summary>The model that was evaluated.</summary>
public sealed record ModelJson(string Name, string Version, string File, string Sha256, string Provider, long Windows,
    double? LatencyMsMean, double? LatencyMsP50, double? LatencyMsP99, double? LatencyMsMax,
    string? Label = null, string? ManifestSha256 = null, string? SignedBy = null);

/// <summary>The eval JSON: <c>{"records":[{"record":..,"qrs":{..},"veb":..}],"gross":{"qrs":{..},..},"model":{..}}</c>.</summary>
public sealed record EvalReport(IReadOnlyList<RecordReport> Records, GrossReport Gross, ModelJson? Model = null);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(EvalReport))]
public sealed partial class EvalJsonContext : JsonSerializerContext;
