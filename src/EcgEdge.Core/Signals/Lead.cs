namespace EcgEdge.Core.Signals;

/// <summary>
/// The eight acquired channels in ADS1298 order (CH1 = lead I, CH2 = lead II, CH3..CH8 = V1..V6 against the
/// Wilson central terminal). Every stage of the pipeline uses this order; the value is the channel index.
/// </summary>
public enum Lead
{
    I = 0,
    II = 1,
    V1 = 2,
    V2 = 3,
    V3 = 4,
    V4 = 5,
    V5 = 6,
    V6 = 7,
}

/// <summary>Helpers for <see cref="Lead"/>: names and mapping of recording lead labels.</summary>
public static class Leads
{
    /// <summary>Number of acquired channels (ADS1298: 8).</summary>
    public const int Count = 8;

    private static readonly string[] Names = ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"];

    /// <summary>Display name of a channel ("I", "II", "V1" ...).</summary>
    public static string Name(Lead lead) => Names[(int)lead];

    /// <summary>Display name of channel index <paramref name="channel"/>.</summary>
    public static string Name(int channel) => Names[channel];

    /// <summary>
    /// Maps a recording's lead label onto an acquired channel. Ambulatory "MLII" (modified lead II) maps to II;
    /// "ECG", "ECG1" and similar single-lead labels are not mapped here (the caller decides, e.g. with --leads).
    /// Limb-derived leads (III, aVR, aVL, aVF) are not acquired channels and return false.
    /// </summary>
    public static bool TryParse(string label, out Lead lead)
    {
        var s = label.Trim().ToUpperInvariant().Replace(" ", "", StringComparison.Ordinal);
        switch (s)
        {
            case "I": case "LEAD I": lead = Lead.I; return true;
            case "II": case "MLII": case "ML2": case "LEAD II": lead = Lead.II; return true;
            case "V1": case "MLV1": lead = Lead.V1; return true;
            case "V2": lead = Lead.V2; return true;
            case "V3": lead = Lead.V3; return true;
            case "V4": lead = Lead.V4; return true;
            case "V5": case "MLV5": lead = Lead.V5; return true;
            case "V6": lead = Lead.V6; return true;
            default: lead = default; return false;
        }
    }
}
