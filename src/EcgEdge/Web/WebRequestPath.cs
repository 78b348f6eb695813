namespace EcgEdge.Web;

/// <summary>
/// Turns an HTTP request target ("/", "/app.js?v=1") into a relative file path, refusing anything that could name a
/// file outside the page: "..", "." and empty segments (also percent-encoded), backslashes, NUL and control
/// characters, hidden names (".git"), absolute-form targets ("http://…") and targets over 1 KiB.
/// </summary>
public static class WebRequestPath
{
    public const int MaxTargetChars = 1024;

    /// <summary>The relative path for <paramref name="target"/> ("/" is "index.html"), or null when it is refused.</summary>
    public static string? ToRelative(string target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (target.Length == 0 || target.Length > MaxTargetChars || target[0] != '/') return null;
        var end = target.IndexOfAny(['?', '#']);
        var path = end >= 0 ? target[..end] : target;
        if (path == "/") return "index.html";
        string decoded;
        try
        {
            decoded = Uri.UnescapeDataString(path);
        }
        catch (UriFormatException)
        {
            return null;
        }
        // A "%" left after decoding means a malformed escape (or a double-encoded one): refuse rather than guess.
        if (decoded.Contains('%', StringComparison.Ordinal)) return null;
        var segments = decoded[1..].Split('/');
        foreach (var s in segments)
        {
            if (s.Length == 0 || s[0] == '.' || s.Contains('\\', StringComparison.Ordinal) || s.Contains(':', StringComparison.Ordinal)
                || s.Any(char.IsControl))
                return null;
        }
        return string.Join('/', segments);
    }
}
