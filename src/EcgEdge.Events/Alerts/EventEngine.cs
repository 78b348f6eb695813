using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Inference;
using EcgEdge.Inference.Rhythm;
using Microsoft.Extensions.Logging;

namespace EcgEdge.Events.Alerts;

/// <summary>
/// Turns beats, beat classes, rhythm decisions and signal quality into clinical alerts with hysteresis (criteria in
/// <see cref="EventOptions"/>, documented in docs/events.md): AF/flutter episodes, ventricular tachycardia (runs of
/// ventricular beats; sustained), ventricular fibrillation (VF filter on the signal), pauses rising to asystole,
/// bradycardia and tachycardia, lead-off per electrode, unreadable signal, and the ectopy burden as a trend. New
/// clinical alarms are suppressed while every acquired lead is unusable or the model calls the signal noise;
/// ventricular alarms are then downgraded to low priority instead (they are never silenced by noise alone). Every
/// alert carries a strip of the signal around its onset. Time: pipeline sample indices, mapped to UTC by the clock.
/// <para>The engine is the event stage's end point: the model's results come to it directly (it is the pipeline's
/// <see cref="IInferenceSink"/>), it feeds the <see cref="VitalsAggregator"/> it was given with what it receives, counts
/// samples, beats and model runs in the health counters, and publishes each alert and trend to its sinks itself, in the
/// order given — so that nothing stands between the model and the transport.</para>
/// </summary>
public sealed partial class EventEngine : IBeatSink, IInferenceSink
{
    private readonly EventOptions _o;
    private readonly string _deviceId;
    private readonly double _fs;
    private readonly bool[] _present;
    private readonly SampleClock _clock;
    private string? _model;
    private readonly IAlertSink[] _sinks;
    private readonly VitalsAggregator? _vitals;
    private readonly IStageCounters? _counters;
    private readonly ILogger? _logger;
    private RhythmClass? _loggedRhythm;
    private readonly StripRecorder _strip;
    private readonly float[] _vfSegment;
    private readonly ShockableRhythm _shockable;
    private readonly ShockableCriteria _vfCriteria;
    private readonly long _vfHop;
    private readonly SignalQuality[] _quality = new SignalQuality[Leads.Count];
    private readonly long[] _badSince = new long[Leads.Count];
    private readonly Dictionary<AlertType, long> _lastOffset = [];

    private long _now;
    private long _lastBeat = -1;
    private double _hr = double.NaN;
    private bool _noise;                 // the latest rhythm decision is noise

    private sealed class Episode(AlertType type, long onset, AlertSeverity severity, string id)
    {
        public AlertType Type { get; } = type;
        public long Onset { get; } = onset;
        public AlertSeverity Severity { get; set; } = severity;
        public string Id { get; } = id;
        public bool Silent { get; init; }
        public double Confidence { get; set; } = 1;
    }

    private Episode? _af, _vt, _vf, _pause, _asystole, _brady, _tachy, _leadOff, _signal;
    // AF state
    private double _afRunS, _nonAfRunS, _noiseRunS, _vtRunS, _afConfidence;
    private long _afStart = -1, _nonAfStart = -1, _noiseStart = -1;
    // VT state
    private int _vRun, _runBeats, _runGap;   // ventricular beats in the run, all its beats, tolerated beats since its last V
    private long _vFirst = -1, _vLast = -1;
    private double _dominantWidthS;   // the dominant beat's QRS width, learned outside ventricular runs (0: not yet)
    // rate state
    private long _bradySince = -1, _tachySince = -1, _bradyClearSince = -1, _tachyClearSince = -1;
    // VF state
    private long _nextVfCheck;
    private int _vfPositive, _vfNegative;
    private bool _vfNoisyOnset;          // the open VF episode was raised while the signal was called noise (low priority)
    // trend
    private long _trendStart, _beats, _veb, _sveb, _nsvt;
    private int _nsvtLongest;

    /// <summary>An engine publishing to one sink, with no vitals, counters or log (tests, benchmarks).</summary>
    /// <param name="deviceId">Written into every alert (the MQTT device id).</param>
    public EventEngine(EventOptions options, string deviceId, double sampleRateHz, IReadOnlyList<bool> present, SampleClock clock,
        string? modelVersion, IAlertSink sink)
        : this(options, deviceId, sampleRateHz, present, clock, modelVersion, [sink])
    {
    }

    /// <param name="options">The alarm criteria.</param>
    /// <param name="deviceId">Written into every alert (the MQTT device id).</param>
    /// <param name="sampleRateHz">The pipeline's rate.</param>
    /// <param name="present">The channels the source delivers (<see cref="Lead"/> order).</param>
    /// <param name="clock">Maps sample indices to UTC.</param>
    /// <param name="modelVersion">The model's version label, written into alerts (null without a model).</param>
    /// <param name="sinks">Where alerts and ectopy trends go, in this order (copied: fixed once the engine exists). The
    /// worker puts its health counter first, then the durable MQTT sink, so that an alert is counted and stored before it
    /// is shown.</param>
    /// <param name="vitals">Fed with every beat, beat class, rhythm decision, quality change and block, before the engine
    /// itself sees them (so a vitals period that ends on a block is published before that block's alerts); null: none.</param>
    /// <param name="counters">The worker's health counters, or null.</param>
    /// <param name="logger">Rhythm changes (Information), beats and beat classes (Debug); null logs nothing.</param>
    public EventEngine(EventOptions options, string deviceId, double sampleRateHz, IReadOnlyList<bool> present, SampleClock clock,
        string? modelVersion, IEnumerable<IAlertSink> sinks, VitalsAggregator? vitals = null, IStageCounters? counters = null,
        ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(sinks);
        _sinks = [.. sinks];
        _vitals = vitals;
        _counters = counters;
        _logger = logger;
        _deviceId = deviceId;
        _o = options;
        _fs = sampleRateHz;
        _present = present.ToArray();
        _clock = clock;
        _model = modelVersion;
        var keep = Math.Max(90, options.AfOnsetS + 40 + options.StripPreS + options.StripPostS);
        _strip = new StripRecorder(sampleRateHz, 250, keep, present);
        _vfSegment = new float[(int)Math.Round(options.VfSegmentLengthS * _strip.RateHz)];
        _shockable = new ShockableRhythm(_strip.RateHz, _vfSegment.Length);
        _vfCriteria = ShockableCriteria.From(options);
        _vfHop = (long)Math.Round(options.VfHopS * _fs);
        _nextVfCheck = (long)Math.Round(options.VfSegmentLengthS * _fs);
        Array.Fill(_badSince, -1);
        for (var c = 0; c < Leads.Count; c++) _quality[c] = _present[c] ? SignalQuality.Unassessed : SignalQuality.Absent;
    }

    /// <summary>The model version written into later alerts (after a model update in the field).</summary>
    public void SetModelVersion(string? version) => _model = version;

    /// <summary>
    /// Episodes opened or closed so far, announced or not (a recurrence inside the refractory period is tracked silently).
    /// Each change allocates its episode record and reason text; between changes the engine allocates nothing.
    /// </summary>
    public long EpisodeChanges { get; private set; }

    /// <summary>Signal time reached so far (pipeline sample index, exclusive).</summary>
    public long Now => _now;

    /// <summary>Alerts published so far (all phases).</summary>
    public long AlertsPublished { get; private set; }

    public void OnBlock(SampleBlock conditioned)
    {
        _counters?.Samples(conditioned.Count, conditioned.GapBefore);
        _vitals?.Advance(conditioned.StartIndex + conditioned.Count);
        if (Ended) return;
        if (conditioned.GapBefore > 0 && conditioned.GapBefore >= _o.MonitoringGapS * _fs)
            Interrupt(conditioned.StartIndex - conditioned.GapBefore, $"{conditioned.GapBefore / _fs:F1} s of signal lost");
        _strip.Push(conditioned);
        Advance(conditioned.StartIndex + conditioned.Count);
    }

    public void OnBeat(in DetectedBeat beat)
    {
        _vitals?.OnBeat(beat);
        Beat(beat);
        _counters?.Beat();
        if (_logger?.IsEnabled(LogLevel.Debug) == true) LogBeat(_logger, beat.SampleIndex / _fs, beat.RrSeconds * 1000, beat.HeartRateBpm);
    }

    private void Beat(in DetectedBeat beat)
    {
        if (Ended) return;
        var t = beat.SampleIndex;
        if (_pause is not null) Close(ref _pause, t, $"pause ended by a beat after {(t - _lastBeat) / _fs:F1} s");
        if (_asystole is not null) Close(ref _asystole, t, "asystole ended by a beat");
        _lastBeat = t;
        if (!double.IsNaN(beat.HeartRateBpm)) _hr = beat.HeartRateBpm;
    }

    public void OnQualityChanged(long sampleIndex, ReadOnlySpan<SignalQuality> quality)
    {
        _vitals?.OnQualityChanged(sampleIndex, quality);
        for (var c = 0; c < Leads.Count; c++)
        {
            _quality[c] = quality[c];
            var bad = _present[c] && !SignalQualityExtensions.IsUsable(quality[c]);
            if (bad && _badSince[c] < 0) _badSince[c] = sampleIndex;
            else if (!bad) _badSince[c] = -1;
        }
    }

    public void OnBeatClassified(in ClassifiedBeat beat)
    {
        _vitals?.OnBeatClassified(beat);
        Classified(beat);
        if (_logger?.IsEnabled(LogLevel.Debug) == true) LogBeatClass(_logger, beat.Beat.SampleIndex / _fs, ClassNames.Of(beat.Class), beat.Confidence);
    }

    /// <summary>The model ran on a window: counted (its latency) in the health counters.</summary>
    public void OnWindow(in WindowInference window, ReadOnlySpan<float> rhythmProbabilities) => _counters?.Window(window.LatencySeconds);

    private void Classified(in ClassifiedBeat beat)
    {
        if (Ended) return;
        _beats++;
        if (beat.Class == BeatClass.V) _veb++;
        else if (beat.Class == BeatClass.S) _sveb++;
        var t = beat.Beat.SampleIndex;
        if (IsVentricular(beat))
        {
            if (_vRun == 0) { _vFirst = t; _runBeats = 0; }
            _vRun++;
            _runBeats += 1 + _runGap;   // a tolerated beat inside the run counts once a V follows it
            _runGap = 0;
            _vLast = t;
            var seconds = (_vLast - _vFirst) / _fs;
            var rate = _runBeats >= 2 ? 60.0 * (_runBeats - 1) / seconds : double.NaN;
            // VT is a rhythm, not three beats: the alarm needs the MCOT wide-complex-tachycardia criterion (≥ 15
            // ventricular beats at ≥ 120 bpm, Kadish 2010) or a run sustained for 30 s at ≥ 100 bpm; shorter runs are
            // non-sustained VT, counted in the ectopy trend, not alarmed (3-beat runs in sinus rhythm or noise were most
            // of the false VT alarms). A run survives VtRunMaxGapBeats other beats between ventricular ones as long as
            // VtMinVentricularFraction of its beats are ventricular: inside slow sustained VT the network calls some beats
            // fusion or normal (MITDB 223: 55 s and 39 s of VT at ~102 bpm broken into 2-20-beat runs), while bigeminy
            // (half the beats) stays below the fraction. Beat classes of an unreadable signal are not evidence of VT
            // (noise-stress records: 11 false VT runs per 30 min at 0 dB SNR when only downgraded), so VT is not called
            // while the signal is flagged unreadable; the signal-quality alert says the monitor cannot analyse.
            var ventricular = _vRun >= _o.VtMinVentricularFraction * _runBeats;
            var mcot = _vRun >= _o.VtAlarmBeats && rate >= _o.VtAlarmRateBpm;
            var sustained = seconds >= _o.VtSustainedS && rate >= _o.VtMinRateBpm;
            if (_vt is null && ventricular && (mcot || sustained) && !Suppressed)
            {
                Open(ref _vt, AlertType.VentricularTachycardia, _vFirst, AlertSeverity.High, beat.Confidence,
                    mcot
                        ? $"ventricular tachycardia: {_vRun} ventricular of {_runBeats} beats at {rate:F0} bpm (≥ {_o.VtAlarmBeats} at ≥ {_o.VtAlarmRateBpm:F0} bpm)"
                        : $"sustained ventricular tachycardia: {seconds:F0} s at {rate:F0} bpm (≥ {_o.VtSustainedS:F0} s at ≥ {_o.VtMinRateBpm:F0} bpm)", rate);
            }
        }
        else if (_vRun > 0 && _runGap < _o.VtRunMaxGapBeats)
        {
            _runGap++;   // tolerated: the run goes on if the next beat is ventricular
        }
        else
        {
            EndVentricularRun();
        }
    }

    /// <summary>
    /// Ventricular for the VT criterion: the model's V, or a QRS outside the patient's dominant cluster at least
    /// <see cref="EventOptions.VtWideQrsRatio"/> times as wide as the dominant beat. While a VT episode is open the
    /// width is compared with the dominant beat from before the run as well: after ~140 beats of VT the online
    /// clustering adopts the VT complex as the patient's dominant beat, and VT must not end on paper while it goes on.
    /// </summary>
    private bool IsVentricular(in ClassifiedBeat beat)
    {
        if (beat.Class == BeatClass.V) return true;
        var ratio = _o.VtWideQrsRatio;
        var q = beat.Qrs;
        if (ratio <= 0 || !q.Valid) return false;
        if (q.InDominant)
        {
            // Learn the reference width from the patient's dominant beats outside any ventricular run.
            if (_vRun == 0 && q.WidthRatio > 0) _dominantWidthS = q.WidthS / q.WidthRatio;
            return _vt is not null && _dominantWidthS > 0 && q.WidthS >= ratio * _dominantWidthS;
        }
        return q.WidthRatio >= ratio;
    }

    private void EndVentricularRun()
    {
        if (_vRun == 0) return;
        if (_vt is not null) Close(ref _vt, _vLast, $"VT ended after {_vRun} ventricular of {_runBeats} beats, {(_vLast - _vFirst) / _fs:F1} s");
        else if (_vRun >= _o.VtMinBeats && _runBeats >= 2 && _vRun >= _o.VtMinVentricularFraction * _runBeats
                 && 60.0 * (_runBeats - 1) / ((_vLast - _vFirst) / _fs) >= _o.VtMinRateBpm)
        {
            // non-sustained VT: a trend figure
            _nsvt++;
            _nsvtLongest = Math.Max(_nsvtLongest, _vRun);
        }
        _vRun = _runBeats = _runGap = 0;
    }

    public void OnRhythm(in RhythmDecision d, ReadOnlySpan<float> smoothedProbabilities)
    {
        _vitals?.OnRhythm(d, smoothedProbabilities);
        Rhythm(d);
        if (d.Class == _loggedRhythm) return;
        _loggedRhythm = d.Class;
        if (_logger is not null) LogRhythm(_logger, d.FromIndex / _fs, ClassNames.Of(d.Class), d.Confidence);
    }

    private void Rhythm(in RhythmDecision d)
    {
        if (Ended) return;
        var dur = (d.ToIndex - d.FromIndex) / _fs;
        _noise = d.Class == RhythmClass.Noise;
        // Unreadable signal (model).
        if (_noise)
        {
            if (_noiseStart < 0) _noiseStart = d.FromIndex;
            _noiseRunS += dur;
            if (_signal is null && _noiseRunS >= _o.NoiseS)
                Open(ref _signal, AlertType.SignalQuality, _noiseStart, AlertSeverity.Low, d.Confidence,
                    $"signal unreadable (model: noise) for {_noiseRunS:F0} s (≥ {_o.NoiseS:F0} s)", _hr);
            return; // noise neither starts nor ends an AF episode
        }
        _noiseRunS = 0;
        _noiseStart = -1;
        if (_signal is not null) Close(ref _signal, d.FromIndex, "signal readable again");
        // A ventricular tachyarrhythmia stretch of up to AfEpisodes.DefaultBridgeS neither starts nor ends an AF episode
        // either (the atria go on fibrillating; the VT/VF alarms speak for the ventricles): the AF episode logic eval and
        // the report score with (AfEpisodes).
        if (d.Class == RhythmClass.VtVf)
        {
            _vtRunS += dur;
            if (_vtRunS <= AfEpisodes.DefaultBridgeS) return;
        }
        else _vtRunS = 0;

        var af = d.Class == RhythmClass.AfAfl && d.Confidence >= _o.MinRhythmProbability;
        if (_af is null)
        {
            if (af)
            {
                if (_afStart < 0) { _afStart = d.FromIndex; _afConfidence = 0; }
                _afRunS += dur;
                _afConfidence = Math.Max(_afConfidence, d.Confidence);
                if (_afRunS >= _o.AfOnsetS && !AllLeadsBad)
                    Open(ref _af, AlertType.AtrialFibrillation, _afStart, AlertSeverity.Medium, _afConfidence,
                        $"AF/flutter (model rhythm) for {_afRunS:F0} s (≥ {_o.AfOnsetS:F0} s)", _hr);
            }
            else if (d.Class != RhythmClass.AfAfl)
            {
                _afRunS = 0;
                _afStart = -1;
            }
        }
        else
        {
            if (af)
            {
                _nonAfRunS = 0;
                _nonAfStart = -1;
            }
            else if (d.Class != RhythmClass.AfAfl)
            {
                if (_nonAfStart < 0) _nonAfStart = d.FromIndex;
                _nonAfRunS += dur;
                if (_nonAfRunS >= _o.AfOffsetS)
                {
                    Close(ref _af, _nonAfStart, $"non-AF rhythm for {_nonAfRunS:F0} s (≥ {_o.AfOffsetS:F0} s)");
                    _afRunS = 0;
                    _afStart = -1;
                    _nonAfRunS = 0;
                    _nonAfStart = -1;
                }
            }
        }
    }

    /// <summary>Signal time advanced to <paramref name="index"/> (exclusive).</summary>
    public void Advance(long index)
    {
        if (Ended) return;
        _now = index;
        LeadChecks(index);
        PauseChecks(index);
        RateChecks(index);
        VfChecks(index);
        if ((index - _trendStart) / _fs >= _o.TrendIntervalS) PublishTrend(index);
    }

    private bool AllLeadsBad
    {
        get
        {
            var any = false;
            for (var c = 0; c < Leads.Count; c++)
            {
                if (!_present[c]) continue;
                any = true;
                if (_badSince[c] < 0) return false;
            }
            return any;
        }
    }

    private bool Suppressed => AllLeadsBad || _noise;

    private void LeadChecks(long index)
    {
        var longBad = false;
        var anyBad = false;
        for (var c = 0; c < Leads.Count; c++)
        {
            if (!_present[c] || _badSince[c] < 0) continue;
            anyBad = true;
            var limit = (_quality[c] & SignalQuality.LeadOff) != 0 ? _o.LeadOffDetachedS : _o.LeadOffS;
            if ((index - _badSince[c]) / _fs >= limit) longBad = true;
        }
        if (_leadOff is null && longBad)
            Open(ref _leadOff, AlertType.LeadOff, index, AlertSeverity.Low, 1, $"electrode(s) unusable (detached ≥ {_o.LeadOffDetachedS:F1} s, else ≥ {_o.LeadOffS:F0} s): {BadLeads()}", double.NaN, strip: false);
        else if (_leadOff is not null && !anyBad)
            Close(ref _leadOff, index, "all electrodes usable again");
    }

    private string BadLeads() => string.Join(", ", Enumerable.Range(0, Leads.Count).Where(c => _present[c] && _badSince[c] >= 0)
        .Select(c => $"{Leads.Name(c)} {_quality[c]}"));

    private void PauseChecks(long index)
    {
        if (_lastBeat < 0) return;
        // The detector reports a beat up to ~1 s after its R peak; wait that long before calling a pause.
        var gapS = (index - _lastBeat) / _fs - 1.0;
        if (gapS < _o.PauseS) return;
        if (_pause is null)
        {
            if (Suppressed) return;
            Open(ref _pause, AlertType.Pause, _lastBeat, AlertSeverity.Medium, 1, $"no QRS for ≥ {_o.PauseS:F1} s", _hr);
        }
        if (!_pause!.Silent && _pause.Severity < AlertSeverity.High && gapS >= _o.PauseHighS)
        {
            _pause.Severity = AlertSeverity.High;
            Emit(_pause, AlertPhase.Update, _lastBeat, null, $"no QRS for ≥ {_o.PauseHighS:F1} s", _hr, withStrip: true);
        }
        if (_asystole is null && gapS >= _o.AsystoleS)
            Open(ref _asystole, AlertType.Asystole, _lastBeat, AlertSeverity.High, 1, $"no QRS for ≥ {_o.AsystoleS:F1} s", double.NaN);
    }

    private void RateChecks(long index)
    {
        var fresh = _lastBeat >= 0 && (index - _lastBeat) / _fs < 3 && !double.IsNaN(_hr);
        if (!fresh || Suppressed)
        {
            _bradySince = _tachySince = -1;
            return;
        }
        var sustain = (long)Math.Round(_o.RateSustainS * _fs);
        Track(ref _brady, ref _bradySince, ref _bradyClearSince, _hr < _o.BradyBpm, _hr >= _o.BradyBpm + _o.RateHysteresisBpm,
            AlertType.Bradycardia, _hr < _o.BradyHighBpm);
        Track(ref _tachy, ref _tachySince, ref _tachyClearSince, _hr > _o.TachyBpm, _hr <= _o.TachyBpm - _o.RateHysteresisBpm,
            AlertType.Tachycardia, _hr > _o.TachyHighBpm);

        // The reason is formatted only when an alert is emitted: this runs on every block.
        string Why(AlertType type) => type == AlertType.Bradycardia
            ? $"heart rate {_hr:F0} bpm < {_o.BradyBpm:F0} for ≥ {_o.RateSustainS:F0} s"
            : $"heart rate {_hr:F0} bpm > {_o.TachyBpm:F0} for ≥ {_o.RateSustainS:F0} s";

        void Track(ref Episode? ep, ref long since, ref long clearSince, bool on, bool clear, AlertType type, bool high)
        {
            if (ep is null)
            {
                since = on ? (since < 0 ? index : since) : -1;
                if (since >= 0 && index - since >= sustain)
                    Open(ref ep, type, since, high ? AlertSeverity.High : AlertSeverity.Medium, 1, Why(type), _hr);
            }
            else
            {
                clearSince = clear ? (clearSince < 0 ? index : clearSince) : -1;
                if (clearSince >= 0 && index - clearSince >= sustain)
                {
                    Close(ref ep, clearSince, $"heart rate {_hr:F0} bpm back within limits for ≥ {_o.RateSustainS:F0} s");
                    clearSince = -1;
                    since = -1;
                }
                else if (high && ep.Severity < AlertSeverity.High)
                {
                    ep.Severity = AlertSeverity.High;
                    Emit(ep, AlertPhase.Update, ep.Onset, null, Why(type), _hr, withStrip: true);
                }
            }
        }
    }

    /// <summary>
    /// Shockable-rhythm analysis (<see cref="ShockableRhythm"/>): every <see cref="EventOptions.VfHopS"/> the newest
    /// <see cref="EventOptions.VfSegmentLengthS"/> of the preferred usable lead is judged on five published features. Onset after
    /// <see cref="EventOptions.VfSegments"/> consecutive shockable segments, or one conclusive one; offset after
    /// <see cref="EventOptions.VfOffsetS"/> without a shockable segment. Never silenced by noise alone: raised at low priority
    /// ("downgraded") while the model calls the signal noise, and raised to high priority once the signal is readable and the
    /// rhythm still shockable. Not analysed while no electrode is usable (those segments count as not shockable).
    /// </summary>
    private void VfChecks(long index)
    {
        if (index < _nextVfCheck) return;
        _nextVfCheck = index + _vfHop;
        var lead = VfLead();
        if (lead < 0 || !_strip.TryCopyRecent(lead, _vfSegment)) return;
        var f = _shockable.Analyse(_vfSegment);
        var d = ShockableRhythm.Decide(f, _vfCriteria);
        var shockable = d.Shockable && !AllLeadsBad;
        if (shockable) { _vfPositive++; _vfNegative = 0; }
        else { _vfNegative++; _vfPositive = 0; }
        if (_vf is null && shockable && (_vfPositive >= _o.VfSegments || d.Conclusive))
        {
            var segments = Math.Min(_vfPositive, _o.VfSegments);
            var onset = index - _vfHop * (segments - 1) - (long)Math.Round(_o.VfSegmentLengthS * _fs);
            _vfNoisyOnset = _noise;
            Open(ref _vf, AlertType.VentricularFibrillation, onset, _noise ? AlertSeverity.Low : AlertSeverity.High, d.Count / 5.0,
                VfWhy(f, d, lead, segments) + (_noise ? "; downgraded: noisy signal" : ""), double.NaN);
        }
        else if (_vf is { } vf && shockable && _vfNoisyOnset && !_noise && vf.Severity < AlertSeverity.High)
        {
            // Noise may lower a VF alarm, never raise it: high priority only on a segment judged while the signal is readable.
            _vfNoisyOnset = false;
            vf.Severity = AlertSeverity.High;
            vf.Confidence = Math.Max(vf.Confidence, d.Count / 5.0);
            Emit(vf, AlertPhase.Update, vf.Onset, null, "shockable rhythm on a readable signal: " + VfWhy(f, d, lead, 1), double.NaN, withStrip: true);
        }
        else if (_vf is not null && _vfNegative * _o.VfHopS >= _o.VfOffsetS)
            Close(ref _vf, index - (long)Math.Round(_o.VfOffsetS * _fs), $"no shockable segment for {_o.VfOffsetS:F0} s");
    }

    /// <summary>The kept lead VF is judged on: the preferred one (II) when its electrode is usable, else the first usable one;
    /// -1 when nothing is kept.</summary>
    private int VfLead()
    {
        if (_strip.LeadCount == 0) return -1;
        var preferred = _strip.PreferredLead;
        if (_badSince[_strip.ChannelOf(preferred)] < 0) return preferred;
        for (var k = 0; k < _strip.LeadCount; k++)
            if (_badSince[_strip.ChannelOf(k)] < 0) return k;
        return preferred;
    }

    /// <summary>The criterion that fired, with the features (formatted only when an alert is emitted).</summary>
    private string VfWhy(ShockableFeatures f, ShockableDecision d, int lead, int segments)
    {
        var c = _vfCriteria;
        string V(ShockableVotes v) => (d.Votes & v) != 0 ? "✓" : "✗";
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var where = segments > 1
            ? string.Create(inv, $"shockable rhythm in {segments} consecutive {_o.VfSegmentLengthS:F0}-s segments of {Leads.Name(_strip.ChannelOf(lead))}: ")
            : string.Create(inv, $"shockable rhythm in a {_o.VfSegmentLengthS:F0}-s segment of {Leads.Name(_strip.ChannelOf(lead))}") +
                (d.Conclusive ? string.Create(inv, $" (conclusive: ≥ {c.SingleSegmentVotes} criteria, both narrow-band): ") : ": ");
        return where +
            string.Create(inv, $"{d.Count} of 5 criteria (≥ {c.MinVotes}, one narrow-band) — ") +
            string.Create(inv, $"VF filter {f.Leakage:F2} < {c.LeakageBelow:F3} {V(ShockableVotes.Leakage)}; ") +
            string.Create(inv, $"spectrum Ω {f.PeakHz:F1} Hz, M {f.SpectralM:F2}, A1 {f.SpectralA1:F2}, A2 {f.SpectralA2:F2} {V(ShockableVotes.Spectral)}; ") +
            string.Create(inv, $"TCI {f.TciMs:F0} ms < {c.TciBelowMs:F0} {V(ShockableVotes.Tci)}; ") +
            string.Create(inv, $"complexity {f.Complexity:F2} ≥ {c.ComplexityMin:F2} {V(ShockableVotes.Complexity)}; ") +
            string.Create(inv, $"phase space {f.PhaseSpace:F2} > {c.PhaseSpaceAbove:F2} {V(ShockableVotes.PhaseSpace)}; ") +
            string.Create(inv, $"smallest 1-s peak-to-peak {f.MinBlockPeakToPeakUv:F0} µV");
    }

    private void PublishTrend(long index)
    {
        var hours = (index - _trendStart) / _fs / 3600;
        if (_beats > 0)
        {
            var trend = new EctopyTrend(EctopyTrend.SchemaId, NewId(index), _deviceId, new TimePoint(_clock.At(_trendStart), _trendStart),
                new TimePoint(_clock.At(index), index), Math.Round(hours, 4), _beats, _veb, _sveb, Math.Round(_veb / hours, 1), Math.Round(_sveb / hours, 1),
                Math.Round(100.0 * _veb / _beats, 2), Math.Round(100.0 * _sveb / _beats, 2), _model) { NsvtRuns = _nsvt, LongestNsvtBeats = _nsvtLongest };
            foreach (var sink in _sinks) sink.Publish(trend);
        }
        _trendStart = index;
        _beats = _veb = _sveb = _nsvt = 0;
        _nsvtLongest = 0;
    }

    private static bool LifeThreatening(AlertType t) => t is AlertType.VentricularFibrillation or AlertType.VentricularTachycardia or AlertType.Asystole;

    private void Open(ref Episode? ep, AlertType type, long onset, AlertSeverity severity, double confidence, string why, double hr, bool strip = true)
    {
        EpisodeChanges++;
        var silent = !LifeThreatening(type) && _lastOffset.TryGetValue(type, out var off) && (onset - off) / _fs < _o.RefractoryS;
        ep = new Episode(type, onset, severity, NewId(_now)) { Silent = silent, Confidence = confidence };
        if (!silent) Emit(ep, AlertPhase.Onset, onset, null, why, hr, strip);
    }

    private void Close(ref Episode? ep, long offset, string why, string? endedBy = null)
    {
        if (ep is null) return;
        EpisodeChanges++;
        // The refractory period runs from the last announced offset: silent recurrences do not extend it.
        if (!ep.Silent) _lastOffset[ep.Type] = offset;
        if (!ep.Silent) Emit(ep, AlertPhase.Offset, ep.Onset, Math.Max(offset, ep.Onset), why, _hr, withStrip: false, endedBy);
        ep = null;
    }

    /// <summary>
    /// Monitoring was interrupted at <paramref name="index"/> and resumes after the gap: open episodes are closed as
    /// interrupted and every run (pause, rate, AF, VT, VF, noise) starts afresh, so that a gap is never read as a pause or as
    /// the continuation of an episode.
    /// </summary>
    private void Interrupt(long index, string reason)
    {
        CloseAll(index, interrupted: true, reason);
        _lastBeat = -1;
        _bradySince = _tachySince = _bradyClearSince = _tachyClearSince = -1;
        _afRunS = _nonAfRunS = _noiseRunS = 0;
        _afStart = _nonAfStart = _noiseStart = -1;
        _vRun = _runBeats = _runGap = 0;
        _vfPositive = _vfNegative = 0;
        _vfNoisyOnset = false;
        Array.Fill(_badSince, -1);
    }

    private int CloseAll(long index, bool interrupted, string reason)
    {
        var endedBy = interrupted ? Alert.MonitoringInterrupted : Alert.MonitoringStopped;
        var why = (interrupted ? "monitoring interrupted: " : "monitoring stopped: ") + reason + "; the episode may continue unobserved";
        var closed = 0;
        foreach (var ep in new[] { _af, _vt, _vf, _pause, _asystole, _brady, _tachy, _leadOff, _signal })
            if (ep is { Silent: false }) closed++;
        Close(ref _af, index, why, endedBy);
        Close(ref _vt, index, why, endedBy);
        Close(ref _vf, index, why, endedBy);
        Close(ref _pause, index, why, endedBy);
        Close(ref _asystole, index, why, endedBy);
        Close(ref _brady, index, why, endedBy);
        Close(ref _tachy, index, why, endedBy);
        Close(ref _leadOff, index, why, endedBy);
        Close(ref _signal, index, why, endedBy);
        return closed;
    }

    /// <summary>True once <see cref="EndMonitoring"/> has run: the engine takes no further input.</summary>
    public bool Ended { get; private set; }

    /// <summary>
    /// Monitoring ends at <paramref name="index"/>: every open episode is closed with an offset that says so
    /// (<see cref="Alert.EndedBy"/> = <see cref="Alert.MonitoringStopped"/> or <see cref="Alert.MonitoringInterrupted"/>,
    /// and <paramref name="reason"/> in its criteria), so that no clinician's screen keeps showing an episode as ongoing
    /// that nobody watches any more. The offset is the last analysed sample, not the end of the episode: the episode may go
    /// on unobserved, which the criteria text states. Returns the number of episodes closed. Idempotent.
    /// </summary>
    public int EndMonitoring(long index, bool interrupted, string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        if (Ended) return 0;
        Ended = true;
        _now = Math.Max(_now, index);
        return CloseAll(index, interrupted, reason);
    }

    private void Emit(Episode ep, AlertPhase phase, long onset, long? offset, string why, double hr, bool withStrip, string? endedBy = null)
    {
        var leadState = new Dictionary<string, string>();
        // Every lead is listed: one that is not acquired says "absent", never nothing (and never "ok").
        for (var c = 0; c < Leads.Count; c++)
            leadState[Leads.Name(c)] = _present[c] ? Alert.LeadStateOf(_quality[c]) : "absent";
        var strip = withStrip ? _strip.Capture(onset, _o.StripPreS, _o.StripPostS, _clock) : null;
        var alert = new Alert(Alert.SchemaId, NewId(_now), _deviceId, ep.Type, phase, ep.Severity, ep.Id,
            new TimePoint(_clock.At(onset), onset), offset is long o ? new TimePoint(_clock.At(o), o) : null,
            offset is long o2 ? Math.Round((o2 - onset) / _fs, 2) : null,
            double.IsNaN(hr) ? null : Math.Round(hr, 1), Math.Round(Math.Clamp(ep.Confidence, 0, 1), 3), _model, leadState, why, strip, endedBy);
        AlertsPublished++;
        foreach (var sink in _sinks) sink.Publish(alert);
    }

    private string NewId(long index) => Guid.CreateVersion7(_clock.At(index)).ToString("N");

    [LoggerMessage(Level = LogLevel.Information, Message = "t={T:F1}s rhythm {Rhythm} (p={P:F2})")]
    private static partial void LogRhythm(ILogger logger, double t, string rhythm, float p);

    [LoggerMessage(Level = LogLevel.Debug, Message = "beat t={T:F3}s class {Class} (p={P:F2})")]
    private static partial void LogBeatClass(ILogger logger, double t, string @class, float p);

    [LoggerMessage(Level = LogLevel.Debug, Message = "beat t={T:F3}s RR={Rr:F0}ms HR={Hr:F0}")]
    private static partial void LogBeat(ILogger logger, double t, double rr, double hr);
}
