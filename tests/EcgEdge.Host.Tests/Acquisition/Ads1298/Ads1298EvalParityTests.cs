using Xunit;
using EcgEdge.Acquisition.Ads1298;
using EcgEdge.Acquisition.Replay;
using EcgEdge.Conditioning;
using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Evaluation;
using EcgEdge.Pipeline;
using EcgEdge.Wfdb;

namespace EcgEdge.Tests.Acquisition.Ads1298;

/// <summary>
/// The device path (emulator + driver) gives the same QRS figures as direct replay through the same pipeline
/// (what <c>ecgedge eval --source emulator</c> relies on).
/// </summary>
public class Ads1298EvalParityTests
{
    private sealed class Beats : IPipelineObserver
    {
        public List<long> Samples { get; } = [];
        public void OnBeat(in DetectedBeat beat) => Samples.Add(beat.SampleIndex);
    }

    private static async Task<(DetectionCounts Counts, long[] Detected)> EvaluateAsync(ISampleSource source, string record)
    {
        var pipeline = new EcgPipeline(source.Info, new ConditioningOptions(), new QrsDetectorOptions(), 50);
        var beats = new Beats();
        await pipeline.RunAsync(source, beats, CancellationToken.None);
        var detected = beats.Samples.Select(s => (long)Math.Round(s * 360.0 / 500)).Order().ToArray();
        var reference = AnnotationReader.Read(record + ".atr");
        return (Ec57.ScoreQrs(reference, detected, 360, new Ec57Settings { ScoreFromSeconds = 300 }), detected);
    }

    [SkippableTheory]
    [InlineData("208", 500)]
    [InlineData("101", 8000)]
    public async Task Emulated_device_gives_the_same_qrs_figures_as_replay(string name, double dataRate)
    {
        var record = Path.Combine(TestData.Require("mitdb"), name);
        await using var replay = new ReplaySource(new ReplayOptions { Record = record }, 500);
        var direct = await EvaluateAsync(replay, record);

        var options = new Ads1298Options { DataRateHz = dataRate, SpiClockHz = 4_096_000, ReferenceSettleMs = 0, CommandDelayMicroseconds = 0 };
        var emu = Ads1298Emulator.ForRecord(record, dataRate, options: new Ads1298EmulatorOptions { LogWire = false });
        await using var driver = Ads1298Driver.OpenEmulated(emu, options, 500);
        var device = await EvaluateAsync(driver, record);

        Assert.Equal(0, driver.GapFrames);
        Assert.True(direct.Counts.Tp > 1000);
        Assert.InRange(device.Counts.Se, direct.Counts.Se - 0.05, direct.Counts.Se + 0.05);
        Assert.InRange(device.Counts.Ppv, direct.Counts.Ppv - 0.05, direct.Counts.Ppv + 0.05);
        if (dataRate == 500)
        {
            // Only 0.05 µV of quantisation apart: the same beats; a fiducial on a flat peak may move a few samples (≤ 4 = 11 ms).
            Assert.Equal(direct.Detected.Length, device.Detected.Length);
            for (var i = 0; i < direct.Detected.Length; i++) Assert.InRange(device.Detected[i] - direct.Detected[i], -4, 4);
        }
    }
}
