using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Inference.Model;
using EcgEdge.Inference.Rhythm;

namespace EcgEdge.Inference;

/// <summary>
/// The inference stage of the pipeline: windows the conditioned stream as the model's manifest says (10 s every 5 s at
/// 250 Hz for ECG-NAT), runs the model once per window, gives every detected beat the class of the beat head at its
/// fine token — in the window where the beat is most central, the rule the model was evaluated with — and decides the
/// rhythm of each window's central stretch from the class probabilities averaged over
/// <c>smoothingWindows</c> neighbouring windows (centred, so decisions lag the window by (n−1)/2 hops).
/// <para>Beat positions: the detector reports R peaks at raw-signal time; the model was trained on positions in the
/// conditioned signal, i.e. shifted by the conditioning's group delay, so <c>beatShiftSamples</c> is added before the
/// token lookup.</para>
/// <para>A model with the RR-interval input (<c>beat_rr</c>) gets, for every detected beat in the window, its intervals
/// to the neighbouring beats relative to the median of the recent ones (<see cref="RrFeatureBuilder"/>); a gap starts a
/// new stream of intervals; a model with shape channels also gets each beat's shape against the patient's recent beats
/// (<see cref="BeatShapeFeatures"/>), from the window's signal.</para>
/// <para>Runs on the pipeline's thread (one window of ECG-NAT is milliseconds on a CPU core, every 5 s). After
/// construction nothing is allocated per block, per beat or per window.</para>
/// </summary>
public sealed class InferenceStage : IBeatSink
{
    private EcgNatModel _model;
    private EcgNatModel? _pendingModel;
    private readonly IInferenceSink _sink;
    private readonly WindowAssembler _assembler;
    private readonly ModelContract _c;
    private readonly int _dec, _classes, _rhythmClasses, _smoothing, _half;
    private readonly long _halfWindow, _halfHop;   // pipeline samples
    private readonly double _beatShift;
    private readonly RrFeatureBuilder? _rr;        // the model's RR-interval input (null: the model has none)
    private double _rrLimit = double.PositiveInfinity;
    private readonly DetectedBeat[] _pending = new DetectedBeat[512];
    private int _pendingHead, _pendingCount;
    private readonly RhythmEvidence _evidence;     // physiological rhythm evidence per window (RR, P waves, diastole)
    private readonly float[] _features = new float[RhythmFeatures.Count];
    private readonly float[] _shortFeatures = new float[RhythmFeatures.Count];

    /// <summary>The short context exported beside the regular one for fitting the young-stream model (tools/train).</summary>
    public const double ShortContextSeconds = 10;
    private readonly float[] _networkProbs = new float[8];
    private readonly float[] _beatInputs = new float[BeatFusion.InputCount];
    private readonly IBeatEvidenceSink? _beatSink;
    private readonly SupraventricularRule _svRule;
    private readonly int _afClass, _noiseClass, _sinusClass;
    private readonly IRhythmEvidenceSink? _evidenceSink;
    private readonly float[] _prevBeat;            // beat logits of the previous window of this run
    private long _prevStart;
    private bool _havePrev;
    private readonly float[] _probs, _mean;
    private readonly float[] _ringProbs;           // [slot * rhythmClasses + k]
    private readonly long[] _ringCentre, _ringStart, _ringEnd;
    private int _windowsInRun;
    private long _decidedUntil;
    private bool _runOpen;

    public InferenceStage(EcgNatModel model, double pipelineRateHz, double beatShiftSamples, IReadOnlyList<bool> present,
        int smoothingWindows, IInferenceSink sink, double delaySeconds = 1.0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sink);
        if (smoothingWindows < 1 || smoothingWindows % 2 == 0) throw new ArgumentOutOfRangeException(nameof(smoothingWindows), "must be odd and >= 1");
        _model = model;
        _sink = sink;
        _c = model.Contract;
        _assembler = new WindowAssembler(pipelineRateHz, _c.SampleRateHz, _c.WindowSamples, _c.HopSamples,
            (int)Math.Round(delaySeconds * _c.SampleRateHz), 0.001f, present);
        _dec = _assembler.Decimation;
        _classes = _c.BeatClasses.Length;
        _rhythmClasses = _c.RhythmClasses.Length;
        _smoothing = smoothingWindows;
        _half = (smoothingWindows - 1) / 2;
        _halfWindow = (long)_c.WindowSamples * _dec / 2;
        _halfHop = (long)_c.HopSamples * _dec / 2;
        _beatShift = beatShiftSamples;
        if (_c.Rr is not null) _rr = new RrFeatureBuilder(_c.Rr, pipelineRateHz);
        _evidence = new RhythmEvidence(pipelineRateHz, _c.SampleRateHz);
        _svRule = new SupraventricularRule(pipelineRateHz);
        _afClass = Array.IndexOf(_c.RhythmClasses, RhythmClass.AfAfl);
        _noiseClass = Array.IndexOf(_c.RhythmClasses, RhythmClass.Noise);
        _sinusClass = Array.IndexOf(_c.RhythmClasses, RhythmClass.SinusOther);
        _evidenceSink = sink as IRhythmEvidenceSink;
        _beatSink = sink as IBeatEvidenceSink;
        _prevBeat = new float[_c.FineTokens * _classes];
        _probs = new float[Math.Max(_classes, _rhythmClasses)];
        _mean = new float[_rhythmClasses];
        _ringProbs = new float[smoothingWindows * _rhythmClasses];
        _ringCentre = new long[smoothingWindows];
        _ringStart = new long[smoothingWindows];
        _ringEnd = new long[smoothingWindows];
    }

    /// <summary>The model in use (changes at a window boundary after <see cref="RequestModelSwap"/>).</summary>
    public EcgNatModel Model => _model;

    /// <summary>Raised on the pipeline thread right after a swap (old, new); the receiver owns and disposes the old model.</summary>
    public event Action<EcgNatModel, EcgNatModel>? ModelSwapped;

    /// <summary>
    /// Hands over a new, already validated model (any thread). It takes effect at the next window, so no window is lost
    /// or analysed twice. The new model must have the same contract (window, hop, rate, token grid, classes). A model
    /// still pending from an earlier request (never used) is disposed here.
    /// </summary>
    public void RequestModelSwap(EcgNatModel next)
    {
        ArgumentNullException.ThrowIfNull(next);
        var a = _c;
        var b = next.Contract;
        if (a.WindowSamples != b.WindowSamples || a.HopSamples != b.HopSamples || a.SampleRateHz != b.SampleRateHz || a.TokenStride != b.TokenStride
            || a.FineTokens != b.FineTokens || !a.BeatClasses.SequenceEqual(b.BeatClasses) || !a.RhythmClasses.SequenceEqual(b.RhythmClasses)
            || a.Rr != b.Rr)
            throw new ModelLoadException(ModelLoadFailure.ContractMismatch,
                "the new model's contract (window, hop, rate, tokens, classes or RR input) differs from the running one; restart the worker to change it");
        Interlocked.Exchange(ref _pendingModel, next)?.Dispose();
    }

    /// <summary>Windows analysed so far.</summary>
    public long Windows { get; private set; }

    /// <summary>Beats classified so far.</summary>
    public long BeatsClassified { get; private set; }

    /// <summary>Beats that could not be queued (more than 512 awaiting their window) and got no class.</summary>
    public long BeatsDropped { get; private set; }

    /// <summary>Queues a detected beat until its window has been analysed (beats arrive in time order).</summary>
    public void OnBeat(in DetectedBeat beat)
    {
        if (_pendingCount == _pending.Length)
        {
            // Cannot happen at physiological rates (512 beats ≈ 100 s at 300 bpm); counted, never silent.
            BeatsDropped++;
            _pendingHead = (_pendingHead + 1) % _pending.Length;
            _pendingCount--;
        }
        _pending[(_pendingHead + _pendingCount) % _pending.Length] = beat;
        _pendingCount++;
        _rr?.Add(beat.SampleIndex + _beatShift);
        _evidence.Add(beat.SampleIndex + _beatShift);
    }

    /// <summary>Adds a conditioned block; analyses a window when one is complete.</summary>
    public void Push(SampleBlock conditioned)
    {
        if (conditioned.Count == 0) return;
        if (_assembler.StartsNewRun(conditioned))
        {
            EndRun();
            _rr?.StartStream(conditioned.StartIndex + _beatShift);
            _evidence.StartStream(conditioned.StartIndex + _beatShift);
            _svRule.Reset();
        }
        _runOpen = true;
        if (_assembler.Push(conditioned)) Analyse(_assembler.Window);
    }

    /// <summary>End of stream: analyses what is pending (the last regular window and a tail window ending at the last sample).</summary>
    public void Flush() => EndRun();

    private void EndRun()
    {
        if (!_runOpen) return;
        var runEnd = _assembler.NextIndex;
        _rrLimit = runEnd + _beatShift;      // beats of a following run (after a gap) are not this run's
        while (_assembler.FlushNext()) Analyse(_assembler.Window);
        _rrLimit = double.PositiveInfinity;
        // Beats after the last window's central part when no tail window was needed (the run ended exactly on the
        // grid): that window is the nearest.
        while (_pendingCount > 0 && _havePrev)
        {
            ref readonly var b = ref _pending[_pendingHead];
            if (b.SampleIndex >= runEnd) break;
            Classify(b, b.SampleIndex + _beatShift, _prevBeat, _prevStart);
            _pendingHead = (_pendingHead + 1) % _pending.Length;
            _pendingCount--;
        }
        // Rhythm: the last windows of the run are decided with the neighbours they have; the last reaches the run's end.
        var last = _windowsInRun - 1;
        for (var j = Math.Max(0, last - _half + 1); j <= last; j++) Decide(j, last, j == last ? runEnd : -1);
        _windowsInRun = 0;
        _havePrev = false;
        _runOpen = false;
    }

    private void Analyse(AnalysisWindow w)
    {
        if (Interlocked.Exchange(ref _pendingModel, null) is { } next)
        {
            var old = _model;
            _model = next;
            ModelSwapped?.Invoke(old, next);
        }
        w.Samples.AsSpan().CopyTo(_model.Signal);
        w.LeadPresent.AsSpan().CopyTo(_model.LeadMask);
        _rr?.Fill(_model.BeatRr, w.StartIndex, _rrLimit, _dec, _c.WindowSamples, _c.TokenStride, _c.FineTokens,
            w.Samples, w.LeadPresent, w.ValidLength);
        var latency = _model.Run();
        Windows++;
        var rk = EcgNatModel.Softmax(_model.RhythmLogits, _probs.AsSpan(0, _rhythmClasses));
        var end = w.StartIndex + (long)w.ValidLength * _dec;

        // Physiological rhythm evidence (RR irregularity with ectopy handling, P waves, diastole, atrial spectrum) over two
        // contexts, 30 s and 10 s, and, with a fusion model, the AF decision taken from it: the mean of both models for an
        // older stream, the short model alone for a young one (the start, after a gap, a short record). The AF/flutter
        // posterior becomes the fusion's, the noise and VT/VF posteriors stay the network's, sinus/other takes the rest.
        _evidence.Observe(w.Samples, w.LeadPresent, w.StartIndex, _dec, _c.WindowSamples, w.ValidLength, _rrLimit);
        var fusion = _model.Contract.Fusion;
        var streamSeconds = _evidence.StreamSeconds(end);
        _evidence.Features(_features, end, _probs.AsSpan(0, _rhythmClasses), _afClass, _noiseClass, fusion?.Long.ContextSeconds ?? RhythmEvidence.ContextSeconds);
        _evidence.Features(_shortFeatures, end, _probs.AsSpan(0, _rhythmClasses), _afClass, _noiseClass, fusion?.Short.ContextSeconds ?? ShortContextSeconds);
        var fused = double.NaN;
        _probs.AsSpan(0, _rhythmClasses).CopyTo(_networkProbs);
        if (fusion is not null && _afClass >= 0 && _sinusClass >= 0
            && fusion.Probability(_features, _shortFeatures, streamSeconds, out var threshold) is var pFused && !double.IsNaN(pFused))
        {
            fused = pFused;
            var rest = 0f;
            for (var c = 0; c < _rhythmClasses; c++) if (c != _afClass && c != _sinusClass) rest += _probs[c];
            var m = Math.Max(0f, 1f - rest);
            // Threshold calibration: the fusion's threshold maps to 0.5 of the class posterior.
            var q = Calibrate(fused, threshold);
            _probs[_afClass] = (float)(m * q);
            _probs[_sinusClass] = (float)(m * (1 - q));
            rk = 0;
            for (var c = 1; c < _rhythmClasses; c++) if (_probs[c] > _probs[rk]) rk = c;
        }
        // The rhythm context the beats decided in this window read (no S call inside AF, bigeminy patterns).
        _evidence.SetContext(_features[RhythmFeatures.IrrClean], _afClass >= 0 ? _probs[_afClass] : 0f);
        _evidenceSink?.OnEvidence(w.StartIndex, end, _features, _shortFeatures, streamSeconds, _networkProbs.AsSpan(0, _rhythmClasses),
            _probs.AsSpan(0, _rhythmClasses), fused);
        _sink.OnWindow(new WindowInference(w.StartIndex, end, _c.RhythmClasses[rk], _probs[rk], w.IsTail, latency), _probs.AsSpan(0, _rhythmClasses));

        // Rhythm ring.
        var k = _windowsInRun++;
        var slot = k % _smoothing;
        _probs.AsSpan(0, _rhythmClasses).CopyTo(_ringProbs.AsSpan(slot * _rhythmClasses, _rhythmClasses));
        _ringStart[slot] = w.StartIndex;
        _ringCentre[slot] = w.StartIndex + _halfWindow;
        _ringEnd[slot] = end;

        // Beats.
        var centre = w.StartIndex + _halfWindow;
        var beats = _model.BeatLogits;
        while (_pendingCount > 0)
        {
            ref readonly var b = ref _pending[_pendingHead];
            var pos = b.SampleIndex + _beatShift;
            if (w.IsTail)
            {
                if (b.SampleIndex >= w.RunEndIndex) break; // belongs to the next run
                var usePrev = _havePrev && Math.Abs(pos - (_prevStart + _halfWindow)) <= Math.Abs(pos - centre);
                Classify(b, pos, usePrev ? _prevBeat : beats, usePrev ? _prevStart : w.StartIndex);
            }
            else
            {
                if (pos > centre + _halfHop) break;
                var late = _havePrev && pos < w.StartIndex && pos >= _prevStart;
                Classify(b, pos, late ? _prevBeat : beats, late ? _prevStart : w.StartIndex);
            }
            _pendingHead = (_pendingHead + 1) % _pending.Length;
            _pendingCount--;
        }
        beats.CopyTo(_prevBeat);
        _prevStart = w.StartIndex;
        _havePrev = true;

        if (k >= _half) Decide(k - _half, k, -1);
    }

    /// <summary>
    /// Maps P(AF) so that the fusion's threshold lands on 0.5 (the rhythm decision takes the most probable class):
    /// the log-odds are shifted by the threshold's log-odds.
    /// </summary>
    private static double Calibrate(double p, double threshold)
    {
        if (Math.Abs(threshold - 0.5) < 1e-12) return p;
        var z = Math.Log(Math.Max(p, 1e-12) / Math.Max(1 - p, 1e-12)) - Math.Log(threshold / (1 - threshold));
        return 1 / (1 + Math.Exp(-z));
    }

    /// <summary>What is added to a detected beat's index to place it in the conditioned signal (the conditioning's group delay).</summary>
    public double BeatShiftSamples => _beatShift;

    /// <summary>
    /// The beat classes come from <see cref="SupraventricularRule"/> (V from the network, S from prematurity and runs
    /// against the patient's own rhythm; default) instead of the network's argmax; ignored when the manifest carries a
    /// <c>beat_fusion</c>. Set before the stage runs (<c>Inference:SupraventricularRule</c>).
    /// </summary>
    public bool SupraventricularRuleEnabled { get; set; } = true;

    /// <summary>
    /// With the rule: the network's V is not taken for a beat like the patient's dominant beat
    /// (<see cref="SupraventricularRule.DominantBeatVeto"/>; <c>Inference:DominantBeatVeto</c>, an experiment, off by
    /// default). Set before the stage runs.
    /// </summary>
    public bool DominantBeatVetoEnabled
    {
        get => _svRule.DominantBeatVeto;
        set => _svRule.DominantBeatVeto = value;
    }

    /// <summary>The rhythm evidence (its per-beat atrial measures, for validation and tests).</summary>
    public RhythmEvidence Evidence => _evidence;

    private void Classify(in DetectedBeat b, double pos, ReadOnlySpan<float> logits, long windowStart)
    {
        var modelIndex = (long)Math.Floor((pos - windowStart) / _dec);
        var token = (int)Math.Clamp(modelIndex / _c.TokenStride, 0, _c.FineTokens - 1);
        var p = _probs.AsSpan(0, _classes);
        var best = EcgNatModel.Softmax(logits.Slice(token * _classes, _classes), p);
        var decided = _c.BeatClasses[best];
        var confidence = p[best];
        var beatFusion = _model.Contract.BeatFusion;
        var rule = SupraventricularRuleEnabled && beatFusion is null;
        if (beatFusion is not null || _beatSink is not null || rule)
        {
            // The beat's evidence against the patient's own rhythm and dominant beat, then the network's posteriors.
            var inputs = _beatInputs.AsSpan();
            _evidence.BeatFeaturesOf(pos, inputs);
            var net = inputs[BeatFeatures.Count..];
            net.Clear();
            for (var c = 0; c < _classes; c++) net[(int)_c.BeatClasses[c]] = p[c];
            if (beatFusion is not null) decided = beatFusion.Decide(inputs, out confidence);
            else if (rule)
            {
                decided = _svRule.Decide(pos, _evidence.NextBeatAfter(pos), decided, inputs);
                confidence = p[Math.Max(0, Array.IndexOf(_c.BeatClasses, decided))];
            }
            _beatSink?.OnBeatEvidence(b, inputs, decided);
        }
        // The QRS against the dominant beat goes with the class: the VT criterion counts a wide complex unlike the
        // patient's dominant beat as ventricular when the network does not (its V misses VT in unseen patients).
        _evidence.TryGetQrs(pos, out var qrs);
        BeatsClassified++;
        _sink.OnBeatClassified(new ClassifiedBeat(b, decided, confidence, qrs));
    }

    /// <summary>Decides window <paramref name="j"/> of the run from windows j−half … <paramref name="last"/>.</summary>
    private void Decide(int j, int last, long runEnd)
    {
        if (j < 0) return;
        _mean.AsSpan().Clear();
        var from = Math.Max(0, j - _half);
        var to = Math.Min(last, j + _half);
        for (var i = from; i <= to; i++)
        {
            var s = i % _smoothing;
            for (var c = 0; c < _rhythmClasses; c++) _mean[c] += _ringProbs[s * _rhythmClasses + c];
        }
        var n = to - from + 1;
        var best = 0;
        for (var c = 0; c < _rhythmClasses; c++)
        {
            _mean[c] /= n;
            if (_mean[c] > _mean[best]) best = c;
        }
        var slot = j % _smoothing;
        var start = j == 0 ? _ringStart[slot] : _decidedUntil;
        var stop = runEnd >= 0 ? runEnd : Math.Min(_ringCentre[slot] + _halfHop, _ringEnd[slot]);
        if (stop <= start) return;
        _decidedUntil = stop;
        _sink.OnRhythm(new RhythmDecision(start, stop, _c.RhythmClasses[best], _mean[best], _ringStart[slot]), _mean);
    }
}
