namespace EcgEdge.Fuzz.Targets;

/// <summary>
/// Not a parser: proves that the set-up reports crashes. An input that starts with '!' throws an exception outside the
/// contract; afl-fuzz's mutations reach it from the seed "ECG." (one byte away) within seconds.
/// `fuzz/run.sh canary 30` must exit 1 with a saved crash.
/// </summary>
internal sealed class CanaryTarget : IFuzzTarget
{
    public void Setup(string workDirectory)
    {
    }

    public void Run(byte[] input)
    {
        // Some instrumented product code, so that afl-fuzz sees coverage (it refuses a target without any).
        foreach (byte b in input.AsSpan(0, Math.Min(input.Length, 8))) EcgEdge.Wfdb.AnnotationCodes.TryParseMnemonic((char)b, out _);
        if (input.Length > 0 && input[0] == '!')
            throw new InvalidOperationException("canary: the fuzzer reached the planted crash");
    }

    public bool Expected(Exception e) => false;
}
