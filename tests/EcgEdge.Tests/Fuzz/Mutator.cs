using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace EcgEdge.Tests.Fuzz;

/// <summary>
/// A small seeded mutation fuzzer: byte- and token-level mutations of a seed input, and a runner that checks the property
/// "the parser succeeds or throws one of its documented exception types" for a fixed number of cases.
/// </summary>
internal static class Mutator
{
    /// <summary>Numbers that tend to break parsers: limits, signs, overflow, NaN and friends.</summary>
    public static readonly string[] InterestingNumbers =
    [
        "0", "-0", "1", "-1", "2", "255", "256", "-129", "32767", "-32768", "65535", "65536", "2147483647", "-2147483648",
        "2147483648", "4294967296", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
        "1000000000000", "99999999999999999999999", "1e308", "1e309", "-1e309", "1e-320", "0.5", "-0.5", "1.5", ".", "-",
        "+", "NaN", "nan", "Infinity", "-Infinity", "∞", "0x10", "1,5", "١", "",
    ];

    private static readonly byte[] InterestingBytes = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE, 0xC0, 0x0A, 0x0D, 0x20, (byte)'-', (byte)'9'];

    /// <summary>Applies 1..<paramref name="maxEdits"/> random byte-level edits to a copy of <paramref name="seed"/>.</summary>
    public static byte[] MutateBytes(ReadOnlySpan<byte> seed, Random rng, int maxEdits = 6, int maxLength = 1 << 20)
    {
        var data = new List<byte>(seed.ToArray());
        int edits = rng.Next(1, maxEdits + 1);
        for (int e = 0; e < edits; e++)
        {
            int at = data.Count == 0 ? 0 : rng.Next(data.Count);
            switch (rng.Next(10))
            {
                case 0 when data.Count > 0:
                    data[at] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1 when data.Count > 0:
                    data[at] = (byte)rng.Next(256);
                    break;
                case 2 when data.Count > 0:
                    data[at] = InterestingBytes[rng.Next(InterestingBytes.Length)];
                    break;
                case 3:
                    {
                        int n = rng.Next(1, 9);
                        for (int i = 0; i < n; i++) data.Insert(at, (byte)rng.Next(256));
                        break;
                    }

                case 4 when data.Count > 0:
                    data.RemoveRange(at, Math.Min(data.Count - at, rng.Next(1, 17)));
                    break;
                case 5:
                    if (data.Count > 0) data.RemoveRange(at, data.Count - at); // truncate
                    break;
                case 6 when data.Count > 1:
                    {
                        // Duplicate a chunk somewhere else.
                        int from = rng.Next(data.Count);
                        int len = Math.Min(data.Count - from, rng.Next(1, 65));
                        data.InsertRange(rng.Next(data.Count + 1), data.GetRange(from, len));
                        break;
                    }

                case 7 when data.Count > 1:
                    {
                        // 16-bit word set to an extreme (binary formats are word based).
                        int w = at & ~1;
                        ushort v = (ushort)(rng.Next(4) switch { 0 => 0, 1 => 0xFFFF, 2 => 0x8000, _ => rng.Next(65536) });
                        data[w] = (byte)v;
                        if (w + 1 < data.Count) data[w + 1] = (byte)(v >> 8);
                        break;
                    }

                case 8 when data.Count > 0:
                    data.RemoveAt(at);
                    break;
                default:
                    data.Insert(at, InterestingBytes[rng.Next(InterestingBytes.Length)]);
                    break;
            }

            if (data.Count > maxLength) data.RemoveRange(maxLength, data.Count - maxLength);
        }

        return [.. data];
    }

    /// <summary>
    /// Text mutations: character edits, token swaps and replacing a number or a word with an interesting value or a
    /// token from <paramref name="dictionary"/>.
    /// </summary>
    public static string MutateText(string seed, Random rng, IReadOnlyList<string> dictionary, int maxEdits = 4)
    {
        var text = new StringBuilder(seed);
        int edits = rng.Next(1, maxEdits + 1);
        for (int e = 0; e < edits; e++)
        {
            int at = text.Length == 0 ? 0 : rng.Next(text.Length);
            switch (rng.Next(8))
            {
                case 0 when text.Length > 0:
                    text.Remove(at, Math.Min(text.Length - at, rng.Next(1, 6)));
                    break;
                case 1:
                    text.Insert(at, dictionary[rng.Next(dictionary.Count)]);
                    break;
                case 2 when text.Length > 0:
                    text[at] = (char)rng.Next(32, 127);
                    break;
                case 3:
                case 4:
                case 5:
                    ReplaceToken(text, rng, rng.Next(2) == 0
                        ? InterestingNumbers[rng.Next(InterestingNumbers.Length)]
                        : dictionary[rng.Next(dictionary.Count)]);
                    break;
                case 6 when text.Length > 0:
                    text.Length = at; // truncate
                    break;
                default:
                    text.Insert(at, (char)rng.Next(0, 0x250));
                    break;
            }
        }

        return text.ToString();
    }

    /// <summary>Replaces a random maximal run of letters/digits/sign/point with <paramref name="replacement"/>.</summary>
    private static void ReplaceToken(StringBuilder text, Random rng, string replacement)
    {
        if (text.Length == 0)
        {
            text.Append(replacement);
            return;
        }

        static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '+' or '.' or '_';
        int at = rng.Next(text.Length);
        int probe = at;
        while (probe < text.Length && !IsTokenChar(text[probe])) probe++;
        if (probe == text.Length)
        {
            text.Insert(at, replacement);
            return;
        }

        int start = probe, end = probe;
        while (start > 0 && IsTokenChar(text[start - 1])) start--;
        while (end < text.Length && IsTokenChar(text[end])) end++;
        text.Remove(start, end - start).Insert(start, replacement);
    }

    /// <summary>
    /// Runs <paramref name="count"/> cases; a case fails when <paramref name="run"/> throws an exception that
    /// <paramref name="allowed"/> rejects. Fails the test with the first failing input and a summary of all distinct
    /// failures (exception type and throwing method).
    /// </summary>
    public static int Check<T>(int seed, int count, Func<Random, int, T> generate, Action<T> run, Func<Exception, bool> allowed, Func<T, string> describe)
    {
        // For longer, ad-hoc runs: ECGEDGE_FUZZ_SCALE multiplies the case counts, ECGEDGE_FUZZ_SEED is added to the seeds.
        count *= EnvInt("ECGEDGE_FUZZ_SCALE", 1);
        seed += EnvInt("ECGEDGE_FUZZ_SEED", 0);
        var rng = new Random(seed);
        var failures = new Dictionary<string, (int Case, string Input, Exception Error)>();
        int executed = 0;
        for (int i = 0; i < count; i++)
        {
            T input = generate(rng, i);
            executed++;
            try
            {
                run(input);
            }
            catch (Exception ex) when (allowed(ex))
            {
                // the documented refusal
            }
            catch (Exception ex)
            {
                string key = ex.GetType().Name + " at " + ex.TargetSite?.DeclaringType?.Name + "." + ex.TargetSite?.Name + " from " + OwnFrame(ex);
                failures.TryAdd(key, (i, describe(input), ex));
            }
        }

        if (failures.Count > 0)
        {
            var report = new StringBuilder();
            report.Append(CultureInfo.InvariantCulture, $"{failures.Count} distinct unexpected exception(s) in {executed} cases (seed {seed}):");
            foreach (var (key, (i, text, error)) in failures)
            {
                report.AppendLine().Append(CultureInfo.InvariantCulture, $"--- case {i}: {key}: {error.Message}").AppendLine()
                    .Append("input: ").Append(text.Length > 2000 ? text[..2000] + "…" : text).AppendLine()
                    .Append(error.StackTrace);
            }

            Assert.Fail(report.ToString());
        }

        return executed;
    }

    private static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : fallback;

    /// <summary>The innermost method of the code under test on the exception's stack (distinguishes failures thrown by the same runtime method).</summary>
    private static string OwnFrame(Exception ex)
    {
        foreach (var frame in new System.Diagnostics.StackTrace(ex).GetFrames())
        {
            var method = frame.GetMethod();
            string? ns = method?.DeclaringType?.Namespace;
            if (ns is not null && ns.StartsWith("EcgEdge", StringComparison.Ordinal) && !ns.StartsWith("EcgEdge.Tests", StringComparison.Ordinal))
                return method!.DeclaringType!.Name + "." + method.Name;
        }

        return "?";
    }

    /// <summary>
    /// Replaces or removes 1–3 random nodes of <paramref name="seed"/>'s JSON tree with values drawn from
    /// <paramref name="values"/>. <paramref name="mayReplaceRoot"/>: a picked root is (1 time in 10) replaced by the value
    /// itself, otherwise the root is never touched. <paramref name="mayRemoveArrayItems"/>: array items, like object
    /// members, are removed 1 time in 4 instead of replaced. Arrays of <paramref name="maxArrayDescend"/> or more items
    /// are mutated as a whole, not item by item (large sample arrays).
    /// </summary>
    public static string MutateJson(string seed, Random rng, IReadOnlyList<Func<Random, JsonNode?>> values, bool mayReplaceRoot,
        bool mayRemoveArrayItems, int maxArrayDescend = int.MaxValue)
    {
        JsonNode root = JsonNode.Parse(seed)!;
        int edits = rng.Next(1, 4);
        for (int e = 0; e < edits; e++)
        {
            var nodes = new List<JsonNode>();
            Collect(root, nodes, maxArrayDescend);
            JsonNode target = nodes[rng.Next(nodes.Count)];
            JsonNode? parent = target.Parent;
            if (parent is null && !mayReplaceRoot) continue;
            JsonNode? value = values[rng.Next(values.Count)](rng);
            switch (parent)
            {
                case null:
                    if (rng.Next(10) == 0) return value?.ToJsonString() ?? "null";
                    break;
                case JsonObject obj:
                    string name = target.GetPropertyName();
                    if (rng.Next(4) == 0) obj.Remove(name);
                    else obj[name] = value;
                    break;
                case JsonArray array:
                    int index = target.GetElementIndex();
                    if (mayRemoveArrayItems && rng.Next(4) == 0) array.RemoveAt(index);
                    else array[index] = value;
                    break;
            }
        }

        return root.ToJsonString();
    }

    private static void Collect(JsonNode node, List<JsonNode> nodes, int maxArrayDescend)
    {
        nodes.Add(node);
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, child) in o)
                {
                    if (child is not null) Collect(child, nodes, maxArrayDescend);
                }

                break;
            case JsonArray a when a.Count < maxArrayDescend:
                foreach (var child in a)
                {
                    if (child is not null) Collect(child, nodes, maxArrayDescend);
                }

                break;
        }
    }

    /// <summary>A printable form of binary input for failure messages.</summary>
    public static string Hex(byte[] data) => data.Length <= 512 ? Convert.ToHexString(data) : Convert.ToHexString(data, 0, 512) + $"… ({data.Length} bytes)";
}
