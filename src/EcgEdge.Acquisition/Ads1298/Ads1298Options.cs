using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace EcgEdge.Acquisition.Ads1298;

/// <summary>Lead-off detection mode (LOFF.FLEAD_OFF).</summary>
public enum Ads1298LeadOffMode
{
    /// <summary>Comparators off, no excitation.</summary>
    Off,
    /// <summary>DC excitation current (FLEAD_OFF = 11).</summary>
    Dc,
    /// <summary>AC excitation at fDR/4 (FLEAD_OFF = 01).</summary>
    Ac,
}

/// <summary>Which libgpiod generation drives the GPIO lines.</summary>
public enum Ads1298GpioDriver
{
    /// <summary>libgpiod v1 when installed, else v2.</summary>
    Auto,
    /// <summary>libgpiod v1 (libgpiod.so.2: Debian bookworm, Raspberry Pi OS, JetPack 5/6).</summary>
    LibGpiodV1,
    /// <summary>libgpiod v2 (libgpiod.so.3: Debian trixie and later).</summary>
    LibGpiodV2,
}

/// <summary>Internal test signal (CONFIG2.INT_TEST, TEST_FREQ).</summary>
public enum Ads1298TestSignal
{
    /// <summary>Test signal generator off.</summary>
    Off,
    /// <summary>Square wave at fCLK/2^21 (≈ 0.98 Hz).</summary>
    Slow,
    /// <summary>Square wave at fCLK/2^20 (≈ 1.95 Hz).</summary>
    Fast,
    /// <summary>DC level.</summary>
    Dc,
}

/// <summary>
/// Configuration of the ADS1298 front-end and of its driver. Bound from the "Ads1298" configuration section;
/// <see cref="Validate"/> checks everything DataAnnotations cannot and returns readable messages. The register
/// values the options produce are given by <see cref="ToRegisters"/>.
/// </summary>
public sealed class Ads1298Options : IValidatableObject
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Ads1298";

    // ---- bus and pins -------------------------------------------------------------------------------------------

    /// <summary>SPI bus number (/dev/spidev&lt;bus&gt;.&lt;cs&gt;).</summary>
    [Range(0, 255)]
    public int SpiBus { get; set; }

    /// <summary>SPI chip-select line.</summary>
    [Range(0, 255)]
    public int ChipSelect { get; set; }

    /// <summary>
    /// SPI clock in Hz (mode 1). At most 4.096 MHz: RREG/WREG bytes go back to back, and one byte must last at
    /// least the 4 tCLK (≈ 2 µs) the device needs to decode the previous one.
    /// </summary>
    [Range(100_000, 4_096_000)]
    public int SpiClockHz { get; set; } = 2_048_000;

    /// <summary>GPIO chip number (/dev/gpiochip&lt;n&gt;) of the DRDY/RESET/START/PWDN lines.</summary>
    [Range(0, 64)]
    public int GpioChip { get; set; }

    /// <summary>libgpiod generation (Auto: v1, falling back to v2).</summary>
    [EnumDataType(typeof(Ads1298GpioDriver))]
    public Ads1298GpioDriver GpioDriver { get; set; } = Ads1298GpioDriver.Auto;

    /// <summary>Line offset of DRDY (input, falling edge = frame ready). Required on hardware.</summary>
    [Range(-1, 1023)]
    public int DrdyPin { get; set; } = -1;

    /// <summary>Line offset of RESET (output, active low), or -1 to reset with the RESET opcode.</summary>
    [Range(-1, 1023)]
    public int ResetPin { get; set; } = -1;

    /// <summary>Line offset of START (output, held low: conversions are started by opcode), or -1 when tied low.</summary>
    [Range(-1, 1023)]
    public int StartPin { get; set; } = -1;

    /// <summary>Line offset of PWDN (output, active low), or -1 when tied high.</summary>
    [Range(-1, 1023)]
    public int PowerDownPin { get; set; } = -1;

    // ---- conversion ---------------------------------------------------------------------------------------------

    /// <summary>Output data rate in SPS: 500 · 2^k up to 32000 (HR) or 250 · 2^k up to 16000 (LP).</summary>
    [Range(250.0, 32000.0)]
    public double DataRateHz { get; set; } = 500;

    /// <summary>High-resolution mode (CONFIG1.HR); low-power mode when false.</summary>
    public bool HighResolution { get; set; } = true;

    /// <summary>PGA gain of every channel (1, 2, 3, 4, 6, 8 or 12) unless <see cref="ChannelGains"/> says otherwise.</summary>
    [Range(1, 12)]
    public int Gain { get; set; } = 6;

    /// <summary>Optional per-channel gains, CH1 first, comma separated ("6,6,12,12,12,12,12,12").</summary>
    public string? ChannelGains { get; set; }

    /// <summary>Input multiplexer of every powered channel (Normal for ECG; TestSignal/Shorted are used by the self-test).</summary>
    [EnumDataType(typeof(Ads1298Mux))]
    public Ads1298Mux Mux { get; set; } = Ads1298Mux.Normal;

    /// <summary>Channels to power down, by number (1..8) or lead name ("7,8" or "V5,V6"). Empty: all powered.</summary>
    public string? PowerDownChannels { get; set; }

    /// <summary>Reference voltage: 2.4 V, or 4 V (CONFIG3.VREF_4V, needs AVDD ≥ 4.4 V).</summary>
    public double ReferenceVolts { get; set; } = 2.4;

    // ---- right-leg drive and WCT -----------------------------------------------------------------------------------

    /// <summary>Right-leg drive on (CONFIG3.PD_RLD, internal reference).</summary>
    public bool RightLegDrive { get; set; } = true;

    /// <summary>RLD_SENSP: positive inputs summed into the RLD amplifier (default CH1P = LA, CH2P = LL).</summary>
    [Range(0, 255)]
    public int RldSenseP { get; set; } = 0x03;

    /// <summary>RLD_SENSN: negative inputs summed into the RLD amplifier (default CH1N = RA).</summary>
    [Range(0, 255)]
    public int RldSenseN { get; set; } = 0x01;

    /// <summary>Wilson central terminal amplifiers on (the reference of V1..V6 on CH3N..CH8N).</summary>
    public bool WilsonCentralTerminal { get; set; } = true;

    /// <summary>WCTA input (default CH1P = LA with the documented wiring).</summary>
    [EnumDataType(typeof(Ads1298WctInput))]
    public Ads1298WctInput WctA { get; set; } = Ads1298WctInput.Ch1P;

    /// <summary>WCTB input (default CH1N = RA).</summary>
    [EnumDataType(typeof(Ads1298WctInput))]
    public Ads1298WctInput WctB { get; set; } = Ads1298WctInput.Ch1N;

    /// <summary>WCTC input (default CH2P = LL).</summary>
    [EnumDataType(typeof(Ads1298WctInput))]
    public Ads1298WctInput WctC { get; set; } = Ads1298WctInput.Ch2P;

    // ---- lead-off -----------------------------------------------------------------------------------------------

    /// <summary>Lead-off detection mode.</summary>
    [EnumDataType(typeof(Ads1298LeadOffMode))]
    public Ads1298LeadOffMode LeadOffMode { get; set; } = Ads1298LeadOffMode.Dc;

    /// <summary>Excitation current: 6, 12, 18 or 24 nA.</summary>
    [Range(6, 24)]
    public int LeadOffCurrentNanoamps { get; set; } = 6;

    /// <summary>Comparator threshold (positive side) in percent: 95, 92.5, 90, 87.5, 85, 80, 75 or 70.</summary>
    [Range(70.0, 95.0)]
    public double LeadOffThresholdPercent { get; set; } = 95;

    /// <summary>LOFF_SENSP: positive inputs checked for lead-off (default all).</summary>
    [Range(0, 255)]
    public int LeadOffSenseP { get; set; } = 0xFF;

    /// <summary>LOFF_SENSN: negative inputs checked (default CH1N and CH2N = RA; CH3N..CH8N are the WCT).</summary>
    [Range(0, 255)]
    public int LeadOffSenseN { get; set; } = 0x03;

    // ---- test signal --------------------------------------------------------------------------------------------

    /// <summary>Internal test signal generator (route it to channels with <see cref="Mux"/> = TestSignal).</summary>
    [EnumDataType(typeof(Ads1298TestSignal))]
    public Ads1298TestSignal TestSignal { get; set; } = Ads1298TestSignal.Off;

    /// <summary>Test signal at 2× amplitude (CONFIG2.TEST_AMP).</summary>
    public bool TestSignalDoubleAmplitude { get; set; }

    // ---- driver behaviour ---------------------------------------------------------------------------------------

    /// <summary>DRDY watchdog in ms: no frame for this long means a stalled chip. 0 = automatic (max(200 ms, 20 frame periods)).</summary>
    [Range(0, 60_000)]
    public int DrdyTimeoutMs { get; set; }

    /// <summary>Consecutive frames with a bad status word after which the device is re-initialised.</summary>
    [Range(1, 100_000)]
    public int MaxConsecutiveBadFrames { get; set; } = 16;

    /// <summary>Re-initialisation attempts (without a good frame in between) before the driver gives up with an exception.</summary>
    [Range(1, 20)]
    public int MaxReinitAttempts { get; set; } = 3;

    /// <summary>Delay before re-initialisation attempt n is n × this (ms).</summary>
    [Range(0, 10_000)]
    public int ReinitBackoffMs { get; set; } = 100;

    /// <summary>Wait after releasing PWDN (power-on reset, tPOR), in ms. Only used when <see cref="PowerDownPin"/> is set.</summary>
    [Range(0, 5_000)]
    public int PowerUpDelayMs { get; set; } = 150;

    /// <summary>Wait after powering the reference buffer (CONFIG3) on start, in ms.</summary>
    [Range(0, 5_000)]
    public int ReferenceSettleMs { get; set; } = 150;

    /// <summary>Gap after a command opcode, in µs (4 tCLK ≈ 2 µs).</summary>
    [Range(0, 1_000)]
    public int CommandDelayMicroseconds { get; set; } = 2;

    /// <summary>A shallow copy (the self-test derives its configurations from the running one).</summary>
    public Ads1298Options Clone() => (Ads1298Options)MemberwiseClone();

    /// <summary>Data rate code DR[2:0] for <see cref="DataRateHz"/> in the selected mode.</summary>
    public int DataRateCode => Ads1298Timing.DrFor(HighResolution, DataRateHz);

    /// <summary>Gain of channel <paramref name="channel"/> (0-based).</summary>
    public int GainOf(int channel)
    {
        var gains = ParseGains(out _);
        return gains is null ? Gain : gains[channel];
    }

    /// <summary>Whether channel <paramref name="channel"/> (0-based) is powered down.</summary>
    public bool IsPoweredDown(int channel) => (ParsePowerDown(out _) & (1 << channel)) != 0;

    /// <summary>µV per LSB of channel <paramref name="channel"/>: VREF / gain / 2^23.</summary>
    public double MicrovoltsPerLsb(int channel) => Ads1298FrameDecoder.MicrovoltsPerLsb(ReferenceVolts, GainOf(channel));

    /// <summary>
    /// The cross-field rules, beyond the DataAnnotations. The source-generated <see cref="Ads1298OptionsValidator"/> runs them
    /// with the attributes (reflection-free, trimming-safe), so one validator says everything that is wrong.
    /// </summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var errors = new List<string>();
        if (DataRateCode < 0)
        {
            var valid = string.Join(", ", Enumerable.Range(0, 7).Select(dr => Ads1298Timing.DataRate(HighResolution, dr)).Reverse());
            errors.Add($"{SectionName}:DataRateHz {DataRateHz} is not available in {(HighResolution ? "high-resolution" : "low-power")} mode (valid: {valid}).");
        }
        else
        {
            var frameMicros = 8.0 * Ads1298FrameDecoder.FrameLength(8) / SpiClockHz * 1e6;
            var periodMicros = 1e6 / DataRateHz;
            if (frameMicros > 0.75 * periodMicros)
                errors.Add($"{SectionName}: reading a frame at SpiClockHz {SpiClockHz} takes {frameMicros:0} µs, more than 75 % of the {periodMicros:0} µs frame period at {DataRateHz} SPS; raise SpiClockHz (max 4096000) or lower DataRateHz.");
        }
        if (ChSet.GainCode(Gain) < 0) errors.Add($"{SectionName}:Gain {Gain} is not a PGA gain (1, 2, 3, 4, 6, 8, 12).");
        ParseGains(out var gainError);
        if (gainError is not null) errors.Add(gainError);
        ParsePowerDown(out var pdError);
        if (pdError is not null) errors.Add(pdError);
        if (ReferenceVolts is not (2.4 or 4.0)) errors.Add($"{SectionName}:ReferenceVolts must be 2.4 or 4 (got {ReferenceVolts}).");
        if (LeadOffMode != Ads1298LeadOffMode.Off)
        {
            if (Loff.CurrentNanoamps.IndexOf(LeadOffCurrentNanoamps) < 0)
                errors.Add($"{SectionName}:LeadOffCurrentNanoamps must be 6, 12, 18 or 24 (got {LeadOffCurrentNanoamps}).");
            if (Loff.ThresholdPercent.IndexOf(LeadOffThresholdPercent) < 0)
                errors.Add($"{SectionName}:LeadOffThresholdPercent must be one of 95, 92.5, 90, 87.5, 85, 80, 75, 70 (got {LeadOffThresholdPercent}).");
        }
        if (WilsonCentralTerminal && (WctA == WctB || WctB == WctC || WctA == WctC))
            errors.Add($"{SectionName}: WctA, WctB and WctC must be three different inputs.");
        if (Mux == Ads1298Mux.TestSignal && TestSignal == Ads1298TestSignal.Off)
            errors.Add($"{SectionName}: Mux = TestSignal needs TestSignal (Slow, Fast or Dc).");
        var pins = new[] { (DrdyPin, nameof(DrdyPin)), (ResetPin, nameof(ResetPin)), (StartPin, nameof(StartPin)), (PowerDownPin, nameof(PowerDownPin)) }
            .Where(p => p.Item1 >= 0).ToList();
        foreach (var dup in pins.GroupBy(p => p.Item1).Where(g => g.Count() > 1))
            errors.Add($"{SectionName}: {string.Join(" and ", dup.Select(d => d.Item2))} use the same line {dup.Key}.");
        return errors.Select(e => new ValidationResult(e));
    }

    /// <summary>The register values (index = register address, 0x00..0x19) these options configure.</summary>
    public byte[] ToRegisters()
    {
        Ads1298OptionsValidator.ThrowIfInvalid(this);
        var r = new byte[Ads1298RegisterMap.Count];
        r[(int)Ads1298Register.Id] = 0;
        r[(int)Ads1298Register.Config1] = (byte)((HighResolution ? Config1.HighResolution : 0) | DataRateCode);
        var c2 = Config2.Reserved6;
        if (TestSignal != Ads1298TestSignal.Off)
        {
            c2 |= Config2.IntTest;
            c2 |= TestSignal switch
            {
                Ads1298TestSignal.Slow => Config2.TestFreqDiv21,
                Ads1298TestSignal.Fast => Config2.TestFreqDiv20,
                _ => Config2.TestFreqDc,
            };
            if (TestSignalDoubleAmplitude) c2 |= Config2.TestAmp;
        }
        r[(int)Ads1298Register.Config2] = c2;
        var c3 = (byte)(Config3.PdRefBuf | Config3.Reserved6);
        if (ReferenceVolts == 4.0) c3 |= Config3.Vref4V;
        if (RightLegDrive) c3 |= Config3.RldRefInt | Config3.PdRld;
        r[(int)Ads1298Register.Config3] = c3;
        byte loff = 0;
        if (LeadOffMode != Ads1298LeadOffMode.Off)
        {
            loff = (byte)((Loff.ThresholdPercent.IndexOf(LeadOffThresholdPercent) << 5)
                | (Loff.CurrentNanoamps.IndexOf(LeadOffCurrentNanoamps) << 2)
                | (LeadOffMode == Ads1298LeadOffMode.Dc ? Loff.FleadOffDc : Loff.FleadOffAc));
        }
        r[(int)Ads1298Register.Loff] = loff;
        var pd = ParsePowerDown(out _);
        for (var c = 0; c < 8; c++)
        {
            var off = (pd & (1 << c)) != 0;
            r[(int)Ads1298Register.Ch1Set + c] = ChSet.Compose(off, GainOf(c), off ? Ads1298Mux.Shorted : Mux);
        }
        var active = (byte)~pd;
        r[(int)Ads1298Register.RldSensP] = RightLegDrive ? (byte)(RldSenseP & active) : (byte)0;
        r[(int)Ads1298Register.RldSensN] = RightLegDrive ? (byte)(RldSenseN & active) : (byte)0;
        var loffOn = LeadOffMode != Ads1298LeadOffMode.Off;
        r[(int)Ads1298Register.LoffSensP] = loffOn ? (byte)(LeadOffSenseP & active) : (byte)0;
        r[(int)Ads1298Register.LoffSensN] = loffOn ? (byte)(LeadOffSenseN & active) : (byte)0;
        r[(int)Ads1298Register.LoffFlip] = 0;
        r[(int)Ads1298Register.Gpio] = 0x0F;
        r[(int)Ads1298Register.Config4] = loffOn ? Config4.PdLoffComp : (byte)0;
        if (WilsonCentralTerminal)
        {
            r[(int)Ads1298Register.Wct1] = (byte)(Wct.PdWctA | (byte)WctA);
            r[(int)Ads1298Register.Wct2] = (byte)(Wct.PdWctC | Wct.PdWctB | ((byte)WctB << 3) | (byte)WctC);
        }
        return r;
    }

    private int[]? ParseGains(out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(ChannelGains)) return null;
        var parts = ChannelGains.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 8)
        {
            error = $"{SectionName}:ChannelGains must list 8 gains, CH1 first (got {parts.Length}).";
            return null;
        }
        var gains = new int[8];
        for (var i = 0; i < 8; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out gains[i]) || ChSet.GainCode(gains[i]) < 0)
            {
                error = $"{SectionName}:ChannelGains entry {i + 1} '{parts[i]}' is not a PGA gain (1, 2, 3, 4, 6, 8, 12).";
                return null;
            }
        }
        return gains;
    }

    private int ParsePowerDown(out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(PowerDownChannels)) return 0;
        var mask = 0;
        foreach (var p in PowerDownChannels.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int ch;
            if (int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 8) ch = n - 1;
            else if (p.StartsWith("CH", StringComparison.OrdinalIgnoreCase) && int.TryParse(p.AsSpan(2), NumberStyles.Integer, CultureInfo.InvariantCulture, out n) && n is >= 1 and <= 8) ch = n - 1;
            else if (Core.Signals.Leads.TryParse(p, out var lead)) ch = (int)lead;
            else
            {
                error = $"{SectionName}:PowerDownChannels entry '{p}' is not a channel (1..8, CH1..CH8, I, II, V1..V6).";
                return 0;
            }
            mask |= 1 << ch;
        }
        return mask;
    }
}

/// <summary>Register map facts used by the driver and the emulator.</summary>
public static class Ads1298RegisterMap
{
    /// <summary>Number of registers (0x00..0x19).</summary>
    public const int Count = 0x1A;

    /// <summary>Reset values (SBAS459 register map).</summary>
    public static ReadOnlySpan<byte> ResetValues =>
    [
        0x92, // ID (read-only; the device's own)
        0x06, // CONFIG1
        0x40, // CONFIG2
        0x40, // CONFIG3
        0x00, // LOFF
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // CH1SET..CH8SET
        0x00, 0x00, // RLD_SENSP, RLD_SENSN
        0x00, 0x00, 0x00, // LOFF_SENSP, LOFF_SENSN, LOFF_FLIP
        0x00, 0x00, // LOFF_STATP, LOFF_STATN (read-only)
        0x0F, // GPIO
        0x00, // PACE
        0x00, // RESP
        0x00, // CONFIG4
        0x00, // WCT1
        0x00, // WCT2
    ];

    /// <summary>True for registers a WREG cannot change (ID, LOFF_STATP, LOFF_STATN).</summary>
    public static bool IsReadOnly(int address) =>
        address is (int)Ads1298Register.Id or (int)Ads1298Register.LoffStatP or (int)Ads1298Register.LoffStatN;

    /// <summary>Bits of a register that read back as written (status and input bits excluded).</summary>
    public static byte WritableMask(int address) => address switch
    {
        (int)Ads1298Register.Id or (int)Ads1298Register.LoffStatP or (int)Ads1298Register.LoffStatN => 0x00,
        (int)Ads1298Register.Config3 => 0xFE,       // RLD_STAT is a status bit
        (int)Ads1298Register.Gpio => 0x0F,          // GPIOD[7:4] follow the pins when inputs
        _ => 0xFF,
    };
}

/// <summary>The first block of registers the driver writes (CONFIG1..LOFF_FLIP) and the second (CONFIG4..WCT2).</summary>
internal static class Ads1298WritePlan
{
    public const int FirstStart = (int)Ads1298Register.Config1;
    public const int FirstCount = (int)Ads1298Register.LoffFlip - (int)Ads1298Register.Config1 + 1;
    public const int SecondStart = (int)Ads1298Register.Config4;
    public const int SecondCount = (int)Ads1298Register.Wct2 - (int)Ads1298Register.Config4 + 1;
}

/// <summary>Source-generated (reflection-free, trimming-safe) validator of <see cref="Ads1298Options"/>: the DataAnnotations and the
/// cross-field rules of <see cref="Ads1298Options.Validate(ValidationContext)"/>.</summary>
[Microsoft.Extensions.Options.OptionsValidator]
public sealed partial class Ads1298OptionsValidator : Microsoft.Extensions.Options.IValidateOptions<Ads1298Options>
{
    /// <summary>
    /// Throws <see cref="Ads1298ConfigurationException"/> listing every problem (attributes and cross-field rules) when the
    /// options are invalid: the driver checks what it is given, with or without a host.
    /// </summary>
    public static void ThrowIfInvalid(Ads1298Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (new Ads1298OptionsValidator().Validate(Ads1298Options.SectionName, options) is { Failed: true } invalid)
            throw new Ads1298ConfigurationException("Invalid ADS1298 options:" + Environment.NewLine + "  " +
                string.Join(Environment.NewLine + "  ", invalid.Failures));
    }
}
