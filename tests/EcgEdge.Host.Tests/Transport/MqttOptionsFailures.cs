using EcgEdge.Transport.Mqtt;

namespace EcgEdge.Tests.Transport;

/// <summary>What the generated <see cref="MqttTransportOptionsValidator"/> says about a set of options (empty: valid).</summary>
internal static class MqttOptionsFailures
{
    public static IReadOnlyList<string> ValidationErrors(this MqttTransportOptions options) =>
        new MqttTransportOptionsValidator().Validate(MqttTransportOptions.SectionName, options) is { Failed: true } r ? [.. r.Failures] : [];
}
