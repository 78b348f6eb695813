using System.Text;
using System.Text.Json;
using EcgEdge.Core.Signals;
using EcgEdge.Events;
using EcgEdge.Events.Alerts;
using EcgEdge.Transport.Mqtt;
using NJsonSchema;

namespace EcgEdge.Tests.Contracts;

/// <summary>
/// The wire format of every published message (EcgEdge.Contracts), pinned byte for byte and checked against its schema in
/// docs/schemas. The expected texts were written by the code before the messages moved into their own project (issue 28),
/// so a change of property order, naming, escaping, number or date format fails here before a subscriber notices.
/// </summary>
public class MessageWireFormatTests
{
    private static readonly DateTimeOffset T0 = new(2024, 5, 6, 7, 8, 9, 123, TimeSpan.Zero);
    private static readonly Dictionary<string, string> LeadState = new() { ["I"] = "ok", ["V1"] = "lead_off" };
    private static readonly Dictionary<string, string> Versions = new() { ["ecgedge"] = "0.1.0", ["model"] = "ecg-nat 0.3.0" };

    private static Alert Onset() => new(Alert.SchemaId, new string('a', 32), "dev-1", AlertType.VentricularTachycardia, AlertPhase.Onset,
        AlertSeverity.High, new string('b', 32), new TimePoint(T0, 1000), null, null, 187.5, 0.93, "ecg-nat 0.3.0", LeadState,
        "≥ 4 V beats \"quoted\" <x>", new Strip(new TimePoint(T0, 1000), 2, 0.005, "mV", ["II", "V1"], 2, 4.5, "1 -2 3 4"));

    private static async Task AssertFits(string schemaFile, string json)
    {
        var schema = await JsonSchema.FromFileAsync(Path.Combine(TestData.RepoRoot, "docs", "schemas", schemaFile));
        Assert.Empty(schema.Validate(json));
    }

    [Fact]
    public async Task An_onset_alert_with_its_strip()
    {
        var json = JsonSerializer.Serialize(Onset(), MessageJsonContext.Default.Alert);
        Assert.Equal("""
        {"schema":"ecgedge.alert/1","id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","deviceId":"dev-1","type":"vt","phase":"onset","severity":"high","episodeId":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","onset":{"utc":"2024-05-06T07:08:09.123+00:00","sampleIndex":1000},"offset":null,"durationS":null,"heartRateBpm":187.5,"confidence":0.93,"modelVersion":"ecg-nat 0.3.0","leadState":{"I":"ok","V1":"lead_off"},"criteria":"\u2265 4 V beats \u0022quoted\u0022 \u003Cx\u003E","strip":{"origin":{"utc":"2024-05-06T07:08:09.123+00:00","sampleIndex":1000},"periodMs":2,"factor":0.005,"unit":"mV","leads":["II","V1"],"dimensions":2,"eventOffsetS":4.5,"data":"1 -2 3 4"},"endedBy":null}
        """, json);
        await AssertFits("alert.schema.json", json);
    }

    [Fact]
    public async Task An_offset_alert_ended_by_a_stop()
    {
        var offset = Onset() with
        {
            Phase = AlertPhase.Offset, Offset = new TimePoint(T0.AddSeconds(12.25), 7125), DurationS = 12.25, Strip = null,
            HeartRateBpm = null, ModelVersion = null, EndedBy = Alert.MonitoringStopped,
        };
        var json = JsonSerializer.Serialize(offset, MessageJsonContext.Default.Alert);
        Assert.Equal("""
        {"schema":"ecgedge.alert/1","id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","deviceId":"dev-1","type":"vt","phase":"offset","severity":"high","episodeId":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","onset":{"utc":"2024-05-06T07:08:09.123+00:00","sampleIndex":1000},"offset":{"utc":"2024-05-06T07:08:21.373+00:00","sampleIndex":7125},"durationS":12.25,"heartRateBpm":null,"confidence":0.93,"modelVersion":null,"leadState":{"I":"ok","V1":"lead_off"},"criteria":"\u2265 4 V beats \u0022quoted\u0022 \u003Cx\u003E","strip":null,"endedBy":"monitoring_stopped"}
        """, json);
        await AssertFits("alert.schema.json", json);
    }

    [Fact]
    public async Task An_ectopy_trend()
    {
        var trend = new EctopyTrend(EctopyTrend.SchemaId, new string('c', 32), "dev-1", new TimePoint(T0, 0), new TimePoint(T0.AddHours(1), 1_800_000),
            1, 4000, 12, 3, 12, 3, 0.3, 0.075, null) { NsvtRuns = 2, LongestNsvtBeats = 5 };
        var json = JsonSerializer.Serialize(trend, MessageJsonContext.Default.EctopyTrend);
        Assert.Equal("""
        {"schema":"ecgedge.trend/1","id":"cccccccccccccccccccccccccccccccc","deviceId":"dev-1","from":{"utc":"2024-05-06T07:08:09.123+00:00","sampleIndex":0},"to":{"utc":"2024-05-06T08:08:09.123+00:00","sampleIndex":1800000},"hours":1,"beats":4000,"veb":12,"sveb":3,"vebPerHour":12,"svebPerHour":3,"vebPercent":0.3,"svebPercent":0.075,"modelVersion":null,"nsvtRuns":2,"longestNsvtBeats":5}
        """, json);
        await AssertFits("trend.schema.json", json);
    }

    [Fact]
    public async Task A_vitals_message()
    {
        var quality = new SignalQuality[Leads.Count];
        quality[1] = SignalQuality.Unassessed;
        var vitals = MqttEventSink.VitalsMessageOf(new Vitals(5000, 10, 72.5, 12, quality, 1, 0, "sinus_other"), "dev-1", T0);
        var json = JsonSerializer.Serialize(vitals with { Id = new string('d', 32) }, MessageJsonContext.Default.VitalsMessage);
        Assert.Equal("""
        {"schema":"ecgedge.vitals/1","id":"dddddddddddddddddddddddddddddddd","deviceId":"dev-1","at":{"utc":"2024-05-06T07:08:09.123+00:00","sampleIndex":5000},"periodS":10,"heartRateBpm":72.5,"beats":12,"veb":1,"sveb":0,"rhythm":"sinus_other","leadState":{"I":"ok","II":"pending","V1":"ok","V2":"ok","V3":"ok","V4":"ok","V5":"ok","V6":"ok"}}
        """, json);
        await AssertFits("vitals.schema.json", json);
    }

    [Fact]
    public async Task The_retained_list_of_open_episodes()
    {
        var active = new ActiveEpisodes();
        active.Apply(Onset());
        var json = JsonSerializer.Serialize(active.Snapshot(new string('e', 32), "dev-1", T0), ActiveJsonContext.Default.ActiveMessage);
        Assert.Equal("""
        {"schema":"ecgedge.active/1","id":"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee","deviceId":"dev-1","at":"2024-05-06T07:08:09.123+00:00","episodes":[{"alertId":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","episodeId":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","type":"vt","phase":"onset","severity":"high","onset":{"utc":"2024-05-06T07:08:09.123+00:00","sampleIndex":1000},"criteria":"\u2265 4 V beats \u0022quoted\u0022 \u003Cx\u003E"}]}
        """, json);
        await AssertFits("active.schema.json", json);
    }

    public static TheoryData<string, bool, string?, string> Statuses() => new()
    {
        { MqttStatusInfo.MonitoringActive, true, null, """
        {"state":"online","deviceId":"dev-1","clientId":"dev-1","at":"2024-05-06T07:11:09.123+00:00","startedAt":"2024-05-06T07:08:09.123+00:00","monitoring":"active","versions":{"ecgedge":"0.1.0","model":"ecg-nat 0.3.0"}}
        """ },
        { MqttStatusInfo.MonitoringActive, false, "connection-lost", """
        {"state":"offline","deviceId":"dev-1","clientId":"dev-1","reason":"connection-lost","at":"2024-05-06T07:11:09.123+00:00","startedAt":"2024-05-06T07:08:09.123+00:00","monitoring":"interrupted","monitoringReason":"the device lost its connection (crash, power or network loss)","versions":{"ecgedge":"0.1.0","model":"ecg-nat 0.3.0"}}
        """ },
        { MqttStatusInfo.MonitoringActive, false, "shutdown", """
        {"state":"offline","deviceId":"dev-1","clientId":"dev-1","reason":"shutdown","at":"2024-05-06T07:11:09.123+00:00","startedAt":"2024-05-06T07:08:09.123+00:00","monitoring":"stopped","monitoringReason":"the device shut down","versions":{"ecgedge":"0.1.0","model":"ecg-nat 0.3.0"}}
        """ },
        { MqttStatusInfo.MonitoringInterrupted, true, null, """
        {"state":"online","deviceId":"dev-1","clientId":"dev-1","at":"2024-05-06T07:11:09.123+00:00","startedAt":"2024-05-06T07:08:09.123+00:00","monitoring":"interrupted","monitoringReason":"source failed","versions":{"ecgedge":"0.1.0","model":"ecg-nat 0.3.0"}}
        """ },
        { MqttStatusInfo.MonitoringInterrupted, false, "connection-lost", """
        {"state":"offline","deviceId":"dev-1","clientId":"dev-1","reason":"connection-lost","at":"2024-05-06T07:11:09.123+00:00","startedAt":"2024-05-06T07:08:09.123+00:00","monitoring":"interrupted","monitoringReason":"the device lost its connection (crash, power or network loss)","versions":{"ecgedge":"0.1.0","model":"ecg-nat 0.3.0"}}
        """ },
        { MqttStatusInfo.MonitoringInterrupted, false, "shutdown", """
        {"state":"offline","deviceId":"dev-1","clientId":"dev-1","reason":"shutdown","at":"2024-05-06T07:11:09.123+00:00","startedAt":"2024-05-06T07:08:09.123+00:00","monitoring":"interrupted","monitoringReason":"source failed","versions":{"ecgedge":"0.1.0","model":"ecg-nat 0.3.0"}}
        """ },
    };

    [Theory]
    [MemberData(nameof(Statuses))]
    public async Task The_status_online_and_as_the_last_will(string monitoring, bool online, string? reason, string expected)
    {
        var info = monitoring == MqttStatusInfo.MonitoringActive
            ? new MqttStatusInfo(T0, Versions)
            : new MqttStatusInfo(T0, Versions, monitoring, "source failed");
        var json = Encoding.UTF8.GetString(StatusMessage.Write(online, "dev-1", "dev-1", reason, T0.AddMinutes(3), info));
        Assert.Equal(expected, json);
        await AssertFits("status.schema.json", json);
    }
}
