using EcgEdge.Acquisition.Ads1298;

namespace EcgEdge.Fuzz.Targets;

/// <summary>
/// The input is [channels, output length delta, scale selector, frame bytes...] through <see cref="Ads1298FrameDecoder"/>.
/// Contract: a frame whose status word lacks the 1100 prefix is refused (false, output untouched); a valid one decodes
/// every channel to code × µV/LSB with the code in −FS..+FS; a frame or output shorter than required is an
/// <see cref="ArgumentException"/> (and only then). Then <see cref="Ads1298FrameDecoder.DecodeMany"/> over whole frames.
/// </summary>
internal sealed class Ads1298FrameTarget : IFuzzTarget
{
    private bool _tooShort;

    public void Setup(string workDirectory)
    {
    }

    public void Run(byte[] input)
    {
        _tooShort = false;
        if (input.Length < 3) return;
        int channels = input[0] % 13;
        int outputLength = Math.Max(0, channels + (input[1] % 3) - 1);
        var scale = new double[channels];
        for (int c = 0; c < channels; c++)
            scale[c] = ((input[2] >> (c % 8)) & 1) == 1 ? Ads1298FrameDecoder.MicrovoltsPerLsb(2.4, 6) : (c % 5 == 4 ? double.NaN : 0.5 * c);
        var frame = input.AsSpan(3);
        var output = new float[outputLength];
        Array.Fill(output, -7f);
        _tooShort = frame.Length < Ads1298FrameDecoder.WordBytes
            || (Ads1298FrameDecoder.ReadStatus(frame).IsValid && (frame.Length < Ads1298FrameDecoder.FrameLength(channels) || outputLength < channels));
        bool ok = Ads1298FrameDecoder.TryDecode(frame, scale, output, out var status);
        Check(!_tooShort, "a too-short frame or output was decoded");
        Check(ok == status.IsValid, "TryDecode's result differs from the status word's validity");
        Check(status.Raw == (((uint)frame[0] << 16) | ((uint)frame[1] << 8) | frame[2]), "status word misread");
        for (int c = 0; c < output.Length; c++)
        {
            if (!ok || c >= channels)
            {
                Check(output[c] == -7f, $"output {c} written although it should not be");
                continue;
            }

            int code = Ads1298FrameDecoder.ReadCode(frame, c);
            Check(code is >= Ads1298FrameDecoder.MinCode and <= Ads1298FrameDecoder.MaxCode, $"code {code} outside ±FS");
            Check(output[c].Equals((float)(code * scale[c])), $"channel {c}: {output[c]} is not code × scale");
        }

        // Whole frames back to back: the count of valid ones, each written where it belongs.
        int length = Ads1298FrameDecoder.FrameLength(channels);
        int frames = frame.Length / length;
        var planes = Enumerable.Range(0, channels).Select(_ => new float[frames]).ToArray();
        int valid = Ads1298FrameDecoder.DecodeMany(frame, frames, scale, planes);
        int expected = 0;
        for (int i = 0; i < frames; i++) expected += Ads1298FrameDecoder.ReadStatus(frame.Slice(i * length)).IsValid ? 1 : 0;
        Check(valid == expected, $"DecodeMany counted {valid} valid frames, not {expected}");
    }

    public bool Expected(Exception e) => e is ArgumentException && _tooShort;

    private static void Check(bool condition, string what)
    {
        if (!condition) throw new PropertyViolation(what);
    }
}
