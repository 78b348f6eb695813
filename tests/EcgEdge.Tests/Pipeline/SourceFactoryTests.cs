using EcgEdge.Acquisition.Ads1298;
using EcgEdge.Acquisition.Replay;
using EcgEdge.Core.Signals;
using EcgEdge.Pipeline;

namespace EcgEdge.Tests.Pipeline;

/// <summary><see cref="SourceFactory"/>: the configured kind becomes the source every verb reads.</summary>
public class SourceFactoryTests
{
    private static readonly string Record = Path.Combine(TestData.RepoRoot, "src", "EcgEdge", "Resources", "mitdb", "201");

    [Fact]
    public async Task A_replay_and_the_emulated_ADS1298_fed_with_the_same_record_deliver_the_same_leads_at_the_pipeline_rate()
    {
        var replay = new ReplayOptions { Record = Record };
        await using var fromFile = SourceFactory.Open(SourceKind.Replay, replay, new Ads1298Options(), 500, TimeProvider.System);
        await using var emulated = SourceFactory.Open(SourceKind.Emulator, replay, new Ads1298Options(), 500, TimeProvider.System);
        Assert.IsType<ReplaySource>(fromFile);
        Assert.Equal(500, fromFile.Info.SampleRateHz);
        Assert.Equal(500, emulated.Info.SampleRateHz);
        Assert.Equal(fromFile.Info.Present, emulated.Info.Present);
        var block = new SampleBlock(50);
        Assert.True(await fromFile.ReadAsync(block, CancellationToken.None));
        Assert.Equal(50, block.Count);
    }

    [Fact]
    public void An_unknown_kind_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            SourceFactory.Open((SourceKind)99, new ReplayOptions { Record = Record }, new Ads1298Options(), 500, TimeProvider.System));
}
