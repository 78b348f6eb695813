using System.ComponentModel.DataAnnotations;

namespace EcgEdge.Detection;

/// <summary>QRS detector parameters (defaults in one place; see docs/signal-chain.md for the design).</summary>
public sealed class QrsDetectorOptions
{
    public const string SectionName = "Detection";

    /// <summary>Lower cut-off of the QRS-enhancing band-pass, Hz.</summary>
    [Range(1.0, 20.0)] public double BandLowHz { get; set; } = 5;

    /// <summary>Upper cut-off of the QRS-enhancing band-pass, Hz.</summary>
    [Range(10.0, 60.0)] public double BandHighHz { get; set; } = 15;

    /// <summary>Moving-window integration length, seconds (about a QRS width).</summary>
    [Range(0.05, 0.3)] public double IntegrationSeconds { get; set; } = 0.12;

    /// <summary>Time constant of the per-lead gain normalisation, seconds.</summary>
    [Range(1.0, 60.0)] public double AgcSeconds { get; set; } = 8;

    /// <summary>No second QRS within this interval of a QRS, seconds.</summary>
    [Range(0.15, 0.4)] public double RefractorySeconds { get; set; } = 0.2;

    /// <summary>A peak within this interval of the previous QRS is tested as a possible T wave, seconds.</summary>
    [Range(0.2, 0.5)] public double TWaveWindowSeconds { get; set; } = 0.36;

    /// <summary>Detection threshold: noise level + this fraction of (signal level − noise level).</summary>
    [Range(0.05, 0.8)] public double ThresholdFraction { get; set; } = 0.25;

    /// <summary>Search back when no QRS was found for this many average RR intervals.</summary>
    [Range(1.1, 3.0)] public double SearchBackRr { get; set; } = 1.66;

    /// <summary>Search-back accepts a peak above this fraction of the regular threshold.</summary>
    [Range(0.1, 0.9)] public double SearchBackThreshold { get; set; } = 0.3;

    /// <summary>A peak of the integrated feature must be the largest within ± this interval, seconds.</summary>
    [Range(0.05, 0.3)] public double PeakHalfWindowSeconds { get; set; } = 0.18;

    /// <summary>The R peak is searched within ± this interval of the QRS energy maximum, seconds.</summary>
    [Range(0.0, 0.1)] public double LocateRadiusSeconds { get; set; } = 0.06;

    /// <summary>Learning period at start and after a gap, seconds.</summary>
    [Range(1.0, 10.0)] public double LearningSeconds { get; set; } = 2;
}
