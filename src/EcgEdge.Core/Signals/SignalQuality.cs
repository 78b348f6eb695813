namespace EcgEdge.Core.Signals;

/// <summary>Per-channel signal-quality flags. <see cref="Good"/> means none of the problems below.</summary>
[Flags]
public enum SignalQuality : byte
{
    Good = 0,
    /// <summary>The channel is not acquired (not in the recording, or powered down). Its samples are zero.</summary>
    Absent = 1 << 0,
    /// <summary>An electrode of this channel is detached (ADS1298 lead-off comparators, or replayed as such).</summary>
    LeadOff = 1 << 1,
    /// <summary>The signal has (almost) no variation: disconnected input, or a stuck converter.</summary>
    FlatLine = 1 << 2,
    /// <summary>Samples at or beyond the converter's full scale.</summary>
    Saturated = 1 << 3,
    /// <summary>High-frequency or broadband noise (EMG, motion) dominating the ECG band.</summary>
    HighNoise = 1 << 4,
    /// <summary>
    /// Acquired, but not judged yet: the quality monitor has not completed its first segment for this channel. Usable for
    /// detection (nothing is known against it), but never reported to a clinician as "ok".
    /// </summary>
    Unassessed = 1 << 5,
}

/// <summary>Helpers for <see cref="SignalQuality"/>.</summary>
public static class SignalQualityExtensions
{
    /// <summary>True when the channel can be used for detection (present, attached, not flat, not saturated).</summary>
    public static bool IsUsable(this SignalQuality q) =>
        (q & (SignalQuality.Absent | SignalQuality.LeadOff | SignalQuality.FlatLine | SignalQuality.Saturated)) == 0;

    /// <summary>
    /// The electrode's state as a clinician reads it (vitals, alerts, status, web page): "absent" for a channel that is not
    /// acquired (not in the recording, not wired), "pending" before the quality monitor has judged it, "ok" only for a
    /// judged channel with no problem, else the problems (e.g. "LeadOff", "HighNoise").
    /// </summary>
    public static string StateName(this SignalQuality q)
    {
        if ((q & SignalQuality.Absent) != 0) return "absent";
        var problems = q & ~SignalQuality.Unassessed;
        if (problems != SignalQuality.Good) return problems.ToString();
        return q == SignalQuality.Good ? "ok" : "pending";
    }
}
