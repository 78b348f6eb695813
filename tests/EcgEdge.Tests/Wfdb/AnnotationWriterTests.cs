using EcgEdge.Wfdb;
using Xunit;

namespace EcgEdge.Tests.Wfdb;

public class AnnotationWriterTests
{
    private static byte[] WriteBytes(IEnumerable<WfdbAnnotation> annotations, bool nulTerminateAux = false)
    {
        using var stream = new MemoryStream();
        AnnotationWriter.Write(stream, annotations, nulTerminateAux);
        return stream.ToArray();
    }

    private static IReadOnlyList<WfdbAnnotation> RoundTrip(IEnumerable<WfdbAnnotation> annotations) =>
        AnnotationReader.Parse(WriteBytes(annotations), "mem");

    /// <summary>
    /// Re-writes every annotation file of a folder: re-reading must give the same annotations, and the bytes must be
    /// identical to the original (with the aux NUL convention of that file). Returns the files whose bytes differ.
    /// </summary>
    private static List<string> CheckFolder(string dir, Func<string, bool> isAnnotationFile) =>
        CheckFiles(Directory.EnumerateFiles(dir).Where(isAnnotationFile).Order(StringComparer.Ordinal));

    private static List<string> CheckFiles(IEnumerable<string> paths)
    {
        var notIdentical = new List<string>();
        foreach (string path in paths)
        {
            byte[] original = File.ReadAllBytes(path);
            IReadOnlyList<WfdbAnnotation> a = AnnotationReader.Parse(original, path);
            byte[] plain = WriteBytes(a);
            Assert.Equal(a, AnnotationReader.Parse(plain, "rewritten " + path));
            if (!plain.AsSpan().SequenceEqual(original) && !WriteBytes(a, nulTerminateAux: true).AsSpan().SequenceEqual(original))
            {
                notIdentical.Add(Path.GetFileName(path));
            }
        }

        return notIdentical;
    }

    [SkippableFact]
    public void Mitdb_101_is_rewritten_byte_for_byte()
    {
        string dir = TestData.Require("mitdb");
        byte[] original = File.ReadAllBytes(Path.Combine(dir, "101.atr"));
        IReadOnlyList<WfdbAnnotation> a = AnnotationReader.Parse(original, "101.atr");

        Assert.Equal(original, WriteBytes(a, nulTerminateAux: true));
        Assert.Equal(original.Length - 2, WriteBytes(a).Length); // "(N" stored without its NUL (2 bytes, no padding)
    }

    [SkippableFact]
    public void All_mitdb_and_nstdb_files_round_trip()
    {
        string mitdb = TestData.Require("mitdb");
        // 201 and 217 mix aux strings with and without a trailing NUL, so only their content can match.
        Assert.Equal(new[] { "201.atr", "217.atr" }, CheckFolder(mitdb, p => p.EndsWith(".atr", StringComparison.Ordinal)));

        string? nstdb = TestData.Dir("nstdb");
        if (nstdb is not null)
        {
            Assert.Empty(CheckFolder(nstdb, p => p.EndsWith(".atr", StringComparison.Ordinal)));
        }
    }

    [SkippableFact]
    public void Cpsc_and_ludb_files_round_trip_byte_for_byte()
    {
        string cpsc = TestData.Require("cpsc2021-sample");
        Assert.Empty(CheckFolder(cpsc, p => p.EndsWith(".atr", StringComparison.Ordinal)));

        string? ludb = TestData.Dir("ludb");
        if (ludb is not null)
        {
            // The 12 per-lead annotation files of 40 records (480 files) keep the test fast.
            string[] leads = ["i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6"];
            IEnumerable<string> files = Enumerable.Range(1, 40).SelectMany(r => leads.Select(l => Path.Combine(ludb, "data", $"{r}.{l}")));
            Assert.Empty(CheckFiles(files));
        }
    }

    [Fact]
    public void Long_intervals_use_skip_like_wfdb()
    {
        WfdbAnnotation[] a = [new(1023, AnnotationCode.Normal), new(1023 + 1024, AnnotationCode.Normal), new(2047 + 100_000_000, AnnotationCode.Pvc)];
        byte[] bytes = WriteBytes(a);

        Assert.Equal(
            new byte[]
            {
                0xFF, 0x07,             // N, interval 1023
                0x00, 0xEC, 0x00, 0x00, 0x00, 0x04, // SKIP 1024 (high word 0, low word 0x0400)
                0x00, 0x04,             // N, interval 0
                0x00, 0xEC, 0xF5, 0x05, 0x00, 0xE1, // SKIP 100 000 000 = 0x05F5_E100
                0x00, 0x14,             // V, interval 0
                0x00, 0x00,
            },
            bytes);
        Assert.Equal(a, AnnotationReader.Parse(bytes, "mem"));
    }

    [Fact]
    public void Modifiers_are_written_only_when_needed()
    {
        WfdbAnnotation[] a =
        [
            new(10, AnnotationCode.Noise, SubType: -1),
            new(20, AnnotationCode.Normal, Channel: 1, Number: 3),
            new(30, AnnotationCode.Normal, Channel: 1, Number: 3),
            new(30, AnnotationCode.Rhythm, Channel: 0, Number: 3, Aux: "(AFIB"),
            new(40, AnnotationCode.Normal, Number: -2, Aux: "(N"),
        ];
        byte[] bytes = WriteBytes(a);

        Assert.Equal(
            new byte[]
            {
                0x0A, 0x38, 0xFF, 0xF7,                         // ~ at 10, SUB 1023 (-1)
                0x0A, 0x04, 0x01, 0xF8, 0x03, 0xF0,             // N +10, CHN 1, NUM 3
                0x0A, 0x04,                                     // N +10 (nothing changed)
                0x00, 0x70, 0x00, 0xF8, 0x05, 0xFC, (byte)'(', (byte)'A', (byte)'F', (byte)'I', (byte)'B', 0x00, // + +0, CHN 0, AUX 5 + pad
                0x0A, 0x04, 0xFE, 0xF3, 0x02, 0xFC, (byte)'(', (byte)'N', // N +10, NUM 1022 (-2), AUX 2
                0x00, 0x00,
            },
            bytes);
        Assert.Equal(a, AnnotationReader.Parse(bytes, "mem"));
    }

    [Fact]
    public void NotQrs_is_written_with_a_skip_so_it_is_not_taken_for_the_end()
    {
        WfdbAnnotation[] a = [new(0, AnnotationCode.NotQrs), new(5, AnnotationCode.NotQrs, Aux: "x"), new(5, AnnotationCode.Normal)];
        Assert.Equal(a, RoundTrip(a));
    }

    [Fact]
    public void Nul_terminated_aux_reads_back_the_same()
    {
        WfdbAnnotation[] a = [new(1, AnnotationCode.Rhythm, Aux: "(VT"), new(2, AnnotationCode.Note, Aux: "even")];
        byte[] terminated = WriteBytes(a, nulTerminateAux: true);
        Assert.Equal(a, AnnotationReader.Parse(terminated, "mem"));
        Assert.Equal(WriteBytes(a).Length + 2, terminated.Length);
    }

    [Fact]
    public void Out_of_order_annotations_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => WriteBytes([new(10, AnnotationCode.Normal), new(9, AnnotationCode.Normal)]));
        Assert.Throws<ArgumentException>(() => WriteBytes([new(-1, AnnotationCode.Normal)]));
    }

    [Fact]
    public void Invalid_fields_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => WriteBytes([new(1, (AnnotationCode)55)]));
        Assert.Throws<ArgumentException>(() => WriteBytes([new(1, AnnotationCode.Note, Aux: new string('a', 256))]));
        Assert.Throws<ArgumentException>(() => WriteBytes([new(1, AnnotationCode.Note, Aux: new string('a', 255))], nulTerminateAux: true));
        Assert.Throws<ArgumentException>(() => WriteBytes([new(1, AnnotationCode.Note, Aux: "\u20AC")]));
        Assert.Single(RoundTrip([new(1, AnnotationCode.Note, Aux: new string('a', 255))]));
    }

    [Fact]
    public void Writing_a_file_validates_before_creating_it()
    {
        using var dir = new TempDirectory();
        string path = dir.File("x.atr");
        Assert.Throws<ArgumentException>(() => AnnotationWriter.Write(path, [new(10, AnnotationCode.Normal), new(9, AnnotationCode.Normal)]));
        Assert.False(File.Exists(path));

        AnnotationWriter.Write(path, [new(10, AnnotationCode.Normal)]);
        Assert.Equal(new WfdbAnnotation(10, AnnotationCode.Normal), Assert.Single(AnnotationReader.Read(path)));
    }
}
