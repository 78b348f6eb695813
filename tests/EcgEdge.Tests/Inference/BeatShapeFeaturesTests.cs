using EcgEdge.Inference;
using EcgEdge.Inference.Model;

namespace EcgEdge.Tests.Inference;

/// <summary>
/// The shape channels follow the definition the model was trained with (tools/train/ecgnat/data.py: morph_features):
/// checked against values that function computed for a synthetic stream, and for the streaming use through
/// <see cref="RrFeatureBuilder.Fill"/> (overlapping windows) against the whole-stream computation.
/// </summary>
public class BeatShapeFeaturesTests
{
    private static readonly BeatShapeSettings Defaults = new();

    /// <summary>
    /// 20 s at 250 Hz: a slow sine baseline, narrow beats every 200 samples and every fifth beat wide; the beat
    /// positions given to the features are off the peaks by ((7k) mod 5) − 2 samples, as a detector's might be.
    /// </summary>
    private static (float[] Signal, long[] Positions) Synthetic(int n = 5000)
    {
        var x = new double[n];
        for (var t = 0; t < n; t++) x[t] = 0.1 * Math.Sin(2 * Math.PI * t / 700.0);
        var pos = new List<long>();
        for (long p = 100, k = 0; p < n - 100; p += 200, k++)
        {
            for (var t = 0; t < n; t++)
            {
                double u = t - p;
                x[t] += k % 5 == 4
                    ? 0.8 * Math.Exp(-Math.Pow(u / 9.0, 2)) - 0.3 * Math.Exp(-Math.Pow((u - 40) / 12.0, 2))
                    : (1.0 + 0.05 * (k % 3)) * Math.Exp(-Math.Pow(u / 3.0, 2)) - 0.2 * Math.Exp(-Math.Pow((u - 6) / 4.0, 2))
                      + 0.15 * Math.Exp(-Math.Pow((u - 60) / 15.0, 2));
            }
            pos.Add(p + (7 * k % 5) - 2);
        }
        return (x.Select(v => (float)v).ToArray(), pos.ToArray());
    }

    /// <summary>
    /// morph_features(x[None, :], chans=[1], pos) on the stream of <see cref="Synthetic"/>, printed by the training code
    /// (tools/train/ecgnat/data.py, 2026-11-25): the first three beats have no template yet; every fifth beat is the wide one.
    /// </summary>
    private static readonly float[,] TrainingValues =
    {
        { 0f, 0f, 0f }, { 0f, 0f, 0f }, { 0f, 0f, 0f },
        { 0.024403f, 0.224144f, 0.051230f }, { 0.390657f, 1.127747f, 0.031546f }, { 0.011135f, 0.230413f, 0.207804f },
        { 0.006734f, 0.118421f, 0.078911f }, { 0.002056f, 0.071666f, 0.058025f }, { 0.003854f, 0.141067f, 0.104054f },
        { 0.371071f, 1.027775f, -0.044971f }, { 0.004666f, 0.099918f, 0.054445f }, { 0.001484f, 0.085400f, 0.099424f },
        { 0.003446f, 0.089859f, 0.000553f }, { 0.002346f, 0.067548f, 0.034131f }, { 0.371015f, 1.021449f, -0.092257f },
        { 0.003158f, 0.084989f, 0.000516f }, { 0.001320f, 0.052927f, 0.038225f }, { 0.003845f, 0.103582f, 0.062251f },
        { 0.000819f, 0.050554f, -0.017024f }, { 0.387189f, 1.067404f, -0.059606f }, { 0.002167f, 0.083603f, 0.060496f },
        { 0.001347f, 0.071946f, -0.035975f }, { 0.002621f, 0.095153f, 0.023450f }, { 0.000485f, 0.061505f, 0.050328f },
    };

    private static float[][] WholeStream(float[] x, long[] pos)
    {
        var f = new BeatShapeFeatures(Defaults, 512);
        for (var i = 0; i < pos.Length; i++) f.Keep(i, pos[i], x, x.Length);
        var outp = new float[pos.Length][];
        for (var i = 0; i < pos.Length; i++)
        {
            outp[i] = new float[3];
            f.Write(i, 0, outp[i]);
        }
        return outp;
    }

    [Fact]
    public void The_features_equal_the_training_definition_on_a_synthetic_stream()
    {
        var (x, pos) = Synthetic();
        Assert.Equal(TrainingValues.GetLength(0), pos.Length);
        var got = WholeStream(x, pos);
        for (var i = 0; i < pos.Length; i++)
            for (var c = 0; c < 3; c++)
                Assert.True(Math.Abs(got[i][c] - TrainingValues[i, c]) < 2e-5, $"beat {i} channel {c}: {got[i][c]} vs {TrainingValues[i, c]}");
        // what the channels mean: the wide beats stand out in every channel but the amplitude one
        Assert.All(Enumerable.Range(3, pos.Length - 3), i => Assert.True(i % 5 == 4 ? got[i][0] > 0.3 : got[i][0] < 0.03, $"beat {i}: {got[i][0]}"));
    }

    [Fact]
    public void Overlapping_windows_give_every_beat_its_whole_stream_features()
    {
        const int Dec = 2, Window = 2500, Hop = 1250, Stride = 8, Tokens = 312, Leads = 8;
        var (x, pos) = Synthetic(10_000);
        var expected = WholeStream(x, pos);
        var settings = new RrFeatureSettings(Shape: Defaults);
        var b = new RrFeatureBuilder(settings, 500);
        foreach (var p in pos) b.Add(p * Dec);                         // pipeline samples at 500 Hz
        var window = new float[Leads * Window];
        var present = new float[Leads];
        present[1] = 1;                                                 // lead II only
        var rr = new float[Tokens * settings.Channels];
        var seen = new HashSet<int>();
        for (var start = 0; start + Window <= x.Length; start += Hop)
        {
            x.AsSpan(start, Window).CopyTo(window.AsSpan(1 * Window, Window));
            var n = b.Fill(rr, start * Dec, double.PositiveInfinity, Dec, Window, Stride, Tokens, window, present, Window);
            Assert.True(n > 0);
            for (var i = 0; i < pos.Length; i++)
            {
                var m = pos[i] - start;
                // beats held whole by this window (with the ±3-sample alignment margin) have their features
                if (m - 28 < 0 || m + 41 > Window) continue;
                var f = rr.AsSpan((int)(m / Stride) * settings.Channels, settings.Channels);
                Assert.Equal(1f, f[0]);
                for (var c = 0; c < 3; c++) Assert.Equal(expected[i][c], f[4 + c]);
                seen.Add(i);
            }
        }
        Assert.Equal(pos.Length, seen.Count);                           // every beat was held whole by some window
    }

    [Fact]
    public void Losing_the_lead_starts_the_history_again_in_the_next_lead()
    {
        const int Window = 2500, Tokens = 312, Leads = 8, C = 7;
        var (x, pos) = Synthetic(7000);
        var b = new RrFeatureBuilder(new RrFeatureSettings(Shape: Defaults), 250);     // model rate: decimation 1
        foreach (var p in pos) b.Add(p);
        var window = new float[Leads * Window];
        var rr = new float[Tokens * C];
        float[] Fill(int start, params int[] leads)
        {
            var present = new float[Leads];
            foreach (var l in leads)
            {
                present[l] = 1;
                x.AsSpan(start, Window).CopyTo(window.AsSpan(l * Window));
            }
            b.Fill(rr, start, double.PositiveInfinity, 1, Window, 8, Tokens, window, present, Window);
            return rr.ToArray();
        }
        float Distance(float[] f, long p, int start) => f[(int)((p - start) / 8) * C + 5];
        long[] Complete(int start) => pos.Where(p => p - 28 >= start && p + 41 <= start + Window).ToArray();

        var a = Fill(2500, 1, 3);                      // lead II and V2: II is used
        var inB = Complete(3750);
        Assert.Contains(inB[0], Complete(2500));
        Assert.NotEqual(0f, Distance(a, inB[0], 2500));  // had its features in the first window
        var bw = Fill(3750, 3);                        // II lost: V2, whose history starts now
        for (var k = 0; k < 3; k++) Assert.Equal(0f, Distance(bw, inB[k], 3750));
        Assert.NotEqual(0f, Distance(bw, inB[3], 3750));
    }

    [Fact]
    public void Windows_allocate_nothing()
    {
        const int Window = 2500, Tokens = 312, Leads = 8;
        var (x, pos) = Synthetic(10_000);
        var settings = new RrFeatureSettings(Shape: Defaults);
        var b = new RrFeatureBuilder(settings, 250);
        var window = new float[Leads * Window];
        var present = new float[Leads];
        present[1] = 1;
        var rr = new float[Tokens * settings.Channels];
        void Run()
        {
            b.Reset();
            foreach (var p in pos) b.Add(p);
            for (var start = 0; start + Window <= x.Length; start += 1250)
            {
                x.AsSpan(start, Window).CopyTo(window.AsSpan(Window));
                b.Fill(rr, start, double.PositiveInfinity, 1, Window, 8, Tokens, window, present, Window);
            }
        }
        Assert.Equal(0, Allocations.SmallestPerPass(Run));
    }

    [Theory]
    [InlineData("III", 3, "lead")]
    [InlineData("II", 2, "three [low, high] pairs")]
    public void A_bad_manifest_shape_entry_is_refused_with_the_reason(string lead, int clips, string reason)
    {
        var spec = new BeatShapeSpec
        {
            Lead = lead, BeforeSamples = 25, AfterSamples = 38, HistoryBeats = 16, MinHistory = 3, MaxShift = 3,
            Clip = Enumerable.Range(0, clips).Select(_ => new List<double> { 0, 1 }).ToList(),
        };
        Assert.Null(spec.ToSettings(["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"], out var problem));
        Assert.Contains(reason, problem);
    }

    [Fact]
    public void Invalid_shape_settings_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new BeatShapeFeatures(Defaults with { MinHistory = 17 }, 512));
        Assert.Throws<ArgumentException>(() => new BeatShapeFeatures(Defaults with { CorrelationClipHigh = -1 }, 512));
        Assert.Throws<ArgumentException>(() => new RrFeatureBuilder(new RrFeatureSettings(Shape: Defaults with { MaxShift = 40 }), 250));
        Assert.Equal(7, new RrFeatureSettings(Shape: Defaults).Channels);
        Assert.Equal(4, new RrFeatureSettings().Channels);
    }
}
