using System.Globalization;

namespace EcgEdge.Inference.Rhythm;

/// <summary>
/// The rhythm decision's AF model (<c>rhythm_fusion</c> in the manifest): a logistic regression over named
/// <see cref="RhythmFeatures"/> — RR irregularity with ectopy handling, atrial activity and the network's own rhythm
/// posterior — standardised as <c>(x − mean) / scale</c>:
/// <c>P(AF) = σ(bias + Σ weight_k · (x_k − mean_k) / scale_k)</c>. Fitted by tools/train (rhythm stage), validated
/// leave-one-database-out; the card says how.
/// </summary>
public sealed class RhythmFusion
{
    private readonly int[] _index;
    private readonly double[] _mean, _scale, _weight;
    private readonly double _bias;

    public RhythmFusion(IReadOnlyList<string> features, IReadOnlyList<double> mean, IReadOnlyList<double> scale, IReadOnlyList<double> weights,
        double bias, double threshold = 0.5)
    {
        if (Problem(features, mean, scale, weights, bias, threshold) is { } p) throw new ArgumentException(p);
        _index = features.Select(RhythmFeatures.IndexOf).ToArray();
        _mean = [.. mean];
        _scale = [.. scale];
        _weight = [.. weights];
        _bias = bias;
        Threshold = threshold;
        Features = [.. features];
    }

    /// <summary>The feature names read, in the model's order.</summary>
    public IReadOnlyList<string> Features { get; }

    /// <summary>P(AF) at or above this is called AF/flutter.</summary>
    public double Threshold { get; }

    /// <summary>Why these parameters cannot make a model, or null.</summary>
    public static string? Problem(IReadOnlyList<string>? features, IReadOnlyList<double>? mean, IReadOnlyList<double>? scale,
        IReadOnlyList<double>? weights, double bias, double threshold)
    {
        if (features is null || mean is null || scale is null || weights is null || features.Count == 0)
            return "rhythm_fusion needs features, mean, scale and weights";
        if (mean.Count != features.Count || scale.Count != features.Count || weights.Count != features.Count)
            return string.Create(CultureInfo.InvariantCulture,
                $"rhythm_fusion: {features.Count} features but {mean.Count} means, {scale.Count} scales, {weights.Count} weights");
        foreach (var f in features)
            if (RhythmFeatures.IndexOf(f) < 0) return $"rhythm_fusion: unknown feature '{f}' (known: {string.Join(", ", RhythmFeatures.Names)})";
        if (features.Distinct().Count() != features.Count) return "rhythm_fusion: a feature is named twice";
        if (mean.Concat(weights).Append(bias).Any(v => !double.IsFinite(v)) || scale.Any(v => !(v > 0) || !double.IsFinite(v)))
            return "rhythm_fusion: means, weights and bias must be finite, scales positive";
        if (!(threshold > 0 && threshold < 1)) return "rhythm_fusion: threshold must be in (0, 1)";
        return null;
    }

    /// <summary>P(AF/flutter) for one window's feature vector (<see cref="RhythmFeatures"/> order).</summary>
    public double Probability(ReadOnlySpan<float> features)
    {
        var z = _bias;
        for (var k = 0; k < _index.Length; k++) z += _weight[k] * (features[_index[k]] - _mean[k]) / _scale[k];
        return 1.0 / (1.0 + Math.Exp(-z));
    }
}

/// <summary>
/// Receives each analysed window's rhythm evidence (developer tools: feature export for fitting and validating the fusion).
/// Optional: the inference stage calls it when its sink implements it, on the thread that ran the model.
/// </summary>
public interface IRhythmEvidenceSink
{
    /// <param name="windowStart">Pipeline index of the window's first sample.</param>
    /// <param name="windowEnd">Pipeline index one past its last real sample.</param>
    /// <param name="features">The window's <see cref="RhythmFeatures"/>.</param>
    /// <param name="networkProbabilities">The network's own rhythm posteriors for the window (manifest class order).</param>
    /// <param name="rhythmProbabilities">The window's rhythm posteriors after fusion (the network's without a fusion model).</param>
    /// <param name="fusedAf">The fusion model's P(AF), NaN without one.</param>
    void OnEvidence(long windowStart, long windowEnd, ReadOnlySpan<float> features, ReadOnlySpan<float> networkProbabilities,
        ReadOnlySpan<float> rhythmProbabilities, double fusedAf);
}
