using EcgEdge.Core.Signals;
using EcgEdge.Wfdb;

namespace EcgEdge.Acquisition.Replay;

/// <summary>
/// Assigns a recording's signals to the acquired channels (I, II, V1..V6). Each channel is fed by at most one signal;
/// channels no signal maps to are absent (flagged, never synthesised).
/// </summary>
public static class LeadMapping
{
    /// <summary>
    /// Returns, per signal of <paramref name="header"/>, the channel it feeds or -1.
    /// <paramref name="overrideSpec"/> ("II,V1", "-" to skip) takes precedence over the signals' labels.
    /// When no label is recognised (e.g. "ECG", "ECG1"), the first signal feeds lead II.
    /// </summary>
    public static int[] Map(WfdbHeader header, string? overrideSpec)
    {
        var n = header.Signals.Count;
        var map = new int[n];
        Array.Fill(map, -1);
        var taken = new bool[Leads.Count];
        if (!string.IsNullOrWhiteSpace(overrideSpec))
        {
            var parts = overrideSpec.Split(',', StringSplitOptions.TrimEntries);
            if (parts.Length > n)
                throw new ArgumentException($"--leads names {parts.Length} signals but record '{header.RecordName}' has {n}.");
            for (var i = 0; i < parts.Length; i++)
            {
                if (parts[i] is "-" or "") continue;
                if (!Leads.TryParse(parts[i], out var lead))
                    throw new ArgumentException($"Unknown lead '{parts[i]}' in --leads (use I, II, V1..V6 or '-').");
                if (taken[(int)lead]) throw new ArgumentException($"Lead {parts[i]} is assigned twice in --leads.");
                taken[(int)lead] = true;
                map[i] = (int)lead;
            }
            return map;
        }
        for (var i = 0; i < n; i++)
        {
            if (Leads.TryParse(header.Signals[i].Description ?? "", out var lead) && !taken[(int)lead])
            {
                taken[(int)lead] = true;
                map[i] = (int)lead;
            }
        }
        if (n > 0 && Array.TrueForAll(map, m => m < 0)) map[0] = (int)Lead.II;
        return map;
    }
}
