using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Events;
using EcgEdge.Events.Alerts;
using EcgEdge.Inference;
using EcgEdge.Pipeline;

namespace EcgEdge.Tests.Pipeline;

/// <summary>
/// The event stage as the verbs build it: what reaches the engine (from the pipeline through the observer, from the model
/// directly), the health counters and the sinks the engine publishes to, and in which order.
/// </summary>
public class EventStageObserverTests
{
    private const double Fs = 500;
    private static readonly bool[] OnlyII = [false, true, false, false, false, false, false, false];
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Writes every call into one shared log, so the order across sinks and counters shows.</summary>
    private sealed class Recorder(string name, List<string> log) : IAlertSink, IEventSink, IStageCounters
    {
        public long SampleCount, GapCount, BeatCount, WindowCount, AlertCount;
        public readonly List<double> Latencies = [];
        public void Publish(Alert alert) { AlertCount++; log.Add($"{name}:alert:{alert.Type}:{alert.Phase}"); }
        public void Publish(EctopyTrend trend) => log.Add($"{name}:trend");
        public void Publish(Vitals vitals) => log.Add($"{name}:vitals");
        public void Publish(QualityChange change) => log.Add($"{name}:quality");
        public void Samples(int n, int gapBefore) { SampleCount += n; GapCount += gapBefore; }
        public void Beat() => BeatCount++;
        public void Window(double latencySeconds) { WindowCount++; Latencies.Add(latencySeconds); }
    }

    private sealed class Harness
    {
        public readonly List<string> Log = [];
        public readonly Recorder Counters, A, B, C;
        public readonly EventStageObserver Stage;
        private readonly SampleBlock _block = new(50);
        public long Now;
        private long _lastBeat = -1;

        public Harness(EventOptions? options = null)
        {
            (Counters, A, B, C) = (new("health", Log), new("a", Log), new("b", Log), new("c", Log));
            // The health counter is an alert sink like the others; the worker gives it first.
            var alertSinks = new List<IAlertSink> { Counters, A, B, C };
            var eventSinks = new List<IEventSink> { C, A };
            Stage = new EventStageObserver(options ?? new EventOptions(), "dev", OnlyII, new SampleClock(T0, Fs), 10, "test-model",
                eventSinks, alertSinks, Counters);
            // Fixed at construction: what the caller does to its lists afterwards changes nothing.
            alertSinks.Insert(0, new Recorder("late", Log));
            eventSinks.Clear();
        }

        /// <summary>Runs time forward to <paramref name="seconds"/>, with a beat every 60/bpm s when bpm > 0, classified by <paramref name="cls"/>.</summary>
        public void Until(double seconds, double bpm, Func<int, BeatClass>? cls = null)
        {
            var end = (long)(seconds * Fs);
            while (Now < end)
            {
                if (bpm > 0 && (_lastBeat < 0 || Now - _lastBeat >= 60 / bpm * Fs))
                {
                    var rr = _lastBeat < 0 ? double.NaN : (Now - _lastBeat) / Fs;
                    var beat = new DetectedBeat(Now, Now + 100, rr, bpm, 1, false);
                    Stage.OnBeat(beat);
                    if (cls is not null) Stage.Engine.OnBeatClassified(new ClassifiedBeat(beat, cls((int)(Now / Fs)), 0.9f));
                    _lastBeat = Now;
                }
                _block.Count = 50;
                _block.StartIndex = Now;
                _block.GapBefore = 0;
                _block.Buffer((int)Lead.II).AsSpan().Fill(100f);
                Stage.OnBlockProcessed(_block);
                Now += 50;
            }
        }

        public List<string> Alerts(string sink) => Log.Where(l => l.StartsWith(sink + ":alert:", StringComparison.Ordinal)).ToList();
    }

    [Fact]
    public void The_engine_publishes_an_alert_to_every_sink_given_at_construction_in_their_order_the_counter_first()
    {
        var h = new Harness();
        h.Until(10, 75);
        h.Until(22, 0);    // 12 s without a QRS: a pause
        h.Until(25, 75);
        var pauseOnset = h.Log.FindIndex(l => l == "health:alert:Pause:Onset");
        Assert.True(pauseOnset >= 0);
        Assert.Equal(["health:alert:Pause:Onset", "a:alert:Pause:Onset", "b:alert:Pause:Onset", "c:alert:Pause:Onset"],
            h.Log.Skip(pauseOnset).Take(4));
        Assert.Equal(h.Alerts("a").Select(l => l[2..]), h.Alerts("b").Select(l => l[2..]));
        Assert.Equal(h.Alerts("a").Select(l => l[2..]), h.Alerts("c").Select(l => l[2..]));
        Assert.Equal(h.Alerts("a").Count, h.Counters.AlertCount);
        Assert.Equal(h.Stage.Engine.AlertsPublished, h.Counters.AlertCount);
        Assert.DoesNotContain(h.Log, l => l.StartsWith("late:", StringComparison.Ordinal));
    }

    [Fact]
    public void Vitals_reach_the_event_sinks_given_at_construction_in_their_order()
    {
        var h = new Harness();
        h.Until(31, 75);
        var vitals = h.Log.Where(l => l.EndsWith(":vitals", StringComparison.Ordinal)).ToList();
        Assert.True(vitals.Count >= 4, string.Join(", ", vitals));
        // c before a, every period
        Assert.Equal(Enumerable.Range(0, vitals.Count / 2).SelectMany(_ => new[] { "c:vitals", "a:vitals" }), vitals);
    }

    [Fact]
    public void Health_counters_see_samples_gaps_beats_and_windows()
    {
        var h = new Harness();
        h.Until(20, 60);
        Assert.Equal(20 * (long)Fs, h.Counters.SampleCount);
        Assert.Equal(20, h.Counters.BeatCount);
        var gap = new SampleBlock(50) { Count = 50, StartIndex = h.Now + 500, GapBefore = 500 };
        h.Stage.OnBlockProcessed(gap);
        Assert.Equal(500, h.Counters.GapCount);
        h.Stage.Engine.OnWindow(new WindowInference(0, 5000, RhythmClass.SinusOther, 0.9f, false, 0.004), [0.9f, 0.1f, 0, 0]);
        Assert.Equal(1, h.Counters.WindowCount);
        Assert.Equal([0.004], h.Counters.Latencies);
    }

    [Fact]
    public void Beat_classes_reach_the_engine_a_sustained_ventricular_run_is_vt()
    {
        var h = new Harness();
        h.Until(80, 105, s => s is >= 10 and < 50 ? BeatClass.V : BeatClass.N);
        Assert.Equal(["a:alert:VentricularTachycardia:Onset", "a:alert:VentricularTachycardia:Offset"],
            h.Alerts("a").Where(l => l.Contains("VentricularTachycardia", StringComparison.Ordinal)));
    }

    [Fact]
    public void Rhythm_decisions_reach_the_engine_30_s_of_af_is_an_af_alert()
    {
        var h = new Harness();
        h.Until(1, 90);
        for (var i = 0; i < 8; i++)
            h.Stage.Engine.OnRhythm(new RhythmDecision((long)(i * 5 * Fs), (long)((i + 1) * 5 * Fs), RhythmClass.AfAfl, 0.9f, (long)((i * 5 - 2.5) * Fs)),
                [0.1f, 0.9f, 0, 0]);
        Assert.Equal(["a:alert:AtrialFibrillation:Onset"], h.Alerts("a").Where(l => l.Contains("AtrialFibrillation", StringComparison.Ordinal)));
    }
}
