using System.Collections.Frozen;
using System.Reflection;

namespace EcgEdge.Web;

/// <summary>A file of the clinician page: its bytes and HTTP content type.</summary>
public sealed record WebAsset(byte[] Content, string ContentType);

/// <summary>
/// Where the page's files come from: the bundle built from <c>web/</c> and embedded in this assembly (the default: a
/// device serves the page without node or npm), or a folder given with <c>--web-root</c> (development).
/// </summary>
public interface IWebAssets
{
    /// <summary>The file at <paramref name="relativePath"/> ("index.html", "app.js"), or null when there is none.</summary>
    /// <param name="relativePath">Already checked by <see cref="WebRequestPath"/>: no "..", ".", empty or hidden segment.</param>
    WebAsset? Find(string relativePath);
}

/// <summary>The page embedded at build time (web/dist, resource names "web/…").</summary>
public sealed class EmbeddedWebAssets : IWebAssets
{
    private const string Prefix = "web/";
    private readonly FrozenDictionary<string, WebAsset> _files;

    public EmbeddedWebAssets() : this(typeof(EmbeddedWebAssets).Assembly) { }

    public EmbeddedWebAssets(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var files = new Dictionary<string, WebAsset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames())
        {
            if (!name.StartsWith(Prefix, StringComparison.Ordinal)) continue;
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var path = name[Prefix.Length..];
            files[path] = new WebAsset(copy.ToArray(), ContentTypes.For(path));
        }
        _files = files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>The embedded file names (empty when the build found no web/dist).</summary>
    public IReadOnlyCollection<string> Names => _files.Keys;

    public WebAsset? Find(string relativePath) => _files.GetValueOrDefault(relativePath);
}

/// <summary>
/// Files under a folder. A path that leaves the folder, also through a symbolic link, is not found; hidden files
/// (a segment starting with ".") are refused earlier by <see cref="WebRequestPath"/>.
/// </summary>
public sealed class DirectoryWebAssets : IWebAssets
{
    private readonly string _root;

    public DirectoryWebAssets(string root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var full = Path.GetFullPath(root);
        if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"web root '{root}' does not exist");
        // The real folder (the root itself may be a link); every file must resolve inside it.
        _root = Path.TrimEndingDirectorySeparator(ResolveReal(full)) + Path.DirectorySeparatorChar;
    }

    /// <summary>Largest file served (the bundle is ~0.4 MB).</summary>
    public const long MaxFileBytes = 16L * 1024 * 1024;

    public WebAsset? Find(string relativePath)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        var candidate = Path.GetFullPath(Path.Combine(_root, relativePath));
        if (!candidate.StartsWith(_root, StringComparison.Ordinal)) return null;
        try
        {
            var info = new FileInfo(candidate);
            if (!info.Exists) return null;
            var real = ResolveReal(candidate);
            if (!real.StartsWith(_root, StringComparison.Ordinal)) return null;
            var realInfo = new FileInfo(real);
            if (!realInfo.Exists || realInfo.Length > MaxFileBytes) return null;
            return new WebAsset(File.ReadAllBytes(real), ContentTypes.For(relativePath));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The path with every symbolic link along it resolved.</summary>
    private static string ResolveReal(string fullPath)
    {
        var parts = fullPath.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        var current = Path.GetPathRoot(fullPath) ?? "/";
        foreach (var part in parts)
        {
            var next = Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            current = info.LinkTarget is not null
                ? info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? next
                : next;
        }
        return current;
    }
}

/// <summary>Content types by file extension.</summary>
public static class ContentTypes
{
    public static string For(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" or ".mjs" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".json" => "application/json",
        ".txt" => "text/plain; charset=utf-8",
        ".png" => "image/png",
        ".svg" => "image/svg+xml",
        ".ico" => "image/x-icon",
        ".map" => "application/json",
        _ => "application/octet-stream",
    };
}
