using System.Device.Gpio;
using System.Device.Gpio.Drivers;
using System.Device.Spi;
using System.Diagnostics;
using EcgEdge.Core.Dsp;
using EcgEdge.Core.Signals;

namespace EcgEdge.Acquisition.Ads1298;

/// <summary>What went wrong (or was repaired) in the acquisition.</summary>
public enum Ads1298FaultKind
{
    /// <summary>Frames lost: missed DRDY edges or overruns (a gap marker follows).</summary>
    MissedFrames,
    /// <summary>A frame whose status word does not start with 0xC was dropped.</summary>
    BadFrame,
    /// <summary>No DRDY within the watchdog timeout.</summary>
    DrdyTimeout,
    /// <summary>An SPI or GPIO operation threw.</summary>
    BusError,
    /// <summary>Re-initialisation succeeded; streaming resumed.</summary>
    Reinitialised,
    /// <summary>A re-initialisation attempt failed.</summary>
    ReinitFailed,
    /// <summary>The driver gave up (the read throws <see cref="Ads1298DeviceFailedException"/>).</summary>
    Failed,
}

/// <summary>A fault report.</summary>
public sealed class Ads1298FaultEventArgs(Ads1298FaultKind kind, string message, Exception? exception) : EventArgs
{
    public Ads1298FaultKind Kind { get; } = kind;
    public string Message { get; } = message;
    public Exception? Exception { get; } = exception;
    public override string ToString() => $"{Kind}: {Message}";
}

/// <summary>Snapshot of the driver's counters.</summary>
public readonly record struct Ads1298Counters(
    long FramesReceived,
    long FramesDropped,
    long MissedDrdy,
    long GapFrames,
    long FramesExpected,
    int DrdyTimeouts,
    int BusErrors,
    int Reinitialisations,
    int ReinitFailures)
{
    public override string ToString() =>
        $"frames {FramesReceived} received / {FramesExpected} expected, dropped {FramesDropped}, missed DRDY {MissedDrdy}, " +
        $"gap frames {GapFrames}, DRDY timeouts {DrdyTimeouts}, bus errors {BusErrors}, re-initialisations {Reinitialisations} (failed {ReinitFailures})";
}

/// <summary>
/// ADS1298 (and ADS1294/6, R variants) driver: reset and power-up, SDATAC before register access, ID check,
/// configuration from <see cref="Ads1298Options"/> with read-back verification, RDATAC + START, one frame per DRDY,
/// decoding to µV and lead-off flags, decimation to the pipeline rate, gap detection (DRDY timestamps and edge
/// counts, dropped frames), bounded re-initialisation after bus errors or a stalled chip, clean stop.
/// Implements <see cref="ISampleSource"/>: the pipeline reads it exactly like a replayed record.
/// Owns the SPI device, the DRDY signal and the GPIO controller when <c>ownsDevices</c> is true.
/// </summary>
public sealed class Ads1298Driver : ISampleSource, IDisposable
{
    private const int FifoCapacity = 4096;
    private readonly SpiDevice _spi;
    private readonly IDataReadySignal _drdy;
    private readonly GpioController? _gpio;
    private readonly TimeProvider _time;
    private readonly bool _ownsDevices;
    private readonly string _name;
    private Ads1298Options _options;
    private readonly double[] _scale = new double[8];
    private readonly float[] _values = new float[8];
    private readonly float[] _lastGood = new float[8];
    private readonly float[][] _resIn;
    private readonly float[][] _resOut;
    private readonly float[][] _fifo;
    private readonly long[] _fifoIndex = new long[FifoCapacity];
    private readonly ushort[] _fifoLeadOff = new ushort[FifoCapacity];
    private readonly Queue<(long First, long Last)> _contaminated = new();
    private PolyphaseResampler? _resampler;
    private int _ratio;
    private int _fifoHead, _fifoCount;
    private long _resOutNext;
    private long _inIndex;
    private long _lastDelivered = -1;
    private TimeSpan? _lastDrdy;
    private bool _afterRecovery;
    private int _consecutiveBad;
    private int _recoveriesWithoutGoodFrame;
    private ushort _currentLeadOff;
    private ushort _presentMask;
    private readonly ushort _wiredMask;
    private readonly IReadOnlyList<string?>? _labels;
    private TimeSpan _period;
    private State _state;
    private bool _ended;

    private enum State { Created, Running, Stopped, Failed, Disposed }

    /// <param name="spi">The SPI device (mode 1).</param>
    /// <param name="dataReady">The DRDY line.</param>
    /// <param name="options">Configuration; validated here.</param>
    /// <param name="pipelineRateHz">Rate the frames are delivered at; 0 = the data rate. Must divide the data rate.</param>
    /// <param name="gpio">Controller of RESET/START/PWDN when the options name those lines.</param>
    /// <param name="timeProvider">Clock for delays (reset, backoff).</param>
    /// <param name="ownsDevices">Dispose <paramref name="spi"/>, <paramref name="dataReady"/> and <paramref name="gpio"/> with the driver.</param>
    /// <param name="name">Name reported in <see cref="SourceInfo.Name"/>.</param>
    /// <param name="wiredChannels">
    /// Channels with electrodes connected (null: all). Unwired channels are reported absent and carry zeros, as a
    /// replayed record reports the leads it does not have.
    /// </param>
    /// <param name="channelLabels">Per channel labels for <see cref="SourceInfo.SourceLabels"/> (null: "CH1".."CH8").</param>
    public Ads1298Driver(SpiDevice spi, IDataReadySignal dataReady, Ads1298Options options, double pipelineRateHz = 0,
        GpioController? gpio = null, TimeProvider? timeProvider = null, bool ownsDevices = true, string? name = null,
        IReadOnlyList<bool>? wiredChannels = null, IReadOnlyList<string?>? channelLabels = null)
    {
        _wiredMask = 0xFF;
        if (wiredChannels is not null)
        {
            _wiredMask = 0;
            for (var c = 0; c < Math.Min(8, wiredChannels.Count); c++) if (wiredChannels[c]) _wiredMask |= (ushort)(1 << c);
        }
        _labels = channelLabels;
        ArgumentNullException.ThrowIfNull(spi);
        ArgumentNullException.ThrowIfNull(dataReady);
        ArgumentNullException.ThrowIfNull(options);
        Ads1298OptionsValidator.ThrowIfInvalid(options);
        if (gpio is null && (options.ResetPin >= 0 || options.StartPin >= 0 || options.PowerDownPin >= 0))
            throw new ArgumentException("The options name RESET/START/PWDN lines but no GpioController was given.", nameof(gpio));
        _spi = spi;
        _drdy = dataReady;
        _gpio = gpio;
        _time = timeProvider ?? TimeProvider.System;
        _ownsDevices = ownsDevices;
        _options = options.Clone();
        _name = name ?? $"ads1298 spi{options.SpiBus}.{options.ChipSelect}";
        PipelineRateHz = pipelineRateHz > 0 ? pipelineRateHz : options.DataRateHz;
        var ratio = options.DataRateHz / PipelineRateHz;
        if (ratio < 1 || Math.Abs(ratio - Math.Round(ratio)) > 1e-9)
            throw new Ads1298ConfigurationException($"The data rate {options.DataRateHz} SPS is not a whole multiple of the pipeline rate {PipelineRateHz} Hz.");
        _ratio = (int)Math.Round(ratio);
        _resIn = new float[8][];
        _resOut = new float[8][];
        _fifo = new float[8][];
        for (var c = 0; c < 8; c++) { _resIn[c] = new float[1]; _resOut[c] = new float[4]; _fifo[c] = new float[FifoCapacity]; }
        Channels = 8;
        UpdateDerived();
        Info = BuildInfo();
    }

    /// <summary>
    /// Opens real hardware: /dev/spidev{SpiBus}.{ChipSelect} in SPI mode 1 at SpiClockHz, and /dev/gpiochip{GpioChip}
    /// (libgpiod) for DRDY and the optional RESET/START/PWDN lines. Does not start it (<see cref="StartAsync"/> or the first read does).
    /// </summary>
    public static Ads1298Driver OpenHardware(Ads1298Options options, double pipelineRateHz, TimeProvider? timeProvider = null)
    {
        Ads1298OptionsValidator.ThrowIfInvalid(options);
        if (options.DrdyPin < 0) throw new Ads1298ConfigurationException($"{Ads1298Options.SectionName}:DrdyPin must name the DRDY line on hardware.");
        var spi = SpiDevice.Create(new SpiConnectionSettings(options.SpiBus, options.ChipSelect)
        {
            Mode = SpiMode.Mode1,
            ClockFrequency = options.SpiClockHz,
            DataBitLength = 8,
        });
        GpioController? gpio = null;
        GpioDataReadySignal? drdy = null;
        try
        {
            gpio = CreateGpioController(options);
            drdy = new GpioDataReadySignal(gpio, options.DrdyPin, timeProvider);
            return new Ads1298Driver(spi, drdy, options, pipelineRateHz, gpio, timeProvider, ownsDevices: true);
        }
        catch
        {
            drdy?.Dispose();
            gpio?.Dispose();
            spi.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A GPIO controller on /dev/gpiochip{GpioChip} through libgpiod: the v1 library (Debian bookworm's libgpiod2
    /// package) unless <see cref="Ads1298Options.GpioDriver"/> says otherwise; Auto falls back to the v2 library
    /// (libgpiod3) when v1 is not installed.
    /// </summary>
    public static GpioController CreateGpioController(Ads1298Options options)
    {
        if (options.GpioDriver == Ads1298GpioDriver.LibGpiodV2) return new GpioController(new LibGpiodV2Driver(options.GpioChip));
        try
        {
            return new GpioController(new LibGpiodDriver(options.GpioChip));
        }
        catch (Exception ex) when (options.GpioDriver == Ads1298GpioDriver.Auto &&
            ex is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException or PlatformNotSupportedException)
        {
            return new GpioController(new LibGpiodV2Driver(options.GpioChip));
        }
    }

    /// <summary>
    /// For <c>--source emulator</c>: an emulated ADS1298 fed with <paramref name="recordPath"/> (WFDB, replayed at the
    /// configured data rate; null = no input signal) and this driver on it. <paramref name="realTime"/> paces frames at
    /// the data rate (for <c>run</c>); false produces them as fast as they are read (for <c>eval</c>, tests).
    /// With no fault injected, pipeline sample k is the record at time k / <paramref name="pipelineRateHz"/>, exactly
    /// as with <see cref="Replay.ReplaySource"/>, so annotations map the same way.
    /// </summary>
    public static Ads1298Driver OpenEmulator(Ads1298Options options, double pipelineRateHz, string? recordPath, string? leads = null,
        bool realTime = false, Ads1298EmulatorOptions? emulatorOptions = null, TimeProvider? timeProvider = null)
    {
        Ads1298OptionsValidator.ThrowIfInvalid(options);
        var emuOptions = emulatorOptions ?? new Ads1298EmulatorOptions { LogWire = false };
        emuOptions.RealTime = realTime;
        var emu = recordPath is null
            ? new Ads1298Emulator(null, emuOptions, timeProvider)
            : Ads1298Emulator.ForRecord(recordPath, options.DataRateHz, leads, emuOptions, timeProvider);
        try
        {
            return OpenEmulated(emu, options, pipelineRateHz, timeProvider);
        }
        catch
        {
            emu.Dispose();
            throw;
        }
    }

    /// <summary>The same driver against an emulated device (owned and disposed by the driver).</summary>
    /// <remarks>Channels the emulator's waveform does not feed are reported absent (as the replay reports them).</remarks>
    public static Ads1298Driver OpenEmulated(Ads1298Emulator emulator, Ads1298Options options, double pipelineRateHz, TimeProvider? timeProvider = null) =>
        new(emulator, emulator.DataReady, options, pipelineRateHz, null, timeProvider, ownsDevices: true,
            name: emulator.Waveform is null ? "ads1298-emulator" : $"ads1298-emulator ({emulator.Waveform.Info.Name})",
            wiredChannels: emulator.Waveform?.Info.Present, channelLabels: emulator.Waveform?.Info.SourceLabels);

    public SourceInfo Info { get; private set; }

    /// <summary>True when the SPI device is the register-level emulator, not a chip: nothing said about hardware holds.</summary>
    public bool IsEmulated => _spi is Ads1298Emulator;

    /// <summary>What this driver talks to, for reports: "EMULATOR (...)" or the SPI bus and DRDY line of the chip.</summary>
    public string Describe() => IsEmulated
        ? $"EMULATOR ({_name}): no hardware is tested"
        : $"ADS1298 hardware on SPI bus {_options.SpiBus} chip select {_options.ChipSelect}, DRDY line {_options.DrdyPin}";

    /// <summary>The options in force.</summary>
    public Ads1298Options Options => _options;

    /// <summary>ID read at the last (re)start.</summary>
    public Ads1298DeviceId DeviceId { get; private set; }

    /// <summary>Channels of the device (4, 6 or 8; 8 before the first start).</summary>
    public int Channels { get; private set; }

    /// <summary>Rate of the delivered frames.</summary>
    public double PipelineRateHz { get; }

    /// <summary>Conversion rate of the device.</summary>
    public double DataRateHz => _options.DataRateHz;

    /// <summary>Lead-off bits of the latest good frame (positive inputs, negative inputs).</summary>
    public (byte Positive, byte Negative) LeadOff { get; private set; }

    /// <summary>Valid frames decoded.</summary>
    public long FramesReceived { get; private set; }
    /// <summary>Frames dropped because their status word did not start with 0xC.</summary>
    public long FramesDropped { get; private set; }
    /// <summary>Frames lost to missed DRDY edges / overruns while streaming.</summary>
    public long MissedDrdy { get; private set; }
    /// <summary>Device-rate frames lost in total (missed, dropped, failed reads, re-initialisations): every one is in a gap marker.</summary>
    public long GapFrames { get; private set; }
    /// <summary>Frames the device converted since the first START by the DRDY clock (received + lost).</summary>
    public long FramesExpected => _inIndex;
    /// <summary>DRDY watchdog expiries.</summary>
    public int DrdyTimeouts { get; private set; }
    /// <summary>SPI/GPIO operations that threw.</summary>
    public int BusErrors { get; private set; }
    /// <summary>Successful re-initialisations.</summary>
    public int Reinitialisations { get; private set; }
    /// <summary>Failed re-initialisation attempts.</summary>
    public int ReinitFailures { get; private set; }

    /// <summary>All counters at once.</summary>
    public Ads1298Counters Counters => new(FramesReceived, FramesDropped, MissedDrdy, GapFrames, FramesExpected, DrdyTimeouts, BusErrors, Reinitialisations, ReinitFailures);

    /// <summary>Raised (on the reading thread) for every fault and recovery.</summary>
    public event EventHandler<Ads1298FaultEventArgs>? Fault;

    /// <summary>The DRDY watchdog in force.</summary>
    public TimeSpan DrdyTimeout => _options.DrdyTimeoutMs > 0
        ? TimeSpan.FromMilliseconds(_options.DrdyTimeoutMs)
        : TimeSpan.FromMilliseconds(Math.Max(200, 20 * 1000.0 / _options.DataRateHz));

    // ---- start / stop ---------------------------------------------------------------------------------------------

    /// <summary>Powers up, resets, checks the ID, configures and starts conversions. Throws <see cref="Ads1298UnknownDeviceException"/> for a wrong ID.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_state == State.Disposed, this);
        if (_state == State.Running) return;
        await InitialiseAsync(initial: true, cancellationToken).ConfigureAwait(false);
        _state = State.Running;
    }

    /// <summary>Synchronous <see cref="StartAsync"/>.</summary>
    public void Start() => StartAsync().GetAwaiter().GetResult();

    /// <summary>
    /// Applies new options to the running device (STOP, SDATAC, register writes, RDATAC, START) without a reset.
    /// The data rate must stay the same. Frames not yet delivered are discarded (the stream carries a gap).
    /// </summary>
    public void Reconfigure(Ads1298Options options)
    {
        ObjectDisposedException.ThrowIf(_state == State.Disposed, this);
        Ads1298OptionsValidator.ThrowIfInvalid(options);
        if (options.DataRateHz != _options.DataRateHz || options.HighResolution != _options.HighResolution)
            throw new Ads1298ConfigurationException("Reconfigure cannot change the data rate or mode; create a new driver.");
        if (_state != State.Running)
        {
            // Not streaming: the options are applied by the next start.
            _options = options.Clone();
            UpdateDerived();
            Info = BuildInfo();
            return;
        }
        Command(Ads1298Command.Stop);
        Command(Ads1298Command.Sdatac);
        _options = options.Clone();
        WriteConfiguration();
        UpdateDerived();
        Info = BuildInfo();
        _fifoCount = 0;
        _fifoHead = 0;
        _afterRecovery = true;
        _drdy.Arm();
        Command(Ads1298Command.Rdatac);
        Command(Ads1298Command.Start);
    }

    /// <summary>Stops conversions (STOP, SDATAC) and powers the device down (PWDN low, or STANDBY).</summary>
    public void Stop()
    {
        if (_state is not (State.Running or State.Failed)) return;
        try
        {
            Command(Ads1298Command.Stop);
            Command(Ads1298Command.Sdatac);
            if (_gpio is not null && _options.PowerDownPin >= 0) _gpio.Write(_options.PowerDownPin, PinValue.Low);
            else Command(Ads1298Command.Standby);
        }
        finally
        {
            _state = State.Stopped;
        }
    }

    private async Task InitialiseAsync(bool initial, CancellationToken ct)
    {
        if (_gpio is not null)
        {
            if (_options.StartPin >= 0) OpenOutput(_options.StartPin, PinValue.Low);
            if (_options.PowerDownPin >= 0)
            {
                if (!initial)
                {
                    // Recovery: a power cycle through PWDN is the strongest reset the board offers.
                    OpenOutput(_options.PowerDownPin, PinValue.Low);
                    SpinMicroseconds(1000);
                }
                OpenOutput(_options.PowerDownPin, PinValue.High);
                if (_options.PowerUpDelayMs > 0) await Task.Delay(TimeSpan.FromMilliseconds(_options.PowerUpDelayMs), _time, ct).ConfigureAwait(false);
            }
        }
        if (_gpio is not null && _options.ResetPin >= 0)
        {
            OpenOutput(_options.ResetPin, PinValue.High);
            _gpio.Write(_options.ResetPin, PinValue.Low);
            SpinMicroseconds(10); // >= 2 tCLK
            _gpio.Write(_options.ResetPin, PinValue.High);
        }
        else
        {
            Command(Ads1298Command.Reset);
        }
        SpinMicroseconds(20); // 18 tCLK before the next command
        Command(Ads1298Command.Sdatac);
        var id = new Ads1298DeviceId(ReadRegister(Ads1298Register.Id));
        if (!id.IsKnown) throw new Ads1298UnknownDeviceException(id.Value);
        DeviceId = id;
        Channels = id.Channels;
        var regs = _options.ToRegisters();
        WriteRegisters(Ads1298Register.Config3, regs.AsSpan((int)Ads1298Register.Config3, 1));
        if (initial && _options.ReferenceSettleMs > 0) await Task.Delay(TimeSpan.FromMilliseconds(_options.ReferenceSettleMs), _time, ct).ConfigureAwait(false);
        WriteConfiguration();
        UpdateDerived();
        Info = BuildInfo();
        _drdy.Arm();
        Command(Ads1298Command.Rdatac);
        Command(Ads1298Command.Start);
    }

    private void OpenOutput(int pin, PinValue value)
    {
        if (!_gpio!.IsPinOpen(pin)) _gpio.OpenPin(pin, PinMode.Output, value);
        else _gpio.Write(pin, value);
    }

    /// <summary>Writes CONFIG1..LOFF_FLIP and CONFIG4..WCT2, then reads all registers back and compares.</summary>
    private void WriteConfiguration()
    {
        var regs = _options.ToRegisters();
        WriteRegisters((Ads1298Register)Ads1298WritePlan.FirstStart, regs.AsSpan(Ads1298WritePlan.FirstStart, Ads1298WritePlan.FirstCount));
        WriteRegisters((Ads1298Register)Ads1298WritePlan.SecondStart, regs.AsSpan(Ads1298WritePlan.SecondStart, Ads1298WritePlan.SecondCount));
        Span<byte> back = stackalloc byte[Ads1298RegisterMap.Count];
        ReadRegisters(Ads1298Register.Id, back);
        for (var a = 1; a < Ads1298RegisterMap.Count; a++)
        {
            var inPlan = a is >= Ads1298WritePlan.FirstStart and < Ads1298WritePlan.FirstStart + Ads1298WritePlan.FirstCount
                || a is >= Ads1298WritePlan.SecondStart and < Ads1298WritePlan.SecondStart + Ads1298WritePlan.SecondCount;
            if (!inPlan) continue;
            if (a is >= (int)Ads1298Register.Ch1Set and <= (int)Ads1298Register.Ch8Set && a - (int)Ads1298Register.Ch1Set >= Channels) continue;
            var mask = Ads1298RegisterMap.WritableMask(a);
            if ((back[a] & mask) != (regs[a] & mask)) throw new Ads1298RegisterMismatchException((Ads1298Register)a, regs[a], back[a]);
        }
    }

    private void UpdateDerived()
    {
        _presentMask = 0;
        for (var c = 0; c < 8; c++)
        {
            _scale[c] = _options.MicrovoltsPerLsb(c);
            if (c < Channels && !_options.IsPoweredDown(c) && (_wiredMask & (1 << c)) != 0) _presentMask |= (ushort)(1 << c);
        }
        _period = TimeSpan.FromSeconds(1.0 / _options.DataRateHz);
        if (_ratio > 1 && _resampler is null) _resampler = new PolyphaseResampler(1, _ratio, 8);
    }

    private SourceInfo BuildInfo()
    {
        var present = new bool[8];
        var fs = new float[8];
        var labels = new string?[8];
        for (var c = 0; c < 8; c++)
        {
            present[c] = (_presentMask & (1 << c)) != 0;
            fs[c] = present[c] ? (float)(_options.ReferenceVolts / _options.GainOf(c) * 1e6) : float.NaN;
            labels[c] = present[c] ? (_labels is not null && c < _labels.Count && _labels[c] is { } l ? l : $"CH{c + 1}") : null;
        }
        return new SourceInfo(_name, PipelineRateHz, present, fs, labels);
    }

    // ---- SPI primitives (stackalloc, no allocation) -------------------------------------------------------------

    private void Command(Ads1298Command command)
    {
        _spi.WriteByte((byte)command);
        SpinMicroseconds(_options.CommandDelayMicroseconds);
    }

    /// <summary>Reads one register (device must be in SDATAC mode).</summary>
    public byte ReadRegister(Ads1298Register register)
    {
        Span<byte> one = stackalloc byte[1];
        ReadRegisters(register, one);
        return one[0];
    }

    /// <summary>Reads consecutive registers (device must be in SDATAC mode).</summary>
    public void ReadRegisters(Ads1298Register first, Span<byte> destination)
    {
        Span<byte> tx = stackalloc byte[2 + Ads1298RegisterMap.Count];
        Span<byte> rx = stackalloc byte[2 + Ads1298RegisterMap.Count];
        var n = destination.Length;
        tx = tx[..(2 + n)];
        rx = rx[..(2 + n)];
        tx.Clear();
        tx[0] = (byte)((byte)Ads1298Command.Rreg | (byte)first);
        tx[1] = (byte)(n - 1);
        _spi.TransferFullDuplex(tx, rx);
        rx[2..].CopyTo(destination);
        SpinMicroseconds(_options.CommandDelayMicroseconds);
    }

    private void WriteRegisters(Ads1298Register first, ReadOnlySpan<byte> values)
    {
        Span<byte> tx = stackalloc byte[2 + Ads1298RegisterMap.Count];
        tx = tx[..(2 + values.Length)];
        tx[0] = (byte)((byte)Ads1298Command.Wreg | (byte)first);
        tx[1] = (byte)(values.Length - 1);
        values.CopyTo(tx[2..]);
        _spi.Write(tx);
        SpinMicroseconds(_options.CommandDelayMicroseconds);
    }

    /// <summary>Reads and decodes the frame the last DRDY announced. False when its status word is not valid.</summary>
    private bool ReadFrame(out Ads1298Status status)
    {
        var len = Ads1298FrameDecoder.FrameLength(Channels);
        Span<byte> tx = stackalloc byte[27];
        Span<byte> rx = stackalloc byte[27];
        tx = tx[..len];
        rx = rx[..len];
        tx.Clear();
        _spi.TransferFullDuplex(tx, rx);
        return Ads1298FrameDecoder.TryDecode(rx, _scale.AsSpan(0, Channels), _values, out status);
    }

    private static void SpinMicroseconds(int micros)
    {
        if (micros <= 0) return;
        var until = Stopwatch.GetTimestamp() + micros * Stopwatch.Frequency / 1_000_000;
        while (Stopwatch.GetTimestamp() < until) Thread.SpinWait(10);
    }

    // ---- streaming ----------------------------------------------------------------------------------------------

    public async ValueTask<bool> ReadAsync(SampleBlock block, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_state == State.Disposed, this);
        if (_state == State.Failed) throw new Ads1298DeviceFailedException("The ADS1298 driver has failed; dispose it and open a new one.", null);
        if (_state == State.Created) await StartAsync(cancellationToken).ConfigureAwait(false);
        if (_state == State.Stopped) throw new InvalidOperationException("The driver is stopped.");
        block.Count = 0;
        block.GapBefore = 0;
        ushort leadOff = 0;
        while (block.Count < block.Capacity)
        {
            if (_fifoCount > 0)
            {
                var idx = _fifoIndex[_fifoHead];
                if (block.Count == 0)
                {
                    block.StartIndex = idx;
                    block.GapBefore = (int)Math.Min(int.MaxValue, idx - _lastDelivered - 1);
                }
                else if (idx != block.StartIndex + block.Count) break; // a gap starts a new block
                for (var c = 0; c < 8; c++) block.Buffer(c)[block.Count] = _fifo[c][_fifoHead];
                leadOff |= _fifoLeadOff[_fifoHead];
                block.Count++;
                _lastDelivered = idx;
                _fifoHead = (_fifoHead + 1) % FifoCapacity;
                _fifoCount--;
                continue;
            }
            if (_ended) break;
            await AcquireAsync(cancellationToken).ConfigureAwait(false);
        }
        for (var c = 0; c < 8; c++)
        {
            if ((_presentMask & (1 << c)) == 0)
            {
                block.SourceQuality[c] = SignalQuality.Absent;
                Array.Clear(block.Buffer(c), 0, block.Count);
            }
            else block.SourceQuality[c] = (leadOff & (1 << c)) != 0 ? SignalQuality.LeadOff : SignalQuality.Good;
        }
        return block.Count > 0;
    }

    /// <summary>Waits for one DRDY and processes what follows (a frame, a gap, a recovery or the end).</summary>
    private async ValueTask AcquireAsync(CancellationToken ct)
    {
        DataReadyEvent ev;
        try
        {
            ev = await _drdy.WaitAsync(DrdyTimeout, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not ObjectDisposedException)
        {
            BusErrors++;
            Report(Ads1298FaultKind.BusError, "waiting for DRDY failed: " + ex.Message, ex);
            await RecoverAsync("DRDY line error", ex, ct).ConfigureAwait(false);
            return;
        }
        switch (ev.Result)
        {
            case DataReadyResult.EndOfStream:
                _ended = true;
                FlushDecimator();
                return;
            case DataReadyResult.TimedOut:
                DrdyTimeouts++;
                Report(Ads1298FaultKind.DrdyTimeout, $"no DRDY for {DrdyTimeout.TotalMilliseconds:0} ms", null);
                await RecoverAsync("DRDY watchdog expired", null, ct).ConfigureAwait(false);
                return;
        }

        long missed = 0;
        if (_lastDrdy is { } last)
        {
            var periods = (long)Math.Round((ev.Timestamp - last).Ticks / (double)_period.Ticks);
            missed = Math.Max(0, periods - 1);
        }
        missed = Math.Max(missed, ev.Edges - 1);
        _lastDrdy = ev.Timestamp;
        var index = _inIndex + missed;
        if (missed > 0)
        {
            if (!_afterRecovery)
            {
                MissedDrdy += missed;
                Report(Ads1298FaultKind.MissedFrames, $"{missed} frame(s) lost before sample {index}", null);
            }
            MarkLost(_inIndex, missed);
        }
        _afterRecovery = false;
        _inIndex = index + 1;

        bool valid;
        Ads1298Status status;
        try
        {
            valid = ReadFrame(out status);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not ObjectDisposedException)
        {
            BusErrors++;
            MarkLost(index, 1);
            Report(Ads1298FaultKind.BusError, "frame read failed: " + ex.Message, ex);
            await RecoverAsync("SPI transfer failed", ex, ct).ConfigureAwait(false);
            return;
        }
        if (!valid)
        {
            FramesDropped++;
            MarkLost(index, 1);
            Report(Ads1298FaultKind.BadFrame, $"frame {index} dropped: status {status}", null);
            if (++_consecutiveBad >= _options.MaxConsecutiveBadFrames)
            {
                _consecutiveBad = 0;
                await RecoverAsync($"{_options.MaxConsecutiveBadFrames} consecutive frames with a bad status word", null, ct).ConfigureAwait(false);
            }
            return;
        }
        _consecutiveBad = 0;
        _recoveriesWithoutGoodFrame = 0;
        FramesReceived++;
        LeadOff = (status.LeadOffPositive, status.LeadOffNegative);
        _currentLeadOff = ChannelLeadOff(status);
        _values.CopyTo(_lastGood, 0);
        PushFrame(index, _values);
    }

    /// <summary>Per-channel lead-off mask: a channel is off when one of its sensed inputs is, and V1..V6 also when a WCT electrode is.</summary>
    private ushort ChannelLeadOff(Ads1298Status s)
    {
        var mask = s.LeadOffPositive | s.LeadOffNegative;
        if (_options.WilsonCentralTerminal)
        {
            foreach (var input in (ReadOnlySpan<Ads1298WctInput>)[_options.WctA, _options.WctB, _options.WctC])
            {
                var ch = (int)input >> 1;
                var bits = ((int)input & 1) == 0 ? s.LeadOffPositive : s.LeadOffNegative;
                if ((bits & (1 << ch)) != 0) mask |= 0xFC;
            }
        }
        return (ushort)(mask & _presentMask);
    }

    private void PushFrame(long inputIndex, float[] values)
    {
        if (_resampler is null)
        {
            Enqueue(inputIndex, values, 0);
            return;
        }
        for (var c = 0; c < 8; c++) _resIn[c][0] = values[c];
        var n = _resampler.Process(_resIn, 0, 1, _resOut, 0, _resOut[0].Length);
        EmitResampled(n);
    }

    private void EmitResampled(int n)
    {
        for (var k = 0; k < n; k++)
        {
            var outIndex = _resOutNext++;
            while (_contaminated.Count > 0 && _contaminated.Peek().Last < outIndex) _contaminated.Dequeue();
            if (_contaminated.Count > 0 && _contaminated.Peek().First <= outIndex) continue; // computed across a gap: dropped
            Enqueue(outIndex, _resOut, k);
        }
    }

    private void Enqueue(long index, float[] values, int _)
    {
        if (_fifoCount == FifoCapacity) { _fifoHead = (_fifoHead + 1) % FifoCapacity; _fifoCount--; }
        var pos = (_fifoHead + _fifoCount) % FifoCapacity;
        for (var c = 0; c < 8; c++) _fifo[c][pos] = values[c];
        _fifoIndex[pos] = index;
        _fifoLeadOff[pos] = _currentLeadOff;
        _fifoCount++;
    }

    private void Enqueue(long index, float[][] planar, int offset)
    {
        if (_fifoCount == FifoCapacity) { _fifoHead = (_fifoHead + 1) % FifoCapacity; _fifoCount--; }
        var pos = (_fifoHead + _fifoCount) % FifoCapacity;
        for (var c = 0; c < 8; c++) _fifo[c][pos] = planar[c][offset];
        _fifoIndex[pos] = index;
        _fifoLeadOff[pos] = _currentLeadOff;
        _fifoCount++;
    }

    /// <summary>
    /// Device-rate frames [first, first + count) are lost. Without decimation the index jump is the gap marker. With
    /// decimation the decimator keeps its time base (the last good frame is held through the gap) and every output
    /// whose time falls in the gap is dropped, so the delivered stream shows the gap.
    /// </summary>
    private void MarkLost(long first, long count)
    {
        if (count <= 0) return;
        GapFrames += count;
        if (_resampler is null) return;
        var firstOut = first / _ratio;
        var lastOut = (first + count - 1) / _ratio;
        _contaminated.Enqueue((firstOut, lastOut));
        for (var c = 0; c < 8; c++) _resIn[c][0] = _lastGood[c];
        for (long i = 0; i < count; i++)
        {
            var n = _resampler.Process(_resIn, 0, 1, _resOut, 0, _resOut[0].Length);
            EmitResampled(n);
        }
    }

    private void FlushDecimator()
    {
        if (_resampler is null) return;
        // The resampler hands out the rest of the stream at the first Flush (later calls return nothing more).
        var room = _resampler.LookaheadInputSamples / _ratio + 8;
        for (var c = 0; c < 8; c++) if (_resOut[c].Length < room) _resOut[c] = new float[room];
        var n = _resampler.Flush(_resOut, 0, room);
        EmitResampled(n);
    }

    /// <summary>
    /// Bounded re-initialisation: up to MaxReinitAttempts attempts with linear backoff; the count also bounds
    /// recoveries that succeed but never yield a good frame. Gives up with <see cref="Ads1298DeviceFailedException"/>.
    /// </summary>
    private async ValueTask RecoverAsync(string reason, Exception? cause, CancellationToken ct)
    {
        Exception? last = cause;
        for (var attempt = 1; attempt <= _options.MaxReinitAttempts; attempt++)
        {
            if (++_recoveriesWithoutGoodFrame > _options.MaxReinitAttempts) break;
            if (_options.ReinitBackoffMs > 0)
                await Task.Delay(TimeSpan.FromMilliseconds(_options.ReinitBackoffMs * attempt), _time, ct).ConfigureAwait(false);
            try
            {
                try { Command(Ads1298Command.Stop); } catch (Exception ex) when (ex is not OperationCanceledException) { BusErrors++; throw; }
                try { await InitialiseAsync(initial: false, ct).ConfigureAwait(false); }
                catch (Exception ex) when (ex is not OperationCanceledException and not Ads1298Exception) { BusErrors++; throw; }
                Reinitialisations++;
                _afterRecovery = true;
                _consecutiveBad = 0;
                Report(Ads1298FaultKind.Reinitialised, $"re-initialised after: {reason} (attempt {attempt})", cause);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                last = ex;
                ReinitFailures++;
                Report(Ads1298FaultKind.ReinitFailed, $"re-initialisation attempt {attempt} failed: {ex.Message}", ex);
            }
        }
        _state = State.Failed;
        var msg = $"ADS1298 not responding ({reason}); gave up after {_options.MaxReinitAttempts} re-initialisation attempt(s). {Counters}";
        Report(Ads1298FaultKind.Failed, msg, last);
        throw new Ads1298DeviceFailedException(msg, last);
    }

    private void Report(Ads1298FaultKind kind, string message, Exception? ex) => Fault?.Invoke(this, new Ads1298FaultEventArgs(kind, message, ex));

    // ---- disposal -----------------------------------------------------------------------------------------------

    public void Dispose()
    {
        if (_state == State.Disposed) return;
        try { Stop(); }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException) { }
        _state = State.Disposed;
        if (!_ownsDevices) return;
        _drdy.Dispose();
        _spi.Dispose();
        _gpio?.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
