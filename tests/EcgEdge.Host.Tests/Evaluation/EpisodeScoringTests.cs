using EcgEdge.Evaluation;
using EcgEdge.Events.Alerts;
using EcgEdge.Wfdb;

namespace EcgEdge.Tests.Evaluation;

public class EpisodeScoringTests
{
    private const double Fs = 250;

    private static Alert A(AlertType type, AlertPhase phase, string episode, long onset, long? offset = null) => new(
        Alert.SchemaId, Guid.NewGuid().ToString("N"), "dev", type, phase, AlertSeverity.High, episode,
        new TimePoint(DateTimeOffset.UnixEpoch, onset), offset is long o ? new TimePoint(DateTimeOffset.UnixEpoch, o) : null,
        null, null, 1, null, new Dictionary<string, string>(), "test", null);

    [Fact]
    public void Ventricular_episodes_are_found_by_a_vt_or_vf_alarm_and_a_false_alarm_is_one_that_overlaps_none()
    {
        // Reference (rhythm only): VF 100–130 s, VT 200–205 s, N elsewhere; 1 h record.
        long S(double s) => (long)(s * Fs);
        var reference = new List<WfdbAnnotation>
        {
            new(0, AnnotationCode.Rhythm, Aux: "(N"), new(S(100), AnnotationCode.Rhythm, Aux: "(VF"), new(S(130), AnnotationCode.Rhythm, Aux: "(N"),
            new(S(200), AnnotationCode.Rhythm, Aux: "(VT"), new(S(205), AnnotationCode.Rhythm, Aux: "(N"),
        };
        var alerts = new List<(Alert, long)>
        {
            (A(AlertType.VentricularTachycardia, AlertPhase.Onset, "e1", S(101)), S(104)),     // raised 4 s into the VF
            (A(AlertType.VentricularTachycardia, AlertPhase.Offset, "e1", S(101), S(125)), S(125)),
            (A(AlertType.VentricularTachycardia, AlertPhase.Onset, "e2", S(1000)), S(1001)),   // false: sinus rhythm
            (A(AlertType.VentricularTachycardia, AlertPhase.Offset, "e2", S(1000), S(1003)), S(1003)),
        };
        var (episodes, alarms) = EpisodeScoring.Score(reference, alerts, S(3600), Fs);
        var vf = episodes["vf"];
        Assert.Equal(1, vf.ReferenceEpisodes);
        Assert.Equal(1, vf.Detected);                   // a VT alarm on VF is the right alarm
        Assert.Equal(1, vf.DetectedMin10s);
        Assert.Equal(0, vf.AlarmEpisodes);               // no VF alarm
        Assert.Equal(24.0 / 30 * 100, vf.DurSe, 6);
        var vt = episodes["vt"];
        Assert.Equal(1, vt.ReferenceEpisodes);
        Assert.Equal(0, vt.Detected);                    // the 5-s VT got no alarm
        Assert.Equal(0, vt.ReferenceEpisodesMin10s);
        Assert.Equal(2, vt.AlarmEpisodes);
        Assert.Equal(50, vt.Ppv, 6);                     // one VT alarm on ventricular rhythm, one not
        var a = alarms["VentricularTachycardia"];
        Assert.Equal(2, a.Count);
        Assert.Equal(1, a.False);
        Assert.Equal(1 / ((3600 - 35) / 3600.0), a.FalsePerHour, 6);
        Assert.Equal(4.0, Assert.Single(a.LatenciesS), 6);
        Assert.Equal(0, alarms["VentricularFibrillation"].Count); // reported as never firing
        Assert.Equal(0, episodes["af"].ReferenceEpisodes);
    }
}
