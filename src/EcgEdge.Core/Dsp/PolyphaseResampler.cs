namespace EcgEdge.Core.Dsp;

/// <summary>
/// Streaming rational resampler (up/down) with a linear-phase Kaiser-windowed sinc FIR, designed exactly as
/// SciPy's <c>resample_poly(x, up, down)</c> (cut-off 1/max(up,down) of Nyquist, 10·max(up,down) taps per side,
/// Kaiser β = 5, zero padding at the edges) and aligned the same way: output sample n is the signal at time
/// n/f_out, with no delay. Several channels are resampled in lock-step; processing allocates nothing.
/// Latency: an output needs <see cref="LookaheadInputSamples"/> input samples beyond its own time.
/// </summary>
public sealed class PolyphaseResampler
{
    private readonly float[][] _phases;   // _phases[p][j] = h[p + up*j]
    private readonly float[][] _history;  // per channel: ring of the last input samples, stored twice for contiguous reads
    private readonly int _taps;           // taps per phase
    private readonly int _channels;
    private long _inputCount;             // input samples received per channel
    private long _outputCount;            // outputs produced (after the alignment skip)
    private readonly long _skip;          // leading upfirdn outputs removed for zero delay
    private int _head;                    // next write position in the ring

    public PolyphaseResampler(int up, int down, int channels)
    {
        if (up < 1 || down < 1) throw new ArgumentOutOfRangeException(nameof(up), "up and down must be >= 1.");
        if (channels < 1) throw new ArgumentOutOfRangeException(nameof(channels));
        var g = Gcd(up, down);
        Up = up / g;
        Down = down / g;
        _channels = channels;
        var h = DesignFilter(Up, Down, out var halfLen);
        var prePad = Down - halfLen % Down;
        _skip = (halfLen + prePad) / Down;
        var padded = new float[prePad + h.Length];
        Array.Copy(h, 0, padded, prePad, h.Length);
        _taps = (padded.Length + Up - 1) / Up;
        _phases = new float[Up][];
        for (var p = 0; p < Up; p++)
        {
            _phases[p] = new float[_taps];
            for (var j = 0; j < _taps; j++)
            {
                var k = p + Up * j;
                _phases[p][j] = k < padded.Length ? padded[k] : 0f;
            }
        }
        _history = new float[channels][];
        for (var c = 0; c < channels; c++) _history[c] = new float[2 * _taps];
        LookaheadInputSamples = (int)Math.Ceiling((halfLen + prePad) / (double)Up) + 1;
    }

    /// <summary>Creates a resampler between two integer-valued rates (e.g. 360 → 500).</summary>
    public static PolyphaseResampler ForRates(double inputRateHz, double outputRateHz, int channels)
    {
        var (up, down) = RationalRatio(inputRateHz, outputRateHz);
        return new PolyphaseResampler(up, down, channels);
    }

    /// <summary>Reduced up/down factors for two rates; rates must be whole numbers of millihertz.</summary>
    public static (int Up, int Down) RationalRatio(double inputRateHz, double outputRateHz)
    {
        if (!(inputRateHz > 0) || !(outputRateHz > 0)) throw new ArgumentOutOfRangeException(nameof(inputRateHz), "Rates must be positive.");
        var a = (long)Math.Round(inputRateHz * 1000);
        var b = (long)Math.Round(outputRateHz * 1000);
        if (Math.Abs(a - inputRateHz * 1000) > 1e-6 || Math.Abs(b - outputRateHz * 1000) > 1e-6)
            throw new ArgumentException($"Rates {inputRateHz} and {outputRateHz} Hz do not form a rational ratio with millihertz resolution.");
        var g = Gcd(a, b);
        a /= g; b /= g;
        if (a > 10000 || b > 10000) throw new ArgumentException($"Resampling ratio {b}/{a} is too complex.");
        return ((int)b, (int)a);
    }

    public int Up { get; }
    public int Down { get; }

    /// <summary>Input samples that must follow an output's time before it can be produced.</summary>
    public int LookaheadInputSamples { get; }

    /// <summary>Total outputs for <paramref name="inputLength"/> inputs once flushed (ceil(n·up/down), as SciPy).</summary>
    public long OutputLengthFor(long inputLength) => (inputLength * Up + Down - 1) / Down;

    /// <summary>
    /// Pushes <paramref name="frames"/> input frames from <paramref name="input"/> (planar: input[c] spans the frames)
    /// and writes the outputs that became computable into <paramref name="output"/> (planar, same layout).
    /// Returns the number of output frames written; stops early if output has no room and keeps the rest for later
    /// only up to the ring's size, so size output ≥ frames·up/down + 2.
    /// </summary>
    public int Process(ReadOnlySpan<float[]> input, int inputOffset, int frames, ReadOnlySpan<float[]> output, int outputOffset, int outputCapacity)
    {
        var written = 0;
        for (var i = 0; i < frames; i++)
        {
            Push(input, inputOffset + i);
            written += Emit(output, outputOffset + written, outputCapacity - written, flushing: false);
        }
        return written;
    }

    /// <summary>
    /// Ends the stream: produces the remaining outputs (as if zeros followed) up to ceil(n·up/down) in total.
    /// </summary>
    public int Flush(ReadOnlySpan<float[]> output, int outputOffset, int outputCapacity)
    {
        // The stream's length is fixed at the first flush; later calls only hand out what is left (idempotent).
        if (_declaredLength < 0) _declaredLength = _inputCount;
        return Emit(output, outputOffset, outputCapacity, flushing: true);
    }

    private long _declaredLength = -1;

    /// <summary>Clears all state (a new stream starts).</summary>
    public void Reset()
    {
        foreach (var h in _history) Array.Clear(h);
        _inputCount = 0;
        _outputCount = 0;
        _head = 0;
        _declaredLength = -1;
    }

    private void Push(ReadOnlySpan<float[]> input, int index)
    {
        for (var c = 0; c < _channels; c++)
        {
            var h = _history[c];
            var v = input[c][index];
            h[_head] = v;
            h[_head + _taps] = v;
        }
        _head = (_head + 1) % _taps;
        _inputCount++;
    }

    private int Emit(ReadOnlySpan<float[]> output, int offset, int capacity, bool flushing)
    {
        var n = 0;
        var total = OutputLengthFor(flushing ? _declaredLength : _inputCount);
        while (n < capacity)
        {
            if (flushing && _outputCount >= total) break;
            var m0 = (_outputCount + _skip) * Down;  // position on the upsampled grid
            var newest = m0 / Up;                    // newest input index touched
            if (newest >= _inputCount)
            {
                if (!flushing) break;
                PushZero();
                continue;
            }
            var phase = (int)(m0 % Up);
            var coeffs = _phases[phase];
            // Newest sample in the ring is at _head-1 (index _inputCount-1); input `newest` sits `age` behind it.
            var age = (int)(_inputCount - 1 - newest);
            if (age >= _taps) throw new InvalidOperationException("Resampler history overrun.");
            // Contiguous window: ring positions (pos - j) for j = 0.._taps-1 where pos = position of `newest`.
            var pos = (_head - 1 - age + _taps) % _taps + _taps; // in the upper copy, so pos - j >= 1
            for (var c = 0; c < _channels; c++)
            {
                var h = _history[c];
                float acc = 0;
                for (var j = 0; j < _taps; j++) acc += coeffs[j] * h[pos - j];
                output[c][offset + n] = acc;
            }
            _outputCount++;
            n++;
        }
        return n;
    }

    private void PushZero()
    {
        for (var c = 0; c < _channels; c++)
        {
            _history[c][_head] = 0;
            _history[c][_head + _taps] = 0;
        }
        _head = (_head + 1) % _taps;
        _inputCount++; // virtual zeros: the declared length (fixed at the first flush) does not change
    }

    /// <summary>Kaiser-windowed sinc as SciPy's firwin(2·halfLen+1, 1/max(up,down), window=('kaiser', 5.0)) · up.</summary>
    internal static float[] DesignFilter(int up, int down, out int halfLen)
    {
        var maxRate = Math.Max(up, down);
        var fc = 1.0 / maxRate;
        halfLen = 10 * maxRate;
        var n = 2 * halfLen + 1;
        var h = new double[n];
        const double beta = 5.0;
        var i0Beta = BesselI0(beta);
        var alpha = 0.5 * (n - 1);
        double sum = 0;
        for (var i = 0; i < n; i++)
        {
            var m = i - alpha;
            var x = fc * m;
            var sinc = x == 0 ? 1.0 : Math.Sin(Math.PI * x) / (Math.PI * x);
            var r = 2.0 * i / (n - 1) - 1.0;
            var w = BesselI0(beta * Math.Sqrt(Math.Max(0, 1 - r * r))) / i0Beta;
            h[i] = fc * sinc * w;
            sum += h[i];
        }
        var result = new float[n];
        for (var i = 0; i < n; i++) result[i] = (float)(h[i] / sum * up);
        return result;
    }

    internal static double BesselI0(double x)
    {
        // Power series; converges quickly for the small arguments used here.
        double sum = 1, term = 1, q = x * x / 4;
        for (var k = 1; k < 200; k++)
        {
            term *= q / ((double)k * k);
            sum += term;
            if (term < sum * 1e-17) break;
        }
        return sum;
    }

    private static long Gcd(long a, long b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }

    private static int Gcd(int a, int b) => (int)Gcd((long)a, b);
}
