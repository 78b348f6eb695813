namespace EcgEdge.Acquisition.Ads1298;

/// <summary>ADS1298 SPI command opcodes (datasheet SBAS459, "SPI Command Definitions").</summary>
public enum Ads1298Command : byte
{
    /// <summary>Wake up from standby.</summary>
    Wakeup = 0x02,
    /// <summary>Enter standby.</summary>
    Standby = 0x04,
    /// <summary>Reset the device (registers to their reset values).</summary>
    Reset = 0x06,
    /// <summary>Start or restart conversions.</summary>
    Start = 0x08,
    /// <summary>Stop conversions.</summary>
    Stop = 0x0A,
    /// <summary>Enable Read Data Continuous mode (the power-up default; RREG/WREG are ignored in it).</summary>
    Rdatac = 0x10,
    /// <summary>Stop Read Data Continuously mode.</summary>
    Sdatac = 0x11,
    /// <summary>Read one frame by command.</summary>
    Rdata = 0x12,
    /// <summary>Read registers: 0x20 | first address, then (count − 1).</summary>
    Rreg = 0x20,
    /// <summary>Write registers: 0x40 | first address, then (count − 1), then the data.</summary>
    Wreg = 0x40,
}

/// <summary>ADS1298 register addresses.</summary>
public enum Ads1298Register : byte
{
    Id = 0x00,
    Config1 = 0x01,
    Config2 = 0x02,
    Config3 = 0x03,
    Loff = 0x04,
    Ch1Set = 0x05,
    Ch2Set = 0x06,
    Ch3Set = 0x07,
    Ch4Set = 0x08,
    Ch5Set = 0x09,
    Ch6Set = 0x0A,
    Ch7Set = 0x0B,
    Ch8Set = 0x0C,
    RldSensP = 0x0D,
    RldSensN = 0x0E,
    LoffSensP = 0x0F,
    LoffSensN = 0x10,
    LoffFlip = 0x11,
    LoffStatP = 0x12,
    LoffStatN = 0x13,
    Gpio = 0x14,
    Pace = 0x15,
    Resp = 0x16,
    Config4 = 0x17,
    Wct1 = 0x18,
    Wct2 = 0x19,
}

/// <summary>CONFIG1 bits.</summary>
public static class Config1
{
    /// <summary>High-resolution mode (HR = 1) versus low-power mode.</summary>
    public const byte HighResolution = 0x80;
    /// <summary>Daisy-chain disable bit (DAISY_EN: 0 = daisy-chain, 1 = multiple readback).</summary>
    public const byte DaisyEn = 0x40;
    /// <summary>Oscillator clock output on CLK.</summary>
    public const byte ClkEn = 0x20;
    /// <summary>Output data rate field DR[2:0].</summary>
    public const byte DrMask = 0x07;
}

/// <summary>CONFIG2 bits.</summary>
public static class Config2
{
    /// <summary>Reserved bit 6, reads 1 after reset.</summary>
    public const byte Reserved6 = 0x40;
    /// <summary>WCT chopping scheme (constant when set).</summary>
    public const byte WctChop = 0x20;
    /// <summary>Test signals generated internally.</summary>
    public const byte IntTest = 0x10;
    /// <summary>Test signal amplitude 2 × −(VREFP − VREFN)/2.4 mV (1× when clear).</summary>
    public const byte TestAmp = 0x04;
    /// <summary>TEST_FREQ[1:0] mask.</summary>
    public const byte TestFreqMask = 0x03;
    /// <summary>TEST_FREQ 00: pulsed at fCLK / 2^21.</summary>
    public const byte TestFreqDiv21 = 0x00;
    /// <summary>TEST_FREQ 01: pulsed at fCLK / 2^20.</summary>
    public const byte TestFreqDiv20 = 0x01;
    /// <summary>TEST_FREQ 11: DC.</summary>
    public const byte TestFreqDc = 0x03;
}

/// <summary>CONFIG3 bits.</summary>
public static class Config3
{
    /// <summary>Internal reference buffer powered (PD_REFBUF = 1).</summary>
    public const byte PdRefBuf = 0x80;
    /// <summary>Reserved bit 6: always write 1.</summary>
    public const byte Reserved6 = 0x40;
    /// <summary>VREFP = 4 V (needs AVDD ≥ 4.4 V); 2.4 V when clear.</summary>
    public const byte Vref4V = 0x20;
    /// <summary>RLD_IN routed to the channels whose MUX = RLD_MEAS.</summary>
    public const byte RldMeas = 0x10;
    /// <summary>RLD reference generated internally ((AVDD + AVSS)/2).</summary>
    public const byte RldRefInt = 0x08;
    /// <summary>RLD buffer powered (PD_RLD = 1).</summary>
    public const byte PdRld = 0x04;
    /// <summary>RLD lead-off sense enabled.</summary>
    public const byte RldLoffSens = 0x02;
    /// <summary>RLD lead-off status (read-only, 1 = not connected).</summary>
    public const byte RldStat = 0x01;
}

/// <summary>CONFIG4 bits.</summary>
public static class Config4
{
    /// <summary>RESP_FREQ[2:0] mask.</summary>
    public const byte RespFreqMask = 0xE0;
    /// <summary>Single-shot conversion mode.</summary>
    public const byte SingleShot = 0x08;
    /// <summary>WCT connected to RLD.</summary>
    public const byte WctToRld = 0x04;
    /// <summary>Lead-off comparators powered (PD_LOFF_COMP = 1).</summary>
    public const byte PdLoffComp = 0x02;
}

/// <summary>LOFF register fields.</summary>
public static class Loff
{
    /// <summary>COMP_TH[2:0] mask (bits 7:5).</summary>
    public const byte CompThMask = 0xE0;
    /// <summary>Pull-up/pull-down resistor lead-off mode (current source when clear).</summary>
    public const byte VleadOffEn = 0x10;
    /// <summary>ILEAD_OFF[1:0] mask (bits 3:2).</summary>
    public const byte IleadOffMask = 0x0C;
    /// <summary>FLEAD_OFF[1:0] mask.</summary>
    public const byte FleadOffMask = 0x03;
    /// <summary>FLEAD_OFF 01: AC lead-off detection at fDR/4.</summary>
    public const byte FleadOffAc = 0x01;
    /// <summary>FLEAD_OFF 11: DC lead-off detection.</summary>
    public const byte FleadOffDc = 0x03;

    /// <summary>Positive-side comparator thresholds in percent, indexed by COMP_TH.</summary>
    public static ReadOnlySpan<double> ThresholdPercent => [95, 92.5, 90, 87.5, 85, 80, 75, 70];

    /// <summary>Excitation currents in nA, indexed by ILEAD_OFF.</summary>
    public static ReadOnlySpan<int> CurrentNanoamps => [6, 12, 18, 24];
}

/// <summary>CHnSET fields.</summary>
public static class ChSet
{
    /// <summary>Channel power-down (PDn = 1).</summary>
    public const byte PowerDown = 0x80;
    /// <summary>GAINn[2:0] mask (bits 6:4).</summary>
    public const byte GainMask = 0x70;
    /// <summary>MUXn[2:0] mask.</summary>
    public const byte MuxMask = 0x07;

    /// <summary>PGA gains indexed by the GAIN field (000 = 6, 001 = 1 ... 110 = 12; 111 is not used).</summary>
    public static ReadOnlySpan<int> Gains => [6, 1, 2, 3, 4, 8, 12];

    /// <summary>GAIN field for a gain, or -1 when the PGA has no such gain.</summary>
    public static int GainCode(int gain) => Gains.IndexOf(gain);

    /// <summary>The gain a CHnSET value selects (6 for the unused code 111, as after reset).</summary>
    public static int GainOf(byte chSet)
    {
        var code = (chSet & GainMask) >> 4;
        return code < Gains.Length ? Gains[code] : 6;
    }

    /// <summary>Builds a CHnSET value.</summary>
    public static byte Compose(bool powerDown, int gain, Ads1298Mux mux)
    {
        var code = GainCode(gain);
        if (code < 0) throw new ArgumentOutOfRangeException(nameof(gain), gain, "ADS1298 gains are 1, 2, 3, 4, 6, 8 and 12.");
        return (byte)((powerDown ? PowerDown : 0) | (code << 4) | ((int)mux & MuxMask));
    }
}

/// <summary>Channel input multiplexer (CHnSET MUX[2:0]).</summary>
public enum Ads1298Mux : byte
{
    /// <summary>Normal electrode input.</summary>
    Normal = 0b000,
    /// <summary>Input shorted (offset or noise measurement).</summary>
    Shorted = 0b001,
    /// <summary>Used with RLD_MEAS to measure the RLD drive.</summary>
    RldMeasure = 0b010,
    /// <summary>MVDD supply measurement.</summary>
    Mvdd = 0b011,
    /// <summary>Temperature sensor.</summary>
    Temperature = 0b100,
    /// <summary>Internal test signal.</summary>
    TestSignal = 0b101,
    /// <summary>RLD_DRP (positive electrode is the driver).</summary>
    RldDrp = 0b110,
    /// <summary>RLD_DRN (negative electrode is the driver).</summary>
    RldDrn = 0b111,
}

/// <summary>Inputs the Wilson central terminal amplifiers can be routed to (WCTA/WCTB/WCTC[2:0]).</summary>
public enum Ads1298WctInput : byte
{
    Ch1P = 0, Ch1N = 1, Ch2P = 2, Ch2N = 3, Ch3P = 4, Ch3N = 5, Ch4P = 6, Ch4N = 7,
}

/// <summary>WCT1 and WCT2 fields.</summary>
public static class Wct
{
    /// <summary>WCT1: WCTA powered (PD_WCTA = 1).</summary>
    public const byte PdWctA = 0x08;
    /// <summary>WCT1: WCTA[2:0] mask.</summary>
    public const byte WctAMask = 0x07;
    /// <summary>WCT2: WCTC powered.</summary>
    public const byte PdWctC = 0x80;
    /// <summary>WCT2: WCTB powered.</summary>
    public const byte PdWctB = 0x40;
    /// <summary>WCT2: WCTB[2:0] mask (bits 5:3).</summary>
    public const byte WctBMask = 0x38;
    /// <summary>WCT2: WCTC[2:0] mask.</summary>
    public const byte WctCMask = 0x07;
}

/// <summary>Device identification (ID register): family, variant and channel count.</summary>
public readonly record struct Ads1298DeviceId(byte Value)
{
    /// <summary>ID of an ADS1298 (8 channels).</summary>
    public const byte Ads1298 = 0x92;
    /// <summary>ID of an ADS1298R (8 channels, respiration).</summary>
    public const byte Ads1298R = 0xD2;
    /// <summary>ID of an ADS1294 (4 channels).</summary>
    public const byte Ads1294 = 0x90;
    /// <summary>ID of an ADS1296 (6 channels).</summary>
    public const byte Ads1296 = 0x91;

    /// <summary>True for the ADS129x (0x90) and ADS129xR (0xD0) families with a 4/6/8-channel code.</summary>
    public bool IsKnown => (Value & 0xF8) is 0x90 or 0xD0 && (Value & 0x07) <= 2;

    /// <summary>True for the R (respiration) variants.</summary>
    public bool IsRVariant => (Value & 0xF8) == 0xD0;

    /// <summary>Channels: 4 + 2 × (ID &amp; 7) (4, 6 or 8).</summary>
    public int Channels => 4 + 2 * (Value & 0x07);

    /// <summary>Model name ("ADS1298", "ADS1296R" ...) or "unknown (0xNN)".</summary>
    public string Model => IsKnown ? $"ADS129{Channels}{(IsRVariant ? "R" : "")}" : $"unknown (0x{Value:X2})";

    public override string ToString() => $"{Model} (ID 0x{Value:X2})";
}

/// <summary>Timing facts of the ADS1298 with its internal 2.048 MHz oscillator.</summary>
public static class Ads1298Timing
{
    /// <summary>Nominal master clock fCLK in Hz.</summary>
    public const double ClockHz = 2_048_000;

    /// <summary>Output data rate for HR/LP mode and DR[2:0]: fCLK / (HR ? 64 : 128) / 2^DR.</summary>
    public static double DataRate(bool highResolution, int dr) =>
        dr is < 0 or > 6 ? throw new ArgumentOutOfRangeException(nameof(dr)) : ClockHz / (highResolution ? 64 : 128) / (1 << dr);

    /// <summary>The DR code for a rate in a mode, or -1 when the mode cannot produce it.</summary>
    public static int DrFor(bool highResolution, double rateHz)
    {
        for (var dr = 0; dr <= 6; dr++)
            if (Math.Abs(DataRate(highResolution, dr) - rateHz) < 1e-6) return dr;
        return -1;
    }

    /// <summary>Frequency of the internal test signal for a TEST_FREQ code (0 for DC, NaN for the unused code).</summary>
    public static double TestSignalHz(int testFreq) => testFreq switch
    {
        0 => ClockHz / (1 << 21),
        1 => ClockHz / (1 << 20),
        3 => 0,
        _ => double.NaN,
    };

    /// <summary>Test signal amplitude in µV: (1× or 2×) · (VREFP − VREFN) / 2.4 mV.</summary>
    public static double TestSignalMicrovolts(double vref, bool doubleAmplitude) => (doubleAmplitude ? 2 : 1) * vref / 2.4 * 1000.0;
}
