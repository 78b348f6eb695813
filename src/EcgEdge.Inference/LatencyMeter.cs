using System.Diagnostics;

namespace EcgEdge.Inference;

/// <summary>
/// Inference latency: count, mean, max and quantiles from a fixed log-spaced histogram (10 µs … 100 s, 8 bins per
/// octave, so a quantile is within 9 % of the true value). Recording allocates nothing.
/// </summary>
public sealed class LatencyMeter
{
    private const double MinSeconds = 1e-5;
    private const int BinsPerOctave = 8;
    private readonly long[] _bins = new long[BinsPerOctave * 24];
    private double _sum;

    public long Count { get; private set; }
    public double MaxSeconds { get; private set; }
    public double MeanSeconds => Count == 0 ? double.NaN : _sum / Count;

    public void Record(long startTimestamp, long endTimestamp) =>
        Record((endTimestamp - startTimestamp) / (double)Stopwatch.Frequency);

    public void Record(double seconds)
    {
        Count++;
        _sum += seconds;
        if (seconds > MaxSeconds) MaxSeconds = seconds;
        var bin = seconds <= MinSeconds ? 0 : (int)(Math.Log2(seconds / MinSeconds) * BinsPerOctave) + 1;
        _bins[Math.Clamp(bin, 0, _bins.Length - 1)]++;
    }

    /// <summary>Upper edge of the bin holding quantile <paramref name="q"/> (0..1), seconds.</summary>
    public double Quantile(double q)
    {
        if (Count == 0) return double.NaN;
        var target = (long)Math.Ceiling(Math.Clamp(q, 0, 1) * Count);
        long seen = 0;
        for (var i = 0; i < _bins.Length; i++)
        {
            seen += _bins[i];
            if (seen >= Math.Max(1, target)) return Math.Min(MaxSeconds, MinSeconds * Math.Pow(2, i / (double)BinsPerOctave));
        }
        return MaxSeconds;
    }

    public void Reset()
    {
        Array.Clear(_bins);
        _sum = 0;
        Count = 0;
        MaxSeconds = 0;
    }

    public override string ToString() => Count == 0
        ? "no inferences"
        : $"n={Count} mean={MeanSeconds * 1e3:F2} ms p50={Quantile(0.5) * 1e3:F2} ms p99={Quantile(0.99) * 1e3:F2} ms max={MaxSeconds * 1e3:F2} ms";
}
