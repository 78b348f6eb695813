using EcgEdge.Wfdb;
using Xunit;

namespace EcgEdge.Tests.Wfdb;

public class AnnotationReaderTests
{
    private static byte[] Words(params int[] words)
    {
        byte[] b = new byte[words.Length * 2];
        for (int i = 0; i < words.Length; i++)
        {
            b[2 * i] = (byte)words[i];
            b[2 * i + 1] = (byte)(words[i] >> 8);
        }

        return b;
    }

    private static int W(int type, int value) => (type << 10) | value;

    private static IReadOnlyList<WfdbAnnotation> Parse(byte[] bytes) => AnnotationReader.Parse(bytes, "test.atr");

    private static WfdbFormatException ParseError(byte[] bytes) =>
        Assert.ThrowsAny<WfdbFormatException>(() => AnnotationReader.Parse(bytes, "test.atr"));

    [SkippableFact]
    public void Mitdb_101_reference_annotations()
    {
        string dir = TestData.Require("mitdb");
        IReadOnlyList<WfdbAnnotation> a = AnnotationReader.Read(Path.Combine(dir, "101.atr"));

        // PhysioNet's beat table for 101: 1860 N, 3 A, 2 Q = 1865 beats; plus 1 rhythm, 4 noise, 4 artifact annotations.
        Assert.Equal(1874, a.Count);
        Assert.Equal(1865, a.Count(x => x.IsBeat));
        Assert.Equal(1860, a.Count(x => x.Code == AnnotationCode.Normal));
        Assert.Equal(3, a.Count(x => x.Code == AnnotationCode.Apc));
        Assert.Equal(2, a.Count(x => x.Code == AnnotationCode.Unknown));
        Assert.Equal(4, a.Count(x => x.Code == AnnotationCode.Noise));
        Assert.Equal(4, a.Count(x => x.Code == AnnotationCode.Artifact));

        Assert.Equal(new WfdbAnnotation(7, AnnotationCode.Rhythm, Aux: "(N"), a[0]);
        Assert.Equal(new WfdbAnnotation(83, AnnotationCode.Normal), a[1]);
        Assert.Equal(new WfdbAnnotation(396, AnnotationCode.Normal), a[2]);
        Assert.Equal(new WfdbAnnotation(649751, AnnotationCode.Normal), a[^1]);
        Assert.Equal('N', a[1].Mnemonic);

        // Noise annotations carry the noisy-channel mask in the subtype; one is -1 (stored as 1023), the ends are 0.
        Assert.Equal(new sbyte[] { 1, 0, -1, 0 }, a.Where(x => x.Code == AnnotationCode.Noise).Select(x => x.SubType));
        Assert.Equal(new sbyte[] { 1, 3, 3, 3 }, a.Where(x => x.Code == AnnotationCode.Artifact).Select(x => x.SubType));
        Assert.All(a.Skip(1), x => Assert.Null(x.Aux));
    }

    [SkippableFact]
    public void Mitdb_rhythm_strings_in_201_and_203()
    {
        string dir = TestData.Require("mitdb");
        IReadOnlyList<WfdbAnnotation> a201 = AnnotationReader.Read(Path.Combine(dir, "201.atr"));
        IReadOnlyList<WfdbAnnotation> a203 = AnnotationReader.Read(Path.Combine(dir, "203.atr"));

        string[] rhythms201 = [.. a201.Where(x => x.Code == AnnotationCode.Rhythm).Select(x => x.Aux!)];
        Assert.Equal(new WfdbAnnotation(60, AnnotationCode.Rhythm, Aux: "(AFIB"), a201.First(x => x.Aux is not null));
        Assert.Equal(new[] { "(AFIB", "(N", "(NOD", "(SVTA", "(T" }, rhythms201.Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(16, rhythms201.Count(x => x == "(N"));
        Assert.Equal(2039, a201.Count);

        Assert.Equal(new WfdbAnnotation(14, AnnotationCode.Rhythm, Aux: "(AFIB"), a203.First(x => x.Aux is not null));
        Assert.Equal(new[] { "(AFIB", "(AFL", "(T", "(VT" },
            a203.Where(x => x.Code == AnnotationCode.Rhythm).Select(x => x.Aux!).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(3108, a203.Count);
        Assert.Contains(a203, x => x.Sample == 16689 && x.Aux == "(VT");
    }

    [SkippableFact]
    public void Mitdb_skip_intervals_are_applied()
    {
        string dir = TestData.Require("mitdb");
        foreach (string name in WfdbRecordPath.ListRecords(dir))
        {
            IReadOnlyList<WfdbAnnotation> a = AnnotationReader.Read(Path.Combine(dir, name + ".atr"));
            for (int i = 1; i < a.Count; i++)
            {
                Assert.True(a[i].Sample >= a[i - 1].Sample);
            }

            Assert.True(a[^1].Sample < 650000);
        }
    }

    [SkippableFact]
    public void Cpsc2021_af_episodes()
    {
        string dir = TestData.Require("cpsc2021-sample");
        int afib = 0, normal = 0, beats = 0, none = 0;
        // The counts below are those of the original 18-record sample (its README); records added to the folder later
        // are read by Cpsc2021_records_decode and must not change these figures.
        foreach (string name in WfdbRecordPath.ListRecords(dir).Where(n => !TestData.Cpsc2021AddedRecords.Contains(n)))
        {
            WfdbHeader h = WfdbHeader.Parse(WfdbRecordPath.ResolveHeaderPath(dir, name));
            IReadOnlyList<WfdbAnnotation> a = AnnotationReader.Read(Path.Combine(dir, name + ".atr"));
            afib += a.Count(x => x.Code == AnnotationCode.Rhythm && x.Aux == "(AFIB");
            normal += a.Count(x => x.Code == AnnotationCode.Rhythm && x.Aux == "(N");
            beats += a.Count(x => x.IsBeat);
            none += a.Count(x => x.Aux == "None");
            Assert.All(a, x => Assert.InRange(x.Sample, 0, h.SampleCount!.Value));
        }

        Assert.Equal(17, afib);
        Assert.Equal(17, normal);
        Assert.Equal(5247 + 43 + 13 + 8, beats);
        Assert.Equal(1893, none); // aux strings "None" as stored by the writer of this data set (returned as is)

        IReadOnlyList<WfdbAnnotation> paf = AnnotationReader.Read(Path.Combine(dir, "data_101_6.atr"));
        Assert.Equal(
            new long[] { 3132, 5639, 8468, 9100, 11121, 16050, 21303, 22355 },
            paf.Where(x => x.Code == AnnotationCode.Rhythm).Select(x => x.Sample));
        Assert.Equal("(AFIB", paf.First(x => x.Code == AnnotationCode.Rhythm).Aux);
    }

    [SkippableFact]
    public void Ludb_per_lead_annotators()
    {
        string dir = TestData.Require("ludb");
        IReadOnlyList<(string Name, string Description)> annotators = WfdbRecordPath.ListAnnotators(dir);
        Assert.Equal(new[] { "i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6" }, annotators.Select(x => x.Name));

        int qrs = 0;
        foreach (string record in WfdbRecordPath.ListRecords(dir))
        {
            foreach ((string lead, _) in annotators)
            {
                IReadOnlyList<WfdbAnnotation> a = AnnotationReader.Read(Path.Combine(dir, record + "." + lead));
                qrs += a.Count(x => x.Code == AnnotationCode.Normal);
                Assert.All(a, x => Assert.InRange(x.Sample, 0, 4999));
            }
        }

        Assert.Equal(21965, qrs); // the data set README's count

        IReadOnlyList<WfdbAnnotation> first = AnnotationReader.Read(Path.Combine(dir, "data", "1.i"));
        Assert.Equal(48, first.Count);
        Assert.Equal(
            new[] { AnnotationCode.WaveOnset, AnnotationCode.Normal, AnnotationCode.WaveOffset, AnnotationCode.WaveOnset, AnnotationCode.TWave },
            first.Take(5).Select(x => x.Code));
        Assert.Equal(new long[] { 641, 664, 690, 773, 840 }, first.Take(5).Select(x => x.Sample));
    }

    [Fact]
    public void Modifiers_apply_to_the_annotation_they_follow()
    {
        byte[] bytes = Words(
            W(1, 10),                       // N at 10
            W(61, 5),                       // SUB 5 -> this N
            W(62, 2),                       // CHN 2 -> this N and later ones
            W(60, 1023),                    // NUM -1
            W(5, 20),                       // V at 30, inherits CHN 2 and NUM -1, SUB back to 0
            W(63, 3), 'A' | 'B' << 8, 'C', // AUX "ABC" + pad -> this V
            W(62, 0),                       // CHN 0 -> this V
            W(28, 0),                       // + at 30
            0);

        IReadOnlyList<WfdbAnnotation> a = Parse(bytes);

        Assert.Equal(3, a.Count);
        Assert.Equal(new WfdbAnnotation(10, AnnotationCode.Normal, SubType: 5, Channel: 2, Number: -1), a[0]);
        Assert.Equal(new WfdbAnnotation(30, AnnotationCode.Pvc, Channel: 0, Number: -1, Aux: "ABC"), a[1]);
        Assert.Equal(new WfdbAnnotation(30, AnnotationCode.Rhythm, Number: -1), a[2]);
    }

    [Fact]
    public void Skip_adds_a_signed_32_bit_interval()
    {
        // SKIP 100000 (0x000186A0: high word 0x0001, low word 0x86A0), N with interval 0, then SKIP -5 and N at +1.
        IReadOnlyList<WfdbAnnotation> a = Parse(Words(W(59, 0), 0x0001, 0x86A0, W(1, 0), W(59, 0), 0xFFFF, 0xFFFB, W(1, 1), 0));
        Assert.Equal(new long[] { 100000, 99996 }, a.Select(x => x.Sample));
    }

    [Fact]
    public void NotQrs_with_a_nonzero_interval_is_an_annotation()
    {
        IReadOnlyList<WfdbAnnotation> a = Parse(Words(W(59, 0), 0xFFFF, 0xFFFF, W(0, 1), 0));
        Assert.Equal(new WfdbAnnotation(0, AnnotationCode.NotQrs), Assert.Single(a));
    }

    [Fact]
    public void Empty_annotation_file()
    {
        Assert.Empty(Parse(Words(0)));
    }

    [Fact]
    public void Aux_past_the_end_is_an_error()
    {
        WfdbFormatException e = ParseError(Words(W(1, 10), W(63, 40), 0x4128, 0));
        Assert.Equal(2, e.Offset);
        Assert.Equal("test.atr", e.FilePath);
        Assert.Contains("AUX", e.Message, StringComparison.Ordinal);
        Assert.Contains("test.atr, byte offset 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Odd_length_is_an_error()
    {
        byte[] bytes = [.. Words(W(1, 10), W(1, 10)), 0x00];
        WfdbFormatException e = ParseError(bytes);
        Assert.Equal(4, e.Offset);
        Assert.Contains("odd", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_end_word_is_an_error()
    {
        WfdbFormatException e = ParseError(Words(W(1, 10), W(1, 10)));
        Assert.Equal(4, e.Offset);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_skip_is_an_error()
    {
        Assert.Equal(2, ParseError(Words(W(1, 10), W(59, 0), 0x0001)).Offset);
    }

    [Theory]
    [InlineData(60)]
    [InlineData(61)]
    [InlineData(62)]
    [InlineData(63)]
    public void Modifier_before_any_annotation_is_an_error(int type)
    {
        Assert.Equal(0, ParseError(Words(W(type, 2), 0x4141, W(1, 1), 0)).Offset);
    }

    [Fact]
    public void Reserved_type_is_an_error()
    {
        WfdbFormatException e = ParseError(Words(W(1, 1), W(55, 1), 0));
        Assert.Equal(2, e.Offset);
        Assert.Contains("type 55", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Negative_time_is_an_error()
    {
        WfdbFormatException e = ParseError(Words(W(59, 0), 0xFFFF, 0xFF00, W(1, 5), 0));
        Assert.Equal(6, e.Offset);
        Assert.Contains("before the start", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Aux_longer_than_255_is_an_error()
    {
        byte[] bytes = [.. Words(W(1, 1), W(63, 300)), .. new byte[300], .. Words(0)];
        Assert.Equal(2, ParseError(bytes).Offset);
    }

    [SkippableFact]
    public void Truncated_copies_of_a_real_file_always_fail_cleanly()
    {
        string dir = TestData.Require("mitdb");
        byte[] full = File.ReadAllBytes(Path.Combine(dir, "201.atr"));
        for (int length = 0; length < full.Length - 2; length += 7)
        {
            WfdbFormatException e = ParseError(full[..length]);
            Assert.InRange(e.Offset!.Value, 0, length);
        }
    }

    [Fact]
    public void Stream_overload_reads_to_the_end()
    {
        using var stream = new MemoryStream(Words(W(1, 10), W(5, 20), 0));
        Assert.Equal(2, AnnotationReader.Read(stream, "mem").Count);
    }
}
