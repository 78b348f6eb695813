namespace EcgEdge.Acquisition.Ads1298;

/// <summary>
/// The four limb leads the ADS1298 does not acquire, derived from leads I and II (Einthoven/Goldberger):
/// III = II − I, aVR = −(I + II)/2, aVL = I − II/2, aVF = II − I/2. Span-based, no allocation.
/// </summary>
public static class LimbLeads
{
    /// <summary>Names in the order of <see cref="Derive(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float}, Span{float})"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["III", "aVR", "aVL", "aVF"];

    public static float III(float i, float ii) => ii - i;
    public static float AVR(float i, float ii) => -(i + ii) * 0.5f;
    public static float AVL(float i, float ii) => i - ii * 0.5f;
    public static float AVF(float i, float ii) => ii - i * 0.5f;

    /// <summary>Derives the four leads for every sample of <paramref name="leadI"/> and <paramref name="leadII"/>.</summary>
    public static void Derive(ReadOnlySpan<float> leadI, ReadOnlySpan<float> leadII, Span<float> iii, Span<float> aVR, Span<float> aVL, Span<float> aVF)
    {
        var n = leadI.Length;
        if (leadII.Length < n || iii.Length < n || aVR.Length < n || aVL.Length < n || aVF.Length < n)
            throw new ArgumentException("All spans must be at least as long as lead I.");
        for (var k = 0; k < n; k++)
        {
            var i = leadI[k];
            var ii = leadII[k];
            iii[k] = ii - i;
            aVR[k] = -(i + ii) * 0.5f;
            aVL[k] = i - ii * 0.5f;
            aVF[k] = ii - i * 0.5f;
        }
    }
}
