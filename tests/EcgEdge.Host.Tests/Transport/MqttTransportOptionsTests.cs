using EcgEdge.Transport.Mqtt;
using EcgEdge.Transport.Outbox;
using Microsoft.Extensions.Options;

namespace EcgEdge.Tests.Transport;

public class MqttTransportOptionsTests
{
    private static MqttTransportOptions Valid() => new() { DeviceId = "dev-01", Outbox = new DurableOutboxOptions { Directory = "/tmp/x" } };

    [Fact]
    public void Defaults_with_a_device_id_are_valid()
    {
        var o = Valid();
        Assert.Empty(o.ValidationErrors());
        MqttTransportOptionsValidator.ThrowIfInvalid(o);
        Assert.Equal("ecgedge", o.TopicPrefix);
        Assert.Equal(MqttProtocolLevel.V500, o.ProtocolVersion);
        Assert.Equal("dev-01", o.EffectiveClientId);
        Assert.Equal(new MqttEndpoint("127.0.0.1", 1883, false), Assert.Single(o.ParsedEndpoints));
        var topics = MqttTopics.From(o);
        Assert.Equal("ecgedge/dev-01/alerts", topics.Alerts);
        Assert.Equal("ecgedge/dev-01/status", topics.Status);
        Assert.Equal("ecgedge/dev-01/vitals", topics.Vitals);
        Assert.Equal("ecgedge/dev-01/events", topics.Events);
        Assert.Equal("ecgedge/dev-01/active", topics.Active);
        Assert.Equal(1883, o.EmbeddedPort);
        Assert.Equal(9001, o.EmbeddedWebSocketPort);
        Assert.True(new MqttTransportOptionsValidator().Validate(null, o).Succeeded);
    }

    [Fact]
    public void Every_problem_is_reported_with_the_setting_name()
    {
        var o = Valid();
        o.DeviceId = "bad/id#";
        o.Endpoints = ["http://x", "mqtt://user:secret@host:1883", "mqtt://host:1883/path"];
        o.ReconnectMinDelay = TimeSpan.FromSeconds(10);
        o.ReconnectMaxDelay = TimeSpan.FromSeconds(1);
        o.SessionExpirySeconds = 0;
        o.Password = "p";
        o.Tls.ClientCertificateFile = "/nonexistent.pem";
        var ex = Assert.Throws<OptionsValidationException>(() => MqttTransportOptionsValidator.ThrowIfInvalid(o));
        var all = string.Join("\n", ex.Failures);
        Assert.Contains("Mqtt:DeviceId", all);
        Assert.Contains("scheme 'http'", all);
        Assert.Contains("credentials must not be in the URI", all);
        Assert.DoesNotContain("secret", all);
        Assert.Contains("path", all);
        Assert.Contains("Mqtt:ReconnectMaxDelay", all);
        Assert.Contains("Mqtt:SessionExpirySeconds", all);
        Assert.Contains("Mqtt:Password is set without Mqtt:Username", all);
        Assert.Contains("ClientKeyFile must be given together", all);
        Assert.Contains("does not exist", all);
        Assert.False(new MqttTransportOptionsValidator().Validate(null, o).Succeeded);
    }

    [Fact]
    public void Embedded_broker_ports_are_in_range_and_the_websocket_port_differs_from_the_tcp_port()
    {
        var o = Valid();
        o.EmbeddedWebSocketPort = 70000;
        Assert.Contains(o.ValidationErrors(), e => e.Contains("EmbeddedWebSocketPort", StringComparison.Ordinal));
        o.EmbeddedWebSocketPort = 1883;
        Assert.Contains(o.ValidationErrors(), e => e.Contains("Mqtt:EmbeddedWebSocketPort (1883) must differ from Mqtt:EmbeddedPort", StringComparison.Ordinal));
        o.EmbeddedPort = o.EmbeddedWebSocketPort = 0; // both "any free port": the system gives two different ones
        Assert.Empty(o.ValidationErrors());
        // Bound from the configuration like every other key.
        var bound = EcgEdge.Verbs.AppConfiguration.BindMqtt(EcgEdge.Verbs.AppConfiguration.Build(["--Mqtt:EmbeddedWebSocketPort=9443"]));
        Assert.Equal(9443, bound.EmbeddedWebSocketPort);
    }

    [Fact]
    public void Require_tls_refuses_plain_tcp_endpoints()
    {
        var o = Valid();
        o.Tls.RequireTls = true;
        // the embedded broker is plain loopback: refused with RequireTls, whatever the endpoints say
        Assert.Contains(o.ValidationErrors(), e => e.Contains("Mqtt:Mode=Embedded is a plain loopback broker", StringComparison.Ordinal));
        o.Mode = MqttMode.External;
        var errors = o.ValidationErrors();
        Assert.Contains(errors, e => e.Contains("plain TCP but Mqtt:Tls:RequireTls is set", StringComparison.Ordinal));
        o.Endpoints = ["mqtts://broker.example:8883", "mqtts://backup.example"];
        Assert.Empty(o.ValidationErrors());
        Assert.Equal([8883, 8883], o.ParsedEndpoints.Select(e => e.Port));
        Assert.All(o.ParsedEndpoints, e => Assert.True(e.UseTls));
    }

    [Fact]
    public void ToString_never_shows_the_password()
    {
        var o = Valid();
        o.Username = "device";
        o.Password = "hunter2-very-secret";
        var text = o.ToString();
        Assert.DoesNotContain("hunter2", text);
        Assert.Contains("Password = ***", text);
        Assert.Contains("Username = device", text);
    }

    [Fact]
    public void Outbox_settings_are_validated_as_part_of_the_transport()
    {
        var o = Valid();
        o.Outbox.Directory = "";
        Assert.Contains(o.ValidationErrors(), e => e.Contains("Outbox", StringComparison.Ordinal) && e.Contains("Directory", StringComparison.Ordinal));
        // the outbox's cross-field rule too, through the transport's validator
        o.Outbox.Directory = "/tmp/x";
        o.Outbox.MaxBytes = 128 * 1024;
        o.Outbox.MaxMessageBytes = 64 * 1024;
        Assert.Contains(o.ValidationErrors(), e => e.Contains("must hold the ack log", StringComparison.Ordinal));
        o.Outbox.MaxBytes = DurableOutboxOptions.DefaultMaxBytes;
        Assert.Empty(o.ValidationErrors());
    }

    [Theory]
    [InlineData(1, 1000)]
    [InlineData(2, 2000)]
    [InlineData(3, 4000)]
    [InlineData(7, 60000)]
    [InlineData(100, 60000)]
    public void Backoff_doubles_up_to_the_maximum(int attempt, int expectedMs)
    {
        var d = ReconnectBackoff.Compute(attempt, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), 0.2, 0.5);
        Assert.Equal(expectedMs, d.TotalMilliseconds, 3);
    }

    [Fact]
    public void Backoff_jitter_stays_within_its_band_and_below_the_maximum()
    {
        var lo = ReconnectBackoff.Compute(3, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), 0.2, 0.0);
        var hi = ReconnectBackoff.Compute(3, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), 0.2, 1.0);
        Assert.Equal(3200, lo.TotalMilliseconds, 3);
        Assert.Equal(4800, hi.TotalMilliseconds, 3);
        Assert.Equal(60000, ReconnectBackoff.Compute(20, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), 0.2, 1.0).TotalMilliseconds, 3);
    }

    [Fact]
    public void Configured_endpoints_replace_the_default_instead_of_being_appended_to_it()
    {
        var config = EcgEdge.Verbs.AppConfiguration.Build(["--Mqtt:Mode=External", "--Mqtt:DeviceId=dev-01",
            "--Mqtt:Endpoints:0=mqtt://broker-a:1883", "--Mqtt:Endpoints:1=mqtt://broker-b:1883"]);
        var o = EcgEdge.Verbs.AppConfiguration.BindMqtt(config);
        Assert.Equal(["mqtt://broker-a:1883", "mqtt://broker-b:1883"], o.Endpoints);
        // Without configured endpoints the default (loopback) stays.
        Assert.Equal(["mqtt://127.0.0.1:1883"], EcgEdge.Verbs.AppConfiguration.BindMqtt(EcgEdge.Verbs.AppConfiguration.Build(["--Mqtt:Mode=External"])).Endpoints);
    }
}
