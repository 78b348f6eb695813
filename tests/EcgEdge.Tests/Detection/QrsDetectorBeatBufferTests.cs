using EcgEdge.Core.Signals;
using EcgEdge.Detection;

namespace EcgEdge.Tests.Detection;

/// <summary>
/// The detector returns each block's beats in its own buffer (the pipeline reads them; nothing is called back). What it
/// finds must not depend on how the stream is cut into blocks, including a block so long that the buffer has to grow.
/// </summary>
public class QrsDetectorBeatBufferTests
{
    private const double Fs = 500;

    private static float[]?[] Signal(double seconds, double bpm) =>
        [null, Synthetic.Ecg(Fs, seconds, Synthetic.Regular(bpm, seconds), noiseUv: 20), null, null, null, null, null, null];

    private static List<DetectedBeat> Detect(float[]?[] channels, int blockFrames)
    {
        var info = Synthetic.Info(Fs, channels);
        var detector = new QrsDetector(new QrsDetectorOptions(), Fs, 0, info.Present);
        var beats = new List<DetectedBeat>();
        // The span is only valid until the next call: copied out at once, as the pipeline reads it before the next block.
        Synthetic.Stream(channels, blockFrames, b => beats.AddRange(detector.Process(b)));
        beats.AddRange(detector.Flush());
        return beats;
    }

    [Fact]
    public void The_beats_are_the_same_whatever_the_block_size_even_when_one_block_holds_more_than_the_buffer()
    {
        // 240 s at 75 bpm: 300 beats; one block of the whole signal returns all of them at once (the buffer starts at 128).
        var channels = Signal(240, 75);
        var small = Detect(channels, 50);
        var whole = Detect(channels, channels[1]!.Length);
        Assert.InRange(small.Count, 295, 300);
        Assert.Equal(small, whole);
        Assert.True(small.Zip(small.Skip(1)).All(p => p.First.SampleIndex < p.Second.SampleIndex), "beats in time order");
    }
}
