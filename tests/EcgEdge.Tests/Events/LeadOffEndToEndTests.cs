using EcgEdge.Acquisition.Ads1298;
using EcgEdge.Conditioning;
using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Events.Alerts;
using EcgEdge.Pipeline;
using EcgEdge.Tests.Acquisition.Ads1298;

namespace EcgEdge.Tests.Events;

/// <summary>Electrodes detached at the ADS1298 (emulated chip, lead-off comparators) through the whole device pipeline.</summary>
public class LeadOffEndToEndTests
{
    private sealed class Observer(EventEngine engine) : IPipelineObserver
    {
        public void OnBeat(in DetectedBeat beat) => engine.OnBeat(beat);
        public void OnQualityChanged(long sampleIndex, ReadOnlySpan<SignalQuality> quality) => engine.OnQualityChanged(sampleIndex, quality);
        public void OnBlockProcessed(SampleBlock conditioned) => engine.OnBlock(conditioned);
    }

    [Fact]
    public async Task Detached_electrodes_raise_a_lead_off_alert_within_2_s_and_no_arrhythmia_alarm()
    {
        var record = Path.Combine(TestData.RepoRoot, "src", "EcgEdge", "Resources", "mitdb", "201");
        var emu = Ads1298Emulator.ForRecord(record, 500, options: new Ads1298EmulatorOptions { LogWire = false });
        using var driver = Ads1298Driver.OpenEmulated(emu, Ads1298TestKit.FastOptions(500), 500);
        var pipeline = new EcgPipeline(driver.Info, new ConditioningOptions { MainsHz = 60 }, new QrsDetectorOptions(), 50);
        var alerts = new CollectingAlertSink();
        var engine = new EventEngine(new EventOptions(), "dev", 500, driver.Info.Present, new SampleClock(DateTimeOffset.UnixEpoch, 500.0), null, alerts);
        var observer = new Observer(engine);
        var block = new SampleBlock(50);
        const long detachAt = 120 * 500, reattachAt = 240 * 500, end = 300 * 500;
        await Task.Run(async () =>
        {
            while (await driver.ReadAsync(block, CancellationToken.None) && block.StartIndex < end)
            {
                // RA detached (CH1N, CH2N): I, II and, through the Wilson terminal, every chest lead are off.
                if (block.StartIndex == detachAt) emu.SetLeadOff(positive: 0, negative: 0b0000_0011);
                if (block.StartIndex == reattachAt) emu.SetLeadOff(0, 0);
                pipeline.ProcessBlock(block, observer);
            }
        }).WaitAsync(TimeSpan.FromMinutes(2));

        var leadOff = alerts.Alerts.Where(a => a.Type == AlertType.LeadOff).ToList();
        var onset = Assert.Single(leadOff, a => a.Phase == AlertPhase.Onset);
        Assert.InRange(onset.Onset.SampleIndex - detachAt, 0, 2 * 500);     // within 2 s of the detachment
        Assert.Contains("LeadOff", onset.Criteria);
        var offset = Assert.Single(leadOff, a => a.Phase == AlertPhase.Offset);
        Assert.InRange(offset.Offset!.SampleIndex - reattachAt, 0, 2 * 500);
        // While detached: no arrhythmia alarm of any kind (the chip still streams the recording here, so the detector
        // would see beats; suppression, not the absence of signal, keeps the alarms out).
        Assert.DoesNotContain(alerts.Alerts, a => a.Type != AlertType.LeadOff && a.Phase == AlertPhase.Onset
            && a.Onset.SampleIndex >= detachAt && a.Onset.SampleIndex < reattachAt);
    }
}
