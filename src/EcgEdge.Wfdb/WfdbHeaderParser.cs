using System.Globalization;

namespace EcgEdge.Wfdb;

/// <summary>Parses the text of a WFDB header (see header(5) of the WFDB Applications Guide).</summary>
internal static class WfdbHeaderParser
{
    private const int MaxTokens = 9;

    public static WfdbHeader Parse(string text, string source)
    {
        var comments = new List<string>();
        var signals = new List<WfdbSignalSpec>();
        RecordLine? record = null;
        int lineNumber = 0;
        int lastLine = 0;
        int position = 0;
        Span<Range> tokens = stackalloc Range[MaxTokens + 1];

        while (position < text.Length)
        {
            int start = position;
            int newline = text.IndexOf('\n', start);
            int end = newline < 0 ? text.Length : newline;
            position = newline < 0 ? text.Length : newline + 1;
            lineNumber++;
            lastLine = lineNumber;

            ReadOnlySpan<char> line = text.AsSpan(start, end - start).TrimEnd('\r');
            ReadOnlySpan<char> trimmed = line.Trim();
            if (trimmed.IsEmpty)
            {
                continue;
            }

            if (trimmed[0] == '#')
            {
                comments.Add(trimmed[1..].Trim().ToString());
                continue;
            }

            var context = new LineContext(source, lineNumber, start);
            if (record is null)
            {
                record = ParseRecordLine(line, tokens, context);
            }
            else if (signals.Count < record.Value.SignalCount)
            {
                signals.Add(ParseSignalLine(line, tokens, signals.Count, record.Value.Name, context));
            }
            else
            {
                throw context.Error(string.Create(CultureInfo.InvariantCulture,
                    $"unexpected line after the {record.Value.SignalCount} signal line(s) declared by the record line (wrong signal count?)"));
            }
        }

        if (record is null)
        {
            throw new WfdbFormatException(source, null, "the header has no record line", Math.Max(lastLine, 1));
        }

        RecordLine r = record.Value;
        if (signals.Count < r.SignalCount)
        {
            throw new WfdbFormatException(source, text.Length, string.Create(CultureInfo.InvariantCulture,
                $"the record line declares {r.SignalCount} signal(s) but the header has {signals.Count} signal line(s)"), lastLine + 1);
        }

        return new WfdbHeader(r.Name, r.SignalCount, r.Frequency, r.SampleCount, signals.AsReadOnly(), comments.AsReadOnly(), r.BaseTime, r.BaseDate)
        {
            CounterFrequency = r.CounterFrequency,
            BaseCounter = r.BaseCounter,
            Directory = DirectoryOf(source),
            SourcePath = source,
        };
    }

    private static RecordLine ParseRecordLine(ReadOnlySpan<char> line, Span<Range> tokens, LineContext context)
    {
        int count = Tokenize(line, tokens);
        if (count > 6)
        {
            throw context.Error("the record line has more than 6 fields");
        }

        ReadOnlySpan<char> name = line[tokens[0]];
        if (name.Contains('/'))
        {
            throw context.Error($"multi-segment records ('{name}') are not supported");
        }

        if (count < 2)
        {
            throw context.Error("the record line has no signal count");
        }

        int signalCount = ParseInt(line[tokens[1]], "signal count", context);
        if (signalCount < 0)
        {
            throw context.Error($"the signal count {signalCount} is negative");
        }

        double frequency = WfdbHeader.DefaultSamplingFrequency;
        double? counterFrequency = null;
        double? baseCounter = null;
        if (count > 2)
        {
            ReadOnlySpan<char> field = line[tokens[2]];
            int slash = field.IndexOf('/');
            frequency = ParsePositive(slash < 0 ? field : field[..slash], "sampling frequency", context);
            if (slash >= 0)
            {
                ReadOnlySpan<char> counter = field[(slash + 1)..];
                int paren = counter.IndexOf('(');
                if (paren >= 0)
                {
                    if (counter[^1] != ')')
                    {
                        throw context.Error($"the base counter in '{field}' has no closing parenthesis");
                    }

                    baseCounter = ParseFinite(counter[(paren + 1)..^1], "base counter", context);
                    counter = counter[..paren];
                }

                counterFrequency = ParsePositive(counter, "counter frequency", context);
            }
        }

        long? sampleCount = null;
        if (count > 3)
        {
            ReadOnlySpan<char> field = line[tokens[3]];
            if (!long.TryParse(field, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n))
            {
                throw context.Error($"the sample count '{field}' is not an integer");
            }

            if (n < 0)
            {
                throw context.Error($"the sample count {n} is negative");
            }

            sampleCount = n == 0 ? null : n;
        }

        string? baseTime = count > 4 ? line[tokens[4]].ToString() : null;
        string? baseDate = count > 5 ? line[tokens[5]].ToString() : null;
        return new RecordLine(name.ToString(), signalCount, frequency, counterFrequency, baseCounter, sampleCount, baseTime, baseDate);
    }

    private static WfdbSignalSpec ParseSignalLine(ReadOnlySpan<char> line, Span<Range> tokens, int index, string recordName, LineContext context)
    {
        int count = Tokenize(line, tokens);
        string label = "signal " + index.ToString(CultureInfo.InvariantCulture);
        if (count < 2)
        {
            throw context.Error(label + ": the signal line has no format field");
        }

        string fileName = line[tokens[0]].ToString();
        if (fileName.Contains('\0'))
        {
            throw context.Error($"{label}: the file name contains a NUL character");
        }

        ParseFormatField(line[tokens[1]], label, context, out int format, out int samplesPerFrame, out int skew, out long byteOffset);

        double gain = 0;
        int? baseline = null;
        string units = "mV";
        if (count > 2)
        {
            ParseGainField(line[tokens[2]], label, context, out gain, out baseline, out units);
        }

        int adcResolution = count > 3 ? ParseInt(line[tokens[3]], label + " ADC resolution", context) : 0;
        if (adcResolution < 0)
        {
            throw context.Error($"{label}: the ADC resolution {adcResolution} is negative");
        }

        int adcZero = count > 4 ? ParseInt(line[tokens[4]], label + " ADC zero", context) : 0;
        int? initialValue = count > 5 ? ParseInt(line[tokens[5]], label + " initial value", context) : null;
        int? checksum = count > 6 ? ParseInt(line[tokens[6]], label + " checksum", context) : null;
        int blockSize = count > 7 ? ParseInt(line[tokens[7]], label + " block size", context) : 0;
        if (blockSize < 0)
        {
            throw context.Error($"{label}: the block size {blockSize} is negative");
        }

        string description = count > 8
            ? line[tokens[8].Start..].TrimEnd().ToString()
            : string.Create(CultureInfo.InvariantCulture, $"record {recordName}, signal {index}");

        var spec = new WfdbSignalSpec
        {
            FileName = fileName,
            Format = format,
            SamplesPerFrame = samplesPerFrame,
            Skew = skew,
            ByteOffset = byteOffset,
            Gain = gain,
            Units = units,
            AdcResolution = adcResolution,
            AdcZero = adcZero,
            InitialValue = initialValue,
            Checksum = checksum,
            BlockSize = blockSize,
            Description = description,
        };
        return baseline is int b ? spec with { Baseline = b } : spec;
    }

    /// <summary>Parses "format[xspf][:skew][+offset]".</summary>
    private static void ParseFormatField(ReadOnlySpan<char> field, string label, LineContext context, out int format, out int samplesPerFrame, out int skew, out long byteOffset)
    {
        samplesPerFrame = 1;
        skew = 0;
        byteOffset = 0;
        int i = 0;
        while (i < field.Length && char.IsAsciiDigit(field[i]))
        {
            i++;
        }

        if (i == 0 || !int.TryParse(field[..i], NumberStyles.None, CultureInfo.InvariantCulture, out format))
        {
            throw context.Error($"{label}: the format field '{field}' does not start with a format number");
        }

        if (!WfdbSignalFormats.IsKnown(format))
        {
            throw context.Error($"{label}: unknown signal format {format}");
        }

        ReadOnlySpan<char> rest = field[i..];
        if (!rest.IsEmpty && rest[0] == 'x')
        {
            int end = NextModifier(rest, 1, ":+");
            samplesPerFrame = ParseInt(rest[1..end], label + " samples per frame", context);
            if (samplesPerFrame < 1)
            {
                throw context.Error($"{label}: samples per frame must be at least 1, not {samplesPerFrame}");
            }

            rest = rest[end..];
        }

        if (!rest.IsEmpty && rest[0] == ':')
        {
            int end = NextModifier(rest, 1, "+");
            skew = ParseInt(rest[1..end], label + " skew", context);
            rest = rest[end..];
        }

        if (!rest.IsEmpty && rest[0] == '+')
        {
            if (!long.TryParse(rest[1..], NumberStyles.None, CultureInfo.InvariantCulture, out byteOffset))
            {
                throw context.Error($"{label}: the byte offset in '{field}' is not a non-negative integer");
            }

            rest = ReadOnlySpan<char>.Empty;
        }

        if (!rest.IsEmpty)
        {
            throw context.Error($"{label}: cannot parse the format field '{field}'");
        }
    }

    private static int NextModifier(ReadOnlySpan<char> s, int from, string stops)
    {
        int k = s[from..].IndexOfAny(stops);
        return k < 0 ? s.Length : from + k;
    }

    /// <summary>Parses "gain[(baseline)][/units]".</summary>
    private static void ParseGainField(ReadOnlySpan<char> field, string label, LineContext context, out double gain, out int? baseline, out string units)
    {
        baseline = null;
        units = "mV";
        int slash = field.IndexOf('/');
        if (slash >= 0)
        {
            ReadOnlySpan<char> u = field[(slash + 1)..];
            if (u.IsEmpty)
            {
                throw context.Error($"{label}: the gain field '{field}' has an empty unit");
            }

            units = u.ToString();
            field = field[..slash];
        }

        int paren = field.IndexOf('(');
        if (paren >= 0)
        {
            if (field[^1] != ')')
            {
                throw context.Error($"{label}: the baseline in the gain field has no closing parenthesis");
            }

            baseline = ParseInt(field[(paren + 1)..^1], label + " baseline", context);
            field = field[..paren];
        }

        gain = ParseFinite(field, label + " gain", context);
    }

    private static int Tokenize(ReadOnlySpan<char> line, Span<Range> tokens)
    {
        int count = 0;
        int i = 0;
        while (i < line.Length && count < tokens.Length)
        {
            while (i < line.Length && IsSpace(line[i]))
            {
                i++;
            }

            if (i == line.Length)
            {
                break;
            }

            int start = i;
            while (i < line.Length && !IsSpace(line[i]))
            {
                i++;
            }

            tokens[count++] = new Range(start, i);
        }

        return count;
    }

    private static bool IsSpace(char c) => c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';

    private static int ParseInt(ReadOnlySpan<char> s, string what, LineContext context) =>
        int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v)
            ? v
            : throw context.Error($"the {what} '{s}' is not an integer (or is out of range)");

    private static double ParseFinite(ReadOnlySpan<char> s, string what, LineContext context) =>
        double.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out double v)
        && double.IsFinite(v)
            ? v
            : throw context.Error($"the {what} '{s}' is not a number");

    private static double ParsePositive(ReadOnlySpan<char> s, string what, LineContext context)
    {
        double v = ParseFinite(s, what, context);
        return v > 0 ? v : throw context.Error($"the {what} {s} is not positive");
    }

    private static string DirectoryOf(string source)
    {
        try
        {
            return Path.GetDirectoryName(Path.GetFullPath(source)) ?? System.IO.Directory.GetCurrentDirectory();
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return System.IO.Directory.GetCurrentDirectory();
        }
    }

    private readonly record struct RecordLine(
        string Name, int SignalCount, double Frequency, double? CounterFrequency, double? BaseCounter, long? SampleCount, string? BaseTime, string? BaseDate);

    private readonly record struct LineContext(string Source, int Line, long Offset)
    {
        public WfdbFormatException Error(string reason) => new(Source, Offset, reason, Line);
    }
}
