using System.ComponentModel.DataAnnotations;

namespace EcgEdge.Events.Alerts;

/// <summary>
/// Alarm criteria (section "Events"); defaults in one place, each with its source in docs/events.md. Durations are
/// seconds of signal.
/// </summary>
public sealed class EventOptions
{
    public const string Section = "Events";

    /// <summary>AF/flutter: onset after this much AF (model rhythm) without interruption by non-AF rhythm.</summary>
    [Range(5.0, 3600.0)] public double AfOnsetS { get; set; } = 30;

    /// <summary>AF/flutter: offset after this much non-AF rhythm.</summary>
    [Range(5.0, 3600.0)] public double AfOffsetS { get; set; } = 30;

    /// <summary>Minimum smoothed rhythm probability for a decision to count (the manifest's min_prob_alarm).</summary>
    [Range(0.0, 1.0)] public double MinRhythmProbability { get; set; } = 0.5;

    /// <summary>VT: at least this many consecutive ventricular beats …</summary>
    [Range(3, 100)] public int VtMinBeats { get; set; } = 3;

    /// <summary>… at a rate above this (bpm).</summary>
    [Range(60.0, 300.0)] public double VtMinRateBpm { get; set; } = 100;

    /// <summary>VT lasting this long is sustained (high priority).</summary>
    [Range(5.0, 600.0)] public double VtSustainedS { get; set; } = 30;

    /// <summary>VF: consecutive 4-s segments with VF-filter leakage below the threshold.</summary>
    [Range(1, 10)] public int VfSegments { get; set; } = 2;

    /// <summary>VF filter leakage threshold (Kuo &amp; Dillman 1978: 0.406).</summary>
    [Range(0.05, 1.0)] public double VfLeakageThreshold { get; set; } = 0.406;

    /// <summary>Pause: no beat for this long (medium priority) …</summary>
    [Range(1.5, 30.0)] public double PauseS { get; set; } = 3;

    /// <summary>… high priority from this long …</summary>
    [Range(2.0, 60.0)] public double PauseHighS { get; set; } = 6;

    /// <summary>… and asystole from this long (high priority, its own alert).</summary>
    [Range(3.0, 120.0)] public double AsystoleS { get; set; } = 10;

    /// <summary>Bradycardia below this heart rate (bpm), sustained <see cref="RateSustainS"/>; high priority below <see cref="BradyHighBpm"/>.</summary>
    [Range(20.0, 60.0)] public double BradyBpm { get; set; } = 40;

    [Range(15.0, 60.0)] public double BradyHighBpm { get; set; } = 30;

    /// <summary>Tachycardia above this heart rate (bpm), sustained; high priority above <see cref="TachyHighBpm"/>.</summary>
    [Range(100.0, 250.0)] public double TachyBpm { get; set; } = 150;

    [Range(100.0, 300.0)] public double TachyHighBpm { get; set; } = 180;

    /// <summary>How long a rate condition must hold to start, and its absence to end.</summary>
    [Range(2.0, 600.0)] public double RateSustainS { get; set; } = 10;

    /// <summary>Hysteresis of the rate thresholds for the offset (bpm).</summary>
    [Range(0.0, 30.0)] public double RateHysteresisBpm { get; set; } = 5;

    /// <summary>An unusable electrode (saturated, flat) for this long raises a technical alert.</summary>
    [Range(1.0, 600.0)] public double LeadOffS { get; set; } = 10;

    /// <summary>
    /// An electrode the front-end reports as detached (the ADS1298's lead-off comparators) for this long raises the
    /// lead-off alert: a hardware verdict, so only debounced, not waited on.
    /// </summary>
    [Range(0.1, 600.0)] public double LeadOffDetachedS { get; set; } = 1;

    /// <summary>Noise (model) on all leads for this long raises a signal-quality alert.</summary>
    [Range(5.0, 3600.0)] public double NoiseS { get; set; } = 30;

    /// <summary>After an offset, a new onset of the same non-life-threatening type within this time is not announced again.</summary>
    [Range(0.0, 3600.0)] public double RefractoryS { get; set; } = 60;

    /// <summary>Ectopy burden trend (VEB/SVEB per hour) every this many seconds.</summary>
    [Range(10.0, 86400.0)] public double TrendIntervalS { get; set; } = 300;

    /// <summary>Strip context before the onset and after it.</summary>
    [Range(1.0, 30.0)] public double StripPreS { get; set; } = 4;

    [Range(1.0, 30.0)] public double StripPostS { get; set; } = 6;

    /// <summary>
    /// Samples lost in one gap (missed DRDY, dropped frames, a stalled source) for this long interrupt monitoring: every
    /// open episode is closed with a "monitoring interrupted" offset, and nothing (no pause, no rate, no AF run) is carried
    /// across the gap. Shorter gaps are bridged.
    /// </summary>
    [Range(0.5, 600.0)] public double MonitoringGapS { get; set; } = 5;

    /// <summary>Optional local audit trail: every alert message appended as a JSON line to this file.</summary>
    public string AlertLogFile { get; set; } = "";

    /// <summary>Lists problems beyond the DataAnnotations.</summary>
    public IEnumerable<string> Problems()
    {
        if (!(PauseS < PauseHighS && PauseHighS < AsystoleS)) yield return "Events: PauseS < PauseHighS < AsystoleS is required.";
        if (BradyHighBpm >= BradyBpm) yield return "Events: BradyHighBpm must be below BradyBpm.";
        if (TachyHighBpm <= TachyBpm) yield return "Events: TachyHighBpm must be above TachyBpm.";
    }
}
