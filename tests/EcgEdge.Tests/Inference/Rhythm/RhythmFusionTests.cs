using EcgEdge.Inference.Model;
using EcgEdge.Inference.Rhythm;
using EcgEdge.Tests.Inference;

namespace EcgEdge.Tests.Inference.Rhythm;

public class RhythmFusionTests
{
    private static LogisticModel Model(double bias, double context) =>
        new(["irr", "p_present"], [0.2, 0.8], [0.1, 0.2], [2.0, -1.5], bias, context);

    [Fact]
    public void A_logistic_model_is_the_logistic_of_its_standardised_features()
    {
        var f = new float[RhythmFeatures.Count];
        f[RhythmFeatures.Irr] = 0.7f;
        f[RhythmFeatures.PPresent] = 0.3f;
        var z = -0.5 + 2.0 * (0.7f - 0.2) / 0.1 + -1.5 * (0.3f - 0.8) / 0.2;
        Assert.Equal(1 / (1 + Math.Exp(-z)), Model(-0.5, 30).Probability(f), 12);
    }

    [Fact]
    public void A_young_stream_is_decided_by_the_short_model_alone_an_older_one_by_the_mean_of_both()
    {
        var fusion = new RhythmFusion(Model(-3, 30), Model(1, 10), belowSeconds: 25, threshold: 0.7, shortThreshold: 0.6);
        var longF = new float[RhythmFeatures.Count];
        var shortF = new float[RhythmFeatures.Count];
        longF[RhythmFeatures.Irr] = 0.2f;
        longF[RhythmFeatures.PPresent] = 0.8f;
        shortF[RhythmFeatures.Irr] = 0.5f;
        shortF[RhythmFeatures.PPresent] = 0.4f;
        var pl = fusion.Long.Probability(longF);
        var ps = fusion.Short.Probability(shortF);
        Assert.Equal(ps, fusion.Probability(longF, shortF, 24.9, out var t1), 12);
        Assert.Equal(0.6, t1);
        Assert.Equal(0.5 * (pl + ps), fusion.Probability(longF, shortF, 25, out var t2), 12);
        Assert.Equal(0.7, t2);
    }

    [Fact]
    public void With_young_streams_left_to_the_network_a_young_window_gets_no_fused_probability()
    {
        var fusion = new RhythmFusion(Model(-3, 30), Model(1, 10), belowSeconds: 25, threshold: 0.55, shortThreshold: 0.5, networkBelowSeconds: 25);
        Assert.True(fusion.YoungStreamsByNetwork);
        var f = new float[RhythmFeatures.Count];
        Assert.True(double.IsNaN(fusion.Probability(f, f, 10, out var t)));
        Assert.True(double.IsNaN(t));
        Assert.False(double.IsNaN(fusion.Probability(f, f, 30, out var t2)));
        Assert.Equal(0.55, t2);
        Assert.Null(new RhythmFusionSpec { Long = new LogisticModelSpec(), Short = new LogisticModelSpec(), Young = "maybe" }.ToFusion(out var why));
        Assert.NotNull(why);
    }

    [Fact]
    public void With_network_below_15_s_a_young_stream_keeps_the_network_below_15_s_and_gets_the_short_model_from_there()
    {
        var fusion = new RhythmFusion(Model(-3, 30), Model(1, 10), belowSeconds: 25, threshold: 0.55, shortThreshold: 0.6, networkBelowSeconds: 15);
        Assert.False(fusion.YoungStreamsByNetwork);
        var f = new float[RhythmFeatures.Count];
        f[RhythmFeatures.Irr] = 0.5f;
        Assert.True(double.IsNaN(fusion.Probability(f, f, 10, out _)));           // a 10-s record: the network
        Assert.Equal(fusion.Short.Probability(f), fusion.Probability(f, f, 15, out var t), 12);
        Assert.Equal(0.6, t);
        Assert.Equal(0.5 * (fusion.Short.Probability(f) + fusion.Long.Probability(f)), fusion.Probability(f, f, 25, out var t2), 12);
        Assert.Equal(0.55, t2);
        Assert.Throws<ArgumentException>(() => new RhythmFusion(Model(-3, 30), Model(1, 10), 25, 0.5, 0.5, networkBelowSeconds: 30));
        // in a manifest: only with young "short", and within [0, below_s]
        var spec = new RhythmFusionSpec
        {
            Long = new LogisticModelSpec { Features = ["irr"], Mean = [0], Scale = [1], Weights = [1], ContextS = 30 },
            Short = new LogisticModelSpec { Features = ["irr"], Mean = [0], Scale = [1], Weights = [1], ContextS = 10 },
            BelowS = 25, Young = "short", NetworkBelowS = 15,
        };
        Assert.Equal(15, spec.ToFusion(out _)!.NetworkBelowSeconds);
        spec.Young = "network";
        Assert.Null(spec.ToFusion(out var why));
        Assert.Contains("network_below_s", why, StringComparison.Ordinal);
        spec.Young = "short";
        spec.NetworkBelowS = 26;
        Assert.Null(spec.ToFusion(out _));
    }

    [Theory]
    [InlineData("no_such_feature", "unknown feature")]
    [InlineData("irr", "a feature is named twice")]
    public void Bad_parameters_are_refused_with_the_reason(string second, string reason)
    {
        var e = Assert.Throws<ArgumentException>(() => new LogisticModel(["irr", second], [0, 0], [1, 1], [1, 1], 0, 30));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.Contains("scales positive", LogisticModel.Problem(["irr"], [0], [0], [1], 0, 30), StringComparison.Ordinal);
        Assert.Contains("1 features but 2 means", LogisticModel.Problem(["irr"], [0, 1], [1], [1], 0, 30), StringComparison.Ordinal);
        Assert.Contains("context_s", LogisticModel.Problem(["irr"], [0], [1], [1], 0, 1), StringComparison.Ordinal);
        Assert.Contains("threshold", RhythmFusion.Problem(30, 10, 25, 1.0, 0.5), StringComparison.Ordinal);
        Assert.Contains("below_s", RhythmFusion.Problem(30, 10, 40, 0.5, 0.5), StringComparison.Ordinal);
    }

    [Fact]
    public void A_manifest_whose_fusion_names_an_unknown_feature_is_refused_at_load()
    {
        using var f = new ModelFiles();
        f.EditManifest(m => m["rhythm_fusion"] = System.Text.Json.Nodes.JsonNode.Parse(
            """
            {"long": {"features": ["irr", "telepathy"], "mean": [0, 0], "scale": [1, 1], "weights": [1, 1], "bias": 0, "context_s": 30},
             "short": {"features": ["irr"], "mean": [0], "scale": [1], "weights": [1], "bias": 0, "context_s": 10},
             "below_s": 25, "threshold": 0.5, "short_threshold": 0.5}
            """));
        var e = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(f.Manifest, new EcgEdge.Inference.Execution.InferenceOptions()).Dispose());
        Assert.Equal(ModelLoadFailure.ContractMismatch, e.Failure);
        Assert.Contains("rhythm_fusion.long: unknown feature 'telepathy'", e.Message, StringComparison.Ordinal);
    }
}
