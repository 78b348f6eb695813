using System.Text.Json;
using EcgEdge.Core.Dsp;

namespace EcgEdge.Tests.Core;

/// <summary>
/// Compares our DSP with SciPy's own outputs (resample_poly, sosfilt with sosfilt_zi), recorded by
/// tools/testdata/make_dsp_reference.py into Resources/scipy_reference.json.
/// </summary>
public class ScipyReferenceTests
{
    private static readonly JsonElement Ref = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(AppContext.BaseDirectory, "Resources", "scipy_reference.json"))).RootElement;

    private static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    [Fact]
    public void Resampler_equals_scipy_resample_poly()
    {
        var x = Doubles(Ref.GetProperty("input"));
        foreach (var c in Ref.GetProperty("resample").EnumerateArray())
        {
            int up = c.GetProperty("up").GetInt32(), down = c.GetProperty("down").GetInt32();
            var expected = Doubles(c.GetProperty("output"));
            var r = new PolyphaseResampler(up, down, 1);
            Assert.Equal(expected.Length, r.OutputLengthFor(x.Length));
            var output = new float[1][] { new float[expected.Length + 16] };
            var written = 0;
            // Feed in uneven chunks to exercise the streaming state.
            var pos = 0; var chunk = 1;
            while (pos < x.Length)
            {
                var n = Math.Min(chunk, x.Length - pos);
                var input = new float[1][] { x.Skip(pos).Take(n).Select(v => (float)v).ToArray() };
                written += r.Process(input, 0, n, output, written, output[0].Length - written);
                pos += n; chunk = chunk * 3 % 97 + 1;
            }
            written += r.Flush(output, written, output[0].Length - written);
            Assert.Equal(expected.Length, written);
            var scale = expected.Max(Math.Abs);
            for (var i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - output[0][i]) < 1e-4 * scale, $"{up}/{down} sample {i}: {output[0][i]} vs {expected[i]}");
        }
    }

    [Fact]
    public void Conditioning_cascade_equals_scipy_sosfilt_with_steady_state_start()
    {
        var x = Doubles(Ref.GetProperty("input"));
        var c = Ref.GetProperty("sosfilt")[0];
        var fs = c.GetProperty("fs").GetDouble();
        var theirs = c.GetProperty("sos").EnumerateArray().Select(row => Doubles(row)).ToArray();
        var ours = new List<Biquad>();
        ours.AddRange(FilterDesign.ButterworthHighPass(2, 0.5, fs));
        ours.Add(FilterDesign.Notch(50, 30, fs));
        ours.AddRange(FilterDesign.ButterworthLowPass(4, 40, fs));
        // Same poles, same section order (SciPy may spread the gain differently, so only denominators are compared here;
        // the whole cascade's output is compared below).
        Assert.Equal(theirs.Length, ours.Count);
        for (var i = 0; i < ours.Count; i++)
        {
            Assert.Equal(1.0, theirs[i][3], 12);
            Assert.Equal(theirs[i][4], ours[i].A1, 9);
            Assert.Equal(theirs[i][5], ours[i].A2, 9);
        }
        var cascade = new BiquadCascade(ours.ToArray());
        cascade.ResetSteadyState((float)x[0]);
        var expected = Doubles(c.GetProperty("output"));
        var scale = expected.Max(Math.Abs);
        for (var i = 0; i < x.Length; i++)
        {
            var y = cascade.Process((float)x[i]);
            Assert.True(Math.Abs(y - expected[i]) < 1e-4 * scale, $"sample {i}: {y} vs {expected[i]}");
        }
    }

    [Fact]
    public void Flush_is_idempotent_and_the_output_length_is_ceil_n_up_over_down()
    {
        var r = new PolyphaseResampler(25, 18, 1);
        var input = new float[1][] { Enumerable.Range(0, 1000).Select(i => (float)Math.Sin(i / 10.0)).ToArray() };
        var output = new float[1][] { new float[2000] };
        var n = r.Process(input, 0, 1000, output, 0, 2000);
        n += r.Flush(output, n, 2000 - n);
        Assert.Equal(r.OutputLengthFor(1000), n);
        Assert.Equal(0, r.Flush(output, n, 2000 - n));
        Assert.Equal(1389, n); // ceil(1000 * 25 / 18)
    }
}
