using EcgEdge.Inference.Model;
using EcgEdge.Inference.Rhythm;
using EcgEdge.Tests.Inference;

namespace EcgEdge.Tests.Inference.Rhythm;

public class RhythmFusionTests
{
    [Fact]
    public void The_probability_is_the_logistic_of_the_standardised_features()
    {
        var fusion = new RhythmFusion(["irr", "p_present"], [0.2, 0.8], [0.1, 0.2], [2.0, -1.5], bias: -0.5, threshold: 0.6);
        var f = new float[RhythmFeatures.Count];
        f[RhythmFeatures.Irr] = 0.7f;
        f[RhythmFeatures.PPresent] = 0.3f;
        var z = -0.5 + 2.0 * (0.7f - 0.2) / 0.1 + -1.5 * (0.3f - 0.8) / 0.2;
        Assert.Equal(1 / (1 + Math.Exp(-z)), fusion.Probability(f), 12);
        Assert.Equal(0.6, fusion.Threshold);
        Assert.Equal(["irr", "p_present"], fusion.Features);
    }

    [Theory]
    [InlineData("no_such_feature", "unknown feature")]
    [InlineData("irr", "a feature is named twice")]
    public void Bad_parameters_are_refused_with_the_reason(string second, string reason)
    {
        var e = Assert.Throws<ArgumentException>(() => new RhythmFusion(["irr", second], [0, 0], [1, 1], [1, 1], 0));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.Contains("scales positive", RhythmFusion.Problem(["irr"], [0], [0], [1], 0, 0.5), StringComparison.Ordinal);
        Assert.Contains("1 features but 2 means", RhythmFusion.Problem(["irr"], [0, 1], [1], [1], 0, 0.5), StringComparison.Ordinal);
        Assert.Contains("threshold", RhythmFusion.Problem(["irr"], [0], [1], [1], 0, 1.0), StringComparison.Ordinal);
    }

    [Fact]
    public void A_manifest_whose_fusion_names_an_unknown_feature_is_refused_at_load()
    {
        using var f = new ModelFiles();
        f.EditManifest(m => m["rhythm_fusion"] = System.Text.Json.Nodes.JsonNode.Parse(
            """{"features": ["irr", "telepathy"], "mean": [0, 0], "scale": [1, 1], "weights": [1, 1], "bias": 0, "threshold": 0.5}"""));
        var e = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(f.Manifest, new EcgEdge.Inference.Execution.InferenceOptions()).Dispose());
        Assert.Equal(ModelLoadFailure.ContractMismatch, e.Failure);
        Assert.Contains("unknown feature 'telepathy'", e.Message, StringComparison.Ordinal);
    }
}
