using System.Globalization;

namespace EcgEdge.Wfdb;

/// <summary>One signal line of a WFDB header: where and how a signal is stored, and how to calibrate it.</summary>
/// <remarks>
/// Samples are handled as raw ADC units (ADU). <see cref="ToPhysical"/> converts them to <see cref="Units"/>,
/// <see cref="ToMicrovolts(int)"/> to microvolts when the units are a voltage (V, mV, uV/µV, nV; letter case is ignored,
/// so "mv" is millivolts). Invalid samples (the most negative value of the format) convert to NaN.
/// </remarks>
public sealed record WfdbSignalSpec
{
    /// <summary>The WFDB default gain (ADU per physical unit) for a gain of 0 or no gain.</summary>
    public const double DefaultGain = 200;

    private readonly double _gain;
    private readonly int? _baseline;
    private readonly string _units = "mV";
    private readonly double _microvoltsPerUnit = 1000;
    private readonly int _format;
    private readonly int _adcResolution;

    /// <summary>The signal file name, relative to the header's directory (e.g. "101.dat").</summary>
    public required string FileName { get; init; }

    /// <summary>The WFDB storage format (e.g. 212, 16).</summary>
    public required int Format
    {
        get => _format;
        init => _format = value;
    }

    /// <summary>Samples of this signal per frame (the "x" suffix of the format field); 1 when absent.</summary>
    public int SamplesPerFrame { get; init; } = 1;

    /// <summary>The skew in frames (the ":" suffix of the format field); 0 when absent.</summary>
    public int Skew { get; init; }

    /// <summary>Bytes to skip at the start of the signal file (the "+" suffix of the format field); 0 when absent.</summary>
    public long ByteOffset { get; init; }

    /// <summary>
    /// ADU per physical unit. A gain of 0 (uncalibrated) or no gain reads as <see cref="DefaultGain"/> (200);
    /// <see cref="IsCalibrated"/> tells which.
    /// </summary>
    public double Gain
    {
        get => _gain == 0 ? DefaultGain : _gain;
        init => _gain = value;
    }

    /// <summary>False when the header gave a gain of 0 or none (the signal is uncalibrated and <see cref="Gain"/> is the default 200).</summary>
    public bool IsCalibrated => _gain != 0;

    /// <summary>The ADU value that corresponds to 0 physical units; defaults to <see cref="AdcZero"/> when not given.</summary>
    public int Baseline
    {
        get => _baseline ?? AdcZero;
        init => _baseline = value;
    }

    /// <summary>True when the header gave the baseline explicitly (in parentheses after the gain).</summary>
    public bool HasExplicitBaseline => _baseline.HasValue;

    /// <summary>The physical units (e.g. "mV"); "mV" when absent.</summary>
    public string Units
    {
        get => _units;
        init
        {
            _units = string.IsNullOrEmpty(value) ? "mV" : value;
            _microvoltsPerUnit = MicrovoltsPer(_units);
        }
    }

    /// <summary>Microvolts per physical unit (1000 for mV, 1 for uV, 1e6 for V), or NaN when <see cref="Units"/> is not a voltage.</summary>
    public double MicrovoltsPerUnit => _microvoltsPerUnit;

    /// <summary>The ADC resolution in bits. A 0 or absent value reads as the format's default (12 for 212, 16 for 16).</summary>
    public int AdcResolution
    {
        get => _adcResolution > 0 ? _adcResolution : WfdbSignalFormats.DefaultAdcResolution(_format);
        init => _adcResolution = value;
    }

    /// <summary>The ADU value at the middle of the ADC input range; 0 when absent.</summary>
    public int AdcZero { get; init; }

    /// <summary>The first sample of the signal as stated by the header, or null when absent.</summary>
    public int? InitialValue { get; init; }

    /// <summary>The 16-bit checksum as stated by the header (signed or unsigned), or null when absent.</summary>
    public int? Checksum { get; init; }

    /// <summary>The block size in bytes; 0 (the usual value) for ordinary files.</summary>
    public int BlockSize { get; init; }

    /// <summary>The signal description, usually the lead name (e.g. "MLII", "V1", "I").</summary>
    public string Description { get; init; } = string.Empty;

    /// <summary>The stored value that marks an invalid sample in this signal's format (-32768 for 16, -2048 for 212).</summary>
    public int InvalidValue => WfdbSignalFormats.InvalidSample(_format);

    /// <summary>True when <paramref name="adu"/> is the format's invalid-sample marker.</summary>
    public bool IsInvalid(int adu) => adu == WfdbSignalFormats.InvalidSample(_format);

    /// <summary>Converts a sample to physical units: (adu - <see cref="Baseline"/>) / <see cref="Gain"/>; NaN for an invalid sample.</summary>
    public double ToPhysical(int adu) => IsInvalid(adu) ? double.NaN : (adu - (double)Baseline) / Gain;

    /// <summary>Converts a sample to microvolts; NaN for an invalid sample.</summary>
    /// <exception cref="InvalidOperationException"><see cref="Units"/> is not a voltage unit.</exception>
    public float ToMicrovolts(int adu)
    {
        if (double.IsNaN(_microvoltsPerUnit))
        {
            throw new InvalidOperationException($"Signal '{Description}' has units '{_units}', which is not a voltage.");
        }

        return IsInvalid(adu) ? float.NaN : (float)((adu - (double)Baseline) * (_microvoltsPerUnit / Gain));
    }

    /// <summary>Converts a block of samples to microvolts (invalid samples become NaN).</summary>
    /// <param name="adu">The samples in ADU.</param>
    /// <param name="destination">Receives the values; must be at least as long as <paramref name="adu"/>.</param>
    /// <exception cref="InvalidOperationException"><see cref="Units"/> is not a voltage unit.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public void ToMicrovolts(ReadOnlySpan<int> adu, Span<float> destination)
    {
        if (double.IsNaN(_microvoltsPerUnit))
        {
            throw new InvalidOperationException($"Signal '{Description}' has units '{_units}', which is not a voltage.");
        }

        if (destination.Length < adu.Length)
        {
            throw new ArgumentException("Destination is shorter than the source.", nameof(destination));
        }

        double scale = _microvoltsPerUnit / Gain;
        double baseline = Baseline;
        int invalid = InvalidValue;
        for (int i = 0; i < adu.Length; i++)
        {
            int v = adu[i];
            destination[i] = v == invalid ? float.NaN : (float)((v - baseline) * scale);
        }
    }

    /// <summary>Microvolts per unit for a unit string, or NaN when it is not a voltage.</summary>
    internal static double MicrovoltsPer(string units)
    {
        string u = units.Trim();
        if (u.Equals("mV", StringComparison.OrdinalIgnoreCase))
        {
            return 1000;
        }

        if (u.Equals("uV", StringComparison.OrdinalIgnoreCase) || u.Equals("\u00B5V", StringComparison.OrdinalIgnoreCase)
            || u.Equals("\u03BCV", StringComparison.OrdinalIgnoreCase))
        {
            return 1;
        }

        if (u.Equals("V", StringComparison.OrdinalIgnoreCase))
        {
            return 1_000_000;
        }

        if (u.Equals("nV", StringComparison.OrdinalIgnoreCase))
        {
            return 0.001;
        }

        return double.NaN;
    }

    /// <summary>The gain as stored (0 when uncalibrated), for writing headers.</summary>
    internal double DeclaredGain => _gain;

    /// <summary>The ADC resolution as declared (0 when absent).</summary>
    internal int DeclaredAdcResolution => _adcResolution;

    /// <summary>Formats the gain field: gain[(baseline)][/units].</summary>
    internal string FormatGainField()
    {
        string s = _gain.ToString("R", CultureInfo.InvariantCulture);
        if (_baseline.HasValue)
        {
            s += "(" + _baseline.Value.ToString(CultureInfo.InvariantCulture) + ")";
        }

        if (_baseline.HasValue || !_units.Equals("mV", StringComparison.Ordinal))
        {
            s += "/" + _units;
        }

        return s;
    }
}
