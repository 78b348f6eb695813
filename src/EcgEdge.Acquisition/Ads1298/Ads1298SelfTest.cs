using System.Globalization;
using System.Text;
using EcgEdge.Core.Signals;

namespace EcgEdge.Acquisition.Ads1298;

/// <summary>Limits and durations of the self-test.</summary>
public sealed class Ads1298SelfTestOptions
{
    /// <summary>Allowed deviation of the test-signal amplitude from the datasheet value, percent.</summary>
    public double AmplitudeTolerancePercent { get; set; } = 10;

    /// <summary>Allowed deviation of the test-signal frequency, percent.</summary>
    public double FrequencyTolerancePercent { get; set; } = 5;

    /// <summary>Highest acceptable input-referred noise with shorted inputs, µV RMS.</summary>
    public double NoiseLimitMicrovoltsRms { get; set; } = 5;

    /// <summary>Seconds of test signal measured (after settling). At least 2 periods of the test signal.</summary>
    public double TestSignalSeconds { get; set; } = 4;

    /// <summary>Seconds of shorted-input noise measured.</summary>
    public double NoiseSeconds { get; set; } = 2;

    /// <summary>Seconds discarded after each reconfiguration (decimator and filter settling).</summary>
    public double SettleSeconds { get; set; } = 0.5;

    /// <summary>Seconds of normal acquisition used for the lead-off check.</summary>
    public double LeadOffSeconds { get; set; } = 0.5;

    /// <summary>Fail when an electrode is reported off (a patient or simulator must be connected). Off by default: on a bench nothing is attached.</summary>
    public bool RequireElectrodesAttached { get; set; }
}

/// <summary>Self-test results of one channel.</summary>
public sealed record Ads1298SelfTestChannel(
    int Channel,
    string Lead,
    bool Present,
    double ExpectedAmplitudeMicrovolts,
    double AmplitudeMicrovolts,
    bool AmplitudeOk,
    double ExpectedFrequencyHz,
    double FrequencyHz,
    bool FrequencyOk,
    double NoiseMicrovoltsRms,
    double NoiseLimitMicrovoltsRms,
    bool NoiseOk,
    bool LeadOffPositive,
    bool LeadOffNegative,
    bool LeadOffOk)
{
    /// <summary>All checks of the channel passed (absent channels pass: they are not tested).</summary>
    public bool Passed => !Present || (AmplitudeOk && FrequencyOk && NoiseOk && LeadOffOk);
}

/// <summary>The self-test's outcome: ID check, one row per channel, pass/fail.</summary>
public sealed class Ads1298SelfTestReport
{
    internal Ads1298SelfTestReport(Ads1298DeviceId? id, string? error, IReadOnlyList<Ads1298SelfTestChannel> channels, Ads1298Counters counters,
        bool emulated = false, string? source = null)
    {
        Emulated = emulated;
        Source = source ?? (emulated ? "EMULATOR" : "ADS1298 hardware");
        DeviceId = id;
        Error = error;
        Channels = channels;
        Counters = counters;
    }

    /// <summary>True when the test ran against the emulator: a pass then says nothing about any hardware.</summary>
    public bool Emulated { get; }

    /// <summary>What was tested (emulator, or the chip's bus and DRDY line).</summary>
    public string Source { get; }

    /// <summary>The ID read, or null when it could not be read.</summary>
    public Ads1298DeviceId? DeviceId { get; }

    /// <summary>Why the test could not run to the end (unknown ID, device failure), or null.</summary>
    public string? Error { get; }

    /// <summary>Per-channel results (empty when the test could not run).</summary>
    public IReadOnlyList<Ads1298SelfTestChannel> Channels { get; }

    /// <summary>Driver counters at the end of the test.</summary>
    public Ads1298Counters Counters { get; }

    /// <summary>True when the ID is known and every channel passed.</summary>
    public bool Passed => Error is null && DeviceId is { IsKnown: true } && Channels.Count > 0 && Channels.All(c => c.Passed);

    /// <summary>Process exit code for <c>ecgedge selftest</c>: 0 pass, 1 fail.</summary>
    public int ExitCode => Passed ? 0 : 1;

    /// <summary>The pass/fail table.</summary>
    public string Format()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("ADS1298 self-test").AppendLine();
        sb.Append("  source   : ").Append(Source).AppendLine();
        sb.Append(inv, $"  device   : {(DeviceId is { } id ? id.ToString() : "not read")} {(DeviceId is { IsKnown: true } ? "ok" : "FAIL")}").AppendLine();
        if (Error is not null) sb.Append("  error    : ").Append(Error).AppendLine();
        if (Channels.Count > 0)
        {
            sb.AppendLine("  ch   lead  test amplitude uV (expected)  test frequency Hz (expected)  noise uV RMS (limit)  lead-off P/N  result");
            foreach (var c in Channels)
            {
                if (!c.Present)
                {
                    sb.Append(inv, $"  CH{c.Channel + 1}  {c.Lead,-4}  absent (powered down or not on this device)").AppendLine();
                    continue;
                }
                sb.Append(inv, $"  CH{c.Channel + 1}  {c.Lead,-4}  {c.AmplitudeMicrovolts,8:0.0} ({c.ExpectedAmplitudeMicrovolts,7:0.0}) {Mark(c.AmplitudeOk)}     ");
                sb.Append(inv, $"{c.FrequencyHz,7:0.000} ({c.ExpectedFrequencyHz,6:0.000}) {Mark(c.FrequencyOk)}           ");
                sb.Append(inv, $"{c.NoiseMicrovoltsRms,6:0.00} ({c.NoiseLimitMicrovoltsRms,5:0.00}) {Mark(c.NoiseOk)}   ");
                sb.Append(inv, $"{(c.LeadOffPositive ? "off" : "on "),3}/{(c.LeadOffNegative ? "off" : "on "),3} {Mark(c.LeadOffOk)}  {(c.Passed ? "PASS" : "FAIL")}").AppendLine();
            }
        }
        sb.Append("  driver   : ").Append(Counters.ToString()).AppendLine();
        sb.Append("  RESULT   : ").Append(Passed ? "PASS" : "FAIL").Append(Emulated ? " (EMULATOR: no hardware was tested)" : "").AppendLine();
        return sb.ToString();
    }

    public override string ToString() => Format();

    private static string Mark(bool ok) => ok ? "ok  " : "FAIL";
}

/// <summary>
/// Hardware self-test: reads the ID, routes the internal test signal to every channel and checks its amplitude and
/// frequency, measures the shorted-input noise floor per channel, and reads the lead-off status with the normal
/// configuration. Works the same on the device and on the emulator. The driver is left running with its original options.
/// </summary>
public static class Ads1298SelfTest
{
    /// <summary>Runs the self-test on <paramref name="driver"/> (started here if needed).</summary>
    public static async Task<Ads1298SelfTestReport> RunAsync(Ads1298Driver driver, Ads1298SelfTestOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(driver);
        var o = options ?? new Ads1298SelfTestOptions();
        var original = driver.Options.Clone();
        try
        {
            await driver.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Ads1298UnknownDeviceException ex)
        {
            return new Ads1298SelfTestReport(new Ads1298DeviceId(ex.Id), ex.Message, [], driver.Counters, driver.IsEmulated, driver.Describe());
        }
        catch (Ads1298Exception ex)
        {
            return new Ads1298SelfTestReport(null, ex.Message, [], driver.Counters, driver.IsEmulated, driver.Describe());
        }
        catch (IOException ex)
        {
            return new Ads1298SelfTestReport(null, "SPI: " + ex.Message, [], driver.Counters, driver.IsEmulated, driver.Describe());
        }

        var rate = driver.PipelineRateHz;
        try
        {
            // 1. internal test signal on every channel
            var test = original.Clone();
            test.Mux = Ads1298Mux.TestSignal;
            test.TestSignal = Ads1298TestSignal.Fast;
            test.TestSignalDoubleAmplitude = false;
            test.LeadOffMode = Ads1298LeadOffMode.Off;
            driver.Reconfigure(test);
            var testData = await CaptureAsync(driver, o.SettleSeconds, o.TestSignalSeconds, cancellationToken).ConfigureAwait(false);

            // 2. shorted inputs: noise floor
            var shorted = original.Clone();
            shorted.Mux = Ads1298Mux.Shorted;
            shorted.LeadOffMode = Ads1298LeadOffMode.Off;
            shorted.TestSignal = Ads1298TestSignal.Off;
            driver.Reconfigure(shorted);
            var noiseData = await CaptureAsync(driver, o.SettleSeconds, o.NoiseSeconds, cancellationToken).ConfigureAwait(false);

            // 3. normal configuration: lead-off status
            driver.Reconfigure(original);
            await CaptureAsync(driver, 0, o.LeadOffSeconds, cancellationToken).ConfigureAwait(false);
            var (loffP, loffN) = driver.LeadOff;
            var leadOffActive = original.LeadOffMode != Ads1298LeadOffMode.Off;

            var expectedAmp = Ads1298Timing.TestSignalMicrovolts(original.ReferenceVolts, false);
            var expectedHz = Ads1298Timing.TestSignalHz(Config2.TestFreqDiv20);
            var rows = new List<Ads1298SelfTestChannel>();
            for (var c = 0; c < Leads.Count; c++)
            {
                var present = driver.Info.Present[c];
                var amp = present ? SquareAmplitude(testData[c]) : double.NaN;
                var hz = present ? SquareFrequency(testData[c], rate) : double.NaN;
                var noise = present ? Rms(noiseData[c]) : double.NaN;
                var p = leadOffActive && (loffP & (1 << c)) != 0;
                var n = leadOffActive && (loffN & (1 << c)) != 0;
                rows.Add(new Ads1298SelfTestChannel(
                    c, Leads.Name(c), present,
                    expectedAmp, amp, Math.Abs(amp - expectedAmp) <= expectedAmp * o.AmplitudeTolerancePercent / 100,
                    expectedHz, hz, Math.Abs(hz - expectedHz) <= expectedHz * o.FrequencyTolerancePercent / 100,
                    noise, o.NoiseLimitMicrovoltsRms, noise <= o.NoiseLimitMicrovoltsRms,
                    p, n, !o.RequireElectrodesAttached || !(p || n)));
            }
            return new Ads1298SelfTestReport(driver.DeviceId, null, rows, driver.Counters, driver.IsEmulated, driver.Describe());
        }
        catch (Ads1298Exception ex)
        {
            return new Ads1298SelfTestReport(driver.DeviceId, ex.Message, [], driver.Counters, driver.IsEmulated, driver.Describe());
        }
    }

    /// <summary>Reads <paramref name="settle"/> seconds (discarded) then <paramref name="seconds"/> seconds of every channel.</summary>
    private static async Task<float[][]> CaptureAsync(Ads1298Driver driver, double settle, double seconds, CancellationToken ct)
    {
        var rate = driver.PipelineRateHz;
        var skip = (int)Math.Round(settle * rate);
        var n = Math.Max(1, (int)Math.Round(seconds * rate));
        var data = new float[Leads.Count][];
        for (var c = 0; c < Leads.Count; c++) data[c] = new float[n];
        var block = new SampleBlock(256);
        var got = 0;
        while (got < n)
        {
            if (!await driver.ReadAsync(block, ct).ConfigureAwait(false))
                throw new Ads1298Exception($"the stream ended after {got} of {n} self-test samples");
            var start = 0;
            if (skip > 0)
            {
                start = Math.Min(skip, block.Count);
                skip -= start;
            }
            var take = Math.Min(block.Count - start, n - got);
            for (var c = 0; c < Leads.Count; c++) block.Channel(c).Slice(start, take).CopyTo(data[c].AsSpan(got));
            got += take;
        }
        return data;
    }

    /// <summary>Half the distance between the medians of the samples above and below the mean.</summary>
    internal static double SquareAmplitude(float[] x)
    {
        var mean = x.Average(v => (double)v);
        var hi = x.Where(v => v > mean).Select(v => (double)v).Order().ToArray();
        var lo = x.Where(v => v <= mean).Select(v => (double)v).Order().ToArray();
        if (hi.Length == 0 || lo.Length == 0) return 0;
        return (hi[hi.Length / 2] - lo[lo.Length / 2]) / 2;
    }

    /// <summary>Frequency from the rising crossings of the midpoint (hysteresis: a quarter of the swing).</summary>
    internal static double SquareFrequency(float[] x, double rate)
    {
        var amp = SquareAmplitude(x);
        if (!(amp > 0)) return 0;
        var mean = x.Average(v => (double)v);
        var low = mean - amp / 2;
        var armed = false;
        double first = double.NaN, last = double.NaN;
        var rises = 0;
        for (var i = 1; i < x.Length; i++)
        {
            if (x[i] < low) armed = true;
            if (armed && x[i - 1] < mean && x[i] >= mean)
            {
                var t = (i - 1 + (mean - x[i - 1]) / (x[i] - x[i - 1])) / rate;
                if (rises == 0) first = t;
                last = t;
                rises++;
                armed = false;
            }
        }
        return rises >= 2 ? (rises - 1) / (last - first) : 0;
    }

    internal static double Rms(float[] x)
    {
        var mean = x.Average(v => (double)v);
        return Math.Sqrt(x.Average(v => (v - mean) * (v - mean)));
    }
}
