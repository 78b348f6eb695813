namespace EcgEdge.Tests;

/// <summary>Locates the shared real-recording folders; tests that need them skip when absent.</summary>
public static class TestData
{
    /// <summary>The repository root (the folder holding EcgEdge.sln).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>../shared/data beside the repository, or null when it is not there.</summary>
    public static string? SharedData { get; } = FindShared();

    /// <summary>
    /// Records added to cpsc2021-sample after its first 18 (its README, "Four more records"): tests pinned to the original
    /// sample's counts leave them out.
    /// </summary>
    public static IReadOnlySet<string> Cpsc2021AddedRecords { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "data_0_1", "data_0_2", "data_8_10", "data_25_24",
    };

    public static string? Dir(string name)
    {
        if (SharedData is null) return null;
        var d = Path.Combine(SharedData, name);
        return Directory.Exists(d) ? d : null;
    }

    /// <summary>Path of a shared data folder; skips the calling test when it is missing.</summary>
    public static string Require(string name)
    {
        var d = Dir(name);
        Skip.If(d is null, $"shared data folder '{name}' not found beside the repository");
        return d!;
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "EcgEdge.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("EcgEdge.sln not found above " + AppContext.BaseDirectory);
    }

    private static string? FindShared()
    {
        var env = Environment.GetEnvironmentVariable("ECGEDGE_SHARED_DATA");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env)) return env;
        var d = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "data"));
        return Directory.Exists(d) ? d : null;
    }
}
