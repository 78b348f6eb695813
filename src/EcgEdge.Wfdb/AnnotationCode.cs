namespace EcgEdge.Wfdb;

/// <summary>
/// MIT annotation type codes (WFDB ecgcodes.h). The comment of each member gives the WFDB name and the mnemonic.
/// Codes 42..49 are user-defined; values 50 and above are not annotation types.
/// </summary>
public enum AnnotationCode : byte
{
    /// <summary>NOTQRS: not a QRS (no mnemonic).</summary>
    NotQrs = 0,

    /// <summary>NORMAL 'N': normal beat.</summary>
    Normal = 1,

    /// <summary>LBBB 'L': left bundle branch block beat.</summary>
    Lbbb = 2,

    /// <summary>RBBB 'R': right bundle branch block beat.</summary>
    Rbbb = 3,

    /// <summary>ABERR 'a': aberrated atrial premature beat.</summary>
    Aberrated = 4,

    /// <summary>PVC 'V': premature ventricular contraction.</summary>
    Pvc = 5,

    /// <summary>FUSION 'F': fusion of ventricular and normal beat.</summary>
    Fusion = 6,

    /// <summary>NPC 'J': nodal (junctional) premature beat.</summary>
    Npc = 7,

    /// <summary>APC 'A': atrial premature contraction.</summary>
    Apc = 8,

    /// <summary>SVPB 'S': premature or ectopic supraventricular beat.</summary>
    Svpb = 9,

    /// <summary>VESC 'E': ventricular escape beat.</summary>
    VentricularEscape = 10,

    /// <summary>NESC 'j': nodal (junctional) escape beat.</summary>
    NodalEscape = 11,

    /// <summary>PACE '/': paced beat.</summary>
    Paced = 12,

    /// <summary>UNKNOWN 'Q': unclassifiable beat.</summary>
    Unknown = 13,

    /// <summary>NOISE '~': signal quality change (the subtype gives the noisy channels).</summary>
    Noise = 14,

    /// <summary>ARFCT '|': isolated QRS-like artifact.</summary>
    Artifact = 16,

    /// <summary>STCH 's': ST change.</summary>
    StChange = 18,

    /// <summary>TCH 'T': T-wave change.</summary>
    TChange = 19,

    /// <summary>SYSTOLE '*': systole.</summary>
    Systole = 20,

    /// <summary>DIASTOLE 'D': diastole.</summary>
    Diastole = 21,

    /// <summary>NOTE '"': comment annotation (text in the aux string).</summary>
    Note = 22,

    /// <summary>MEASURE '=': measurement annotation.</summary>
    Measure = 23,

    /// <summary>PWAVE 'p': P-wave peak.</summary>
    PWave = 24,

    /// <summary>BBB 'B': left or right bundle branch block beat (unspecified).</summary>
    Bbb = 25,

    /// <summary>PACESP '^': non-conducted pacer spike.</summary>
    PacerSpike = 26,

    /// <summary>TWAVE 't': T-wave peak.</summary>
    TWave = 27,

    /// <summary>RHYTHM '+': rhythm change (the rhythm, e.g. "(AFIB", is in the aux string).</summary>
    Rhythm = 28,

    /// <summary>UWAVE 'u': U-wave peak.</summary>
    UWave = 29,

    /// <summary>LEARN '?': beat not classified during learning.</summary>
    Learn = 30,

    /// <summary>FLWAV '!': ventricular flutter wave.</summary>
    FlutterWave = 31,

    /// <summary>VFON '[': start of ventricular flutter/fibrillation.</summary>
    VfOnset = 32,

    /// <summary>VFOFF ']': end of ventricular flutter/fibrillation.</summary>
    VfOffset = 33,

    /// <summary>AESC 'e': atrial escape beat.</summary>
    AtrialEscape = 34,

    /// <summary>SVESC 'n': supraventricular escape beat.</summary>
    SupraventricularEscape = 35,

    /// <summary>LINK '@': link to external data (the aux string holds a URL).</summary>
    Link = 36,

    /// <summary>NAPC 'x': non-conducted P-wave (blocked APC).</summary>
    NonConductedP = 37,

    /// <summary>PFUS 'f': fusion of paced and normal beat.</summary>
    PacedFusion = 38,

    /// <summary>WFON '(': waveform onset (also PQ junction).</summary>
    WaveOnset = 39,

    /// <summary>WFOFF ')': waveform end (also J point).</summary>
    WaveOffset = 40,

    /// <summary>RONT 'r': R-on-T premature ventricular contraction.</summary>
    RonT = 41,
}

/// <summary>Mnemonics and classifications of <see cref="AnnotationCode"/> values.</summary>
public static class AnnotationCodes
{
    /// <summary>The largest valid annotation code (ACMAX); 42..49 are user-defined.</summary>
    public const int MaxCode = 49;

    // Index = code. '\0' = no single-character mnemonic.
    private const string MnemonicTable = "\0NLRaVFJASEj/Q~\0|\0sT*D\"=pB^t+u?![]en@xf()r";

    /// <summary>The single-character mnemonic of <paramref name="code"/> (e.g. 'N', 'V', '+'), or '\0' when it has none (NOTQRS, 15, 17, 42..).</summary>
    public static char Mnemonic(AnnotationCode code) => (int)code < MnemonicTable.Length ? MnemonicTable[(int)code] : '\0';

    /// <summary>Finds the code of a mnemonic character (e.g. 'N' → <see cref="AnnotationCode.Normal"/>).</summary>
    public static bool TryParseMnemonic(char mnemonic, out AnnotationCode code)
    {
        int index = mnemonic == '\0' ? -1 : MnemonicTable.IndexOf(mnemonic);
        code = index > 0 ? (AnnotationCode)index : AnnotationCode.NotQrs;
        return index > 0;
    }

    /// <summary>Finds the code of a one-character mnemonic string (e.g. "V"); false for anything else.</summary>
    public static bool TryParseMnemonic(string? mnemonic, out AnnotationCode code)
    {
        if (mnemonic is { Length: 1 })
        {
            return TryParseMnemonic(mnemonic[0], out code);
        }

        code = AnnotationCode.NotQrs;
        return false;
    }

    /// <summary>True for codes 1..49, the values an annotation file may hold as annotation types.</summary>
    public static bool IsValid(AnnotationCode code) => code is > AnnotationCode.NotQrs and <= (AnnotationCode)MaxCode;

    /// <summary>
    /// True when <paramref name="code"/> marks a heart beat (QRS complex): N L R a V F J A S E j / Q e n f r B.
    /// </summary>
    /// <remarks>
    /// This is the beat set of the PhysioNet beat tables and of AAMI EC57. It differs from WFDB's isqrs() table
    /// (see <see cref="IsWfdbQrs"/>) in leaving out '?' (LEARN) and '!' (ventricular flutter wave), which are not
    /// beats of a known kind; use <see cref="IsWfdbQrs"/> to match WFDB tools such as bxb exactly.
    /// </remarks>
    public static bool IsBeat(AnnotationCode code) => AamiClass(code) != '\0';

    /// <summary>
    /// WFDB's isqrs(): true for N L R a V F J A S E j / Q B ? ! e n f r (the beat set of <see cref="IsBeat"/> plus
    /// LEARN '?' and FLWAV '!').
    /// </summary>
    public static bool IsWfdbQrs(AnnotationCode code) => IsBeat(code) || code is AnnotationCode.Learn or AnnotationCode.FlutterWave;

    /// <summary>
    /// The AAMI EC57 beat class: 'N' (N L R e j, and B, n), 'S' (A a J S), 'V' (V E, and r), 'F' (F),
    /// 'Q' (/ f Q); '\0' for codes that are not beats.
    /// </summary>
    /// <remarks>
    /// EC57 does not list B, n and r; they are mapped to the class of their kind: B (bundle branch block beat,
    /// unspecified) and n (supraventricular escape, an escape beat like e and j) to N, r (R-on-T PVC) to V.
    /// </remarks>
    public static char AamiClass(AnnotationCode code) => code switch
    {
        AnnotationCode.Normal or AnnotationCode.Lbbb or AnnotationCode.Rbbb or AnnotationCode.AtrialEscape
            or AnnotationCode.NodalEscape or AnnotationCode.Bbb or AnnotationCode.SupraventricularEscape => 'N',
        AnnotationCode.Apc or AnnotationCode.Aberrated or AnnotationCode.Npc or AnnotationCode.Svpb => 'S',
        AnnotationCode.Pvc or AnnotationCode.VentricularEscape or AnnotationCode.RonT => 'V',
        AnnotationCode.Fusion => 'F',
        AnnotationCode.Paced or AnnotationCode.PacedFusion or AnnotationCode.Unknown => 'Q',
        _ => '\0',
    };
}
