using System.ComponentModel.DataAnnotations;

namespace EcgEdge.Events.Alerts;

/// <summary>
/// Alarm criteria (section "Events"); defaults in one place, each with its source in docs/events.md. Durations are
/// seconds of signal.
/// </summary>
public sealed class EventOptions : IValidatableObject
{
    public const string SectionName = "Events";

    /// <summary>AF/flutter: onset after this much AF (model rhythm) without interruption by non-AF rhythm.</summary>
    [Range(5.0, 3600.0)] public double AfOnsetS { get; set; } = 30;

    /// <summary>AF/flutter: offset after this much non-AF rhythm.</summary>
    [Range(5.0, 3600.0)] public double AfOffsetS { get; set; } = 30;

    /// <summary>Minimum smoothed rhythm probability for a decision to count (the manifest's min_prob_alarm).</summary>
    [Range(0.0, 1.0)] public double MinRhythmProbability { get; set; } = 0.5;

    /// <summary>A ventricular run: at least this many consecutive ventricular beats (non-sustained VT, counted in the trend) …</summary>
    [Range(3, 100)] public int VtMinBeats { get; set; } = 3;

    /// <summary>… at this rate or faster (bpm).</summary>
    [Range(60.0, 300.0)] public double VtMinRateBpm { get; set; } = 100;

    /// <summary>
    /// The VT alarm (high priority): a run of this many ventricular beats (MCOT wide-complex tachycardia, Kadish 2010:
    /// ≥ 15 beats) …
    /// </summary>
    [Range(3, 200)] public int VtAlarmBeats { get; set; } = 15;

    /// <summary>… at this rate or faster (bpm; MCOT: 120) …</summary>
    [Range(60.0, 300.0)] public double VtAlarmRateBpm { get; set; } = 120;

    /// <summary>… or a run that lasts this long at <see cref="VtMinRateBpm"/> or faster (sustained VT: 30 s).</summary>
    [Range(5.0, 600.0)] public double VtSustainedS { get; set; } = 30;

    /// <summary>A ventricular run survives this many consecutive other beats between ventricular ones (0: strictly consecutive) …</summary>
    [Range(0, 3)] public int VtRunMaxGapBeats { get; set; } = 1;

    /// <summary>… while at least this fraction of its beats are ventricular (bigeminy, one half, is not VT).</summary>
    [Range(0.5, 1.0)] public double VtMinVentricularFraction { get; set; } = 0.75;

    /// <summary>
    /// For the VT criterion a beat is ventricular when the model calls it V, or when its QRS is outside the patient's
    /// dominant cluster and at least this many times as wide as the dominant beat (0: the model's V alone). The model's
    /// V misses most VT of patients it never saw (MIT-BIH 223 out of fold, docs/events.md); a wide complex unlike the
    /// patient's normal beat is what the MCOT wide-complex-tachycardia criterion names. 2: validated across databases
    /// (tools/train/experiments/vt_alarm_rules.py).
    /// </summary>
    [Range(0.0, 10.0)] public double VtWideQrsRatio { get; set; } = 2.0;

    // VF: shockable-rhythm analysis of the signal (ShockableRhythm; docs/events.md "VF"). Segments of VfSegmentLengthS of the
    // preferred usable lead every VfHopS; each of five published features votes on its published threshold; a segment is
    // shockable with VfMinVotes votes, one of them narrow-band (VF filter or spectrum), coarse and fast enough.

    /// <summary>VF: length of an analysed segment (s). 4 s: the AED analysis segment of the published comparisons (Figuera et
    /// al. 2016 analyse 4 and 8 s; 8 s is slightly more accurate but doubles the time VF must last to fill a segment).</summary>
    [Range(3.0, 8.0)] public double VfSegmentLengthS { get; set; } = 4;

    /// <summary>VF: a segment is analysed every this many seconds (overlapping segments when shorter than the segment).</summary>
    [Range(0.5, 8.0)] public double VfHopS { get; set; } = 2;

    /// <summary>VF: onset after this many consecutive shockable segments (2 at a 2-s hop: 6 s of signal) …</summary>
    [Range(1, 10)] public int VfSegments { get; set; } = 2;

    /// <summary>… or after one with this many votes, both narrow-band ones among them (0: never).</summary>
    [Range(0, 5)] public int VfSingleSegmentVotes { get; set; } = 4;

    /// <summary>VF: offset after this long without a shockable segment (s).</summary>
    [Range(2.0, 60.0)] public double VfOffsetS { get; set; } = 8;

    /// <summary>VF: votes (of 5) a shockable segment needs, one of them narrow-band (VF filter or spectrum).</summary>
    [Range(1, 5)] public int VfMinVotes { get; set; } = 3;

    /// <summary>VF: every 1-s block of a shockable segment is at least this large peak to peak (µV): coarse VF is
    /// ≥ 200 µV (AHA 1997 AED performance statement); below it: fine VF, asystole or a flat line.</summary>
    [Range(0.0, 2000.0)] public double VfMinPeakToPeakUv { get; set; } = 200;

    /// <summary>VF: the segment's dominant frequency (Barro's Ω) is at least this (Hz): VF and flutter oscillate at 3–9 Hz;
    /// a narrow-band oscillation below 2 Hz (120/min) is motion artefact or an organised rhythm.</summary>
    [Range(0.5, 9.0)] public double VfMinPeakHz { get; set; } = 2;

    /// <summary>VF filter leakage below this votes shockable (Kuo &amp; Dillman 1978: 0.406).</summary>
    [Range(0.05, 1.0)] public double VfLeakageThreshold { get; set; } = 0.406;

    /// <summary>Threshold-crossing interval below this (ms) votes shockable (Thakor et al. 1990: 400 ms).</summary>
    [Range(100.0, 1000.0)] public double VfTciMs { get; set; } = 400;

    /// <summary>Spectral algorithm (Barro et al. 1989, as Amann et al. 2005 give it): votes when M ≤ 1.55, A1 &lt; 0.19,
    /// A2 ≥ 0.45 and A3 ≤ <see cref="VfSpectralA3Max"/>.</summary>
    [Range(0.5, 5.0)] public double VfSpectralMMax { get; set; } = 1.55;

    [Range(0.0, 1.0)] public double VfSpectralA1Max { get; set; } = 0.19;

    [Range(0.0, 1.0)] public double VfSpectralA2Min { get; set; } = 0.45;

    /// <summary>Barro's harmonic criterion (A3 ≤ 0.09) is not applied by default (1): it tells VF from ventricular flutter,
    /// whose harmonics it rejects, and flutter is a shockable rhythm too (MIT-BIH 207: A3 0.12 median in flutter).</summary>
    [Range(0.0, 1.0)] public double VfSpectralA3Max { get; set; } = 1;

    /// <summary>Normalised Lempel–Ziv complexity at or above this votes shockable (Zhang et al. 1999 order sinus &lt; VT &lt; VF
    /// on 7-s windows; their values do not transfer to 4-s segments at 250 Hz: 0.2 is set here, docs/events.md).</summary>
    [Range(0.01, 1.0)] public double VfComplexityMin { get; set; } = 0.2;

    /// <summary>Share of phase-space boxes visited above this votes shockable (Amann et al. 2007: 0.15).</summary>
    [Range(0.01, 1.0)] public double VfPhaseSpaceMin { get; set; } = 0.15;

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

    /// <summary>
    /// The cross-field rules, beyond the DataAnnotations: the source-generated validator (<c>EventOptionsValidator</c> in
    /// EcgEdge.Pipeline) runs them with the attributes, so one validator says everything that is wrong.
    /// </summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!(PauseS < PauseHighS && PauseHighS < AsystoleS)) yield return new ValidationResult("Events: PauseS < PauseHighS < AsystoleS is required.");
        if (BradyHighBpm >= BradyBpm) yield return new ValidationResult("Events: BradyHighBpm must be below BradyBpm.");
        if (TachyHighBpm <= TachyBpm) yield return new ValidationResult("Events: TachyHighBpm must be above TachyBpm.");
        if (VtAlarmBeats < VtMinBeats) yield return new ValidationResult("Events: VtAlarmBeats must be at least VtMinBeats.");
        if (VtAlarmRateBpm < VtMinRateBpm) yield return new ValidationResult("Events: VtAlarmRateBpm must be at least VtMinRateBpm.");
        if (VtWideQrsRatio is > 0 and < 1.2)
            yield return new ValidationResult("Events: VtWideQrsRatio must be 0 (the model's V alone) or at least 1.2 (a QRS that much wider than the dominant beat's).");
        if (VfHopS > VfSegmentLengthS) yield return new ValidationResult("Events: VfHopS must not exceed VfSegmentLengthS (segments would leave signal unanalysed).");
        if (VfSingleSegmentVotes != 0 && VfSingleSegmentVotes < VfMinVotes)
            yield return new ValidationResult("Events: VfSingleSegmentVotes must be 0 (off) or at least VfMinVotes.");
        if (VfSingleSegmentVotes != 0 && VfSingleSegmentVotes < 2)
            yield return new ValidationResult("Events: VfSingleSegmentVotes needs both narrow-band votes: 0 (off) or at least 2.");
    }
}
