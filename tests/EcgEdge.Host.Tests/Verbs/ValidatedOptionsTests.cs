using EcgEdge.Events.Alerts;
using EcgEdge.Pipeline;
using EcgEdge.Transport.Mqtt;
using EcgEdge.Verbs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EcgEdge.Tests.Verbs;

/// <summary>
/// run's options as the host holds them: every section with its source-generated validator and ValidateOnStart, so that
/// the host's start-up check (IStartupValidator, what Host.StartAsync runs first) refuses what the verbs' binding refuses.
/// </summary>
public class ValidatedOptionsTests
{
    private static ServiceProvider Provider(params string[] args)
    {
        var services = new ServiceCollection();
        AppConfiguration.AddValidatedOptions(services, AppConfiguration.Build(args));
        return services.BuildServiceProvider();
    }

    /// <summary>Every failure the start-up check reports (one section throws alone, several together).</summary>
    private static List<string> StartupFailures(ServiceProvider provider)
    {
        try
        {
            provider.GetRequiredService<IStartupValidator>().Validate();
            return [];
        }
        catch (OptionsValidationException e) { return [.. e.Failures]; }
        catch (AggregateException e) { return [.. e.InnerExceptions.Cast<OptionsValidationException>().SelectMany(x => x.Failures)]; }
    }

    [Fact]
    public void The_shipped_configuration_passes_the_start_up_check_and_binds_as_the_verbs_bind()
    {
        using var provider = Provider("--Mqtt:Endpoints:0=mqtt://broker-a:1883");
        Assert.Empty(StartupFailures(provider));
        Assert.Equal(50, provider.GetRequiredService<IOptions<PipelineOptions>>().Value.BlockFrames);
        // the lists replace their defaults, as BindMqtt binds them (not appended to the loopback default)
        Assert.Equal(["mqtt://broker-a:1883"], provider.GetRequiredService<IOptions<MqttTransportOptions>>().Value.Endpoints);
    }

    [Fact]
    public void Attributes_and_cross_field_rules_of_every_section_fail_the_start_up_check()
    {
        using var provider = Provider("--Events:BradyHighBpm=50", "--Replay:FromSeconds=5", "--Replay:ToSeconds=1",
            "--Pipeline:BlockFrames=0", "--Ads1298:Gain=5", "--Mqtt:Mode=Embedded", "--Mqtt:Tls:RequireTls=true");
        var failures = string.Join("\n", StartupFailures(provider));
        Assert.Contains("BradyHighBpm must be below BradyBpm", failures, StringComparison.Ordinal);          // Events, cross-field
        Assert.Contains("Replay:ToSeconds (1) must lie after Replay:FromSeconds (5)", failures, StringComparison.Ordinal);
        Assert.Contains("BlockFrames", failures, StringComparison.Ordinal);                                  // Pipeline, range
        Assert.Contains("Gain 5 is not a PGA gain", failures, StringComparison.Ordinal);                     // Ads1298
        Assert.Contains("Mqtt:Mode=Embedded is a plain loopback broker but Mqtt:Tls:RequireTls is set", failures, StringComparison.Ordinal);
    }

    [Fact]
    public void With_mqtt_off_the_mqtt_section_is_not_checked_as_run_does_not_read_it()
    {
        using var provider = Provider("--Mqtt:Mode=Off", "--Mqtt:DeviceId=not/a/level");
        Assert.Empty(StartupFailures(provider));
        using var on = Provider("--Mqtt:DeviceId=not/a/level");
        Assert.Contains(StartupFailures(on), f => f.Contains("Mqtt:DeviceId", StringComparison.Ordinal));
    }
}
