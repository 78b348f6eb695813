using System.ComponentModel.DataAnnotations;

namespace EcgEdge.Conditioning;

/// <summary>
/// Signal-conditioning design (defaults in one place). Bandwidth 0.5–40 Hz is the "monitoring" bandwidth
/// (AAMI/IEC monitoring mode uses 0.67–40 Hz); a diagnostic ST analysis would need 0.05 Hz and linear phase,
/// which a causal streaming filter cannot give at this latency. See docs/signal-chain.md.
/// </summary>
public sealed class ConditioningOptions
{
    public const string SectionName = "Conditioning";

    /// <summary>Baseline-wander high-pass cut-off (-3 dB), Hz.</summary>
    [Range(0.05, 5.0)]
    public double HighPassHz { get; set; } = 0.5;

    /// <summary>Order of the Butterworth high-pass (2 = one section).</summary>
    [Range(1, 8)]
    public int HighPassOrder { get; set; } = 2;

    /// <summary>Anti-noise low-pass cut-off (-3 dB), Hz.</summary>
    [Range(15.0, 150.0)]
    public double LowPassHz { get; set; } = 40;

    /// <summary>Order of the Butterworth low-pass.</summary>
    [Range(1, 8)]
    public int LowPassOrder { get; set; } = 4;

    /// <summary>Mains frequency to notch out: 50, 60, or 0 for no notch.</summary>
    [AllowedValues(0.0, 50.0, 60.0, ErrorMessage = "Conditioning:MainsHz must be 0 (no notch), 50 or 60.")]
    public double MainsHz { get; set; } = 50;

    /// <summary>Quality factor of the mains notch (-3 dB width = MainsHz / Q).</summary>
    [Range(5.0, 100.0)]
    public double NotchQ { get; set; } = 30;

    /// <summary>Signal-quality assessment.</summary>
    [Microsoft.Extensions.Options.ValidateObjectMembers]
    public QualityOptions Quality { get; set; } = new();
}

/// <summary>Thresholds of the signal-quality monitor.</summary>
public sealed class QualityOptions
{
    /// <summary>Length of the assessment segment, seconds.</summary>
    [Range(0.5, 10.0)]
    public double SegmentSeconds { get; set; } = 2.0;

    /// <summary>A conditioned channel whose peak-to-peak stays below this over a segment is flat, µV.</summary>
    [Range(1.0, 500.0)]
    public double FlatPeakToPeakMicrovolts { get; set; } = 40;

    /// <summary>Fraction of full scale at which a raw sample counts as saturated.</summary>
    [Range(0.5, 1.0)]
    public double SaturationFraction { get; set; } = 0.98;

    /// <summary>
    /// A segment is noisy when the kurtosis of the conditioned signal falls below this (clean ECG is peaky,
    /// kurtosis well above 5; Gaussian-like noise is near 3; Li, Mark and Clifford 2008 use kSQI &gt; 5).
    /// </summary>
    [Range(2.0, 20.0)]
    public double MinKurtosis { get; set; } = 4.0;

    /// <summary>A segment is noisy when its RMS exceeds this, µV (gross artefact).</summary>
    [Range(100.0, 100000.0)]
    public double MaxRmsMicrovolts { get; set; } = 3000;
}
