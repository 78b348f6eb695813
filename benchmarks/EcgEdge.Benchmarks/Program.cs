using BenchmarkDotNet.Running;

namespace EcgEdge.Benchmarks;

public static class Program
{
    /// <summary>All benchmarks of this assembly; pass BenchmarkDotNet arguments (e.g. --filter '*Qrs*', --job short).</summary>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
