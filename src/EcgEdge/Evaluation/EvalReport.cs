using System.Text.Json.Serialization;

namespace EcgEdge.Evaluation;

/// <summary>Counts as written to the eval JSON (se/ppv in %, null when undefined).</summary>
public sealed record CountsJson(long Tp, long Fn, long Fp, double? Se, double? Ppv)
{
    public static CountsJson From(DetectionCounts c) => new(c.Tp, c.Fn, c.Fp, Round(c.Se), Round(c.Ppv));
    private static double? Round(double x) => double.IsNaN(x) ? null : Math.Round(x, 3);
}

/// <summary>One record's scores. Stable keys; later versions only add fields.</summary>
public sealed record RecordReport(
    string Record,
    CountsJson Qrs,
    double DurationS,
    IReadOnlyList<string> Leads,
    long BeatsDetected);

public sealed record GrossReport(CountsJson Qrs);

/// <summary>The eval JSON: <c>{"records":[{"record":..,"qrs":{..}}],"gross":{"qrs":{..}}}</c>.</summary>
public sealed record EvalReport(IReadOnlyList<RecordReport> Records, GrossReport Gross);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(EvalReport))]
public sealed partial class EvalJsonContext : JsonSerializerContext;
