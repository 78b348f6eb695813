using System.Device.Spi;
using EcgEdge.Acquisition.Replay;
using EcgEdge.Core.Signals;

namespace EcgEdge.Acquisition.Ads1298;

/// <summary>How an emulated stuck bus misbehaves.</summary>
public enum Ads1298StuckBusMode
{
    /// <summary>Every transfer throws <see cref="IOException"/> (as spidev does when the controller fails).</summary>
    Throw,
    /// <summary>Transfers complete but MISO reads 0xFF and MOSI is not decoded (device absent or hung).</summary>
    AllOnes,
}

/// <summary>A broken analogue channel in the emulator.</summary>
public enum Ads1298ChannelFault
{
    None,
    /// <summary>The channel always converts 0 (open PGA, dead input).</summary>
    Dead,
    /// <summary>50 µV RMS of extra noise.</summary>
    Noisy,
}

/// <summary>One SPI transfer as seen on the wire.</summary>
/// <param name="Mosi">Bytes the host sent.</param>
/// <param name="Miso">Bytes the device returned.</param>
public sealed record WireTransfer(byte[] Mosi, byte[] Miso)
{
    public override string ToString() => Convert.ToHexString(Mosi);
}

/// <summary>Settings of the emulated device.</summary>
public sealed class Ads1298EmulatorOptions
{
    /// <summary>Value of the ID register: 0x92 ADS1298, 0xD2 ADS1298R, 0x91 ADS1296, 0x90 ADS1294 (anything else to test refusal).</summary>
    public byte DeviceId { get; set; } = Ads1298DeviceId.Ads1298;

    /// <summary>Produce frames at the configured rate in wall-clock time (true) or on demand in virtual time (false).</summary>
    public bool RealTime { get; set; }

    /// <summary>Input-referred noise of a shorted input, µV RMS (Gaussian).</summary>
    public double ShortedNoiseMicrovoltsRms { get; set; } = 0.6;

    /// <summary>Seed of the noise generator (deterministic runs).</summary>
    public int Seed { get; set; } = 1298;

    /// <summary>Record transfers in <see cref="Ads1298Emulator.WireLog"/>.</summary>
    public bool LogWire { get; set; } = true;

    /// <summary>Also record RDATAC frame reads (all-zero MOSI) in the log.</summary>
    public bool LogDataReads { get; set; }
}

/// <summary>
/// An ADS1298 behind an <see cref="SpiDevice"/>: the datasheet's register file with its reset values, the command
/// set (RDATAC/SDATAC state, RREG/WREG refused in RDATAC mode), frames at the configured data rate from a waveform
/// (µV → codes at each channel's gain and VREF, clamped to ±2^23), the internal test signal (CONFIG2), shorted
/// inputs with a Gaussian noise floor, lead-off bits, and injectable faults. Its <see cref="DataReady"/> line lets a
/// driver wait for frames: in virtual time frames are produced on demand (as fast as the driver reads), in real
/// time at the data rate. Used from one thread at a time, like the driver.
/// </summary>
public sealed class Ads1298Emulator : SpiDevice
{
    private const int MaxFrameBytes = 27;
    private readonly Ads1298EmulatorOptions _options;
    private readonly ISampleSource? _waveform;
    private readonly bool _ownsWaveform;
    private readonly SampleBlock? _srcBlock;
    private readonly TimeProvider _time;
    private readonly long _origin;
    private readonly Random _rng;
    private readonly byte[] _regs = new byte[Ads1298RegisterMap.Count];
    private readonly byte[] _frame = new byte[MaxFrameBytes];
    private readonly int[] _codes = new int[8];
    private readonly Ads1298ChannelFault[] _channelFaults = new Ads1298ChannelFault[8];
    private readonly List<WireTransfer> _log = [];
    private int _srcPos;
    private bool _srcEnded;
    private int _readPos;
    private bool _converting, _standby, _stalled;
    private TimeSpan _virtualNow;
    private TimeSpan _nextFrameTime;
    private int _pendingBitSlips, _pendingMissedDrdy;
    private int _stuckRemaining;
    private Ads1298StuckBusMode _stuckMode;
    private byte _leadOffP, _leadOffN;
    private TimeSpan? _epoch;          // time of the first frame ever converted: the waveform's sample 0
    private long _srcConsumed;         // waveform samples consumed (used or skipped)
    private bool _disposed;

    /// <param name="waveform">
    /// Electrode signals in µV, one frame per conversion (its rate should equal the configured data rate), or null for
    /// no input signal. Channel c of the waveform feeds CHc.
    /// </param>
    /// <param name="options">Emulator settings.</param>
    /// <param name="timeProvider">Clock for real-time mode.</param>
    /// <param name="ownsWaveform">Dispose the waveform with the emulator.</param>
    public Ads1298Emulator(ISampleSource? waveform = null, Ads1298EmulatorOptions? options = null, TimeProvider? timeProvider = null, bool ownsWaveform = true)
    {
        _options = options ?? new Ads1298EmulatorOptions();
        _waveform = waveform;
        _ownsWaveform = ownsWaveform;
        if (waveform is not null) _srcBlock = new SampleBlock(256);
        _time = timeProvider ?? TimeProvider.System;
        _origin = _time.GetTimestamp();
        _rng = new Random(_options.Seed);
        ConnectionSettings = new SpiConnectionSettings(0, 0) { Mode = SpiMode.Mode1, ClockFrequency = 4_096_000 };
        DataReady = new EmulatedDataReady(this);
        PowerOnReset();
    }

    /// <summary>
    /// An emulator fed with a WFDB record replayed (not paced: the emulator paces) at <paramref name="dataRateHz"/>,
    /// the data rate the driver will configure.
    /// </summary>
    public static Ads1298Emulator ForRecord(string recordPath, double dataRateHz, string? leads = null, Ads1298EmulatorOptions? options = null, TimeProvider? timeProvider = null)
    {
        var replay = new ReplaySource(new ReplayOptions { Record = recordPath, Leads = leads, RealTime = false }, dataRateHz);
        return new Ads1298Emulator(replay, options, timeProvider, ownsWaveform: true);
    }

    public override SpiConnectionSettings ConnectionSettings { get; }

    /// <summary>The emulated DRDY line.</summary>
    public IDataReadySignal DataReady { get; }

    /// <summary>The waveform feeding the electrodes (null when none).</summary>
    public ISampleSource? Waveform => _waveform;

    /// <summary>Every transfer (see <see cref="Ads1298EmulatorOptions.LogWire"/>).</summary>
    public IReadOnlyList<WireTransfer> WireLog => _log;

    /// <summary>Forgets the logged transfers.</summary>
    public void ClearWireLog() => _log.Clear();

    /// <summary>True in Read Data Continuous mode (the power-up state).</summary>
    public bool ReadContinuous { get; private set; }

    /// <summary>True between START and STOP/RESET.</summary>
    public bool Converting => _converting;

    /// <summary>RREG/WREG commands ignored because they arrived in RDATAC mode.</summary>
    public int IgnoredRegisterCommands { get; private set; }

    /// <summary>Frames converted (including those overwritten by a missed-DRDY fault).</summary>
    public long FramesProduced { get; private set; }

    /// <summary>DRDY falling edges delivered.</summary>
    public long FramesSignalled { get; private set; }

    /// <summary>RESET commands received.</summary>
    public int Resets { get; private set; }

    /// <summary>Bit slips applied so far.</summary>
    public int BitSlipsApplied { get; private set; }

    /// <summary>Missed DRDYs applied so far.</summary>
    public int MissedDrdyApplied { get; private set; }

    /// <summary>Transfers failed by the stuck-bus fault so far.</summary>
    public int StuckTransfers { get; private set; }

    /// <summary>Current time on the emulator's clock (virtual or wall).</summary>
    public TimeSpan Now => _options.RealTime ? _time.GetElapsedTime(_origin) : _virtualNow;

    /// <summary>Reads a register directly (back door for tests).</summary>
    public byte GetRegister(Ads1298Register register) => _regs[(int)register];

    /// <summary>Writes a register directly, bypassing the command rules (back door for tests).</summary>
    public void SetRegister(Ads1298Register register, byte value) => _regs[(int)register] = value;

    /// <summary>Current data rate from CONFIG1.</summary>
    public double DataRateHz
    {
        get
        {
            var c1 = _regs[(int)Ads1298Register.Config1];
            var dr = c1 & Config1.DrMask;
            return Ads1298Timing.DataRate((c1 & Config1.HighResolution) != 0, dr > 6 ? 6 : dr);
        }
    }

    /// <summary>Number of channels of the emulated variant.</summary>
    public int Channels => new Ads1298DeviceId(_options.DeviceId).IsKnown ? new Ads1298DeviceId(_options.DeviceId).Channels : 8;

    /// <summary>Sets the electrodes that are off: bit n of <paramref name="positive"/> = CH(n+1)P, of <paramref name="negative"/> = CH(n+1)N.</summary>
    public void SetLeadOff(byte positive, byte negative)
    {
        _leadOffP = positive;
        _leadOffN = negative;
    }

    /// <summary>Breaks (or repairs) an analogue channel (0-based).</summary>
    public void SetChannelFault(int channel, Ads1298ChannelFault fault) => _channelFaults[channel] = fault;

    /// <summary>The next <paramref name="count"/> frames come out shifted by one bit (status no longer starts with 0xC).</summary>
    public void InjectBitSlip(int count = 1) => _pendingBitSlips += count;

    /// <summary>The next <paramref name="count"/> frames are converted but their DRDY is lost (the following frame overwrites them).</summary>
    public void InjectMissedDrdy(int count = 1) => _pendingMissedDrdy += count;

    /// <summary>The next <paramref name="transfers"/> SPI transfers fail (<see cref="int.MaxValue"/>: until <see cref="ClearFaults"/>).</summary>
    public void InjectStuckBus(int transfers, Ads1298StuckBusMode mode = Ads1298StuckBusMode.Throw)
    {
        _stuckRemaining = transfers;
        _stuckMode = mode;
    }

    /// <summary>DRDY stops (the converter hangs) until the next RESET.</summary>
    public void InjectStall() => _stalled = true;

    /// <summary>Removes every pending fault (lead-off and channel faults stay).</summary>
    public void ClearFaults()
    {
        _pendingBitSlips = 0;
        _pendingMissedDrdy = 0;
        _stuckRemaining = 0;
        _stalled = false;
    }

    // ---- SpiDevice ----------------------------------------------------------------------------------------------

    public override byte ReadByte()
    {
        Span<byte> rx = stackalloc byte[1];
        Transfer([0], rx);
        return rx[0];
    }

    public override void Read(Span<byte> buffer)
    {
        Span<byte> tx = buffer.Length <= 64 ? stackalloc byte[buffer.Length] : new byte[buffer.Length];
        tx.Clear();
        Transfer(tx, buffer);
    }

    public override void WriteByte(byte value) => Transfer([value], stackalloc byte[1]);

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Span<byte> rx = buffer.Length <= 64 ? stackalloc byte[buffer.Length] : new byte[buffer.Length];
        Transfer(buffer, rx);
    }

    public override void TransferFullDuplex(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        if (writeBuffer.Length != readBuffer.Length) throw new ArgumentException("Buffers must have the same length.");
        Transfer(writeBuffer, readBuffer);
    }

    private void Transfer(ReadOnlySpan<byte> mosi, Span<byte> miso)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_stuckRemaining > 0)
        {
            if (_stuckRemaining != int.MaxValue) _stuckRemaining--;
            StuckTransfers++;
            if (_stuckMode == Ads1298StuckBusMode.Throw) throw new IOException("Emulated SPI failure (stuck bus).");
            miso.Fill(0xFF);
            Log(mosi, miso);
            return;
        }
        miso.Clear();
        var isDataRead = ReadContinuous && !mosi.ContainsAnyExcept((byte)0);
        var i = 0;
        var shiftingFrame = ReadContinuous; // in RDATAC, MISO shifts the latched frame out whatever MOSI carries
        while (i < mosi.Length)
        {
            if (shiftingFrame) miso[i] = _readPos < _frame.Length ? _frame[_readPos++] : (byte)0;
            var op = mosi[i];
            if (op is >= 0x20 and <= 0x5F)
            {
                var isWrite = op >= 0x40;
                var addr = op & 0x1F;
                var count = i + 1 < mosi.Length ? mosi[i + 1] + 1 : 0;
                if (i + 1 < mosi.Length && shiftingFrame) miso[i + 1] = _readPos < _frame.Length ? _frame[_readPos++] : (byte)0;
                var dataStart = i + 2;
                if (ReadContinuous) IgnoredRegisterCommands++;
                for (var k = 0; k < count && dataStart + k < mosi.Length; k++)
                {
                    var a = addr + k;
                    var pos = dataStart + k;
                    if (shiftingFrame) miso[pos] = _readPos < _frame.Length ? _frame[_readPos++] : (byte)0;
                    if (ReadContinuous || a >= Ads1298RegisterMap.Count) continue;
                    if (isWrite) WriteRegister(a, mosi[pos]);
                    else miso[pos] = _regs[a];
                }
                i = dataStart + count;
                continue;
            }
            switch ((Ads1298Command)op)
            {
                case Ads1298Command.Wakeup: _standby = false; break;
                case Ads1298Command.Standby: _standby = true; break;
                case Ads1298Command.Reset: Resets++; PowerOnReset(); shiftingFrame = false; break;
                case Ads1298Command.Start: StartConversions(); break;
                case Ads1298Command.Stop: _converting = false; break;
                case Ads1298Command.Rdatac: ReadContinuous = true; break;
                case Ads1298Command.Sdatac: ReadContinuous = false; break;
                case Ads1298Command.Rdata:
                    if (!ReadContinuous) { _readPos = 0; shiftingFrame = true; }
                    break;
            }
            i++;
        }
        if (!isDataRead || _options.LogDataReads) Log(mosi, miso);
    }

    private void Log(ReadOnlySpan<byte> mosi, ReadOnlySpan<byte> miso)
    {
        if (_options.LogWire) _log.Add(new WireTransfer(mosi.ToArray(), miso.ToArray()));
    }

    private void WriteRegister(int address, byte value)
    {
        var mask = Ads1298RegisterMap.WritableMask(address);
        _regs[address] = (byte)((_regs[address] & ~mask) | (value & mask));
    }

    private void PowerOnReset()
    {
        Ads1298RegisterMap.ResetValues.CopyTo(_regs);
        _regs[(int)Ads1298Register.Id] = _options.DeviceId;
        ReadContinuous = true;
        _converting = false;
        _standby = false;
        _stalled = false;
        _readPos = _frame.Length;
    }

    private void StartConversions()
    {
        _converting = true;
        _nextFrameTime = Now + TimeSpan.FromSeconds(1.0 / DataRateHz);
    }

    // ---- frame production ---------------------------------------------------------------------------------------

    private async ValueTask<DataReadyEvent> WaitFrameAsync(TimeSpan timeout, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_converting || _stalled || _standby)
        {
            await PassAsync(timeout, ct).ConfigureAwait(false);
            return new DataReadyEvent(DataReadyResult.TimedOut, Now, 0);
        }
        var period = TimeSpan.FromSeconds(1.0 / DataRateHz);
        while (_pendingMissedDrdy > 0)
        {
            // The frame is converted, but its DRDY never reaches the host; the next conversion overwrites it.
            if (!await SeekSourceAsync(_nextFrameTime, period, ct).ConfigureAwait(false)) return new DataReadyEvent(DataReadyResult.EndOfStream, Now, 0);
            _pendingMissedDrdy--;
            MissedDrdyApplied++;
            ProduceFrame(_nextFrameTime, signalled: false);
            _nextFrameTime += period;
        }
        if (!await SeekSourceAsync(_nextFrameTime, period, ct).ConfigureAwait(false)) return new DataReadyEvent(DataReadyResult.EndOfStream, Now, 0);
        var due = _nextFrameTime;
        if (_options.RealTime)
        {
            var wait = due - Now;
            if (wait > timeout)
            {
                await PassAsync(timeout, ct).ConfigureAwait(false);
                return new DataReadyEvent(DataReadyResult.TimedOut, Now, 0);
            }
            if (wait > TimeSpan.Zero) await Task.Delay(wait, _time, ct).ConfigureAwait(false);
        }
        else if (due > _virtualNow) _virtualNow = due;
        ProduceFrame(due, signalled: true);
        _nextFrameTime = due + period;
        FramesSignalled++;
        return new DataReadyEvent(DataReadyResult.Ready, due, 1);
    }

    private async ValueTask PassAsync(TimeSpan span, CancellationToken ct)
    {
        if (_options.RealTime) await Task.Delay(span, _time, ct).ConfigureAwait(false);
        else _virtualNow += span;
    }

    /// <summary>
    /// Positions the waveform at the sample for a frame converted at <paramref name="time"/>: the electrodes' signal
    /// goes on while the converter is stopped, stalled or restarted, so samples of that time are skipped.
    /// </summary>
    private async ValueTask<bool> SeekSourceAsync(TimeSpan time, TimeSpan period, CancellationToken ct)
    {
        if (_waveform is null) return true;
        _epoch ??= time;
        var target = (long)Math.Round((time - _epoch.Value).Ticks / (double)period.Ticks);
        while (_srcConsumed < target)
        {
            if (!await EnsureSourceAsync(ct).ConfigureAwait(false)) return false;
            var skip = (int)Math.Min(target - _srcConsumed, _srcBlock!.Count - _srcPos);
            _srcPos += skip;
            _srcConsumed += skip;
        }
        return await EnsureSourceAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Makes sure a waveform sample is available for the next frame; false when the waveform has ended.</summary>
    private async ValueTask<bool> EnsureSourceAsync(CancellationToken ct)
    {
        if (_waveform is null) return true;
        if (_srcPos < _srcBlock!.Count) return true;
        if (_srcEnded) return false;
        _srcPos = 0;
        if (!await _waveform.ReadAsync(_srcBlock, ct).ConfigureAwait(false) || _srcBlock.Count == 0)
        {
            _srcEnded = true;
            _srcBlock.Count = 0;
            return false;
        }
        return true;
    }

    /// <summary>Converts one frame at <paramref name="time"/>; bit slips only hit frames whose DRDY reaches the host (else they would be invisible).</summary>
    private void ProduceFrame(TimeSpan time, bool signalled)
    {
        var channels = Channels;
        var c2 = _regs[(int)Ads1298Register.Config2];
        var c3 = _regs[(int)Ads1298Register.Config3];
        var vref = (c3 & Config3.Vref4V) != 0 ? 4.0 : 2.4;
        double testUv = 0;
        if ((c2 & Config2.IntTest) != 0)
        {
            var amp = Ads1298Timing.TestSignalMicrovolts(vref, (c2 & Config2.TestAmp) != 0);
            var f = Ads1298Timing.TestSignalHz(c2 & Config2.TestFreqMask);
            if (f == 0) testUv = amp;
            else if (double.IsFinite(f))
            {
                var phase = time.TotalSeconds * f;
                testUv = phase - Math.Floor(phase) < 0.5 ? amp : -amp;
            }
        }
        var hasSample = _waveform is not null && _srcPos < _srcBlock!.Count;
        for (var c = 0; c < 8; c++)
        {
            if (c >= channels) { _codes[c] = 0; continue; }
            var set = _regs[(int)Ads1298Register.Ch1Set + c];
            double uv;
            if ((set & ChSet.PowerDown) != 0) uv = 0;
            else
            {
                uv = (Ads1298Mux)(set & ChSet.MuxMask) switch
                {
                    Ads1298Mux.Normal => hasSample ? _srcBlock!.Buffer(c)[_srcPos] : 0,
                    Ads1298Mux.Shorted => Gaussian() * _options.ShortedNoiseMicrovoltsRms,
                    Ads1298Mux.TestSignal => testUv,
                    _ => 0,
                };
                if (_channelFaults[c] == Ads1298ChannelFault.Dead) uv = 0;
                else if (_channelFaults[c] == Ads1298ChannelFault.Noisy) uv += 50 * Gaussian();
            }
            var lsb = Ads1298FrameDecoder.MicrovoltsPerLsb(vref, ChSet.GainOf(set));
            var code = Math.Round(uv / lsb);
            _codes[c] = (int)Math.Clamp(code, Ads1298FrameDecoder.MinCode, Ads1298FrameDecoder.MaxCode);
        }
        if (hasSample) { _srcPos++; _srcConsumed++; }

        byte p = 0, n = 0;
        if ((_regs[(int)Ads1298Register.Config4] & Config4.PdLoffComp) != 0)
        {
            p = (byte)(_leadOffP & _regs[(int)Ads1298Register.LoffSensP]);
            n = (byte)(_leadOffN & _regs[(int)Ads1298Register.LoffSensN]);
        }
        _regs[(int)Ads1298Register.LoffStatP] = p;
        _regs[(int)Ads1298Register.LoffStatN] = n;
        var status = Ads1298Status.Create(p, n, (byte)(_regs[(int)Ads1298Register.Gpio] >> 4));
        Array.Clear(_frame);
        Ads1298FrameDecoder.Encode(status, _codes.AsSpan(0, channels), _frame);
        if (_pendingBitSlips > 0 && signalled)
        {
            _pendingBitSlips--;
            BitSlipsApplied++;
            var len = Ads1298FrameDecoder.FrameLength(channels);
            for (var i = 0; i < len; i++)
                _frame[i] = (byte)((_frame[i] << 1) | (i + 1 < len ? _frame[i + 1] >> 7 : 0));
        }
        _readPos = 0;
        FramesProduced++;
    }

    private double Gaussian()
    {
        // Box-Muller
        var u1 = 1.0 - _rng.NextDouble();
        var u2 = _rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    protected override void Dispose(bool disposing)
    {
        if (_disposed) return;
        _disposed = true;
        if (disposing && _ownsWaveform && _waveform is not null)
            _waveform.DisposeAsync().AsTask().GetAwaiter().GetResult();
        base.Dispose(disposing);
    }

    private sealed class EmulatedDataReady(Ads1298Emulator owner) : IDataReadySignal
    {
        public void Arm() { }

        public ValueTask<DataReadyEvent> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
            owner.WaitFrameAsync(timeout, cancellationToken);

        public void Dispose() { }
    }
}
