using System.Globalization;
using System.Text;
using EcgEdge.Tests.Wfdb;
using EcgEdge.Wfdb;

namespace EcgEdge.Tests.Fuzz;

/// <summary>
/// Mutation fuzzing of the WFDB readers (header parser, signal file decoder and reader, annotation reader) with the real
/// MIT-BIH record 201 and generated records as seeds. Contract (WfdbFormatException's remarks): bad content is a
/// <see cref="WfdbFormatException"/>, a missing file a <see cref="FileNotFoundException"/>, other I/O failures an
/// <see cref="IOException"/>; never an exception from the runtime.
/// </summary>
public class WfdbParserFuzzTests
{
    private static readonly string Record201 = Path.Combine(TestData.RepoRoot, "src", "EcgEdge", "Resources", "mitdb", "201");

    private static readonly string[] HeaderTokens =
    [
        " ", "  ", "\t", "\n", "\r\n", "\r", "#", "# comment\n", "/", "(", ")", ":", "+", "x", "201.dat", "other.dat", "missing.dat",
        ".", "..", "/", "-", "212", "16", "24", "32", "61", "80", "160", "8", "310", "0", "212x2", "16:1", "16+3", "212+1800",
        "16+99999999999", "200(0)/mV", "200/uV", "200(5)", "/", "360/720(5)", "360/0", "0/1", "10:30:00", "25/12/2020", "MLII",
        "201.dat 212 200 11 1024 972 -519 0 MLII\n", "201 2 360 650000\n", "201/3 2", "a b c d e f g h i j k l",
    ];

    private static bool WfdbContract(Exception e) => e is WfdbFormatException or IOException;

    [Fact]
    public void Mutated_headers_parse_and_load_or_fail_with_a_WfdbFormatException()
    {
        using var dir = new TempDirectory();
        // A short copy of 201.dat (2400 frames): the declared 650000 frames fail fast; mutated counts load quickly.
        dir.Write("201.dat", File.ReadAllBytes(Record201 + ".dat")[..3600]);
        dir.Write("other.dat", Enumerable.Range(0, 4000).Select(i => (byte)(i * 37)).ToArray());
        string[] seeds =
        [
            File.ReadAllText(Record201 + ".hea"),
            "rec 3 360/720(5) 0 10:30:00 25/12/2020\nother.dat 16x1:0+0 200(0)/mV 16 0 0 0 0 I\nother.dat 16 100/uV 16 0 0 0 0 II\n201.dat 212+3 200 12 0 0 0 0 V1\n",
            "rec 2\n201.dat 212\n201.dat 212\n",
            "rec 1 500 1000\nother.dat 80\n",
        ];

        int executed = Mutator.Check(seed: 201, count: 20000,
            (rng, _) => Mutator.MutateText(seeds[rng.Next(seeds.Length)], rng, HeaderTokens),
            text =>
            {
                WfdbHeader header = WfdbHeader.Parse(new StringReader(text), dir.File("fuzz.hea"));
                WfdbRecord.Load(header, verifyChecksums: text.Length % 2 == 0);
            },
            WfdbContract, text => text);
        Assert.True(executed >= 20000);
    }

    [Fact]
    public void Mutated_201_signal_file_loads_or_fails_with_a_WfdbFormatException()
    {
        using var dir = new TempDirectory();
        byte[] seed = File.ReadAllBytes(Record201 + ".dat")[..1800]; // 1200 frames
        string[] headers =
        [
            "201 2 360 1200\n201.dat 212 200 11 1024 972 -519 0 MLII\n201.dat 212 200 11 1024 982 30947 0 V1\n",
            "201 2 360\n201.dat 212 200 11 1024 972 -519 0 MLII\n201.dat 212 200 11 1024 982 30947 0 V1\n",
            "201 2 360 1200\n201.dat 212 200 11 1024\n201.dat 212 200 11 1024\n",
        ];
        var parsed = headers.Select(h => WfdbHeader.Parse(new StringReader(h), dir.File("201.hea"))).ToArray();
        int executed = Mutator.Check(seed: 212, count: 8000,
            (rng, _) => (Header: rng.Next(parsed.Length), Data: Mutator.MutateBytes(seed, rng), Buffer: rng.Next(2, 5000)),
            input =>
            {
                dir.Write("201.dat", input.Data);
                WfdbRecord.Load(parsed[input.Header]);
                ReadAllStreaming(parsed[input.Header], input.Buffer);
            },
            WfdbContract, input => $"header {input.Header}, buffer {input.Buffer}, data {Mutator.Hex(input.Data)}");
        Assert.True(executed >= 8000);
    }

    /// <summary>
    /// Property: for generated records in every readable format (one or several files, known or unknown length, random
    /// offsets) with random file contents, loading and streaming with random buffer sizes succeed or fail cleanly.
    /// </summary>
    [Fact]
    public void Random_records_in_every_format_load_or_fail_with_a_WfdbFormatException()
    {
        using var dir = new TempDirectory();
        int[] formats = [16, 24, 32, 61, 80, 160, 212, 8, 310];
        int executed = Mutator.Check(seed: 1600, count: 8000,
            (rng, _) => RandomRecord(rng, formats),
            input =>
            {
                foreach (var (name, bytes) in input.Files) dir.Write(name, bytes);
                WfdbHeader header = WfdbHeader.Parse(new StringReader(input.Header), dir.File("rec.hea"));
                WfdbRecord.Load(header, verifyChecksums: input.Verify);
                ReadAllStreaming(header, input.Buffer);
            },
            WfdbContract, input => input.Header + string.Concat(input.Files.Select(f => $"\n{f.Name}: {Mutator.Hex(f.Bytes)}")));
        Assert.True(executed >= 8000);
    }

    [Fact]
    public void Mutated_201_annotations_parse_or_fail_with_a_WfdbFormatException()
    {
        byte[] seed = File.ReadAllBytes(Record201 + ".atr");
        int executed = Mutator.Check(seed: 1, count: 50000,
            (rng, i) => i % 4 == 3 ? RandomAnnotationWords(rng) : Mutator.MutateBytes(seed, rng, maxEdits: 8),
            data => AnnotationReader.Parse(data, "fuzz.atr"),
            e => e is WfdbFormatException, Mutator.Hex);
        Assert.True(executed >= 50000);
    }

    [Fact]
    public void Annotation_streams_and_missing_files_fail_with_documented_types()
    {
        Assert.Throws<FileNotFoundException>(() => AnnotationReader.Read(Path.Combine(Path.GetTempPath(), "no-such-dir-" + Guid.NewGuid(), "x.atr")));
        Assert.Throws<FileNotFoundException>(() => WfdbHeader.Parse(Path.Combine(Path.GetTempPath(), "no-such-" + Guid.NewGuid() + ".hea")));
        var rng = new Random(5);
        for (int i = 0; i < 200; i++)
        {
            byte[] data = RandomAnnotationWords(rng);
            try
            {
                AnnotationReader.Read(new MemoryStream(data), "stream.atr");
            }
            catch (WfdbFormatException)
            {
            }
        }
    }

    // ---- regressions for crashes found by the fuzzer ----

    [Theory]
    [InlineData("rec 1\n/ 16\n")]
    [InlineData("rec 1\n. 16\n")]
    public void A_signal_file_name_that_names_a_folder_is_an_IOException(string text)
    {
        // Was: UnauthorizedAccessException from FileStream, outside the documented contract.
        using var dir = new TempDirectory();
        WfdbHeader header = WfdbHeader.Parse(new StringReader(text), dir.File("rec.hea"));
        var e = Assert.Throws<IOException>(() => WfdbRecord.Load(header));
        Assert.Contains("folder", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_signal_file_name_with_a_NUL_character_is_a_WfdbFormatException()
    {
        // Was: ArgumentException ("Null character in path") from FileStream when the record was loaded.
        var e = Assert.Throws<WfdbFormatException>(() => WfdbHeader.Parse(new StringReader("rec 1\na\0.dat 16\n"), "rec.hea"));
        Assert.Equal(2, e.Line);
        Assert.Contains("NUL", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_header_path_that_names_a_folder_is_an_IOException()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("rec.hea"));
        Assert.Throws<IOException>(() => WfdbHeader.Parse(dir.File("rec.hea")));
        Assert.Throws<IOException>(() => AnnotationReader.Read(dir.Path));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Thousands_of_signals_of_unknown_length_do_not_allocate_before_data_is_read(bool twoFiles)
    {
        // Was: 256 KB per declared signal (64 K samples each) plus 8192-frame buffers before reading: 20,000 signal lines
        // of a 200 KB header over an empty file made Load allocate over 5 GB; with two files the decoding buffer alone took 320 MB.
        using var dir = new TempDirectory();
        dir.Write("a.dat", []);
        dir.Write("b.dat", []);
        const int Signals = 20000;
        var text = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"rec {Signals} 360\n"));
        for (int s = 0; s < Signals; s++) text.Append(twoFiles && s == 0 ? "a.dat 16\n" : "b.dat 16\n");
        WfdbHeader header = WfdbHeader.Parse(new StringReader(text.ToString()), dir.File("rec.hea"));
        long before = GC.GetAllocatedBytesForCurrentThread();
        WfdbRecord record = WfdbRecord.Load(header);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, record.SampleCount);
        Assert.InRange(allocated, 0, 64L << 20);
    }

    [Fact]
    public void Records_of_unknown_length_with_many_signals_still_load_every_sample()
    {
        using var dir = new TempDirectory();
        const int Signals = 300, Frames = 5000; // more than the 1 M samples allocated up front: the arrays must grow
        var bytes = new byte[Signals * Frames * 2];
        for (int i = 0; i < bytes.Length / 2; i++) BitConverter.TryWriteBytes(bytes.AsSpan(2 * i), (short)(i % 30011));
        dir.Write("a.dat", bytes);
        dir.Write("b.dat", bytes[..(Frames * 2)]);
        var text = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"rec {Signals + 1} 360\n"));
        for (int s = 0; s < Signals; s++) text.Append("a.dat 16\n");
        text.Append("b.dat 16\n");
        WfdbRecord record = WfdbRecord.Load(WfdbHeader.Parse(new StringReader(text.ToString()), dir.File("rec.hea")));
        Assert.Equal(Frames, record.SampleCount);
        Assert.Equal((Frames - 1) * Signals % 30011, record.Samples[0][Frames - 1]);
        Assert.Equal((Frames * Signals - 1) % 30011, record.Samples[Signals - 1][Frames - 1]);
        Assert.Equal((Frames - 1) % 30011, record.Samples[Signals][Frames - 1]);
    }

    [Fact]
    public void An_annotation_file_too_large_for_memory_is_a_WfdbFormatException()
    {
        // Was: new byte[stream.Length] for a file over 2 GB, i.e. an OutOfMemory/Overflow exception. The file is sparse.
        using var dir = new TempDirectory();
        using (var f = File.Create(dir.File("big.atr")))
        {
            f.SetLength(3L << 30);
        }

        var e = Assert.Throws<WfdbFormatException>(() => AnnotationReader.Read(dir.File("big.atr")));
        Assert.Contains("3221225472 bytes", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Reads every frame through the streaming reader with a destination of <paramref name="bufferInts"/> ints.</summary>
    private static void ReadAllStreaming(WfdbHeader header, int bufferInts)
    {
        using var reader = WfdbSignalReader.Open(header);
        if (reader.SignalCount == 0) return;
        var buffer = new int[Math.Max(bufferInts, reader.SignalCount)];
        for (int guard = 0; guard < 1_000_000 && reader.ReadFrames(buffer) > 0; guard++)
        {
        }
    }

    private sealed record RecordCase(string Header, List<(string Name, byte[] Bytes)> Files, bool Verify, int Buffer);

    private static RecordCase RandomRecord(Random rng, int[] formats)
    {
        int files = rng.Next(1, 4);
        var header = new StringBuilder();
        var lines = new StringBuilder();
        var contents = new List<(string, byte[])>();
        int nsig = 0;
        for (int f = 0; f < files; f++)
        {
            string name = "f" + f.ToString(CultureInfo.InvariantCulture) + ".dat";
            int format = formats[rng.Next(formats.Length)];
            int signals = rng.Next(1, 4);
            string offset = rng.Next(4) == 0 ? "+" + rng.Next(0, 40).ToString(CultureInfo.InvariantCulture) : "";
            for (int s = 0; s < signals; s++)
            {
                string initial = rng.Next(3) == 0 ? rng.Next(-10, 10).ToString(CultureInfo.InvariantCulture) : "0";
                string checksum = rng.Next(3) == 0 ? rng.Next(-40000, 40000).ToString(CultureInfo.InvariantCulture) : "";
                lines.Append(CultureInfo.InvariantCulture, $"{name} {format}{offset} 200 16 0 {initial} {checksum}").Append('\n');
                nsig++;
            }

            var bytes = new byte[rng.Next(0, 600)];
            rng.NextBytes(bytes);
            contents.Add((name, bytes));
        }

        string length = rng.Next(3) switch
        {
            0 => "",
            1 => rng.Next(0, 200).ToString(CultureInfo.InvariantCulture),
            _ => Mutator.InterestingNumbers[rng.Next(Mutator.InterestingNumbers.Length)],
        };
        header.Append(CultureInfo.InvariantCulture, $"rec {nsig} 360 {length}").Append('\n').Append(lines);
        return new RecordCase(header.ToString(), contents, rng.Next(2) == 0, rng.Next(1, 3000));
    }

    /// <summary>A random sequence of annotation words biased towards the pseudo-annotations, usually with an end word.</summary>
    private static byte[] RandomAnnotationWords(Random rng)
    {
        int words = rng.Next(0, 64);
        var data = new List<byte>();
        int[] types = [1, 5, 28, 49, 50, 58, 59, 60, 61, 62, 63, 0];
        for (int i = 0; i < words; i++)
        {
            int type = rng.Next(3) == 0 ? rng.Next(64) : types[rng.Next(types.Length)];
            int value = rng.Next(4) switch { 0 => 0, 1 => 1023, 2 => rng.Next(1, 8), _ => rng.Next(1024) };
            int word = type << 10 | value;
            data.Add((byte)word);
            data.Add((byte)(word >> 8));
            if (type == 59)
            {
                for (int k = 0; k < 4; k++) data.Add((byte)rng.Next(256));
            }
        }

        if (rng.Next(4) != 0)
        {
            data.Add(0);
            data.Add(0);
        }

        return [.. data];
    }
}
