using System.Globalization;

namespace EcgEdge.Inference.Rhythm;

/// <summary>
/// One logistic regression over named <see cref="RhythmFeatures"/> computed over <see cref="ContextSeconds"/> of beats,
/// standardised as <c>(x − mean) / scale</c>: <c>P = σ(bias + Σ weight_k · (x_k − mean_k) / scale_k)</c>.
/// </summary>
public sealed class LogisticModel
{
    private readonly int[] _index;
    private readonly double[] _mean, _scale, _weight;
    private readonly double _bias;

    public LogisticModel(IReadOnlyList<string> features, IReadOnlyList<double> mean, IReadOnlyList<double> scale, IReadOnlyList<double> weights,
        double bias, double contextSeconds)
    {
        if (Problem(features, mean, scale, weights, bias, contextSeconds) is { } p) throw new ArgumentException(p);
        _index = features.Select(RhythmFeatures.IndexOf).ToArray();
        _mean = [.. mean];
        _scale = [.. scale];
        _weight = [.. weights];
        _bias = bias;
        ContextSeconds = contextSeconds;
        Features = [.. features];
    }

    /// <summary>The feature names read, in the model's order.</summary>
    public IReadOnlyList<string> Features { get; }

    /// <summary>Seconds of beats its features summarise.</summary>
    public double ContextSeconds { get; }

    /// <summary>Why these parameters cannot make a model, or null.</summary>
    public static string? Problem(IReadOnlyList<string>? features, IReadOnlyList<double>? mean, IReadOnlyList<double>? scale,
        IReadOnlyList<double>? weights, double bias, double contextSeconds)
    {
        if (features is null || mean is null || scale is null || weights is null || features.Count == 0)
            return "needs features, mean, scale and weights";
        if (mean.Count != features.Count || scale.Count != features.Count || weights.Count != features.Count)
            return string.Create(CultureInfo.InvariantCulture,
                $"{features.Count} features but {mean.Count} means, {scale.Count} scales, {weights.Count} weights");
        foreach (var f in features)
            if (RhythmFeatures.IndexOf(f) < 0) return $"unknown feature '{f}' (known: {string.Join(", ", RhythmFeatures.Names)})";
        if (features.Distinct().Count() != features.Count) return "a feature is named twice";
        if (mean.Concat(weights).Append(bias).Any(v => !double.IsFinite(v)) || scale.Any(v => !(v > 0) || !double.IsFinite(v)))
            return "means, weights and bias must be finite, scales positive";
        if (!(contextSeconds is >= 5 and <= 120)) return "context_s must be in 5..120";
        return null;
    }

    /// <summary>P(AF) for one window's feature vector (<see cref="RhythmFeatures"/> order, over <see cref="ContextSeconds"/>).</summary>
    public double Probability(ReadOnlySpan<float> features)
    {
        var z = _bias;
        for (var k = 0; k < _index.Length; k++) z += _weight[k] * (features[_index[k]] - _mean[k]) / _scale[k];
        return 1.0 / (1.0 + Math.Exp(-z));
    }
}

/// <summary>
/// The rhythm decision's AF model (<c>rhythm_fusion</c> in the manifest): two logistic regressions over the device's
/// rhythm evidence — RR irregularity with ectopy handling, P waves and their likeness to the patient's sinus P, diastolic
/// and spectral atrial activity — one over the last 30 s of beats (<see cref="Long"/>), one over the last 10 s
/// (<see cref="Short"/>). RR and P-wave statistics of a dozen beats are distributed differently from those of thirty
/// seconds, so a young stream (the first windows after the start or a gap, a 10-s record: younger than
/// <see cref="BelowSeconds"/>) is decided by the short model alone against <see cref="ShortThreshold"/>; an older one by
/// the mean of both against <see cref="Threshold"/>. Fitted by tools/train/rhythm/validate.py, validated
/// leave-one-database-out; the model card says how.
/// </summary>
public sealed class RhythmFusion
{
    public RhythmFusion(LogisticModel longModel, LogisticModel shortModel, double belowSeconds, double threshold, double shortThreshold,
        double networkBelowSeconds = 0)
    {
        ArgumentNullException.ThrowIfNull(longModel);
        ArgumentNullException.ThrowIfNull(shortModel);
        if (Problem(longModel.ContextSeconds, shortModel.ContextSeconds, belowSeconds, threshold, shortThreshold) is { } p) throw new ArgumentException(p);
        if (!(networkBelowSeconds >= 0 && networkBelowSeconds <= belowSeconds))
            throw new ArgumentException("network_below_s must lie between 0 and below_s", nameof(networkBelowSeconds));
        NetworkBelowSeconds = networkBelowSeconds;
        Long = longModel;
        Short = shortModel;
        BelowSeconds = belowSeconds;
        Threshold = threshold;
        ShortThreshold = shortThreshold;
    }

    public LogisticModel Long { get; }

    public LogisticModel Short { get; }

    /// <summary>Streams younger than this (seconds at the window's end) are decided by <see cref="Short"/> alone.</summary>
    public double BelowSeconds { get; }

    /// <summary>An older stream's window is AF/flutter when the mean of both models' P(AF) reaches this.</summary>
    public double Threshold { get; }

    /// <summary>A young stream's window is AF/flutter when the short model's P(AF) reaches this.</summary>
    public double ShortThreshold { get; }

    /// <summary>
    /// Windows of a stream younger than this keep the network's own rhythm posterior; from here to
    /// <see cref="BelowSeconds"/> the short model decides. 0.3.0 left every young stream to the network
    /// (= <see cref="BelowSeconds"/>); 0.3.1 only the first 15 s, so that a 10-s record keeps the network's decision (out
    /// of fold the short model was no better on 10-s records) while a 30-s recording's later young windows get the
    /// evidence model (out of fold much better on 30-s excerpts; docs/rhythm.md).
    /// </summary>
    public double NetworkBelowSeconds { get; }

    /// <summary>Every young stream's window keeps the network's posterior (the fusion decides older streams only).</summary>
    public bool YoungStreamsByNetwork => NetworkBelowSeconds >= BelowSeconds;

    /// <summary>Why these parameters cannot make a model, or null.</summary>
    public static string? Problem(double longContext, double shortContext, double belowSeconds, double threshold, double shortThreshold)
    {
        if (!(shortContext <= longContext)) return "short.context_s must not exceed long.context_s";
        if (!(belowSeconds >= shortContext && belowSeconds <= longContext)) return "below_s must lie between short.context_s and long.context_s";
        if (!(threshold > 0 && threshold < 1) || !(shortThreshold > 0 && shortThreshold < 1)) return "threshold and short_threshold must be in (0, 1)";
        return null;
    }

    /// <summary>
    /// P(AF/flutter) of a window whose stream has run <paramref name="streamSeconds"/>, from its features over the long
    /// and the short context, and the threshold that applies to it; NaN (and no threshold) when the network decides.
    /// </summary>
    public double Probability(ReadOnlySpan<float> longFeatures, ReadOnlySpan<float> shortFeatures, double streamSeconds, out double threshold)
    {
        if (streamSeconds < NetworkBelowSeconds)
        {
            threshold = double.NaN;
            return double.NaN;   // the network's posterior stands
        }
        var ps = Short.Probability(shortFeatures);
        if (streamSeconds < BelowSeconds)
        {
            threshold = ShortThreshold;
            return ps;
        }
        threshold = Threshold;
        return 0.5 * (ps + Long.Probability(longFeatures));
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
    /// <param name="features">The window's <see cref="RhythmFeatures"/> over the long context (30 s).</param>
    /// <param name="shortFeatures">The same over the short context (10 s).</param>
    /// <param name="streamSeconds">How long the stream (record, or signal since the last gap) has run at the window's end.</param>
    /// <param name="networkProbabilities">The network's own rhythm posteriors for the window (manifest class order).</param>
    /// <param name="rhythmProbabilities">The window's rhythm posteriors after fusion (the network's without a fusion model).</param>
    /// <param name="fusedAf">The fusion model's P(AF), NaN without one.</param>
    void OnEvidence(long windowStart, long windowEnd, ReadOnlySpan<float> features, ReadOnlySpan<float> shortFeatures, double streamSeconds,
        ReadOnlySpan<float> networkProbabilities, ReadOnlySpan<float> rhythmProbabilities, double fusedAf);
}
