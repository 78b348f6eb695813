namespace EcgEdge.Evaluation;

/// <summary>Result of matching test beats against reference beats.</summary>
/// <param name="ReferenceMatch">For each reference beat, the index of its matched test beat, or -1.</param>
/// <param name="TestMatch">For each test beat, the index of its matched reference beat, or -1.</param>
public sealed record MatchResult(int[] ReferenceMatch, int[] TestMatch);

/// <summary>
/// Beat-by-beat matching as in ANSI/AAMI EC57 and the WFDB <c>bxb</c> tool: walk both annotation streams in time order;
/// a test beat within the match window (150 ms) of a reference beat is paired with it, unless the next test beat is
/// closer to that reference beat (then the current test beat is an extra detection) or the next reference beat is
/// closer to the test beat (then the current reference beat was missed). Each beat is paired at most once.
/// </summary>
public static class BeatMatcher
{
    /// <summary>Matches sorted beat times (samples). <paramref name="window"/> is the largest allowed |difference|.</summary>
    public static MatchResult Match(ReadOnlySpan<long> reference, ReadOnlySpan<long> test, long window)
    {
        if (window < 0) throw new ArgumentOutOfRangeException(nameof(window));
        EnsureSorted(reference, nameof(reference));
        EnsureSorted(test, nameof(test));
        var refMatch = new int[reference.Length];
        var testMatch = new int[test.Length];
        Array.Fill(refMatch, -1);
        Array.Fill(testMatch, -1);
        int i = 0, j = 0;
        while (i < reference.Length && j < test.Length)
        {
            var r = reference[i];
            var t = test[j];
            if (t < r - window) { j++; continue; }
            if (t > r + window) { i++; continue; }
            var d = Math.Abs(t - r);
            if (j + 1 < test.Length && Math.Abs(test[j + 1] - r) < d) { j++; continue; }
            if (i + 1 < reference.Length && Math.Abs(reference[i + 1] - t) < d) { i++; continue; }
            refMatch[i] = j;
            testMatch[j] = i;
            i++;
            j++;
        }
        return new MatchResult(refMatch, testMatch);
    }

    private static void EnsureSorted(ReadOnlySpan<long> x, string name)
    {
        for (var k = 1; k < x.Length; k++)
            if (x[k] < x[k - 1]) throw new ArgumentException("Beat times must be in non-decreasing order.", name);
    }
}
