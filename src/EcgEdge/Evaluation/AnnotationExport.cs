using EcgEdge.Inference;
using EcgEdge.Inference.Rhythm;
using EcgEdge.Wfdb;

namespace EcgEdge.Evaluation;

/// <summary>
/// A run's beats and rhythm as a WFDB annotation file (<c>RECORD.ecgedge</c>), so that PhysioNet's tools (<c>rdann</c>,
/// <c>bxb</c>, <c>rxr</c>, <c>epicmp</c>) read the device's results: one beat annotation per detected QRS with its MIT
/// code (N, A for S, V, F, Q), and a rhythm annotation ("+" with AUX "(AFIB", "(N", "(NOISE", "(VT") at every change.
/// </summary>
public static class AnnotationExport
{
    /// <summary>The annotator name (file extension) the device's annotations are written under.</summary>
    public const string Annotator = "ecgedge";

    /// <summary>Writes <c>{directory}/{run.Name}.ecgedge</c>; returns its path.</summary>
    public static string Write(string directory, RecordRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        Directory.CreateDirectory(directory);
        var changes = new List<(long Sample, RhythmClass Class)>();
        RhythmClass? last = null;
        // The AF episodes as eval scores them (AfEpisodes): rdann/epicmp see the same AF time.
        foreach (var d in AfEpisodes.Relabel(run.Rhythm, run.RecordRateHz))
        {
            if (d.Class == last) continue;
            changes.Add((d.From, d.Class));
            last = d.Class;
        }
        var anns = run.Beats.Select((t, i) => new WfdbAnnotation(t, run.Classes is null ? AnnotationCode.Normal : BeatConfusion.MitCodeOf(run.Classes[i])))
            .Concat(changes.Select(c => new WfdbAnnotation(c.Sample, AnnotationCode.Rhythm, Aux: RhythmAux(c.Class))))
            .OrderBy(x => x.Sample).ThenBy(x => x.Code == AnnotationCode.Rhythm ? 0 : 1);
        var path = Path.Combine(directory, run.Name + "." + Annotator);
        AnnotationWriter.Write(path, anns);
        return path;
    }

    /// <summary>MIT-BIH rhythm AUX string written for a rhythm class ("(N", "(AFIB", "(NOISE", "(VT").</summary>
    public static string RhythmAux(RhythmClass c) => c switch
    {
        RhythmClass.AfAfl => "(AFIB",
        RhythmClass.Noise => "(NOISE",
        RhythmClass.VtVf => "(VT",
        _ => "(N",
    };
}
