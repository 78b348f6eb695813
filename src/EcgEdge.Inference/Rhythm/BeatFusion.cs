using System.Globalization;

namespace EcgEdge.Inference.Rhythm;

/// <summary>
/// The beat decision (<c>beat_fusion</c> in the manifest): a multinomial logistic regression over the beat's
/// patient-relative evidence (<see cref="BeatFeatures"/>: prematurity against the local rhythm, compensatory pause, QRS
/// against the patient's dominant beat, P wave and its likeness to the sinus P, the rhythm context) and the network's
/// beat posteriors (<c>net_n</c> … <c>net_q</c>), standardised as <c>(x − mean) / scale</c>; the class with the highest
/// score wins. Fitted by tools/train/beats/validate.py, validated record-wise on MIT-BIH and across databases.
/// </summary>
public sealed class BeatFusion
{
    /// <summary>Inputs a beat model may read: the beat features, then the network's posteriors in <see cref="BeatClass"/> order.</summary>
    public static readonly string[] InputNames = [.. BeatFeatures.Names, "net_n", "net_s", "net_v", "net_f", "net_q"];

    public static int InputCount => InputNames.Length;

    private readonly int[] _index;
    private readonly double[] _mean, _scale, _weight, _bias;
    private readonly BeatClass[] _classes;

    public BeatFusion(IReadOnlyList<string> features, IReadOnlyList<double> mean, IReadOnlyList<double> scale,
        IReadOnlyList<IReadOnlyList<double>> weights, IReadOnlyList<double> bias, IReadOnlyList<BeatClass> classes)
    {
        if (Problem(features, mean, scale, weights, bias, classes) is { } p) throw new ArgumentException(p);
        _index = features.Select(f => Array.IndexOf(InputNames, f)).ToArray();
        _mean = [.. mean];
        _scale = [.. scale];
        _weight = weights.SelectMany(w => w).ToArray();
        _bias = [.. bias];
        _classes = [.. classes];
        Features = [.. features];
    }

    public IReadOnlyList<string> Features { get; }

    public IReadOnlyList<BeatClass> Classes => _classes;

    public static string? Problem(IReadOnlyList<string>? features, IReadOnlyList<double>? mean, IReadOnlyList<double>? scale,
        IReadOnlyList<IReadOnlyList<double>>? weights, IReadOnlyList<double>? bias, IReadOnlyList<BeatClass>? classes)
    {
        if (features is null || mean is null || scale is null || weights is null || bias is null || classes is null || features.Count == 0)
            return "beat_fusion needs features, mean, scale, weights, bias and classes";
        if (mean.Count != features.Count || scale.Count != features.Count)
            return string.Create(CultureInfo.InvariantCulture, $"beat_fusion: {features.Count} features but {mean.Count} means, {scale.Count} scales");
        if (classes.Count < 2 || classes.Distinct().Count() != classes.Count) return "beat_fusion: at least two distinct classes";
        if (weights.Count != classes.Count || bias.Count != classes.Count || weights.Any(w => w is null || w.Count != features.Count))
            return "beat_fusion: one weight row of the features' length and one bias per class";
        foreach (var f in features)
            if (Array.IndexOf(InputNames, f) < 0) return $"beat_fusion: unknown input '{f}' (known: {string.Join(", ", InputNames)})";
        if (features.Distinct().Count() != features.Count) return "beat_fusion: an input is named twice";
        if (mean.Concat(bias).Concat(weights.SelectMany(w => w)).Any(v => !double.IsFinite(v)) || scale.Any(v => !(v > 0) || !double.IsFinite(v)))
            return "beat_fusion: means, weights and biases must be finite, scales positive";
        return null;
    }

    /// <summary>
    /// The class of a beat from its inputs (<see cref="InputNames"/> order) and its probability (softmax of the scores).
    /// </summary>
    public BeatClass Decide(ReadOnlySpan<float> inputs, out float probability)
    {
        var k = _classes.Length;
        Span<double> z = stackalloc double[8];
        var best = 0;
        for (var c = 0; c < k; c++)
        {
            var s = _bias[c];
            for (var j = 0; j < _index.Length; j++) s += _weight[c * _index.Length + j] * (inputs[_index[j]] - _mean[j]) / _scale[j];
            z[c] = s;
            if (s > z[best]) best = c;
        }
        double sum = 0;
        for (var c = 0; c < k; c++) sum += Math.Exp(z[c] - z[best]);
        probability = (float)(1 / sum);
        return _classes[best];
    }
}

/// <summary>Receives each classified beat's evidence (developer tools: the beat stage's feature export).</summary>
public interface IBeatEvidenceSink
{
    /// <param name="beat">The detected beat (its sample index in the pipeline's time).</param>
    /// <param name="inputs">Its <see cref="BeatFusion.InputNames"/> values: the beat features, then the network's posteriors.</param>
    /// <param name="decided">The class it got (the fusion's, else the network's).</param>
    void OnBeatEvidence(in EcgEdge.Detection.DetectedBeat beat, ReadOnlySpan<float> inputs, BeatClass decided);
}
