using EcgEdge.Core.Signals;

namespace EcgEdge.Tests;

/// <summary>
/// Deterministic synthetic test signals with known ground truth (for properties that real recordings cannot pin down
/// exactly, e.g. a filter's gain or a beat's true position).
/// </summary>
public static class Synthetic
{
    /// <summary>
    /// A simple ECG-like waveform in µV: Gaussian P (160 ms before R, <paramref name="pFraction"/> of the R amplitude; 0:
    /// none), QRS (Q, R, S) and T components at the given R-peak times, plus optional white noise and mains hum.
    /// </summary>
    public static float[] Ecg(double fs, double seconds, IReadOnlyList<double> rPeakTimes, double amplitudeUv = 1000,
        double noiseUv = 0, double mainsUv = 0, double mainsHz = 50, int seed = 1, double pFraction = 0.12)
    {
        var n = (int)(fs * seconds);
        var x = new float[n];
        var rng = new Random(seed);
        foreach (var r in rPeakTimes)
        {
            if (pFraction != 0) AddGauss(x, fs, r - 0.16, 0.025, pFraction * amplitudeUv);   // P
            AddGauss(x, fs, r - 0.025, 0.008, -0.12 * amplitudeUv); // Q
            AddGauss(x, fs, r, 0.010, amplitudeUv);                  // R
            AddGauss(x, fs, r + 0.025, 0.008, -0.2 * amplitudeUv);  // S
            AddGauss(x, fs, r + 0.28, 0.05, 0.25 * amplitudeUv);    // T
        }
        for (var i = 0; i < n; i++)
        {
            double v = x[i];
            if (noiseUv > 0) v += noiseUv * Gaussian(rng);
            if (mainsUv > 0) v += mainsUv * Math.Sin(2 * Math.PI * mainsHz * i / fs);
            x[i] = (float)v;
        }
        return x;
    }

    /// <summary>Evenly spaced beats at <paramref name="bpm"/> from <paramref name="first"/> seconds.</summary>
    public static List<double> Regular(double bpm, double seconds, double first = 0.5)
    {
        var list = new List<double>();
        for (var t = first; t < seconds - 0.5; t += 60.0 / bpm) list.Add(t);
        return list;
    }

    /// <summary>Fills blocks from planar channel data and hands them to <paramref name="consume"/>.</summary>
    public static void Stream(IReadOnlyList<float[]?> channels, int blockFrames, Action<SampleBlock> consume)
    {
        var length = channels.First(c => c is not null)!.Length;
        var block = new SampleBlock(blockFrames);
        for (var start = 0; start < length; start += blockFrames)
        {
            var n = Math.Min(blockFrames, length - start);
            for (var c = 0; c < Leads.Count; c++)
            {
                var src = c < channels.Count ? channels[c] : null;
                if (src is null) { Array.Clear(block.Buffer(c)); block.SourceQuality[c] = SignalQuality.Absent; }
                else { Array.Copy(src, start, block.Buffer(c), 0, n); block.SourceQuality[c] = SignalQuality.Good; }
            }
            block.Count = n;
            block.StartIndex = start;
            block.GapBefore = 0;
            consume(block);
        }
    }

    public static SourceInfo Info(double fs, IReadOnlyList<float[]?> channels, float fullScale = float.NaN)
    {
        var present = Enumerable.Range(0, Leads.Count).Select(c => c < channels.Count && channels[c] is not null).ToArray();
        return new SourceInfo("synthetic", fs, present,
            present.Select(p => p ? fullScale : float.NaN).ToArray(),
            present.Select((p, c) => p ? Leads.Name(c) : null).ToArray());
    }

    /// <summary>An in-memory source over planar channel data (null = absent channel).</summary>
    public sealed class ArraySource(double fs, IReadOnlyList<float[]?> channels) : ISampleSource
    {
        private readonly int _length = channels.First(c => c is not null)!.Length;
        private int _pos;

        public SourceInfo Info { get; } = Synthetic.Info(fs, channels);

        public ValueTask<bool> ReadAsync(SampleBlock block, CancellationToken cancellationToken)
        {
            var n = Math.Min(block.Capacity, _length - _pos);
            block.Count = Math.Max(0, n);
            if (n <= 0) return ValueTask.FromResult(false);
            for (var c = 0; c < Leads.Count; c++)
            {
                var src = c < channels.Count ? channels[c] : null;
                if (src is null) { Array.Clear(block.Buffer(c)); block.SourceQuality[c] = SignalQuality.Absent; }
                else { Array.Copy(src, _pos, block.Buffer(c), 0, n); block.SourceQuality[c] = SignalQuality.Good; }
            }
            block.StartIndex = _pos;
            block.GapBefore = 0;
            _pos += n;
            return ValueTask.FromResult(true);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>Adds a Gaussian bump (centre and width in seconds) to <paramref name="x"/>.</summary>
    public static void AddGaussian(float[] x, double fs, double centre, double sigma, double amplitude) => AddGauss(x, fs, centre, sigma, amplitude);

    private static void AddGauss(float[] x, double fs, double center, double sigma, double amp)
    {
        var lo = Math.Max(0, (int)((center - 5 * sigma) * fs));
        var hi = Math.Min(x.Length - 1, (int)((center + 5 * sigma) * fs));
        for (var i = lo; i <= hi; i++)
        {
            var t = i / fs - center;
            x[i] += (float)(amp * Math.Exp(-0.5 * t * t / (sigma * sigma)));
        }
    }

    private static double Gaussian(Random rng)
    {
        var u1 = 1.0 - rng.NextDouble();
        var u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>VF-like: a quasi-sinusoid whose frequency wanders (random walk within ±1 Hz of <paramref name="hz"/>) and
    /// whose amplitude wanders (0.6–1.4 ×), plus white noise.</summary>
    public static float[] Vf(double hz, int seed, double amplitudeUv, double noiseUv, int n, double fs)
    {
        var r = new Random(seed);
        var x = new float[n];
        double phase = r.NextDouble() * 2 * Math.PI, f = hz, a = 1;
        for (var i = 0; i < n; i++)
        {
            f = Math.Clamp(f + 0.02 * VfGauss(r) * Math.Sqrt(250 / fs), hz - 1, hz + 1);
            a = Math.Clamp(a + 0.01 * VfGauss(r) * Math.Sqrt(250 / fs), 0.6, 1.4);
            phase += 2 * Math.PI * f / fs;
            x[i] = (float)(amplitudeUv * a * Math.Sin(phase) + noiseUv * VfGauss(r));
        }
        return x;
    }

    private static double VfGauss(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
}
