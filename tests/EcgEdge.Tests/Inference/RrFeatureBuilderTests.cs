using EcgEdge.Inference;
using EcgEdge.Wfdb;

namespace EcgEdge.Tests.Inference;

/// <summary>
/// The RR input follows the definition the model was trained with (tools/train/ecgnat/data.py: rr_features, rr_tensor):
/// [1, pre/med − 1, post/med − 1, med − 0.8 s] at the beat's fine token, med the median of the last 32 intervals.
/// Expected values are worked out from that definition for each case.
/// </summary>
public class RrFeatureBuilderTests
{
    private const double Rate = 500;          // pipeline rate; decimation 2 to the model's 250 Hz
    private const int Dec = 2, Window = 2500, Stride = 8, Tokens = 312;
    private static readonly RrFeatureSettings Defaults = new();

    private static float[] Fill(RrFeatureBuilder b, double start, double limit = double.PositiveInfinity)
    {
        var rr = new float[Tokens * 4];
        b.Fill(rr, start, limit, Dec, Window, Stride, Tokens);
        return rr;
    }

    private static int Token(double position, double start) => (int)Math.Min(Math.Floor((position - start) / Dec) / Stride, Tokens - 1);

    private static float[] At(float[] rr, int token) => rr.AsSpan(token * 4, 4).ToArray();

    [Fact]
    public void A_regular_rhythm_gives_zero_prematurity_and_the_median_offset()
    {
        var b = new RrFeatureBuilder(Defaults, Rate);
        for (var i = 0; i < 40; i++) b.Add(1000 + i * 500.0);      // 1.0 s intervals
        var start = 1000 + 20 * 500.0 - 100;                        // a window from just before beat 20
        var rr = Fill(b, start);
        var beats = 0;
        for (var t = 0; t < Tokens; t++)
        {
            var f = At(rr, t);
            if (f[0] == 0) { Assert.All(f, v => Assert.Equal(0f, v)); continue; }
            beats++;
            Assert.Equal(0f, f[1], 6);
            Assert.Equal(0f, f[2], 6);
            Assert.Equal(0.2f, f[3], 6);                           // med 1.0 s − 0.8 s
        }
        Assert.Equal(10, beats);                                    // 10 s window, one beat per second
        Assert.Equal(1f, At(rr, Token(1000 + 20 * 500.0, start))[0]);
    }

    [Fact]
    public void A_premature_beat_has_a_short_pre_and_long_post_interval_relative_to_the_median()
    {
        var b = new RrFeatureBuilder(Defaults, Rate);
        double t = 0;
        for (var i = 0; i < 20; i++) { b.Add(t); t += 400; }          // 0.8 s intervals; last added at 7600
        var premature = t - 400 + 240;                               // 0.48 s after the previous beat
        b.Add(premature);
        var next = premature + 560;                                  // compensatory pause: 1.12 s
        b.Add(next);
        b.Add(next + 400);
        var start = premature - 2000;
        var f = At(Fill(b, start), Token(premature, start));
        // med of the last 32 intervals ending at the premature beat: 19 × 0.8 and 0.48 → 0.8
        Assert.Equal(1f, f[0]);
        Assert.Equal((float)(0.48 / 0.8 - 1), f[1], 5);
        Assert.Equal((float)(1.12 / 0.8 - 1), f[2], 5);
        Assert.Equal(0f, f[3], 5);
        // the beat after the pause: pre 1.12 s, med over 19 × 0.8, 0.48, 1.12 (21 values) → 0.8
        var g = At(Fill(b, start), Token(next, start));
        Assert.Equal((float)(1.12 / 0.8 - 1), g[1], 5);
        Assert.Equal(0f, g[2], 5);
    }

    [Fact]
    public void The_median_uses_the_last_32_intervals_and_averages_the_middle_pair_of_an_even_count()
    {
        var b = new RrFeatureBuilder(Defaults, Rate);
        double t = 0;
        b.Add(t);
        for (var i = 0; i < 40; i++) { t += 300; b.Add(t); }        // 40 intervals of 0.6 s
        for (var i = 0; i < 16; i++) { t += 500; b.Add(t); }        // then 16 of 1.0 s
        // at the last beat the last 32 intervals are 16 × 0.6 and 16 × 1.0: median (0.6 + 1.0) / 2 = 0.8
        var start = t - 1000;
        var f = At(Fill(b, start), Token(t, start));
        Assert.Equal(0f, f[3], 5);
        Assert.Equal((float)(1.0 / 0.8 - 1), f[1], 5);
        Assert.Equal(f[1], f[2]);                                     // no successor yet: post = pre
    }

    [Fact]
    public void The_first_beat_of_a_stream_takes_its_following_interval_and_a_lone_beat_the_default()
    {
        var lone = new RrFeatureBuilder(Defaults, Rate);
        lone.Add(600);
        var f = At(Fill(lone, 0), Token(600, 0));
        Assert.Equal([1f, 0f, 0f, 0f], f);                          // pre = post = med = 0.8 s

        var two = new RrFeatureBuilder(Defaults, Rate);
        two.Add(600);
        two.Add(600 + 350);                                           // 0.7 s
        var g = At(Fill(two, 0), Token(600, 0));
        Assert.Equal(0f, g[1], 6);
        Assert.Equal(0f, g[2], 6);
        Assert.Equal(-0.1f, g[3], 5);
    }

    [Fact]
    public void A_new_stream_forgets_the_intervals_across_the_gap_and_a_closing_limit_hides_later_beats()
    {
        var b = new RrFeatureBuilder(Defaults, Rate);
        for (var i = 0; i < 10; i++) b.Add(i * 400.0);               // stream 1: 0 .. 3600
        b.StartStream(10_000);
        b.Add(10_200);                                                // stream 2, 3.3 s after the last beat of stream 1
        b.Add(10_200 + 500);
        // Closing stream 1 (its tail window): the last beat has no successor within the limit, so post = pre.
        var tail = At(Fill(b, 0, limit: 4000), Token(3600, 0));
        Assert.Equal(0f, tail[1], 6);
        Assert.Equal(0f, tail[2], 6);
        // Stream 2's first beat does not see stream 1: it is a first beat (pre = med = post = 1.0 s).
        var first = At(Fill(b, 10_000), Token(10_200, 10_000));
        Assert.Equal([1f, 0f, 0f, 0.2f], first.Select(v => MathF.Round(v, 5)).ToArray());
    }

    [Fact]
    public void Features_are_clipped_and_beats_outside_the_window_are_left_out()
    {
        var b = new RrFeatureBuilder(Defaults, Rate);
        for (var i = 0; i < 10; i++) b.Add(i * 100.0);                // 0.2 s intervals: 0 … 900
        b.Add(4000);                                                   // after a 6.2-s pause
        b.Add(5600);                                                   // beyond the window [450, 5450)
        const double start = 450;
        var rr = Fill(b, start);
        var f = At(rr, Token(4000, start));
        Assert.Equal(3f, f[1]);                                        // 6.2 / 0.2 − 1 = 30, clipped to 3
        Assert.Equal(3f, f[2]);                                        // 3.2 / 0.2 − 1 = 15, clipped to 3
        Assert.Equal(-0.6f, f[3], 6);                                  // 0.2 − 0.8, clipped to −0.6
        var n = 0;
        for (var k = 0; k < Tokens; k++) n += rr[k * 4] == 1f ? 1 : 0;
        Assert.Equal(6, n);                                            // 500 … 900 and 4000
    }

    /// <summary>The definition written out plainly over the whole beat list (what tools/train does per record).</summary>
    private static double[] Plain(IReadOnlyList<double> t, int i, double rate)
    {
        var n = t.Count;
        double pre, post, med;
        if (i == 0)
        {
            pre = med = post = n > 1 ? (t[1] - t[0]) / rate : 0.8;
        }
        else
        {
            pre = (t[i] - t[i - 1]) / rate;
            post = i + 1 < n ? (t[i + 1] - t[i]) / rate : pre;
            var rr = Enumerable.Range(Math.Max(1, i - 31), i - Math.Max(1, i - 31) + 1).Select(j => (t[j] - t[j - 1]) / rate).Order().ToArray();
            med = rr.Length % 2 == 1 ? rr[rr.Length / 2] : (rr[rr.Length / 2 - 1] + rr[rr.Length / 2]) / 2;
        }
        return [Math.Clamp(pre / med - 1, -1, 3), Math.Clamp(post / med - 1, -1, 3), Math.Clamp(med - 0.8, -0.6, 1.2)];
    }

    [SkippableFact]
    public void Streaming_features_equal_the_plain_definition_on_every_window_of_a_real_record()
    {
        // MIT-BIH 208 (2955 beats, frequent PVCs and couplets): the 512-beat ring wraps around five times.
        var db = TestData.Require("mitdb");
        const double fs = 360;
        var t = AnnotationReader.Read(Path.Combine(db, "208.atr")).Where(a => AnnotationCodes.IsBeat(a.Code)).Select(a => (double)a.Sample).ToList();
        Assert.True(t.Count > 2000);
        var b = new RrFeatureBuilder(Defaults, fs);
        const int dec = 1, window = 3600, stride = 8, tokens = 450;   // 10-s windows at the record's own rate
        var rr = new float[tokens * 4];
        var next = 0;
        var checkedBeats = 0;
        for (double start = 0; start + window <= t[^1]; start += window / 2)
        {
            // beats known when the window runs: up to 1 s past its end (the stage's delay)
            while (next < t.Count && t[next] < start + window + fs) b.Add(t[next++]);
            b.Fill(rr, start, double.PositiveInfinity, dec, window, stride, tokens);
            for (var i = 0; i < t.Count && t[i] < start + window; i++)
            {
                if (t[i] < start) continue;
                var f = rr.AsSpan((int)((t[i] - start) / stride) * 4, 4);
                Assert.Equal(1f, f[0]);
                // a beat whose successor is more than 1 s past the window end takes post = pre (not yet detected)
                var plain = Plain(i + 1 < t.Count && t[i + 1] >= start + window + fs ? t.Take(i + 1).ToList() : t, i, fs);
                for (var k = 0; k < 3; k++) Assert.Equal((float)plain[k], f[k + 1], 5);
                checkedBeats++;
            }
        }
        Assert.True(checkedBeats > 2 * 2900, $"{checkedBeats} beat features checked");
    }

    [Fact]
    public void Invalid_settings_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new RrFeatureBuilder(Defaults with { HistoryIntervals = 0 }, Rate));
        Assert.Throws<ArgumentException>(() => new RrFeatureBuilder(Defaults with { ClipLow = 3, ClipHigh = -1 }, Rate));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RrFeatureBuilder(Defaults, 0));
    }
}
