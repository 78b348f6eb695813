using EcgEdge.Inference;
using EcgEdge.Inference.Model;
using EcgEdge.Inference.Rhythm;
using EcgEdge.Tests.Inference;

namespace EcgEdge.Tests.Inference.Rhythm;

public class BeatFusionTests
{
    [Fact]
    public void The_class_with_the_highest_standardised_score_wins_with_its_softmax_probability()
    {
        var fusion = new BeatFusion(["rr_pre", "net_v"], [1.0, 0.1], [0.2, 0.3],
            [[0, 0], [-3, 0], [0, 4]], [1, 0, 0], [BeatClass.N, BeatClass.S, BeatClass.V]);
        var x = new float[BeatFusion.InputCount];
        x[BeatFeatures.RrPre] = 0.6f;                               // premature
        x[Array.IndexOf(BeatFusion.InputNames, "net_v")] = 0.05f;   // the network does not say V
        // scores: N 1, S −3·(0.6 − 1)/0.2 = 6, V 4·(0.05 − 0.1)/0.3 = −0.667
        Assert.Equal(BeatClass.S, fusion.Decide(x, out var p));
        Assert.Equal(1 / (1 + Math.Exp(1 - 6) + Math.Exp(-0.6666667 - 6)), p, 5);
        x[Array.IndexOf(BeatFusion.InputNames, "net_v")] = 0.95f;   // V: 4·0.85/0.3 = 11.3
        Assert.Equal(BeatClass.V, fusion.Decide(x, out _));
    }

    [Fact]
    public void A_manifest_beat_fusion_with_an_unknown_input_or_class_is_refused_at_load()
    {
        using var f = new ModelFiles();
        f.EditManifest(m => m["beat_fusion"] = System.Text.Json.Nodes.JsonNode.Parse(
            """{"features": ["rr_pre", "mood"], "mean": [0, 0], "scale": [1, 1], "weights": [[1, 1], [1, 1]], "bias": [0, 0], "classes": ["N", "V"]}"""));
        var e = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(f.Manifest, new EcgEdge.Inference.Execution.InferenceOptions()).Dispose());
        Assert.Contains("beat_fusion: unknown input 'mood'", e.Message, StringComparison.Ordinal);
        Assert.Contains("unknown class 'X'", new BeatFusionSpec { Classes = ["N", "X"] }.ToFusion(out var why) is null ? why! : "", StringComparison.Ordinal);
    }
}
