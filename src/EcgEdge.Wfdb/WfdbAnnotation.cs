namespace EcgEdge.Wfdb;

/// <summary>One annotation of an MIT-format annotation file.</summary>
/// <param name="Sample">The time of the annotation, in samples from the start of the record.</param>
/// <param name="Code">The annotation type.</param>
/// <param name="SubType">The subtype (e.g. the noisy-channel mask of a <see cref="AnnotationCode.Noise"/> annotation); WFDB 'subtyp'.</param>
/// <param name="Channel">The signal the annotation refers to; WFDB 'chan'.</param>
/// <param name="Number">The annotator-defined number; WFDB 'num'.</param>
/// <param name="Aux">
/// The auxiliary string, e.g. the rhythm "(AFIB" of a <see cref="AnnotationCode.Rhythm"/> annotation; null when absent.
/// Trailing NUL bytes stored in the file are removed; bytes map 1:1 to characters U+0000..U+00FF (Latin-1).
/// The string is returned as stored: some writers (e.g. the CPSC 2021 files) store "None" on every beat.
/// </param>
public readonly record struct WfdbAnnotation(
    long Sample,
    AnnotationCode Code,
    sbyte SubType = 0,
    byte Channel = 0,
    sbyte Number = 0,
    string? Aux = null)
{
    /// <summary>The single-character mnemonic of <see cref="Code"/> ('N', 'V', '+', ...), or '\0' when it has none.</summary>
    public char Mnemonic => AnnotationCodes.Mnemonic(Code);

    /// <summary>True when the annotation marks a beat (see <see cref="AnnotationCodes.IsBeat"/>).</summary>
    public bool IsBeat => AnnotationCodes.IsBeat(Code);

    /// <summary>The time of the annotation in seconds for a given sampling frequency.</summary>
    public double SecondsAt(double samplingFrequency) => Sample / samplingFrequency;
}
