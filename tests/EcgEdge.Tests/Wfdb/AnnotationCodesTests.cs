using EcgEdge.Wfdb;
using Xunit;

namespace EcgEdge.Tests.Wfdb;

public class AnnotationCodesTests
{
    [Theory]
    [InlineData(AnnotationCode.Normal, 1, 'N')]
    [InlineData(AnnotationCode.Lbbb, 2, 'L')]
    [InlineData(AnnotationCode.Rbbb, 3, 'R')]
    [InlineData(AnnotationCode.Aberrated, 4, 'a')]
    [InlineData(AnnotationCode.Pvc, 5, 'V')]
    [InlineData(AnnotationCode.Fusion, 6, 'F')]
    [InlineData(AnnotationCode.Npc, 7, 'J')]
    [InlineData(AnnotationCode.Apc, 8, 'A')]
    [InlineData(AnnotationCode.Svpb, 9, 'S')]
    [InlineData(AnnotationCode.VentricularEscape, 10, 'E')]
    [InlineData(AnnotationCode.NodalEscape, 11, 'j')]
    [InlineData(AnnotationCode.Paced, 12, '/')]
    [InlineData(AnnotationCode.Unknown, 13, 'Q')]
    [InlineData(AnnotationCode.Noise, 14, '~')]
    [InlineData(AnnotationCode.Artifact, 16, '|')]
    [InlineData(AnnotationCode.StChange, 18, 's')]
    [InlineData(AnnotationCode.TChange, 19, 'T')]
    [InlineData(AnnotationCode.Systole, 20, '*')]
    [InlineData(AnnotationCode.Diastole, 21, 'D')]
    [InlineData(AnnotationCode.Note, 22, '"')]
    [InlineData(AnnotationCode.Measure, 23, '=')]
    [InlineData(AnnotationCode.PWave, 24, 'p')]
    [InlineData(AnnotationCode.Bbb, 25, 'B')]
    [InlineData(AnnotationCode.PacerSpike, 26, '^')]
    [InlineData(AnnotationCode.TWave, 27, 't')]
    [InlineData(AnnotationCode.Rhythm, 28, '+')]
    [InlineData(AnnotationCode.UWave, 29, 'u')]
    [InlineData(AnnotationCode.Learn, 30, '?')]
    [InlineData(AnnotationCode.FlutterWave, 31, '!')]
    [InlineData(AnnotationCode.VfOnset, 32, '[')]
    [InlineData(AnnotationCode.VfOffset, 33, ']')]
    [InlineData(AnnotationCode.AtrialEscape, 34, 'e')]
    [InlineData(AnnotationCode.SupraventricularEscape, 35, 'n')]
    [InlineData(AnnotationCode.Link, 36, '@')]
    [InlineData(AnnotationCode.NonConductedP, 37, 'x')]
    [InlineData(AnnotationCode.PacedFusion, 38, 'f')]
    [InlineData(AnnotationCode.WaveOnset, 39, '(')]
    [InlineData(AnnotationCode.WaveOffset, 40, ')')]
    [InlineData(AnnotationCode.RonT, 41, 'r')]
    public void Codes_and_mnemonics_match_wfdb(AnnotationCode code, int value, char mnemonic)
    {
        Assert.Equal(value, (int)code);
        Assert.Equal(mnemonic, AnnotationCodes.Mnemonic(code));
        Assert.True(AnnotationCodes.TryParseMnemonic(mnemonic, out AnnotationCode parsed));
        Assert.Equal(code, parsed);
        Assert.True(AnnotationCodes.TryParseMnemonic(mnemonic.ToString(), out parsed));
        Assert.Equal(code, parsed);
        Assert.True(AnnotationCodes.IsValid(code));
    }

    [Fact]
    public void Codes_without_mnemonic()
    {
        foreach (int value in new[] { 0, 15, 17, 42, 49, 60 })
        {
            Assert.Equal('\0', AnnotationCodes.Mnemonic((AnnotationCode)value));
        }

        Assert.False(AnnotationCodes.TryParseMnemonic('#', out _));
        Assert.False(AnnotationCodes.TryParseMnemonic('\0', out _));
        Assert.False(AnnotationCodes.TryParseMnemonic("NN", out _));
        Assert.False(AnnotationCodes.TryParseMnemonic((string?)null, out _));
        Assert.False(AnnotationCodes.IsValid(AnnotationCode.NotQrs));
        Assert.True(AnnotationCodes.IsValid((AnnotationCode)49));
        Assert.False(AnnotationCodes.IsValid((AnnotationCode)50));
    }

    [Fact]
    public void Beats_and_aami_classes()
    {
        const string Beats = "NLRaVFJASEj/QenfrB";
        var expected = new Dictionary<char, char>
        {
            ['N'] = 'N', ['L'] = 'N', ['R'] = 'N', ['e'] = 'N', ['j'] = 'N', ['B'] = 'N', ['n'] = 'N',
            ['A'] = 'S', ['a'] = 'S', ['J'] = 'S', ['S'] = 'S',
            ['V'] = 'V', ['E'] = 'V', ['r'] = 'V',
            ['F'] = 'F',
            ['/'] = 'Q', ['f'] = 'Q', ['Q'] = 'Q',
        };

        for (int value = 0; value < 64; value++)
        {
            var code = (AnnotationCode)value;
            char m = AnnotationCodes.Mnemonic(code);
            bool beat = m != '\0' && Beats.Contains(m, StringComparison.Ordinal);
            Assert.Equal(beat, AnnotationCodes.IsBeat(code));
            Assert.Equal(beat ? expected[m] : '\0', AnnotationCodes.AamiClass(code));
            Assert.Equal(beat || m is '?' or '!', AnnotationCodes.IsWfdbQrs(code));
        }
    }
}
