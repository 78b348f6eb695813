using System.Runtime.InteropServices;

namespace EcgEdge.Transport.Outbox;

/// <summary>File-system helpers: owner-only permissions and directory fsync (POSIX only; no-ops elsewhere).</summary>
internal static partial class UnixFs
{
    public const UnixFileMode FileMode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public const UnixFileMode DirMode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;


    public static void CreatePrivateDirectory(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(path, DirMode0700);
            File.SetUnixFileMode(path, DirMode0700); // also tighten an existing directory
        }
        else System.IO.Directory.CreateDirectory(path);
    }

    public static FileStream CreateOrOpenForAppend(string path)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.Write,
            Share = FileShare.Read | FileShare.Delete,
            BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = FileMode0600;
        var stream = new FileStream(path, options);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, FileMode0600); // an existing file keeps its mode otherwise
        stream.Seek(0, SeekOrigin.End);
        return stream;
    }

    public static FileStream CreateNew(string path)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = FileMode0600;
        return new FileStream(path, options);
    }

    /// <summary>Makes a create/rename/delete in <paramref name="directory"/> durable (fsync of the directory).</summary>
    public static void FsyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD()) return;
        var fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0) return; // best effort: some file systems refuse to open directories
        try { _ = Fsync(fd); }
        finally { _ = Close(fd); }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
