using EcgEdge.Conditioning;
using EcgEdge.Core.Dsp;

namespace EcgEdge.Tests.Core;

/// <summary>The SIMD multi-channel cascade computes exactly what the scalar per-channel cascade computes.</summary>
public class PlanarBiquadCascadeTests
{
    private static float[][] Noise(int channels, int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, channels).Select(c =>
            Enumerable.Range(0, n).Select(i => (float)(0.8 * Math.Sin(2 * Math.PI * (1.1 + c) * i / 500) + 0.3 * rng.NextDouble() + 0.2 * c)).ToArray()).ToArray();
    }

    [Theory]
    [InlineData(8, 50, true)]    // the conditioner's case: two 256-bit chains where the CPU has AVX (x64)
    [InlineData(8, 37, true)]    // blocks longer than the interleave buffer are chunked
    [InlineData(8, 50, false)]   // the 128-bit path (ARM64, x64 without AVX): four chains of two channels
    [InlineData(8, 37, false)]
    [InlineData(3, 50, true)]    // odd channel count: the last pair has one real lane (always 128-bit)
    [InlineData(1, 16, true)]
    public void Output_and_state_are_bit_identical_to_the_scalar_cascade_per_channel(int channels, int chunk, bool allowAvx)
    {
        var sections = SignalConditioner.Design(new ConditioningOptions { MainsHz = 50 }, 500);
        var data = Noise(channels, 5000, 1);
        var expected = data.Select(d => (float[])d.Clone()).ToArray();
        var scalar = Enumerable.Range(0, channels).Select(_ => new BiquadCascade(sections)).ToArray();
        var planar = new PlanarBiquadCascade(sections, channels, chunk, allowAvx);
        Assert.Equal(allowAvx && channels == 8 && System.Runtime.Intrinsics.X86.Avx.IsSupported, planar.UsesAvx);
        var write = Enumerable.Repeat(true, channels).ToArray();
        for (var c = 0; c < channels; c++)
        {
            scalar[c].ResetSteadyState(expected[c][0]);
            planar.ResetSteadyState(c, data[c][0]);
        }
        // Streamed in blocks of 50 frames (so state carries across calls), both ways.
        var block = Enumerable.Range(0, channels).Select(_ => new float[50]).ToArray();
        for (var start = 0; start < 5000; start += 50)
        {
            for (var c = 0; c < channels; c++)
            {
                scalar[c].Process(expected[c].AsSpan(start, 50));
                data[c].AsSpan(start, 50).CopyTo(block[c]);
            }
            planar.Process(block, 50, write);
            for (var c = 0; c < channels; c++) block[c].CopyTo(data[c].AsSpan(start, 50));
        }
        for (var c = 0; c < channels; c++) Assert.Equal(expected[c], data[c]); // exact float equality, every sample
    }

    [Theory]
    [InlineData(4, true)]
    [InlineData(8, true)]    // AVX path where available
    [InlineData(8, false)]
    public void Channels_not_written_back_keep_their_data(int channels, bool allowAvx)
    {
        var sections = SignalConditioner.Design(new ConditioningOptions(), 500);
        var planar = new PlanarBiquadCascade(sections, channels, 64, allowAvx);
        var data = Noise(channels, 50, 2);
        var original = data.Select(d => (float[])d.Clone()).ToArray();
        var write = Enumerable.Range(0, channels).Select(c => c % 2 == 0).ToArray();
        planar.Process(data, 50, write);
        for (var c = 0; c < channels; c++)
        {
            if (write[c]) Assert.NotEqual(original[c], data[c]);
            else Assert.Equal(original[c], data[c]);
        }
    }

    [Fact]
    public void Both_paths_agree_after_a_steady_state_reset_of_every_channel()
    {
        var sections = SignalConditioner.Design(new ConditioningOptions { MainsHz = 60 }, 500);
        var wide = new PlanarBiquadCascade(sections, 8, 50, allowAvx: true);
        var narrow = new PlanarBiquadCascade(sections, 8, 50, allowAvx: false);
        var a = Noise(8, 1000, 3);
        var b = a.Select(d => (float[])d.Clone()).ToArray();
        for (var c = 0; c < 8; c++)
        {
            wide.ResetSteadyState(c, a[c][0]);
            narrow.ResetSteadyState(c, b[c][0]);
        }
        var all = Enumerable.Repeat(true, 8).ToArray();
        wide.Process(a, 1000, all);
        narrow.Process(b, 1000, all);
        for (var c = 0; c < 8; c++) Assert.Equal(b[c], a[c]);
    }
}
