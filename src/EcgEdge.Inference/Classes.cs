using EcgEdge.Detection;

namespace EcgEdge.Inference;

/// <summary>AAMI beat classes (ANSI/AAMI EC57): the model's beat head output.</summary>
public enum BeatClass : byte
{
    /// <summary>Normal and bundle-branch-block beats (MIT-BIH N, L, R, e, j).</summary>
    N,

    /// <summary>Supraventricular ectopic beats (A, a, J, S).</summary>
    S,

    /// <summary>Ventricular ectopic beats (V, E).</summary>
    V,

    /// <summary>Fusion of ventricular and normal beats (F).</summary>
    F,

    /// <summary>Paced or unclassifiable beats (/, f, Q).</summary>
    Q,
}

/// <summary>Window rhythm classes: the model's rhythm head output.</summary>
public enum RhythmClass : byte
{
    /// <summary>Sinus or any rhythm that is neither AF/flutter nor ventricular tachyarrhythmia.</summary>
    SinusOther,

    /// <summary>Atrial fibrillation or atrial flutter.</summary>
    AfAfl,

    /// <summary>Noise: the window is not readable.</summary>
    Noise,

    /// <summary>Ventricular tachycardia / flutter / fibrillation.</summary>
    VtVf,
}

/// <summary>Class names as they appear in the model manifest.</summary>
public static class ClassNames
{
    private static readonly string[] Beat = ["N", "S", "V", "F", "Q"];
    private static readonly string[] Rhythm = ["sinus_other", "af_afl", "noise", "vt_vf"];

    public static string Of(BeatClass c) => Beat[(int)c];
    public static string Of(RhythmClass c) => Rhythm[(int)c];

    public static bool TryParseBeat(string name, out BeatClass c)
    {
        var i = Array.IndexOf(Beat, name);
        c = (BeatClass)Math.Max(0, i);
        return i >= 0;
    }

    public static bool TryParseRhythm(string name, out RhythmClass c)
    {
        var i = Array.IndexOf(Rhythm, name);
        c = (RhythmClass)Math.Max(0, i);
        return i >= 0;
    }
}

/// <summary>A detected beat with the model's class.</summary>
/// <param name="Beat">The detector's beat (R peak at <see cref="DetectedBeat.SampleIndex"/>, pipeline rate).</param>
/// <param name="Class">Argmax of the beat head at the beat's fine token.</param>
/// <param name="Confidence">Softmax probability of <paramref name="Class"/>.</param>
/// <param name="Qrs">The beat's QRS against the patient's dominant beat (<see cref="Rhythm.DominantBeat"/>; not
/// <see cref="Rhythm.QrsMeasure.Valid"/> before one is learned or when the beat was not measured). The VT criterion reads
/// it: a wide complex unlike the dominant beat is ventricular evidence the beat class may lack.</param>
public readonly record struct ClassifiedBeat(DetectedBeat Beat, BeatClass Class, float Confidence, Rhythm.QrsMeasure Qrs = default);

/// <summary>The rhythm decided for a stretch of signal (smoothed over neighbouring windows).</summary>
/// <param name="FromIndex">First pipeline sample the decision covers.</param>
/// <param name="ToIndex">One past the last covered sample. Consecutive decisions of a run tile it without overlap.</param>
/// <param name="Class">Argmax of the smoothed class probabilities.</param>
/// <param name="Confidence">Smoothed probability of <paramref name="Class"/>.</param>
/// <param name="WindowStartIndex">Start of the window whose central part this is.</param>
public readonly record struct RhythmDecision(long FromIndex, long ToIndex, RhythmClass Class, float Confidence, long WindowStartIndex);

/// <summary>One model run on one window (raw, not smoothed).</summary>
/// <param name="StartIndex">Pipeline index of the window's first sample.</param>
/// <param name="EndIndex">One past the window's last pipeline sample holding signal.</param>
/// <param name="Class">Argmax of the rhythm head for this window alone.</param>
/// <param name="Confidence">Its softmax probability.</param>
/// <param name="IsTail">The window closing a run (see <see cref="AnalysisWindow.IsTail"/>).</param>
/// <param name="LatencySeconds">Wall time of the model run.</param>
public readonly record struct WindowInference(long StartIndex, long EndIndex, RhythmClass Class, float Confidence, bool IsTail, double LatencySeconds);

/// <summary>Receives the inference stage's output on the pipeline's thread. Must not block.</summary>
public interface IInferenceSink
{
    /// <summary>A beat got its class (in time order, some seconds after detection: when its window was analysed).</summary>
    void OnBeatClassified(in ClassifiedBeat beat);

    /// <summary>The rhythm of a stretch of signal was decided (in time order).</summary>
    void OnRhythm(in RhythmDecision decision, ReadOnlySpan<float> smoothedProbabilities);

    /// <summary>The model ran on a window.</summary>
    void OnWindow(in WindowInference window, ReadOnlySpan<float> rhythmProbabilities) { }
}
