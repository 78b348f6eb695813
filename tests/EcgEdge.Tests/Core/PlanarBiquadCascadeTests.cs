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
    [InlineData(8, 50)]   // the conditioner's case: four chains of two channels
    [InlineData(8, 37)]   // blocks longer than the interleave buffer are chunked
    [InlineData(3, 50)]   // odd channel count: the last pair has one real lane
    [InlineData(1, 16)]
    public void Output_and_state_are_bit_identical_to_the_scalar_cascade_per_channel(int channels, int chunk)
    {
        var sections = SignalConditioner.Design(new ConditioningOptions { MainsHz = 50 }, 500);
        var data = Noise(channels, 5000, 1);
        var expected = data.Select(d => (float[])d.Clone()).ToArray();
        var scalar = Enumerable.Range(0, channels).Select(_ => new BiquadCascade(sections)).ToArray();
        var planar = new PlanarBiquadCascade(sections, channels, chunk);
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

    [Fact]
    public void Channels_not_written_back_keep_their_data()
    {
        var sections = SignalConditioner.Design(new ConditioningOptions(), 500);
        var planar = new PlanarBiquadCascade(sections, 4, 64);
        var data = Noise(4, 50, 2);
        var original = data.Select(d => (float[])d.Clone()).ToArray();
        planar.Process(data, 50, [true, false, true, false]);
        Assert.Equal(original[1], data[1]);
        Assert.Equal(original[3], data[3]);
        Assert.NotEqual(original[0], data[0]);
    }
}
