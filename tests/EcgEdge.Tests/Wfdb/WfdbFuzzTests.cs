using EcgEdge.Wfdb;
using Xunit;

namespace EcgEdge.Tests.Wfdb;

/// <summary>
/// Randomly damaged inputs must either load or fail with a <see cref="WfdbFormatException"/> (or a missing-file error),
/// never with an exception from the runtime such as IndexOutOfRange, Format or Overflow.
/// </summary>
public class WfdbFuzzTests
{
    private const string Alphabet = "0123456789 -+x:()/.#\r\neEmVu\t";

    private static string Mutate(string text, Random rng)
    {
        char[] chars = text.ToCharArray();
        int edits = rng.Next(1, 4);
        var list = new List<char>(chars);
        for (int e = 0; e < edits && list.Count > 0; e++)
        {
            int at = rng.Next(list.Count);
            switch (rng.Next(3))
            {
                case 0:
                    list[at] = Alphabet[rng.Next(Alphabet.Length)];
                    break;
                case 1:
                    list.RemoveAt(at);
                    break;
                default:
                    list.Insert(at, Alphabet[rng.Next(Alphabet.Length)]);
                    break;
            }
        }

        return new string([.. list]);
    }

    [Fact]
    public void Damaged_headers_load_or_fail_cleanly()
    {
        using var dir = new TempDirectory();
        WfdbSignalSpec[] specs = [WfdbTestSignals.Spec("rec.dat", 212, "MLII", 1024), WfdbTestSignals.Spec("rec.dat", 212, "V1", 1024)];
        WfdbWriter.WriteRecord(dir.Path, "rec", 360, specs, WfdbTestSignals.Random(2, 300, 212));
        string good = File.ReadAllText(dir.File("rec.hea"));
        var rng = new Random(12345);
        int loaded = 0;
        for (int i = 0; i < 600; i++)
        {
            string damaged = Mutate(good, rng);
            try
            {
                WfdbHeader h = WfdbHeader.Parse(new StringReader(damaged), dir.File("bad.hea"));
                WfdbRecord.Load(h);
                loaded++;
            }
            catch (WfdbFormatException)
            {
            }
            catch (FileNotFoundException)
            {
            }
        }

        Assert.InRange(loaded, 1, 599);
    }

    [Fact]
    public void Damaged_signal_files_load_or_fail_cleanly()
    {
        using var dir = new TempDirectory();
        string header = WfdbTestSignals.WriteRecord(dir.Path, 212, 3, 101);
        byte[] good = File.ReadAllBytes(dir.File("rec.dat"));
        var rng = new Random(7);
        for (int i = 0; i < 100; i++)
        {
            byte[] damaged = good[..rng.Next(good.Length + 1)];
            if (damaged.Length > 0)
            {
                damaged[rng.Next(damaged.Length)] ^= (byte)rng.Next(1, 256);
            }

            File.WriteAllBytes(dir.File("rec.dat"), damaged);
            Assert.ThrowsAny<WfdbFormatException>(() => WfdbRecord.Load(header));
        }
    }

    [Fact]
    public void Damaged_annotation_files_load_or_fail_cleanly()
    {
        WfdbAnnotation[] annotations =
        [
            new(7, AnnotationCode.Rhythm, Aux: "(N"),
            new(90, AnnotationCode.Normal),
            new(2000, AnnotationCode.Noise, SubType: -1, Channel: 1),
            new(2300, AnnotationCode.Pvc, Number: 4),
            new(2300, AnnotationCode.Rhythm, Aux: "(VT"),
            new(100_000, AnnotationCode.NotQrs),
        ];
        using var stream = new MemoryStream();
        AnnotationWriter.Write(stream, annotations);
        byte[] good = stream.ToArray();
        var rng = new Random(99);
        for (int i = 0; i < 5000; i++)
        {
            byte[] damaged = good[..rng.Next(good.Length + 1)];
            for (int e = rng.Next(3); e > 0 && damaged.Length > 0; e--)
            {
                damaged[rng.Next(damaged.Length)] = (byte)rng.Next(256);
            }

            try
            {
                AnnotationReader.Parse(damaged, "fuzz.atr");
            }
            catch (WfdbFormatException e)
            {
                Assert.InRange(e.Offset!.Value, 0, damaged.Length);
            }
        }
    }
}
