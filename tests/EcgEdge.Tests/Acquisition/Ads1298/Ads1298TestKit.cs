using Xunit;
using EcgEdge.Acquisition.Ads1298;
using EcgEdge.Core.Signals;

namespace EcgEdge.Tests.Acquisition.Ads1298;

/// <summary>Helpers shared by the ADS1298 tests.</summary>
internal static class Ads1298TestKit
{
    /// <summary>Default options with the waits that only matter on hardware switched off.</summary>
    public static Ads1298Options FastOptions(double rate = 500)
    {
        return new Ads1298Options
        {
            DataRateHz = rate,
            SpiClockHz = rate > 4000 ? 4_096_000 : 2_048_000,
            ReferenceSettleMs = 0,
            CommandDelayMicroseconds = 0,
            ReinitBackoffMs = 1,
        };
    }

    public static (Ads1298Emulator Emu, Ads1298Driver Driver) Create(Ads1298Options? options = null, Ads1298EmulatorOptions? emuOptions = null, ISampleSource? waveform = null, double pipelineRate = 0)
    {
        var o = options ?? FastOptions();
        var emu = new Ads1298Emulator(waveform, emuOptions);
        var driver = Ads1298Driver.OpenEmulated(emu, o, pipelineRate > 0 ? pipelineRate : o.DataRateHz);
        return (emu, driver);
    }

    /// <summary>Hex strings of the logged transfers (MOSI).</summary>
    public static List<string> Wire(Ads1298Emulator emu) => emu.WireLog.Select(t => Convert.ToHexString(t.Mosi)).ToList();

    /// <summary>Reads every block until <paramref name="frames"/> frames were delivered or the stream ends.</summary>
    public static async Task<List<(long Start, int Gap, float[][] Data, SignalQuality[] Quality)>> ReadBlocksAsync(ISampleSource src, int frames, int blockSize = 100, Action<int>? perBlock = null)
    {
        var list = new List<(long, int, float[][], SignalQuality[])>();
        var block = new SampleBlock(blockSize);
        var total = 0;
        var i = 0;
        while (total < frames && await src.ReadAsync(block, CancellationToken.None))
        {
            var data = new float[Leads.Count][];
            for (var c = 0; c < Leads.Count; c++) data[c] = block.Channel(c).ToArray();
            list.Add((block.StartIndex, block.GapBefore, data, (SignalQuality[])block.SourceQuality.Clone()));
            total += block.Count;
            perBlock?.Invoke(i++);
        }
        return list;
    }

    /// <summary>Reads all frames of a source into per-channel arrays indexed by pipeline index (NaN where gaps are).</summary>
    public static async Task<float[][]> ReadAllAsync(ISampleSource src, int maxFrames)
    {
        var data = new float[Leads.Count][];
        for (var c = 0; c < Leads.Count; c++) { data[c] = new float[maxFrames]; Array.Fill(data[c], float.NaN); }
        var block = new SampleBlock(512);
        while (await src.ReadAsync(block, CancellationToken.None))
        {
            if (block.StartIndex >= maxFrames) break;
            var n = (int)Math.Min(block.Count, maxFrames - block.StartIndex);
            for (var c = 0; c < Leads.Count; c++) block.Channel(c)[..n].CopyTo(data[c].AsSpan((int)block.StartIndex));
        }
        return data;
    }
}
