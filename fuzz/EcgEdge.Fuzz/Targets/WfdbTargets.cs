using System.Globalization;
using EcgEdge.Wfdb;

namespace EcgEdge.Fuzz.Targets;

/// <summary>Shared contract of the WFDB readers (WfdbFormatException's remarks): bad content is a
/// <see cref="WfdbFormatException"/>, a missing or unreadable file an <see cref="IOException"/>.</summary>
internal abstract class WfdbTarget : IFuzzTarget
{
    protected string Dir { get; private set; } = "";

    public virtual void Setup(string workDirectory) => Dir = workDirectory;

    public abstract void Run(byte[] input);

    public virtual bool Expected(Exception e) => e is WfdbFormatException or IOException;

    /// <summary>Reads every frame through the streaming reader into a destination of <paramref name="ints"/> ints.</summary>
    protected static void ReadAllStreaming(WfdbHeader header, int ints, bool verifyChecksums)
    {
        using var reader = WfdbSignalReader.Open(header, verifyChecksums);
        if (reader.SignalCount == 0) return;
        var buffer = new int[Math.Max(ints, reader.SignalCount)];
        while (reader.ReadFrames(buffer) > 0)
        {
        }
    }

    /// <summary>Deterministic filler for the signal files a header may name.</summary>
    protected static byte[] Pattern(int length, int multiplier) => [.. Enumerable.Range(0, length).Select(i => (byte)(i * multiplier + (i >> 7)))];
}

/// <summary>
/// The input is a header file (rec.hea): <see cref="WfdbHeader.Parse(string)"/>, then <see cref="WfdbRecord.Load(WfdbHeader, bool)"/>
/// and a streaming read of the signal files it names (a.dat, b.dat and 201.dat exist in the folder, a few kB each).
/// </summary>
internal sealed class WfdbHeaderTarget : WfdbTarget
{
    public override void Setup(string workDirectory)
    {
        base.Setup(workDirectory);
        File.WriteAllBytes(Path.Combine(Dir, "201.dat"), Pattern(3600, 37));
        File.WriteAllBytes(Path.Combine(Dir, "a.dat"), Pattern(4000, 11));
        File.WriteAllBytes(Path.Combine(Dir, "b.dat"), Pattern(778, 101));
    }

    public override void Run(byte[] input)
    {
        string path = Path.Combine(Dir, "rec.hea");
        File.WriteAllBytes(path, input);
        WfdbHeader header = WfdbHeader.Parse(path);
        bool verify = input.Length % 2 == 0;
        WfdbRecord.Load(header, verify);
        ReadAllStreaming(header, 1 + input.Length % 700, verify);
    }
}

/// <summary>
/// The input selects one of a set of headers (first byte: every readable format, one or two files, byte offsets, known or
/// unknown length, checksums) and a streaming buffer size (second byte); the rest is the signal file's content.
/// </summary>
internal sealed class WfdbSignalTarget : WfdbTarget
{
    private static readonly string[] Headers = BuildHeaders();
    private WfdbHeader[] _parsed = [];

    public override void Setup(string workDirectory)
    {
        base.Setup(workDirectory);
        File.WriteAllBytes(Path.Combine(Dir, "b.dat"), Pattern(600, 13));
        _parsed = [.. Headers.Select(h => WfdbHeader.Parse(new StringReader(h), Path.Combine(Dir, "rec.hea")))];
    }

    public override void Run(byte[] input)
    {
        if (input.Length < 2) return;
        var header = _parsed[input[0] % _parsed.Length];
        File.WriteAllBytes(Path.Combine(Dir, "s.dat"), input.AsSpan(2).ToArray());
        bool verify = (input[1] & 1) == 0;
        WfdbRecord.Load(header, verify);
        ReadAllStreaming(header, 1 + input[1] * 7, verify);
    }

    private static string[] BuildHeaders()
    {
        var inv = CultureInfo.InvariantCulture;
        var list = new List<string>();
        foreach (int format in new[] { 212, 16, 24, 32, 61, 80, 160, 8, 310, 311 })
        {
            // two signals, unknown length; two signals, declared length with checksums; one signal with a byte offset
            list.Add(string.Create(inv, $"rec 2 360\ns.dat {format} 200 11 1024\ns.dat {format} 200 11 1024\n"));
            list.Add(string.Create(inv, $"rec 2 360 100\ns.dat {format} 200 11 1024 -3 1234 0 I\ns.dat {format} 200 11 1024 7 -1234 0 II\n"));
            list.Add(string.Create(inv, $"rec 1 250\ns.dat {format}+5 100(0)/mV 16 0\n"));
        }

        // two files (the second one fixed), skew, three signals in one file
        list.Add("rec 3 360\ns.dat 16 200 16 0\ns.dat 16 200 16 0\nb.dat 16 200 16 0\n");
        list.Add("rec 2 360 50\ns.dat 16x2:1 200 16 0 0 0 0 I\nb.dat 212 200 12 0 0 0 0 II\n");
        list.Add("rec 3 500\ns.dat 24 200 24 0\ns.dat 24 200 24 0\ns.dat 24 200 24 0\n");
        return [.. list];
    }
}

/// <summary>The input is an annotation file (MIT format): <see cref="AnnotationReader.Parse"/>.</summary>
internal sealed class WfdbAnnotationTarget : WfdbTarget
{
    public override void Run(byte[] input) => AnnotationReader.Parse(input, "fuzz.atr");

    public override bool Expected(Exception e) => e is WfdbFormatException;
}
