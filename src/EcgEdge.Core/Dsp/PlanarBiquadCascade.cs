using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EcgEdge.Core.Dsp;

/// <summary>
/// The same cascade of second-order sections applied to several channels at once: the channels of a block are
/// interleaved two by two into 128-bit vectors of doubles (SSE2 on x64, AdvSimd on ARM64), so one pass of the
/// recurrence filters 2 channels per vector and 8 channels as 4 independent dependency chains, instead of 8 serial
/// ones. The arithmetic is exactly <see cref="BiquadCascade"/>'s — transposed direct form II in double, the same
/// operation order, the output of each section rounded to float before the next — so the results are bit-identical
/// to filtering each channel on its own (a test checks this). Allocation-free per block.
/// <para>
/// With exactly 8 channels on a CPU with AVX (x64), the channels go four by four into 256-bit vectors instead
/// (<see cref="Chunk8Avx"/>): two chains per section, half the instructions of the 128-bit path and one
/// conversion instruction per four samples in and out. Same operations in the same order per lane, so the result is
/// the same bit for bit (tests run both paths).
/// </para>
/// </summary>
public sealed class PlanarBiquadCascade
{
    private readonly double[] _c;                 // b0 b1 b2 a1 a2 per section
    private readonly int _sections, _channels, _pairs;
    private readonly Vector128<double>[] _z;      // [(section * pairs + pair) * 2 + {0: z1, 1: z2}]
    private readonly Vector128<double>[] _x;      // interleaved block: [frame * pairs + pair]
    private readonly Vector256<double>[]? _x4;    // AVX path: [frame * 2 + quad], quad q = channels 4q..4q+3

    /// <param name="sections">The cascade, applied to every channel.</param>
    /// <param name="channels">Channels filtered together.</param>
    /// <param name="maxFrames">Frames interleaved at a time.</param>
    /// <param name="allowAvx">Use the 256-bit path when it applies (8 channels, AVX); false keeps the 128-bit path
    /// (the tests compare both).</param>
    public PlanarBiquadCascade(ReadOnlySpan<Biquad> sections, int channels, int maxFrames, bool allowAvx = true)
    {
        if (sections.IsEmpty) throw new ArgumentException("At least one section is required.", nameof(sections));
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFrames, 1);
        _sections = sections.Length;
        _channels = channels;
        _pairs = (channels + 1) / 2;
        _c = new double[_sections * 5];
        for (var i = 0; i < _sections; i++)
        {
            var s = sections[i];
            _c[5 * i] = s.B0; _c[5 * i + 1] = s.B1; _c[5 * i + 2] = s.B2; _c[5 * i + 3] = s.A1; _c[5 * i + 4] = s.A2;
        }
        _z = new Vector128<double>[_sections * _pairs * 2];
        _x = new Vector128<double>[maxFrames * _pairs];
        MaxFrames = maxFrames;
        if (allowAvx && channels == 8 && Avx.IsSupported) _x4 = new Vector256<double>[maxFrames * 2];
    }

    /// <summary>True when blocks run on the 256-bit (AVX) path.</summary>
    public bool UsesAvx => _x4 is not null;

    /// <summary>Frames interleaved at a time (longer blocks are processed in chunks of this size).</summary>
    public int MaxFrames { get; }

    public int Channels => _channels;

    /// <summary>
    /// Filters the first <paramref name="count"/> samples of each channel in place. Channels whose
    /// <paramref name="write"/> flag is false are filtered (their state advances) but their data is not written back.
    /// </summary>
    public void Process(ReadOnlySpan<float[]> channels, int count, ReadOnlySpan<bool> write)
    {
        if (channels.Length < _channels || write.Length < _channels) throw new ArgumentException("fewer channels than the cascade was made for", nameof(channels));
        for (var offset = 0; offset < count; offset += MaxFrames)
        {
            if (_x4 is not null) Chunk8Avx(channels, offset, Math.Min(MaxFrames, count - offset), write);
            else Chunk(channels, offset, Math.Min(MaxFrames, count - offset), write);
        }
    }

    // The kernels below are compiled fully optimised on first use (AggressiveOptimization) instead of going through
    // tiered compilation: unoptimised (tier-0) code calls every Vector128 operator instead of emitting one
    // instruction, which measured 86 instead of 15 µs per signal-second, and in a process pinned to one CPU the
    // runtime's promotion to optimised code was still pending after 2 s of filtering (its delay is 10x longer on a
    // single CPU). A device must not spend its first seconds, or a benchmark its whole run, in that state.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Chunk(ReadOnlySpan<float[]> channels, int offset, int count, ReadOnlySpan<bool> write)
    {
        var pairs = _pairs;
        var x = _x.AsSpan(0, count * pairs);

        // Planar float → interleaved double pairs.
        for (var p = 0; p < pairs; p++)
        {
            var a = channels[2 * p].AsSpan(offset, count);
            var b = 2 * p + 1 < _channels ? channels[2 * p + 1].AsSpan(offset, count) : a;
            for (var i = 0; i < count; i++) x[i * pairs + p] = Vector128.Create((double)a[i], b[i]);
        }

        for (var s = 0; s < _sections; s++)
        {
            var b0 = Vector128.Create(_c[5 * s]);
            var b1 = Vector128.Create(_c[5 * s + 1]);
            var b2 = Vector128.Create(_c[5 * s + 2]);
            var a1 = Vector128.Create(_c[5 * s + 3]);
            var a2 = Vector128.Create(_c[5 * s + 4]);
            var z = _z.AsSpan((s * pairs) * 2, pairs * 2);
            if (pairs == 4) Section4(x, z, b0, b1, b2, a1, a2, count);
            else SectionAny(x, z, pairs, b0, b1, b2, a1, a2, count);
        }

        // Interleaved → planar (each value is already a float widened to double: the cast is exact).
        for (var c = 0; c < _channels; c++)
        {
            if (!write[c]) continue;
            var dst = channels[c].AsSpan(offset, count);
            int p = c / 2, lane = c % 2;
            for (var i = 0; i < count; i++) dst[i] = (float)x[i * pairs + p].GetElement(lane);
        }
    }

    /// <summary>Eight channels with AVX: channels 0-3 and 4-7 as two 256-bit chains per section.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Chunk8Avx(ReadOnlySpan<float[]> channels, int offset, int count, ReadOnlySpan<bool> write)
    {
        var x = _x4.AsSpan(0, count * 2);
        for (var q = 0; q < 2; q++)
        {
            var c0 = channels[4 * q].AsSpan(offset, count);
            var c1 = channels[4 * q + 1].AsSpan(offset, count);
            var c2 = channels[4 * q + 2].AsSpan(offset, count);
            var c3 = channels[4 * q + 3].AsSpan(offset, count);
            for (var i = 0; i < count; i++) x[i * 2 + q] = Avx.ConvertToVector256Double(Vector128.Create(c0[i], c1[i], c2[i], c3[i]));
        }
        for (var s = 0; s < _sections; s++)
        {
            // state of channels 0-3 = pairs 0 and 1, channels 4-7 = pairs 2 and 3 (the 128-bit layout is kept so that
            // Reset and ResetSteadyState serve both paths)
            var k = s * 8;
            var z1a = Vector256.Create(_z[k], _z[k + 2]);
            var z2a = Vector256.Create(_z[k + 1], _z[k + 3]);
            var z1b = Vector256.Create(_z[k + 4], _z[k + 6]);
            var z2b = Vector256.Create(_z[k + 5], _z[k + 7]);
            var b0 = Vector256.Create(_c[5 * s]);
            var b1 = Vector256.Create(_c[5 * s + 1]);
            var b2 = Vector256.Create(_c[5 * s + 2]);
            var a1 = Vector256.Create(_c[5 * s + 3]);
            var a2 = Vector256.Create(_c[5 * s + 4]);
            for (var i = 0; i < count; i++)
            {
                ref var ra = ref x[i * 2];
                Vector256<double> xa = ra, xb = x[i * 2 + 1];
                var ya = b0 * xa + z1a;
                var yb = b0 * xb + z1b;
                z1a = b1 * xa - a1 * ya + z2a;
                z1b = b1 * xb - a1 * yb + z2b;
                z2a = b2 * xa - a2 * ya;
                z2b = b2 * xb - a2 * yb;
                ra = Avx.ConvertToVector256Double(Avx.ConvertToVector128Single(ya));
                x[i * 2 + 1] = Avx.ConvertToVector256Double(Avx.ConvertToVector128Single(yb));
            }
            _z[k] = z1a.GetLower(); _z[k + 2] = z1a.GetUpper();
            _z[k + 1] = z2a.GetLower(); _z[k + 3] = z2a.GetUpper();
            _z[k + 4] = z1b.GetLower(); _z[k + 6] = z1b.GetUpper();
            _z[k + 5] = z2b.GetLower(); _z[k + 7] = z2b.GetUpper();
        }
        // Each value is a float widened to double: the conversion back is exact.
        for (var q = 0; q < 2; q++)
        {
            bool w0 = write[4 * q], w1 = write[4 * q + 1], w2 = write[4 * q + 2], w3 = write[4 * q + 3];
            var c0 = channels[4 * q].AsSpan(offset, count);
            var c1 = channels[4 * q + 1].AsSpan(offset, count);
            var c2 = channels[4 * q + 2].AsSpan(offset, count);
            var c3 = channels[4 * q + 3].AsSpan(offset, count);
            for (var i = 0; i < count; i++)
            {
                var f = Avx.ConvertToVector128Single(x[i * 2 + q]);
                if (w0) c0[i] = f.GetElement(0);
                if (w1) c1[i] = f.GetElement(1);
                if (w2) c2[i] = f.GetElement(2);
                if (w3) c3[i] = f.GetElement(3);
            }
        }
    }

    /// <summary>Eight channels: four independent chains per sample, state in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Section4(Span<Vector128<double>> x, Span<Vector128<double>> z, Vector128<double> b0, Vector128<double> b1,
        Vector128<double> b2, Vector128<double> a1, Vector128<double> a2, int count)
    {
        Vector128<double> z10 = z[0], z20 = z[1], z11 = z[2], z21 = z[3], z12 = z[4], z22 = z[5], z13 = z[6], z23 = z[7];
        for (var i = 0; i < count; i++)
        {
            ref var r = ref x[i * 4];
            Vector128<double> x0 = r, x1 = x[i * 4 + 1], x2 = x[i * 4 + 2], x3 = x[i * 4 + 3];
            var y0 = b0 * x0 + z10;
            var y1 = b0 * x1 + z11;
            var y2 = b0 * x2 + z12;
            var y3 = b0 * x3 + z13;
            z10 = b1 * x0 - a1 * y0 + z20;
            z11 = b1 * x1 - a1 * y1 + z21;
            z12 = b1 * x2 - a1 * y2 + z22;
            z13 = b1 * x3 - a1 * y3 + z23;
            z20 = b2 * x0 - a2 * y0;
            z21 = b2 * x1 - a2 * y1;
            z22 = b2 * x2 - a2 * y2;
            z23 = b2 * x3 - a2 * y3;
            r = RoundToSingle(y0);
            x[i * 4 + 1] = RoundToSingle(y1);
            x[i * 4 + 2] = RoundToSingle(y2);
            x[i * 4 + 3] = RoundToSingle(y3);
        }
        z[0] = z10; z[1] = z20; z[2] = z11; z[3] = z21; z[4] = z12; z[5] = z22; z[6] = z13; z[7] = z23;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SectionAny(Span<Vector128<double>> x, Span<Vector128<double>> z, int pairs, Vector128<double> b0, Vector128<double> b1,
        Vector128<double> b2, Vector128<double> a1, Vector128<double> a2, int count)
    {
        for (var p = 0; p < pairs; p++)
        {
            Vector128<double> z1 = z[2 * p], z2 = z[2 * p + 1];
            for (var i = 0; i < count; i++)
            {
                var xi = x[i * pairs + p];
                var y = b0 * xi + z1;
                z1 = b1 * xi - a1 * y + z2;
                z2 = b2 * xi - a2 * y;
                x[i * pairs + p] = RoundToSingle(y);
            }
            z[2 * p] = z1;
            z[2 * p + 1] = z2;
        }
    }

    /// <summary>Each lane rounded to float and widened back (what storing a section's output in a float buffer does).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<double> RoundToSingle(Vector128<double> v) => Vector128.WidenLower(Vector128.Narrow(v, v));

    /// <summary>Clears the state of every channel.</summary>
    public void Reset() => Array.Clear(_z);

    /// <summary>
    /// Sets <paramref name="channel"/>'s state to the steady state for a constant input <paramref name="x0"/>
    /// (as <see cref="BiquadCascade.ResetSteadyState"/>).
    /// </summary>
    public void ResetSteadyState(int channel, float x0)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(channel, _channels);
        int p = channel / 2, lane = channel % 2;
        double x = x0;
        for (var s = 0; s < _sections; s++)
        {
            double b0 = _c[5 * s], b1 = _c[5 * s + 1], b2 = _c[5 * s + 2], a1 = _c[5 * s + 3], a2 = _c[5 * s + 4];
            var y = x * (b0 + b1 + b2) / (1 + a1 + a2);
            var z2 = b2 * x - a2 * y;
            var z1 = b1 * x - a1 * y + z2;
            var k = (s * _pairs + p) * 2;
            _z[k] = _z[k].WithElement(lane, z1);
            _z[k + 1] = _z[k + 1].WithElement(lane, z2);
            x = y;
        }
    }
}
