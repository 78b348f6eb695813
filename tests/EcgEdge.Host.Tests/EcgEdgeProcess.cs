using System.Diagnostics;

namespace EcgEdge.Tests;

/// <summary>
/// Runs the <c>ecgedge</c> CLI built beside the tests as a child process, for tests that need a runtime of its own
/// (allocation counts, native library resolution, environment variables, exit codes). The child is killed when it
/// outlives the timeout.
/// </summary>
public static class EcgEdgeProcess
{
    /// <summary>Exit code and standard output followed by standard error.</summary>
    public static Task<(int Code, string Output)> RunAsync(TimeSpan timeout, params string[] args) => RunAsync(timeout, null, args);

    public static async Task<(int Code, string Output)> RunAsync(TimeSpan timeout, IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ecgedge.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw;
        }
        return (p.ExitCode, await stdout + "\n" + await stderr);
    }
}
