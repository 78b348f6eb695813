namespace EcgEdge.Verbs;

/// <summary>Minimal "--name value" / "--flag" parser for verbs with their own options; unknown options are errors.</summary>
public sealed class ArgReader
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = [];

    public ArgReader(string[] args, IReadOnlyCollection<string> valueOptions, IReadOnlyCollection<string> flags)
    {
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            string name; string? value = null;
            var eq = a.IndexOf('=', StringComparison.Ordinal);
            if (a.StartsWith("--", StringComparison.Ordinal) && eq > 0) { name = a[..eq]; value = a[(eq + 1)..]; }
            else name = a;
            if (flags.Contains(name)) { _values[name] = value ?? "true"; continue; }
            if (!valueOptions.Contains(name))
                throw new UsageException(ConfigurationCheck.Nearest(name, valueOptions.Concat(flags)) is { } near
                    ? $"unknown option '{a}'; did you mean '{near}'?" : $"unknown option '{a}'");
            if (value is null)
            {
                if (i + 1 >= args.Length) throw new UsageException($"option {name} needs a value");
                value = args[++i];
            }
            _values[name] = value;
        }
    }

    public string? Get(string name) => _values.TryGetValue(name, out var v) ? v : null;

    public string Require(string name) => Get(name) ?? throw new UsageException($"option {name} is required");

    public bool Flag(string name) => Get(name) is "true" or "1" or "yes";

    public double GetDouble(string name, double fallback)
    {
        var v = Get(name);
        if (v is null) return fallback;
        return double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d)
            ? d
            : throw new UsageException($"option {name}: '{v}' is not a number");
    }

    /// <summary>
    /// <c>--protocol 5|3.1.1</c>: the MQTT protocol level (default MQTT 5; 3.1.1 for RabbitMQ's MQTT plugin, which drops an
    /// MQTT 5 CONNECT).
    /// </summary>
    public EcgEdge.Transport.Mqtt.MqttProtocolLevel GetProtocol() => Get("--protocol") switch
    {
        null or "5" or "5.0" => EcgEdge.Transport.Mqtt.MqttProtocolLevel.V500,
        "3.1.1" or "311" or "4" => EcgEdge.Transport.Mqtt.MqttProtocolLevel.V311,
        var p => throw new UsageException($"--protocol '{p}': use 5 or 3.1.1"),
    };
}
