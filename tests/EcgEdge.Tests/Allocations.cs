namespace EcgEdge.Tests;

/// <summary>Measures what a piece of steady-state code allocates on the calling thread.</summary>
public static class Allocations
{
    /// <summary>
    /// Runs <paramref name="pass"/> a few times to let the JIT and tiered compilation settle, then returns the smallest
    /// number of bytes one pass allocated over up to <paramref name="attempts"/> measured passes (stopping at the
    /// first that allocates nothing). A real per-call allocation shows in every pass; the minimum ignores one-off
    /// runtime noise while other tests load the machine (CI once saw 8,144 bytes in a single pass that allocates
    /// nothing).
    /// </summary>
    public static long SmallestPerPass(Action pass, int warmups = 3, int attempts = 5)
    {
        // The async form completes synchronously here (no await suspends), and the wrapper is created once, outside
        // the measured passes.
        Task Pass() { pass(); return Task.CompletedTask; }
        return SmallestPerPassAsync(Pass, warmups, attempts).GetAwaiter().GetResult();
    }

    /// <summary>
    /// <see cref="SmallestPerPass"/> for a pass that awaits (a replay source's reads). The reads complete synchronously,
    /// so the pass stays on the calling thread, whose allocations are counted.
    /// </summary>
    public static async Task<long> SmallestPerPassAsync(Func<Task> pass, int warmups = 3, int attempts = 5)
    {
        for (var i = 0; i < warmups; i++) await pass();
        var smallest = long.MaxValue;
        for (var attempt = 0; attempt < attempts && smallest != 0; attempt++)
        {
            if (attempt > 0) Thread.Sleep(100 * attempt);
            var before = GC.GetAllocatedBytesForCurrentThread();
            await pass();
            smallest = Math.Min(smallest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return smallest;
    }
}
