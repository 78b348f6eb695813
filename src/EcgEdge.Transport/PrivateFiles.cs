using EcgEdge.Transport.Outbox;

namespace EcgEdge.Transport;

/// <summary>
/// Files that hold patient data (alert audit log, alerts saved by <c>watch --save-dir</c>) and worker state (health
/// file): created owner-only — files 0600, newly created folders 0700 (POSIX; plain calls on Windows). An existing folder
/// keeps its mode (it may be a shared one chosen by the user); an existing file is tightened to 0600.
/// </summary>
public static class PrivateFiles
{
    /// <summary>Creates <paramref name="path"/> and any missing parent with mode 0700; existing folders are left as they are.</summary>
    public static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }
        // Directory.CreateDirectory(path, mode) gives the mode to the last level only: create each missing level here.
        var missing = new Stack<string>();
        for (var d = Path.GetFullPath(path); !string.IsNullOrEmpty(d) && !Directory.Exists(d); d = Path.GetDirectoryName(d))
            missing.Push(d);
        while (missing.TryPop(out var d)) Directory.CreateDirectory(d, UnixFs.DirMode0700);
    }

    /// <summary>Opens <paramref name="path"/> for appending (created 0600, an existing file tightened to 0600); missing folders are created 0700.</summary>
    public static FileStream OpenAppend(string path)
    {
        EnsureParent(path);
        var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.Read };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFs.FileMode0600;
        var stream = new FileStream(path, options);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFs.FileMode0600);
        return stream;
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> (replaced), mode 0600.</summary>
    public static async Task WriteAllBytesAsync(string path, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        var stream = OpenCreate(path);
        await using (stream.ConfigureAwait(false))
            await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> (replaced), mode 0600.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        using var stream = OpenCreate(path);
        stream.Write(bytes);
    }

    private static FileStream OpenCreate(string path)
    {
        EnsureParent(path);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFs.FileMode0600;
        var stream = new FileStream(path, options);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFs.FileMode0600); // an existing file keeps its mode otherwise
        return stream;
    }

    private static void EnsureParent(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null && !Directory.Exists(dir)) CreateDirectory(dir);
    }
}
