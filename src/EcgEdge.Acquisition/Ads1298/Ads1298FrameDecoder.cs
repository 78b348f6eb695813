using System.Diagnostics;

namespace EcgEdge.Acquisition.Ads1298;

/// <summary>
/// The 24-bit status word that starts every frame: <c>1100</c> + LOFF_STATP[7:0] + LOFF_STATN[7:0] + GPIO[7:4].
/// </summary>
public readonly record struct Ads1298Status(uint Raw)
{
    /// <summary>The fixed <c>1100</c> prefix is present: the frame is aligned.</summary>
    public bool IsValid => (Raw & 0xF0_0000) == 0xC0_0000;

    /// <summary>Lead-off of the positive inputs, bit n = CH(n+1)P.</summary>
    public byte LeadOffPositive => (byte)(Raw >> 12);

    /// <summary>Lead-off of the negative inputs, bit n = CH(n+1)N.</summary>
    public byte LeadOffNegative => (byte)(Raw >> 4);

    /// <summary>GPIO[7:4] (pin levels of GPIO1..4).</summary>
    public byte Gpio => (byte)(Raw & 0x0F);

    /// <summary>Builds a valid status word.</summary>
    public static Ads1298Status Create(byte leadOffP, byte leadOffN, byte gpio = 0) =>
        new(0xC0_0000u | ((uint)leadOffP << 12) | ((uint)leadOffN << 4) | (gpio & 0x0Fu));

    public override string ToString() => $"0x{Raw:X6}{(IsValid ? "" : " (invalid)")} LOFF P=0x{LeadOffPositive:X2} N=0x{LeadOffNegative:X2}";
}

/// <summary>
/// Decodes RDATAC frames (status word + one 24-bit big-endian two's-complement sample per channel) into microvolts.
/// Everything here works on spans and allocates nothing.
/// </summary>
public static class Ads1298FrameDecoder
{
    /// <summary>Bytes of the status word and of one sample.</summary>
    public const int WordBytes = 3;

    /// <summary>Most positive code (+FS) and most negative (−FS).</summary>
    public const int MaxCode = 0x7F_FFFF, MinCode = -0x80_0000;

    /// <summary>Frame length for a device with <paramref name="channels"/> channels (27 for the ADS1298).</summary>
    public static int FrameLength(int channels) => WordBytes * (1 + channels);

    /// <summary>Input-referred µV per LSB: VREF / gain / 2^23 · 10^6.</summary>
    public static double MicrovoltsPerLsb(double vref, int gain) => vref / gain / 8_388_608.0 * 1e6;

    /// <summary>The status word of a frame.</summary>
    /// <exception cref="ArgumentException">The frame is shorter than the status word.</exception>
    public static Ads1298Status ReadStatus(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < WordBytes) ThrowTooShort();
        return new(((uint)frame[0] << 16) | ((uint)frame[1] << 8) | frame[2]);
    }

    /// <summary>The sign-extended code of <paramref name="channel"/> (0-based).</summary>
    public static int ReadCode(ReadOnlySpan<byte> frame, int channel)
    {
        var o = WordBytes * (channel + 1);
        // Place the 24 bits at the top of an int, then an arithmetic shift extends the sign.
        return ((frame[o] << 24) | (frame[o + 1] << 16) | (frame[o + 2] << 8)) >> 8;
    }

    /// <summary>
    /// Decodes one frame: when its status word is valid, writes <c>scale.Length</c> channels (code × µV/LSB of the
    /// channel) to <paramref name="microvolts"/> and returns true; otherwise leaves it untouched and returns false.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The frame is shorter than the status word, or (valid status) shorter than the channel count requires, or the output is.
    /// </exception>
    public static bool TryDecode(ReadOnlySpan<byte> frame, ReadOnlySpan<double> microvoltsPerLsb, Span<float> microvolts, out Ads1298Status status)
    {
        status = ReadStatus(frame);
        if (!status.IsValid) return false;
        var n = microvoltsPerLsb.Length;
        if (frame.Length < FrameLength(n) || microvolts.Length < n) ThrowTooShort();
        for (var c = 0; c < n; c++)
        {
            var o = WordBytes * (c + 1);
            var code = ((frame[o] << 24) | (frame[o + 1] << 16) | (frame[o + 2] << 8)) >> 8;
            microvolts[c] = (float)(code * microvoltsPerLsb[c]);
        }
        return true;
    }

    /// <summary>Decodes the raw codes of a frame (no status check).</summary>
    public static void DecodeCodes(ReadOnlySpan<byte> frame, Span<int> codes)
    {
        for (var c = 0; c < codes.Length; c++) codes[c] = ReadCode(frame, c);
    }

    /// <summary>Encodes a frame (the inverse of decoding; used by the emulator and tests). Codes are clamped to ±FS.</summary>
    public static void Encode(Ads1298Status status, ReadOnlySpan<int> codes, Span<byte> frame)
    {
        frame[0] = (byte)(status.Raw >> 16);
        frame[1] = (byte)(status.Raw >> 8);
        frame[2] = (byte)status.Raw;
        for (var c = 0; c < codes.Length; c++)
        {
            var v = Math.Clamp(codes[c], MinCode, MaxCode);
            var o = WordBytes * (c + 1);
            frame[o] = (byte)(v >> 16);
            frame[o + 1] = (byte)(v >> 8);
            frame[o + 2] = (byte)v;
        }
    }

    /// <summary>
    /// Decodes <paramref name="frameCount"/> back-to-back frames of <paramref name="channels"/> channels into planar
    /// outputs (<c>output[c][i]</c>). Returns the number of valid frames (invalid ones are left as they were).
    /// </summary>
    public static int DecodeMany(ReadOnlySpan<byte> frames, int frameCount, ReadOnlySpan<double> microvoltsPerLsb, ReadOnlySpan<float[]> output)
    {
        var len = FrameLength(microvoltsPerLsb.Length);
        Span<float> tmp = stackalloc float[microvoltsPerLsb.Length];
        var valid = 0;
        for (var i = 0; i < frameCount; i++)
        {
            if (!TryDecode(frames.Slice(i * len, len), microvoltsPerLsb, tmp, out _)) continue;
            for (var c = 0; c < tmp.Length; c++) output[c][i] = tmp[c];
            valid++;
        }
        return valid;
    }

    /// <summary>
    /// Benchmark entry point (for <c>ecgedge bench</c>): decodes 8-channel frames on the calling thread for about
    /// <paramref name="duration"/> and returns frames per second. Allocates only its setup buffers.
    /// </summary>
    public static double MeasureFramesPerSecond(TimeSpan duration)
    {
        const int batch = 4096;
        var len = FrameLength(8);
        var frames = new byte[batch * len];
        var rng = new Random(1);
        rng.NextBytes(frames);
        for (var i = 0; i < batch; i++) frames[i * len] = (byte)(0xC0 | (frames[i * len] & 0x0F));
        var scale = new double[8];
        for (var c = 0; c < 8; c++) scale[c] = MicrovoltsPerLsb(2.4, 6);
        var outBuf = new float[8];
        var sink = 0f;
        // Warm-up so tiered JIT settles.
        for (var i = 0; i < batch; i++) { TryDecode(frames.AsSpan(i * len, len), scale, outBuf, out _); sink += outBuf[0]; }
        long done = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < duration)
        {
            for (var i = 0; i < batch; i++)
            {
                TryDecode(frames.AsSpan(i * len, len), scale, outBuf, out _);
                sink += outBuf[7];
            }
            done += batch;
        }
        sw.Stop();
        GC.KeepAlive(sink);
        return done / sw.Elapsed.TotalSeconds;
    }

    private static void ThrowTooShort() => throw new ArgumentException("Frame or output span shorter than the channel count requires.");
}
