using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using EcgEdge.Acquisition.Ads1298;
using EcgEdge.Acquisition.Replay;
using EcgEdge.Conditioning;
using EcgEdge.Detection;
using EcgEdge.Events.Alerts;
using EcgEdge.Inference.Execution;
using EcgEdge.Pipeline;
using EcgEdge.Transport.Mqtt;
using EcgEdge.Transport.Outbox;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.CommandLine;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Json;

namespace EcgEdge.Verbs;

/// <summary>
/// A configuration error: where it came from (a file, an environment variable, the command line), the key and the
/// reason. Every verb reports it and exits 2, so that a service manager with <c>RestartPreventExitStatus=2</c> stops
/// instead of restarting into the same error every few seconds.
/// </summary>
public sealed class ConfigurationException(string origin, string key, string reason)
    : Exception($"{origin}: {(key.Length > 0 ? key + ": " : "")}{reason}")
{
    /// <summary>The file, environment variable or "command line" that set the key.</summary>
    public string Origin { get; } = origin;
    public string Key { get; } = key;
    public string Reason { get; } = reason;
}

/// <summary>
/// Checks configuration before anything binds it. The binder of Microsoft.Extensions.Configuration is lenient where a
/// medical device must not be: a misspelt key (<c>Events:AsystoleSec</c>) or an object where a number belongs
/// (<c>"KeepAliveSeconds": {"value": 30}</c>) is silently ignored and the default runs, and a malformed JSON file throws an
/// unhandled InvalidDataException. Here every key inside the product's sections must name a setting, every value must
/// convert to the setting's type, and an object or list must be given where one is expected. Top-level sections the
/// product does not own (Logging, variables such as ECGEDGE_CONFIG) are left alone.
/// </summary>
public static class ConfigurationCheck
{
    /// <summary>The sections the product binds, with the options class each binds to.</summary>
    public static readonly IReadOnlyDictionary<string, Type> Sections = new Dictionary<string, Type>(StringComparer.OrdinalIgnoreCase)
    {
        [PipelineOptions.SectionName] = typeof(PipelineOptions),
        [ReplayOptions.SectionName] = typeof(ReplayOptions),
        [ConditioningOptions.SectionName] = typeof(ConditioningOptions),
        [QrsDetectorOptions.SectionName] = typeof(QrsDetectorOptions),
        [InferenceOptions.SectionName] = typeof(InferenceOptions),
        [EventOptions.SectionName] = typeof(EventOptions),
        [MqttTransportOptions.SectionName] = typeof(MqttTransportOptions),
        [Ads1298Options.SectionName] = typeof(Ads1298Options),
    };

    private static readonly JsonDocumentOptions JsonOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>
    /// A JSON configuration file must parse and hold one object; throws <see cref="ConfigurationException"/> naming the
    /// file, the line and the parser's reason (the configuration provider would throw an InvalidDataException without the line).
    /// </summary>
    public static void CheckJsonFile(string path, string namedBy)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (FileNotFoundException) { throw new ConfigurationException(path, "", $"file not found ({namedBy})"); }
        catch (DirectoryNotFoundException) { throw new ConfigurationException(path, "", $"file not found ({namedBy})"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ConfigurationException(path, "", $"cannot read ({namedBy}): {e.Message}"); }
        try
        {
            using var doc = JsonDocument.Parse(bytes, JsonOptions);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new ConfigurationException(path, "", $"must hold one JSON object, not {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}");
        }
        catch (JsonException e)
        {
            throw new ConfigurationException(path, e.LineNumber is { } l ? $"line {l + 1}" : "", $"not valid JSON: {e.Message}");
        }
        // The configuration provider reads the file again with rules of its own that a well-formed JSON document can still
        // break: keys are case-insensitive and flattened ("a": {"b": 1} is "a:b"), so "Mqtt" and "mqtt", or "a:b" beside
        // "a": {"b"}, are duplicates; every string is decoded, so invalid UTF-8 or a lone surrogate escape inside a string
        // fails. It throws an InvalidDataException for these, which no verb handles (found by fuzz/run.sh config: exit 134
        // instead of 2). The same provider is run here so that whatever it refuses is a configuration error.
        try
        {
            new ConfigurationBuilder().AddJsonFile(path, optional: false, reloadOnChange: false).Build();
        }
        catch (InvalidDataException e)
        {
            throw new ConfigurationException(path, "", $"not a valid configuration file: {e.GetBaseException().Message}");
        }
    }

    /// <summary>The options classes reached from <see cref="Sections"/> (nested objects included): their public properties
    /// are what the check reads, kept in a trimmed build by the DynamicDependency attributes on <see cref="Check"/>
    /// (a test walks the sections and fails when a new nested options class is missing here).</summary>
    public static readonly IReadOnlyList<Type> OptionTypes =
    [
        typeof(PipelineOptions), typeof(ReplayOptions), typeof(ConditioningOptions), typeof(QualityOptions), typeof(QrsDetectorOptions),
        typeof(InferenceOptions), typeof(EventOptions), typeof(MqttTransportOptions), typeof(MqttTlsOptions), typeof(DurableOutboxOptions),
        typeof(Ads1298Options),
    ];

    /// <summary>Checks every key of the product's sections; throws <see cref="ConfigurationException"/> at the first problem.</summary>
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(PipelineOptions))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(ReplayOptions))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(ConditioningOptions))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(QualityOptions))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(QrsDetectorOptions))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(InferenceOptions))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(EventOptions))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(MqttTransportOptions))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(MqttTlsOptions))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(DurableOutboxOptions))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(Ads1298Options))]
    public static void Check(IConfigurationRoot root)
    {
        foreach (var section in root.GetChildren())
        {
            // A top-level section one or two letters away from one of the product's is a misspelling, not another
            // component's settings: its keys would all be ignored.
            if (!Sections.ContainsKey(section.Key) && section.Key.Length >= 4 && Nearest(section.Key, Sections.Keys) is { } near
                && EditDistanceOf(section.Key, near) <= 2)
                throw Error(root, section, $"unknown section; did you mean '{near}'? (its settings would otherwise be ignored)");
            if (Sections.TryGetValue(section.Key, out var type)) CheckNode(root, section, type);
        }
        // What the command line sets is meant for the product, and nothing else reads it: a section that is not one of the
        // product's (or the host's Logging) is a mistake, however far from every name.
        foreach (var provider in root.Providers.OfType<CommandLineConfigurationProvider>())
        {
            foreach (var key in provider.GetChildKeys([], null).Distinct(StringComparer.OrdinalIgnoreCase))
            {
                if (Sections.ContainsKey(key) || key.Equals(LoggingSection, StringComparison.OrdinalIgnoreCase)) continue;
                var known = Sections.Keys.Append(LoggingSection).ToList();
                throw new ConfigurationException("command line", key,
                    (Nearest(key, known) is { } near ? $"unknown section; did you mean '{near}'? " : "unknown section ")
                    + $"(nothing reads it); the sections are: {string.Join(", ", known)}");
            }
        }
    }

    /// <summary>The host's logging section (<c>ecgedge run</c>), the one section besides the product's that the command line may set.</summary>
    public const string LoggingSection = "Logging";

    private static void CheckNode(IConfigurationRoot root, IConfigurationSection node, Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        var children = node.GetChildren().ToList();
        if (IsScalar(type))
        {
            if (children.Count > 0)
                throw Error(root, node, $"expects a single {Describe(type)} but was given an object or a list");
            if (node.Value is { } v && !Converts(type, v))
                throw Error(root, node, $"'{v}' is not a valid {Describe(type)}");
            return;
        }
        if (ElementType(type) is { } element)
        {
            if (children.Count == 0 && !string.IsNullOrEmpty(node.Value))
                throw Error(root, node, $"expects a list of {Describe(element)} but was given the single value '{node.Value}'");
            var dictionary = IsDictionary(type);
            foreach (var c in children)
            {
                if (!dictionary && !int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                    throw Error(root, c, $"expects a list of {Describe(element)}; '{c.Key}' is not a list index");
                CheckNode(root, c, element);
            }
            return;
        }
        if (children.Count == 0 && !string.IsNullOrEmpty(node.Value))
            throw Error(root, node, $"expects an object (settings {string.Join(", ", Settings(type).Select(p => p.Name))}) but was given the value '{node.Value}'");
        var props = Settings(type).ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        foreach (var c in children)
        {
            if (!props.TryGetValue(c.Key, out var p))
                throw Error(root, c, (Nearest(c.Key, props.Keys) is { } near ? $"unknown setting; did you mean '{node.Path}:{near}'? " : "unknown setting ")
                    + $"(a misspelt key would otherwise be ignored and its default used); {node.Path} has: {string.Join(", ", props.Keys)}");
            CheckNode(root, c, p.PropertyType);
        }
    }

    /// <summary>
    /// The candidate closest to <paramref name="key"/> by edit distance (case-insensitive), when it is close enough to be a
    /// misspelling (at most a third of the key's length, at least 2 edits allowed); null otherwise.
    /// </summary>
    public static string? Nearest(string key, IEnumerable<string> candidates)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(candidates);
        var limit = Math.Max(2, key.Length / 3);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var c in candidates)
        {
            var d = EditDistance(key.ToLowerInvariant(), c.ToLowerInvariant());
            if (d < bestDistance) (best, bestDistance) = (c, d);
        }
        return bestDistance <= limit ? best : null;
    }

    private static int EditDistanceOf(string a, string b) => EditDistance(a.ToLowerInvariant(), b.ToLowerInvariant());

    /// <summary>Levenshtein distance (insertions, deletions, substitutions), two rows.</summary>
    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Only the option types of OptionTypes reach here; Check keeps their public properties (DynamicDependency).")]
    private static IEnumerable<PropertyInfo> Settings(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            // settable properties, and get-only nested options objects the binder fills in place (not computed views
            // such as MqttTransportOptions.ParsedEndpoints, which the binder cannot fill either)
            .Where(p => p.GetIndexParameters().Length == 0 && (p.CanWrite || OptionTypes.Contains(p.PropertyType)));

    private static bool IsScalar(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        return t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal) || t == typeof(TimeSpan)
               || t == typeof(DateTimeOffset) || t == typeof(DateTime) || t == typeof(Uri) || t == typeof(Guid);
    }

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Interfaces of the framework's collection types, which the binder keeps.")]
    private static bool IsDictionary(Type t) =>
        t.IsGenericType && t.GetInterfaces().Append(t).Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>));

    private static Type? ElementType(Type t)
    {
        if (t == typeof(string)) return null;
        if (t.IsArray) return t.GetElementType();
        if (!typeof(IEnumerable).IsAssignableFrom(t) || !t.IsGenericType) return null;
        var args = t.GetGenericArguments();
        return IsDictionary(t) ? args[1] : args[0];
    }

    // Conversions as the binder makes them (invariant culture), without TypeDescriptor, which trimming cannot keep safe.
    private static bool Converts(Type t, string value)
    {
        var c = CultureInfo.InvariantCulture;
        if (t == typeof(string)) return true;
        if (t.IsEnum) return Enum.TryParse(t, value, ignoreCase: true, out _);
        if (t == typeof(bool)) return bool.TryParse(value, out _);
        if (t == typeof(TimeSpan)) return TimeSpan.TryParse(value, c, out _);
        if (t == typeof(Uri)) return Uri.TryCreate(value, UriKind.RelativeOrAbsolute, out _);
        if (t == typeof(Guid)) return Guid.TryParse(value, out _);
        if (t == typeof(DateTimeOffset)) return DateTimeOffset.TryParse(value, c, DateTimeStyles.None, out _);
        if (t == typeof(DateTime)) return DateTime.TryParse(value, c, DateTimeStyles.None, out _);
        if (t == typeof(double)) return double.TryParse(value, NumberStyles.Float | NumberStyles.AllowThousands, c, out _);
        if (t == typeof(float)) return float.TryParse(value, NumberStyles.Float | NumberStyles.AllowThousands, c, out _);
        if (t == typeof(decimal)) return decimal.TryParse(value, NumberStyles.Number, c, out _);
        if (t == typeof(int)) return int.TryParse(value, NumberStyles.Integer, c, out _);
        if (t == typeof(long)) return long.TryParse(value, NumberStyles.Integer, c, out _);
        if (t == typeof(short)) return short.TryParse(value, NumberStyles.Integer, c, out _);
        if (t == typeof(byte)) return byte.TryParse(value, NumberStyles.Integer, c, out _);
        if (t == typeof(uint)) return uint.TryParse(value, NumberStyles.Integer, c, out _);
        if (t == typeof(ulong)) return ulong.TryParse(value, NumberStyles.Integer, c, out _);
        if (t == typeof(ushort)) return ushort.TryParse(value, NumberStyles.Integer, c, out _);
        if (t == typeof(sbyte)) return sbyte.TryParse(value, NumberStyles.Integer, c, out _);
        if (t == typeof(char)) return value.Length == 1;
        return true;   // a scalar kind not listed: left to the binder
    }

    private static string Describe(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        if (t.IsEnum) return $"{t.Name} ({string.Join(", ", Enum.GetNames(t))})";
        return t == typeof(string) ? "string" : t == typeof(bool) ? "boolean (true/false)" : t == typeof(TimeSpan) ? "time span (hh:mm:ss)"
            : t == typeof(int) || t == typeof(long) || t == typeof(short) || t == typeof(byte) || t == typeof(uint) || t == typeof(ulong) ? "whole number"
            : t == typeof(double) || t == typeof(float) || t == typeof(decimal) ? "number" : t.Name;
    }

    private static ConfigurationException Error(IConfigurationRoot root, IConfigurationSection node, string reason) =>
        new(SourceOf(root, node), node.Path, reason);

    /// <summary>The source that set the key (the last provider that has it, or one of its descendants).</summary>
    private static string SourceOf(IConfigurationRoot root, IConfigurationSection node)
    {
        var paths = new List<string> { node.Path };
        paths.AddRange(Leaves(node));
        foreach (var provider in root.Providers.Reverse())
        {
            if (paths.Any(p => provider.TryGet(p, out _))) return Describe(provider, node.Path);
        }
        return "configuration";
    }

    private static IEnumerable<string> Leaves(IConfigurationSection node)
    {
        foreach (var c in node.GetChildren())
        {
            yield return c.Path;
            foreach (var l in Leaves(c)) yield return l;
        }
    }

    private static string Describe(IConfigurationProvider provider, string path) => provider switch
    {
        JsonConfigurationProvider j => j.Source.FileProvider?.GetFileInfo(j.Source.Path ?? "").PhysicalPath ?? j.Source.Path ?? "a JSON file",
        EnvironmentVariablesConfigurationProvider => $"environment variable ECGEDGE_{path.Replace(":", "__", StringComparison.Ordinal).ToUpperInvariant()}",
        CommandLineConfigurationProvider => "command line",
        _ => provider.ToString() ?? "configuration",
    };
}
