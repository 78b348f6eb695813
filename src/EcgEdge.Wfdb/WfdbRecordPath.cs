namespace EcgEdge.Wfdb;

/// <summary>Finds WFDB records in a database folder.</summary>
public static class WfdbRecordPath
{
    /// <summary>The extension of WFDB header files.</summary>
    public const string HeaderExtension = ".hea";

    /// <summary>
    /// Lists the record names of a database folder: the lines of its RECORDS file when there is one (names may contain
    /// subfolders, e.g. "data/1"), otherwise the names of the *.hea files in the folder, sorted ordinally.
    /// </summary>
    /// <param name="directory">The database folder.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public static IReadOnlyList<string> ListRecords(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string recordsFile = Path.Combine(directory, "RECORDS");
        var names = new List<string>();
        if (File.Exists(recordsFile))
        {
            foreach (string line in File.ReadLines(recordsFile))
            {
                string name = line.Trim();
                if (name.Length > 0 && name[0] != '#')
                {
                    names.Add(name);
                }
            }

            return names;
        }

        foreach (string path in Directory.EnumerateFiles(directory, "*" + HeaderExtension))
        {
            names.Add(Path.GetFileNameWithoutExtension(path));
        }

        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <summary>
    /// Reads the ANNOTATORS file of a database folder: (annotator name, description) pairs, e.g. ("atr", "reference beat...").
    /// Returns an empty list when the file does not exist.
    /// </summary>
    public static IReadOnlyList<(string Name, string Description)> ListAnnotators(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string file = Path.Combine(directory, "ANNOTATORS");
        var result = new List<(string, string)>();
        if (!File.Exists(file))
        {
            return result;
        }

        foreach (string raw in File.ReadLines(file))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            int split = line.IndexOfAny([' ', '\t']);
            result.Add(split < 0 ? (line, string.Empty) : (line[..split], line[split..].Trim()));
        }

        return result;
    }

    /// <summary>The header path of <paramref name="recordName"/> in <paramref name="directory"/> (e.g. "dir/101.hea").</summary>
    /// <exception cref="FileNotFoundException">The header does not exist.</exception>
    public static string ResolveHeaderPath(string directory, string recordName)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentException.ThrowIfNullOrEmpty(recordName);
        string path = ToHeaderPath(Path.Combine(directory, recordName));
        return File.Exists(path) ? path : throw new FileNotFoundException($"WFDB header of record '{recordName}' not found.", path);
    }

    /// <summary>
    /// The header path for a header path or a record path without extension: "dir/101.hea" stays, "dir/101" becomes
    /// "dir/101.hea". Does not check that the file exists.
    /// </summary>
    public static string ToHeaderPath(string headerPathOrRecordPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(headerPathOrRecordPath);
        return headerPathOrRecordPath.EndsWith(HeaderExtension, StringComparison.OrdinalIgnoreCase)
            ? headerPathOrRecordPath
            : headerPathOrRecordPath + HeaderExtension;
    }

    /// <summary>The path of annotation file <paramref name="annotator"/> of a record (e.g. "dir/101" + "atr" → "dir/101.atr").</summary>
    public static string AnnotationPath(string directory, string recordName, string annotator)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentException.ThrowIfNullOrEmpty(recordName);
        ArgumentException.ThrowIfNullOrEmpty(annotator);
        return Path.Combine(directory, recordName + "." + annotator);
    }
}
