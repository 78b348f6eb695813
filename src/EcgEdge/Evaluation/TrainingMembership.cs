using EcgEdge.Inference.Model;
using EcgEdge.Wfdb;

namespace EcgEdge.Evaluation;

/// <summary>
/// Which parts of the evaluated model were fitted on a record (the manifest's <c>training_records</c>, matched by
/// <see cref="WfdbHeader.Signature"/>): figures on such records are not evidence of how the model does on patients it has
/// never seen, and `eval` and `analyze` print so beside them.
/// </summary>
public sealed class TrainingMembership
{
    private readonly Dictionary<string, HashSet<string>>? _parts;

    public TrainingMembership(ModelManifest? manifest)
    {
        if (manifest?.TrainingRecords is { } tr)
            _parts = tr.ToDictionary(kv => kv.Key, kv => new HashSet<string>(kv.Value ?? [], StringComparer.Ordinal), StringComparer.Ordinal);
    }

    /// <summary>False when the manifest does not list its training records (older models): membership is unknown.</summary>
    public bool Known => _parts is not null;

    /// <summary>The parts of the model trained on the record with this signature (empty: none; null: unknown).</summary>
    public IReadOnlyList<string>? PartsTrainedOn(string signature) =>
        _parts?.Where(kv => kv.Value.Contains(signature)).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();

    /// <summary>A short cell for text tables: "no", "network+rhythm_fusion", … or "?" when unknown.</summary>
    public static string Cell(IReadOnlyList<string>? parts) => parts is null ? "?" : parts.Count == 0 ? "no" : string.Join("+", parts);

    /// <summary>The line printed under a table: how many of the records were training data.</summary>
    public string Summary(IReadOnlyCollection<IReadOnlyList<string>?> records)
    {
        if (!Known) return "training data: this model's manifest does not list its training records; whether a figure comes from training data is unknown";
        var trained = records.Count(p => p is { Count: > 0 });
        return trained == 0
            ? $"training data: none of these {records.Count} records was used to fit the model"
            : $"training data: {trained} of these {records.Count} records were used to fit the model (column 'trained'); figures on them are not evidence of how it does on unseen patients";
    }
}
