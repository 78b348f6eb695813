namespace EcgEdge.Inference.Rhythm;

/// <summary>
/// The beat decision that ships with issue 26's validation (docs/experiments/beats/README.md, "sv_runs"): V from the
/// network; S from the beat's prematurity against the patient's own normal-to-normal rhythm, with runs; otherwise N, or
/// the network's F (fusion) or Q (unclassifiable) when it says so (for the rule's own history those count as N).
/// Per beat, in time order, allocation-free. A beat is S when
/// <list type="bullet">
/// <item>the network does not call it V and its QRS is not a wide complex unlike the dominant beat (outside the dominant
/// cluster and ≥ 2× as wide: the VT criterion's ventricular beat);</item>
/// <item>it comes early: RRpre &lt; 0.85 × the mean of the last 16 normal-to-normal intervals (both beats N, at least 4);</item>
/// <item>and either it opens a run — the interval shortened abruptly (RRpre &lt; 0.85 × the interval before: sinus
/// arrhythmia changes gradually) and a pause (RRpost / RRpre &gt; 1.1) or another early beat follows — or it continues
/// one: the beat before was S and RRpre is within 12 % of the interval before, unless the beat's P wave is the patient's
/// sinus P (present, correlation ≥ 0.9 with the sinus P template: a sinus rate that rises is not an atrial run);</item>
/// <item>and the rhythm of its window is not AF (AF probability &lt; 0.5): in AF every beat is "premature".</item>
/// </list>
/// No fitted parameters: clinical round numbers. The network's own S calls are not kept (out of fold they were mostly
/// false: SVEB +P 17–30 % on three of four sources).
/// With <see cref="DominantBeatVeto"/> (an experiment, off by default), the network's V is not taken for a beat that
/// joined the patient's dominant cluster with a QRS no wider than 1.2× the dominant beat's, comes at least 0.6 s after the
/// beat before and does not follow a V: that beat is judged as the network's N. Never inside a ventricular run or at
/// ≥ 100 bpm: a run can join the dominant cluster, and the VT criterion counts its V beats. Out of fold (2026-12-08) it
/// raised VEB F1 on every source for three networks but still lost 203's one true VT alarm, so it does not ship
/// (docs/experiments/beats/README.md, "The dominant-beat veto").
/// </summary>
public sealed class SupraventricularRule
{
    private const double Premature = 0.85, Abrupt = 0.85, Pause = 1.1, RunTolerance = 0.12, SinusPCorrelation = 0.9, AfGate = 0.5;
    private const float WideRatio = 2f, DominantWidthRatio = 1.2f;
    private const double VetoMinInterval = 0.6;            // s: no veto at >= 100 bpm (the VT criterion's rate)
    private const int NormalIntervals = 16, MinNormalIntervals = 4;

    private readonly double _rateHz;
    private readonly double[] _nn = new double[NormalIntervals];
    private int _nnCount, _nnNext, _beats;
    private double _prev1 = double.NaN, _prev2 = double.NaN;   // positions of the last two beats
    private bool _lastN, _lastS;                               // the rule's label of the last beat (before the AF gate)
    private bool _lastV;                                       // the last beat was reported V

    /// <param name="rateHz">Samples per second of the positions given to <see cref="Decide"/>.</param>
    public SupraventricularRule(double rateHz) => _rateHz = rateHz;

    /// <summary>Whether the network's V is vetoed on a beat like the patient's dominant beat (see the class summary; off by default).</summary>
    public bool DominantBeatVeto { get; set; }

    /// <summary>A new stream: no rhythm history.</summary>
    public void Reset()
    {
        _nnCount = _nnNext = _beats = 0;
        _prev1 = _prev2 = double.NaN;
        _lastN = _lastS = _lastV = false;
    }

    /// <summary>
    /// The class of the beat at <paramref name="position"/> (after the previous one given). <paramref name="next"/>: the
    /// position of the beat after it (NaN when not known yet: then it is not judged, as the last beat of a record).
    /// <paramref name="features"/>: its <see cref="BeatFeatures"/>.
    /// </summary>
    public BeatClass Decide(double position, double next, BeatClass network, ReadOnlySpan<float> features)
    {
        var pre = (position - _prev1) / _rateHz;        // NaN for the first beat of a stream
        if (network == BeatClass.V && DominantBeatVeto && pre >= VetoMinInterval && !_lastV && LikeDominant(features))
            network = BeatClass.N;
        _lastV = network == BeatClass.V;
        var networkV = network == BeatClass.V;
        // What the beat is reported as when the rule does not call it S: the network's V, F or Q, else N.
        var otherwise = network is BeatClass.V or BeatClass.F or BeatClass.Q ? network : BeatClass.N;
        var k = _beats++;
        var prev = (_prev1 - _prev2) / _rateHz;
        _prev2 = _prev1;
        _prev1 = position;
        var label = networkV ? BeatClass.V : BeatClass.N;
        if (k < 2 || double.IsNaN(next))
        {
            // Not judged (the first two beats of a stream, a beat without a successor yet); it still is the previous beat
            // of the next one.
            _lastN = label == BeatClass.N;
            _lastS = false;
            return otherwise;
        }
        var post = (next - position) / _rateHz;
        if (!networkV && _nnCount >= MinNormalIntervals && !Wide(features))
        {
            double sum = 0;
            for (var j = 0; j < _nnCount; j++) sum += _nn[j];
            var reference = sum / _nnCount;
            if (pre < Premature * reference)
            {
                if (_lastS && Math.Abs(pre - prev) < RunTolerance * prev)
                {
                    if (!SinusP(features)) label = BeatClass.S;
                }
                else if (pre < Abrupt * prev && (post / pre > Pause || post < Premature * reference))
                {
                    label = BeatClass.S;
                }
            }
        }
        if (label == BeatClass.N && _lastN)
        {
            _nn[_nnNext] = pre;
            _nnNext = (_nnNext + 1) % NormalIntervals;
            _nnCount = Math.Min(_nnCount + 1, NormalIntervals);
        }
        _lastN = label == BeatClass.N;
        _lastS = label == BeatClass.S;
        return label == BeatClass.S && features[BeatFeatures.AfContext] < AfGate ? BeatClass.S : otherwise;
    }

    private static bool LikeDominant(ReadOnlySpan<float> f) =>
        f[BeatFeatures.QrsDominant] >= 0.5f && f[BeatFeatures.QrsWidthRatio] <= DominantWidthRatio;

    private static bool Wide(ReadOnlySpan<float> f) => f[BeatFeatures.QrsDominant] < 0.5f && f[BeatFeatures.QrsWidthRatio] >= WideRatio;

    private static bool SinusP(ReadOnlySpan<float> f) =>
        f[BeatFeatures.PPresent] >= 0.5f && f[BeatFeatures.PTemplate] >= 0.5f && f[BeatFeatures.PCorr] >= SinusPCorrelation;
}
