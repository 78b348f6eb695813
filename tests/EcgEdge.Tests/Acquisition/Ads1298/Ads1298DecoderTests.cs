using Xunit;
using EcgEdge.Acquisition.Ads1298;

namespace EcgEdge.Tests.Acquisition.Ads1298;

public class Ads1298DecoderTests
{
    private static readonly double Lsb = 2.4 / 6 / 8388608 * 1e6; // µV per LSB at VREF 2.4 V, gain 6

    private static byte[] Frame(params string[] words) => Convert.FromHexString(string.Concat(words));

    [Fact]
    public void Decodes_full_scale_sign_extension_and_small_codes()
    {
        var frame = Frame("C00000", "7FFFFF", "800000", "FFFFFF", "000001", "000000", "FFFFFE", "400000", "C00000");
        var scale = Enumerable.Repeat(Lsb, 8).ToArray();
        var uv = new float[8];
        Assert.True(Ads1298FrameDecoder.TryDecode(frame, scale, uv, out var status));
        Assert.True(status.IsValid);
        int[] codes = [8388607, -8388608, -1, 1, 0, -2, 4194304, -4194304];
        var raw = new int[8];
        Ads1298FrameDecoder.DecodeCodes(frame, raw);
        Assert.Equal(codes, raw);
        for (var c = 0; c < 8; c++) Assert.Equal(codes[c] * Lsb, uv[c], Math.Abs(codes[c] * Lsb) * 1e-7 + 1e-6); // float rounding
        Assert.Equal(400_000, uv[0], 0.1);  // +FS = VREF / gain = 400 mV
        Assert.Equal(-400_000, uv[1], 0.1); // −FS
        Assert.Equal(27, Ads1298FrameDecoder.FrameLength(8));
    }

    [Fact]
    public void Status_word_carries_lead_off_bits_per_electrode()
    {
        // 1100 | LOFF_STATP 1000 0001 | LOFF_STATN 0000 0010 | GPIO 0101
        var frame = Frame("C81025", new string('0', 48));
        var st = Ads1298FrameDecoder.ReadStatus(frame);
        Assert.True(st.IsValid);
        Assert.Equal(0x81, st.LeadOffPositive);
        Assert.Equal(0x02, st.LeadOffNegative);
        Assert.Equal(0x5, st.Gpio);
        Assert.Equal(0xC81025u, Ads1298Status.Create(0x81, 0x02, 0x5).Raw);
    }

    [Theory]
    [InlineData("000000")]
    [InlineData("800000")]
    [InlineData("E00000")]
    [InlineData("FFFFFF")]
    [InlineData("600000")]
    public void Frames_without_the_0xC_prefix_are_rejected(string status)
    {
        var frame = Frame(status, new string('1', 48));
        var uv = new float[8];
        Array.Fill(uv, 42f);
        Assert.False(Ads1298FrameDecoder.TryDecode(frame, Enumerable.Repeat(Lsb, 8).ToArray(), uv, out var st));
        Assert.False(st.IsValid);
        Assert.All(uv, v => Assert.Equal(42f, v)); // output untouched
    }

    [Fact]
    public void Encode_and_decode_round_trip_with_clamping()
    {
        var frame = new byte[27];
        Ads1298FrameDecoder.Encode(Ads1298Status.Create(0, 0), [1, -1, 9_000_000, -9_000_000, 123456, -123456, 0, 7], frame);
        var codes = new int[8];
        Ads1298FrameDecoder.DecodeCodes(frame, codes);
        Assert.Equal([1, -1, 8388607, -8388608, 123456, -123456, 0, 7], codes);
    }

    [Fact]
    public void Decoding_allocates_nothing()
    {
        var frame = Frame("C00000", "7FFFFF", "800000", "FFFFFF", "000001", "000000", "FFFFFE", "400000", "C00000");
        var scale = Enumerable.Repeat(Lsb, 8).ToArray();
        var uv = new float[8];
        Assert.Equal(0, Allocations.SmallestPerPass(() =>
        {
            for (var i = 0; i < 100_000; i++) Ads1298FrameDecoder.TryDecode(frame, scale, uv, out _);
        }));
    }

    [Fact]
    public void Limb_leads_follow_einthoven_and_goldberger()
    {
        float[] i = [1000, -200], ii = [1500, 300];
        var iii = new float[2]; var avr = new float[2]; var avl = new float[2]; var avf = new float[2];
        LimbLeads.Derive(i, ii, iii, avr, avl, avf);
        Assert.Equal([500f, 500f], iii);
        Assert.Equal([-1250f, -50f], avr);
        Assert.Equal([250f, -350f], avl);
        Assert.Equal([1000f, 400f], avf);
        // Kirchhoff: aVR + aVL + aVF = 0
        for (var k = 0; k < 2; k++) Assert.Equal(0, avr[k] + avl[k] + avf[k], 1e-3);
    }
}
