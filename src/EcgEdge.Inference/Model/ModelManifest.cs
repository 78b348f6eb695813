using System.Text.Json;
using System.Text.Json.Serialization;

namespace EcgEdge.Inference.Model;

/// <summary>One tensor of the model's ONNX contract. Shape entries are integers or a symbolic name such as "batch".</summary>
public sealed class TensorSpec
{
    public string Name { get; set; } = "";
    public List<JsonElement> Shape { get; set; } = [];
    public string? Dtype { get; set; }
    public List<string>? Classes { get; set; }

    /// <summary>The shape with symbolic dimensions as -1.</summary>
    public long[] Dimensions() => Shape.Select(d => d.ValueKind == JsonValueKind.Number ? d.GetInt64() : -1L).ToArray();
}

/// <summary>A model file named by the manifest, with its integrity data.</summary>
public sealed class ModelFileEntry
{
    public string Path { get; set; } = "";
    public string Sha256 { get; set; } = "";
    public long Bytes { get; set; }
}

/// <summary>Decision thresholds shipped with the model.</summary>
public sealed class ModelThresholds
{
    [JsonPropertyName("rhythm_noise_suppresses_alarms")] public bool RhythmNoiseSuppressesAlarms { get; set; } = true;
    [JsonPropertyName("min_prob_alarm")] public double MinProbAlarm { get; set; } = 0.5;
    [JsonPropertyName("beat_min_prob")] public double BeatMinProb { get; set; }
}

/// <summary>
/// <c>beat_feature_head</c>: the model's beat scores fuse the network with a small MLP on each beat's RR and shape
/// numbers (beat_rr channels 1..6), inside the graph: (1 − weight)·log_softmax(network) + weight·log_softmax(MLP). The
/// device needs nothing beyond the RR and shape features for it; the entry says what the beat output is.
/// </summary>
public sealed class BeatFeatureHeadSpec
{
    public int Hidden { get; set; }
    public double Weight { get; set; }
    public string? Definition { get; set; }
}

/// <summary>
/// <c>s_gate</c>: inside the graph, a logistic model on each window's RR statistics (the rhythm head's) decides whether
/// the window's rhythm looks like AF; there, no beat is called S (its N and S scores trade places where S is above N).
/// The rhythm output is unchanged. The device needs nothing for it; the entry says what the beat output is.
/// </summary>
public sealed class SGateSpec
{
    public string? Inputs { get; set; }
    public string? Definition { get; set; }
}

/// <summary>One logistic model of <c>rhythm_fusion</c> (<see cref="Rhythm.LogisticModel"/>).</summary>
public sealed class LogisticModelSpec
{
    public List<string> Features { get; set; } = [];
    public List<double> Mean { get; set; } = [];
    public List<double> Scale { get; set; } = [];
    public List<double> Weights { get; set; } = [];
    public double Bias { get; set; }
    [JsonPropertyName("context_s")] public double ContextS { get; set; }

    public Rhythm.LogisticModel? ToModel(out string? problem)
    {
        problem = Rhythm.LogisticModel.Problem(Features, Mean, Scale, Weights, Bias, ContextS);
        return problem is null ? new Rhythm.LogisticModel(Features, Mean, Scale, Weights, Bias, ContextS) : null;
    }
}

/// <summary>
/// <c>rhythm_fusion</c>: the AF decision of each window comes from the device's physiological rhythm evidence
/// (<see cref="Rhythm.RhythmFusion"/>: a 30-s and a 10-s logistic model), applied by the device after the network; the
/// network keeps its noise and VT/VF posteriors. Without the entry, the network's rhythm output decides alone.
/// </summary>
public sealed class RhythmFusionSpec
{
    public LogisticModelSpec? Long { get; set; }
    public LogisticModelSpec? Short { get; set; }
    [JsonPropertyName("below_s")] public double BelowS { get; set; }
    public double Threshold { get; set; } = 0.5;
    [JsonPropertyName("short_threshold")] public double ShortThreshold { get; set; } = 0.5;
    /// <summary>"network": windows of young streams keep the network's rhythm posterior; "short" (default): the short model decides them.</summary>
    public string? Young { get; set; }
    /// <summary>With <see cref="Young"/> "short": streams younger than this still keep the network's posterior (default 0).</summary>
    [JsonPropertyName("network_below_s")] public double? NetworkBelowS { get; set; }
    /// <summary>How it was fitted and validated (free text for the card and `model info`).</summary>
    public string? Definition { get; set; }

    /// <summary>The model, or null with <paramref name="problem"/> set.</summary>
    public Rhythm.RhythmFusion? ToFusion(out string? problem)
    {
        if (Long is null || Short is null) { problem = "rhythm_fusion needs a long and a short model"; return null; }
        var l = Long.ToModel(out problem);
        if (l is null) { problem = "rhythm_fusion.long: " + problem; return null; }
        var sm = Short.ToModel(out problem);
        if (sm is null) { problem = "rhythm_fusion.short: " + problem; return null; }
        problem = Rhythm.RhythmFusion.Problem(l.ContextSeconds, sm.ContextSeconds, BelowS, Threshold, ShortThreshold);
        if (problem is not null) { problem = "rhythm_fusion: " + problem; return null; }
        if (Young is not (null or "short" or "network")) { problem = $"rhythm_fusion.young must be \"short\" or \"network\", not \"{Young}\""; return null; }
        if (NetworkBelowS is { } nb && (Young == "network" || !(nb >= 0 && nb <= BelowS)))
        {
            problem = "rhythm_fusion.network_below_s goes with young \"short\" and must lie between 0 and below_s";
            return null;
        }
        return new Rhythm.RhythmFusion(l, sm, BelowS, Threshold, ShortThreshold, Young == "network" ? BelowS : NetworkBelowS ?? 0);
    }
}

/// <summary>
/// <c>beat_fusion</c>: each beat's class comes from a multinomial logistic model over its patient-relative evidence and the
/// network's beat posteriors (<see cref="Rhythm.BeatFusion"/>), applied by the device after the network. Without the
/// entry, the network's beat output decides alone.
/// </summary>
public sealed class BeatFusionSpec
{
    public List<string> Features { get; set; } = [];
    public List<double> Mean { get; set; } = [];
    public List<double> Scale { get; set; } = [];
    public List<List<double>> Weights { get; set; } = [];
    public List<double> Bias { get; set; } = [];
    public List<string> Classes { get; set; } = [];
    public string? Definition { get; set; }

    public Rhythm.BeatFusion? ToFusion(out string? problem)
    {
        var classes = new List<BeatClass>();
        foreach (var c in Classes ?? [])
        {
            if (!ClassNames.TryParseBeat(c, out var k)) { problem = $"beat_fusion: unknown class '{c}'"; return null; }
            classes.Add(k);
        }
        var weights = Weights?.Select(w => (IReadOnlyList<double>)w).ToList();
        problem = Rhythm.BeatFusion.Problem(Features, Mean, Scale, weights, Bias, classes);
        return problem is null ? new Rhythm.BeatFusion(Features, Mean, Scale, weights!, Bias, classes) : null;
    }
}

/// <summary>The definition of the model's RR-interval input (<c>rr_features</c>); see <see cref="RrFeatureBuilder"/>.</summary>
public sealed class RrFeaturesSpec
{
    [JsonPropertyName("history_intervals")] public int HistoryIntervals { get; set; }
    public List<double>? Clip { get; set; }
    [JsonPropertyName("median_clip")] public List<double>? MedianClip { get; set; }
    [JsonPropertyName("median_centre_s")] public double MedianCentreSeconds { get; set; }
    /// <summary>Three beat-shape channels after the RR ones (absent: the beat input is RR only).</summary>
    public BeatShapeSpec? Shape { get; set; }

    /// <summary>The settings, or null with a reason when the entry is incomplete. <paramref name="channelOrder"/> names
    /// the signal channels (the shape's lead is one of them).</summary>
    public RrFeatureSettings? ToSettings(out string? problem, IReadOnlyList<string>? channelOrder = null)
    {
        problem = null;
        if (Clip is not { Count: 2 } || MedianClip is not { Count: 2 })
        {
            problem = "rr_features.clip and rr_features.median_clip must be [low, high]";
            return null;
        }
        BeatShapeSettings? shape = null;
        if (Shape is not null && (shape = Shape.ToSettings(channelOrder ?? [], out problem)) is null) return null;
        var s = new RrFeatureSettings(HistoryIntervals, Clip[0], Clip[1], MedianClip[0], MedianClip[1], MedianCentreSeconds, shape);
        problem = s.Problems().FirstOrDefault();
        return problem is null ? s : null;
    }
}

/// <summary>The definition of the beat-shape channels (<c>rr_features.shape</c>); see <see cref="BeatShapeFeatures"/>.</summary>
public sealed class BeatShapeSpec
{
    public string Lead { get; set; } = "";
    [JsonPropertyName("before_samples")] public int BeforeSamples { get; set; }
    [JsonPropertyName("after_samples")] public int AfterSamples { get; set; }
    [JsonPropertyName("history_beats")] public int HistoryBeats { get; set; }
    [JsonPropertyName("min_history")] public int MinHistory { get; set; }
    [JsonPropertyName("max_shift")] public int MaxShift { get; set; }
    public List<List<double>>? Clip { get; set; }

    /// <summary>The settings, or null with a reason.</summary>
    public BeatShapeSettings? ToSettings(IReadOnlyList<string> channelOrder, out string? problem)
    {
        problem = null;
        var lead = -1;
        for (var i = 0; i < channelOrder.Count; i++)
            if (string.Equals(channelOrder[i], Lead, StringComparison.Ordinal)) { lead = i; break; }
        if (lead < 0)
        {
            problem = $"rr_features.shape.lead '{Lead}' is not in channel_order";
            return null;
        }
        if (Clip is not { Count: 3 } || Clip.Any(c => c is not { Count: 2 }))
        {
            problem = "rr_features.shape.clip must be three [low, high] pairs";
            return null;
        }
        var s = new BeatShapeSettings(lead, BeforeSamples, AfterSamples, HistoryBeats, MinHistory, MaxShift,
            Clip[0][0], Clip[0][1], Clip[1][0], Clip[1][1], Clip[2][0], Clip[2][1]);
        problem = s.Problems().FirstOrDefault();
        return problem is null ? s : null;
    }
}

/// <summary>
/// The model's manifest (<c>models/ecg-nat.manifest.json</c>, written by tools/train): the ONNX contract (input/output
/// names and shapes), the signal it expects (rate, channel order, units, window, hop), the class lists, and the sha256
/// and size of each model file. <see cref="ModelLoader"/> checks all of it against the ONNX graph before use.
/// </summary>
public sealed class ModelManifest
{
    public string Name { get; set; } = "";
    public string Version { get; set; } = "";
    public int Opset { get; set; }
    public List<TensorSpec> Inputs { get; set; } = [];
    public List<TensorSpec> Outputs { get; set; } = [];
    [JsonPropertyName("beat_classes")] public List<string> BeatClasses { get; set; } = [];
    [JsonPropertyName("rhythm_classes")] public List<string> RhythmClasses { get; set; } = [];
    [JsonPropertyName("sample_rate_hz")] public double SampleRateHz { get; set; }
    [JsonPropertyName("window_samples")] public int WindowSamples { get; set; }
    [JsonPropertyName("hop_samples")] public int HopSamples { get; set; }
    [JsonPropertyName("channel_order")] public List<string> ChannelOrder { get; set; } = [];
    [JsonPropertyName("token_stride")] public int TokenStride { get; set; }
    [JsonPropertyName("fine_tokens")] public int FineTokens { get; set; }
    [JsonPropertyName("rr_features")] public RrFeaturesSpec? RrFeatures { get; set; }
    [JsonPropertyName("beat_feature_head")] public BeatFeatureHeadSpec? BeatFeatureHead { get; set; }
    [JsonPropertyName("s_gate")] public SGateSpec? SGate { get; set; }
    [JsonPropertyName("rhythm_fusion")] public RhythmFusionSpec? RhythmFusion { get; set; }
    [JsonPropertyName("beat_fusion")] public BeatFusionSpec? BeatFusion { get; set; }
    /// <summary>
    /// The records each part of the model was fitted on (part → record signatures, WfdbHeader.Signature), so that `eval`
    /// and `analyze` can say which figures come from training data. Absent in older manifests (then unknown).
    /// </summary>
    [JsonPropertyName("training_records")] public Dictionary<string, List<string>>? TrainingRecords { get; set; }
    public Dictionary<string, ModelFileEntry> Files { get; set; } = [];
    public ModelThresholds Thresholds { get; set; } = new();
    [JsonPropertyName("macs_per_window")] public long MacsPerWindow { get; set; }
    public long Params { get; set; }
    [JsonPropertyName("reference_vectors")] public string? ReferenceVectors { get; set; }

    /// <summary>
    /// The first value that JSON gave in a shape the loader cannot use (a null list, list item or file entry, a shape entry
    /// that is neither an integer nor a name, a file path with a NUL character), or null when there is none.
    /// </summary>
    internal string? StructureProblem()
    {
        if (Inputs is null || Outputs is null || BeatClasses is null || RhythmClasses is null || ChannelOrder is null || Files is null || Thresholds is null)
            return "inputs, outputs, beat_classes, rhythm_classes, channel_order, files and thresholds must not be null";
        foreach (var tensor in Inputs.Concat(Outputs))
        {
            if (tensor is null) return "inputs and outputs must not contain null";
            if (tensor.Shape is null) return $"tensor '{tensor.Name}' has no shape";
            foreach (var d in tensor.Shape)
            {
                if (d.ValueKind != JsonValueKind.String && !(d.ValueKind == JsonValueKind.Number && d.TryGetInt64(out _)))
                    return $"tensor '{tensor.Name}' has the shape entry {d.GetRawText()}, not an integer or a symbolic name";
            }
        }
        if (BeatClasses.Any(c => c is null) || RhythmClasses.Any(c => c is null) || ChannelOrder.Any(c => c is null))
            return "beat_classes, rhythm_classes and channel_order must not contain null";
        foreach (var (key, entry) in Files)
        {
            if (entry is null) return $"the file entry '{key}' is null";
            if (entry.Path is not null && entry.Path.Contains('\0')) return $"the file entry '{key}' has a path with a NUL character";
        }
        return null;
    }

    /// <summary>Reads and parses a manifest; malformed JSON is a <see cref="ModelLoadException"/>.</summary>
    public static ModelManifest Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException(ModelLoadFailure.ManifestMissing, $"cannot read model manifest '{path}': {e.Message}", e);
        }
        return Parse(bytes, path);
    }

    /// <summary>Parses manifest bytes already read (the loader verifies their signature first, then parses the same bytes).</summary>
    public static ModelManifest Parse(byte[] bytes, string path)
    {
        try
        {
            var manifest = JsonSerializer.Deserialize(bytes, ManifestJsonContext.Default.ModelManifest)
                ?? throw new ModelLoadException(ModelLoadFailure.ManifestInvalid, $"model manifest '{path}' is empty");
            if (manifest.StructureProblem() is { } problem)
                throw new ModelLoadException(ModelLoadFailure.ManifestInvalid, $"model manifest '{path}' is invalid: {problem}");
            return manifest;
        }
        catch (JsonException e)
        {
            throw new ModelLoadException(ModelLoadFailure.ManifestInvalid, $"model manifest '{path}' is not valid JSON: {e.Message}", e);
        }
    }
}

[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, ReadCommentHandling = JsonCommentHandling.Skip)]
[JsonSerializable(typeof(ModelManifest))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
