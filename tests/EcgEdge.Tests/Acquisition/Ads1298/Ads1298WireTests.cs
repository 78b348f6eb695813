using Xunit;
using EcgEdge.Acquisition.Ads1298;
using static EcgEdge.Tests.Acquisition.Ads1298.Ads1298TestKit;

namespace EcgEdge.Tests.Acquisition.Ads1298;

/// <summary>Exact bytes on the wire for each command sequence, against the emulator's register file.</summary>
public class Ads1298WireTests
{
    // Default options written out by hand from the datasheet's bit definitions:
    // CONFIG1 0x86 = HR | DR 110 (500 SPS); CONFIG2 0x40 (reserved bit, no test signal); CONFIG3 0xCC = PD_REFBUF |
    // reserved | RLDREF_INT | PD_RLD; LOFF 0x03 = 95 %, 6 nA, DC; CHnSET 0x00 = gain 6, normal input; RLD_SENSP 0x03,
    // RLD_SENSN 0x01; LOFF_SENSP 0xFF, LOFF_SENSN 0x03, LOFF_FLIP 0x00; CONFIG4 0x02 = PD_LOFF_COMP; WCT1 0x08 = WCTA on
    // CH1P; WCT2 0xCA = WCTB, WCTC on, WCTB = CH1N (001), WCTC = CH2P (010).
    private const string DefaultBlock1 = "4110" + "86" + "40" + "CC" + "03" + "0000000000000000" + "03" + "01" + "FF" + "03" + "00";
    private const string DefaultBlock2 = "5702" + "02" + "08" + "CA";
    private static readonly string ReadBack = "2019" + new string('0', 52);

    [Fact]
    public async Task Start_sends_reset_sdatac_id_config_readback_rdatac_start()
    {
        var (emu, driver) = Create();
        using var _ = driver;
        await driver.StartAsync();
        Assert.Equal(
            ["06", "11", "200000", "4300CC", DefaultBlock1, DefaultBlock2, ReadBack, "10", "08"],
            Wire(emu));
        Assert.True(emu.Converting);
        Assert.True(emu.ReadContinuous);
        Assert.Equal(0x86, emu.GetRegister(Ads1298Register.Config1));
        Assert.Equal(0xCA, emu.GetRegister(Ads1298Register.Wct2));
        Assert.Equal(0, emu.IgnoredRegisterCommands);
        // The read-back RREG returned the whole register file.
        var rb = emu.WireLog[6].Miso;
        Assert.Equal(0x92, rb[2]);
        Assert.Equal(0x86, rb[2 + 1]);
    }

    [Fact]
    public async Task Stop_sends_stop_sdatac_standby()
    {
        var (emu, driver) = Create();
        await driver.StartAsync();
        emu.ClearWireLog();
        driver.Stop();
        Assert.Equal(["0A", "11", "04"], Wire(emu));
        Assert.False(emu.Converting);
        Assert.False(emu.ReadContinuous);
        emu.ClearWireLog();
        driver.Dispose(); // already stopped: nothing more on the wire
        Assert.Empty(Wire(emu));
    }

    [Fact]
    public async Task Reconfigure_stops_writes_verifies_and_restarts()
    {
        var (emu, driver) = Create();
        using var _ = driver;
        await driver.StartAsync();
        emu.ClearWireLog();
        var o = driver.Options.Clone();
        o.Gain = 12; // GAIN code 110
        o.Mux = Ads1298Mux.Shorted;
        driver.Reconfigure(o);
        var block1 = "4110" + "86" + "40" + "CC" + "03" + string.Concat(Enumerable.Repeat("61", 8)) + "03" + "01" + "FF" + "03" + "00";
        Assert.Equal(["0A", "11", block1, DefaultBlock2, ReadBack, "10", "08"], Wire(emu));
        Assert.Equal(0x61, emu.GetRegister(Ads1298Register.Ch8Set));
    }

    [Fact]
    public void Emulator_refuses_wreg_in_rdatac_mode_and_accepts_after_sdatac()
    {
        using var emu = new Ads1298Emulator();
        Assert.True(emu.ReadContinuous); // power-up state
        emu.Write([0x41, 0x00, 0x85]);   // WREG CONFIG1 = 0x85
        Assert.Equal(1, emu.IgnoredRegisterCommands);
        Assert.Equal(0x06, emu.GetRegister(Ads1298Register.Config1)); // reset value kept
        Span<byte> rx = stackalloc byte[3];
        emu.TransferFullDuplex([0x20, 0x00, 0x00], rx); // RREG ID in RDATAC: ignored too
        Assert.Equal(2, emu.IgnoredRegisterCommands);
        emu.WriteByte(0x11);             // SDATAC
        emu.Write([0x41, 0x00, 0x85]);
        Assert.Equal(0x85, emu.GetRegister(Ads1298Register.Config1));
        emu.TransferFullDuplex([0x20, 0x00, 0x00], rx);
        Assert.Equal(0x92, rx[2]);
        emu.Write([0x40, 0x00, 0x55]);   // ID is read-only
        Assert.Equal(0x92, emu.GetRegister(Ads1298Register.Id));
        emu.WriteByte(0x06);             // RESET: back to reset values and RDATAC
        Assert.Equal(0x06, emu.GetRegister(Ads1298Register.Config1));
        Assert.True(emu.ReadContinuous);
    }

    [Fact]
    public void Emulator_reset_values_match_the_datasheet()
    {
        using var emu = new Ads1298Emulator();
        emu.WriteByte(0x11);
        Span<byte> rx = stackalloc byte[2 + 26];
        Span<byte> tx = stackalloc byte[2 + 26];
        tx.Clear();
        tx[0] = 0x20;
        tx[1] = 25;
        emu.TransferFullDuplex(tx, rx);
        Assert.Equal("92064040" + "00" + new string('0', 16) + "0000" + "000000" + "0000" + "0F" + "00" + "00" + "00" + "00" + "00",
            Convert.ToHexString(rx[2..]));
    }

    [Theory]
    [InlineData(0x92, 8, "ADS1298")]
    [InlineData(0xD2, 8, "ADS1298R")]
    [InlineData(0x91, 6, "ADS1296")]
    [InlineData(0x90, 4, "ADS1294")]
    [InlineData(0xD0, 4, "ADS1294R")]
    public async Task Id_variants_give_the_channel_count(int id, int channels, string model)
    {
        var (emu, driver) = Create(emuOptions: new Ads1298EmulatorOptions { DeviceId = (byte)id });
        using var _ = driver;
        await driver.StartAsync();
        Assert.Equal(channels, driver.Channels);
        Assert.Equal(model, driver.DeviceId.Model);
        for (var c = 0; c < 8; c++) Assert.Equal(c < channels, driver.Info.Present[c]);
        var blocks = await ReadBlocksAsync(driver, 50, 50);
        Assert.Equal(50, blocks.Sum(b => b.Data[0].Length));
        Assert.Equal(0, driver.FramesDropped);
        for (var c = channels; c < 8; c++) Assert.Equal(EcgEdge.Core.Signals.SignalQuality.Absent, blocks[0].Quality[c]);
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0xFF)]
    [InlineData(0x93)]
    [InlineData(0x3E)] // an ADS1299 or unrelated part
    public async Task Unknown_id_is_refused_with_a_typed_exception(int id)
    {
        var (emu, driver) = Create(emuOptions: new Ads1298EmulatorOptions { DeviceId = (byte)id });
        using var _ = driver;
        var ex = await Assert.ThrowsAsync<Ads1298UnknownDeviceException>(() => driver.StartAsync());
        Assert.Equal((byte)id, ex.Id);
        Assert.Equal(["06", "11", "200000"], Wire(emu)); // nothing written to an unknown part
    }

    [Fact]
    public async Task Frame_reads_are_27_zero_bytes_per_drdy()
    {
        var (emu, driver) = Create(emuOptions: new Ads1298EmulatorOptions { LogDataReads = true });
        using var _ = driver;
        await driver.StartAsync();
        emu.ClearWireLog();
        await ReadBlocksAsync(driver, 3, 3);
        Assert.Equal(3, emu.WireLog.Count);
        Assert.All(emu.WireLog, t => Assert.Equal(new byte[27], t.Mosi));
        Assert.All(emu.WireLog, t => Assert.Equal(0xC0, t.Miso[0] & 0xF0));
    }
}
