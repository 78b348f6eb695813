using EcgEdge.Acquisition.Ads1298;

namespace EcgEdge.Tests.Fuzz;

/// <summary>
/// Random frames of random length through <see cref="Ads1298FrameDecoder"/>. Contract: a frame whose status word lacks the
/// 1100 prefix is refused (false, output untouched); a valid one decodes every channel to code × µV/LSB with the code in
/// −FS..+FS; a frame or output shorter than the channel count requires is an <see cref="ArgumentException"/>.
/// </summary>
public class Ads1298FrameFuzzTests
{
    [Fact]
    public void Random_frames_decode_or_are_refused_or_are_an_ArgumentException()
    {
        int executed = Mutator.Check(seed: 1298, count: 50000,
            (rng, _) =>
            {
                int channels = rng.Next(0, 13);
                int length = rng.Next(4) == 0 ? rng.Next(0, 8) : Ads1298FrameDecoder.FrameLength(channels) + rng.Next(-3, 4);
                var frame = new byte[Math.Max(0, length)];
                rng.NextBytes(frame);
                if (frame.Length > 0 && rng.Next(2) == 0) frame[0] = (byte)(0xC0 | (frame[0] & 0x0F)); // mostly aligned
                var scale = Enumerable.Range(0, channels).Select(_ => rng.Next(10) == 0 ? double.NaN : rng.NextDouble() * 2).ToArray();
                return (Frame: frame, Scale: scale, Output: channels + rng.Next(-1, 2));
            },
            input =>
            {
                var output = new float[Math.Max(0, input.Output)];
                Array.Fill(output, -7f);
                bool tooShort = input.Frame.Length < Ads1298FrameDecoder.WordBytes
                    || (Ads1298FrameDecoder.ReadStatus(input.Frame).IsValid
                        && (input.Frame.Length < Ads1298FrameDecoder.FrameLength(input.Scale.Length) || output.Length < input.Scale.Length));
                try
                {
                    bool ok = Ads1298FrameDecoder.TryDecode(input.Frame, input.Scale, output, out var status);
                    Assert.False(tooShort);
                    Assert.Equal(status.IsValid, ok);
                    Assert.Equal(((uint)input.Frame[0] << 16 | (uint)input.Frame[1] << 8 | input.Frame[2]) & 0xFFFFFF, status.Raw);
                    for (int c = 0; c < output.Length; c++)
                    {
                        if (!ok || c >= input.Scale.Length)
                        {
                            Assert.Equal(-7f, output[c]);
                            continue;
                        }

                        int code = Ads1298FrameDecoder.ReadCode(input.Frame, c);
                        Assert.InRange(code, Ads1298FrameDecoder.MinCode, Ads1298FrameDecoder.MaxCode);
                        Assert.Equal((float)(code * input.Scale[c]), output[c]);
                    }
                }
                catch (ArgumentException) when (tooShort)
                {
                }
            },
            _ => false, input => $"{input.Scale.Length} channels, output {input.Output}, frame {Mutator.Hex(input.Frame)}");
        Assert.True(executed >= 50000);
    }

    [Fact]
    public void Encoded_frames_decode_to_the_clamped_codes()
    {
        var rng = new Random(8);
        Span<int> codes = stackalloc int[8];
        Span<int> decoded = stackalloc int[8];
        var frame = new byte[Ads1298FrameDecoder.FrameLength(8)];
        for (int i = 0; i < 5000; i++)
        {
            for (int c = 0; c < 8; c++) codes[c] = rng.Next(4) == 0 ? rng.Next(int.MinValue, int.MaxValue) : rng.Next(-0x80_0000, 0x80_0000);
            var status = Ads1298Status.Create((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256));
            Ads1298FrameDecoder.Encode(status, codes, frame);
            Assert.Equal(status, Ads1298FrameDecoder.ReadStatus(frame));
            Ads1298FrameDecoder.DecodeCodes(frame, decoded);
            for (int c = 0; c < 8; c++) Assert.Equal(Math.Clamp(codes[c], Ads1298FrameDecoder.MinCode, Ads1298FrameDecoder.MaxCode), decoded[c]);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void A_frame_shorter_than_the_status_word_is_an_ArgumentException(int length)
    {
        var frame = new byte[length];
        Assert.Throws<ArgumentException>(() => Ads1298FrameDecoder.ReadStatus(frame));
        Assert.Throws<ArgumentException>(() => Ads1298FrameDecoder.TryDecode(frame, [1.0], new float[1], out _));
        Assert.Throws<ArgumentException>(() => Ads1298FrameDecoder.TryDecode(frame, [], [], out _));
    }
}
