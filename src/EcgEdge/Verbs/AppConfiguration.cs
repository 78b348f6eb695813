using EcgEdge.Acquisition.Ads1298;
using EcgEdge.Acquisition.Replay;
using EcgEdge.Conditioning;
using EcgEdge.Detection;
using EcgEdge.Inference.Execution;
using EcgEdge.Core.Signals;
using EcgEdge.Pipeline;
using Microsoft.Extensions.Configuration;

namespace EcgEdge.Verbs;

/// <summary>
/// Configuration sources, lowest precedence first: appsettings.json beside the executable, an optional file named by
/// ECGEDGE_CONFIG, environment variables prefixed ECGEDGE_ (sections separated by "__"), then the command line
/// (--Section:Key=value, and the short options of <see cref="SwitchMappings"/> turned into such keys by <see cref="Cli.SwitchOverrides"/>).
/// </summary>
public static class AppConfiguration
{
    /// <summary>The short command-line options that stand for a configuration key (<see cref="VerbOptions"/> defines them).</summary>
    public static readonly Dictionary<string, string> SwitchMappings = new(StringComparer.OrdinalIgnoreCase)
    {
        ["--source"] = "Pipeline:Source",
        ["--from"] = "Replay:FromSeconds",
        ["--to"] = "Replay:ToSeconds",
        ["--record"] = "Replay:Record",
        ["--leads"] = "Replay:Leads",
        ["--realtime"] = "Replay:RealTime",
        ["--loop"] = "Replay:Loop",
        ["--rate"] = "Pipeline:SampleRateHz",
        ["--mains"] = "Conditioning:MainsHz",
        ["--model"] = "Inference:Model",
        ["--provider"] = "Inference:Provider",
    };

    /// <summary>
    /// The overrides of the verbs that read recordings from anywhere (eval, analyze, report, strip): the configuration
    /// arguments, then the mains frequency (<see cref="VerbOptions.RecordingMains"/>: 50 Hz unless <c>--mains</c> says
    /// otherwise; appsettings.json's 60 Hz is the bundled demo's), and <c>--rate</c>, <c>--model</c>, <c>--variant</c> when given.
    /// </summary>
    public static List<string> RecordingOverrides(IEnumerable<string> configArgs, double mainsHz, double? rateHz = null, string? model = null,
        string? variant = null)
    {
        var overrides = new List<string>(configArgs) { $"--Conditioning:MainsHz={VerbOptions.Invariant(mainsHz)}" };
        if (rateHz is { } rate) overrides.Add($"--Pipeline:SampleRateHz={VerbOptions.Invariant(rate)}");
        if (model is not null) overrides.Add($"--Inference:Model={model}");
        if (variant is not null) overrides.Add($"--Inference:Variant={variant}");
        return overrides;
    }

    public static void AddSources(IConfigurationBuilder builder, string[] args)
    {
        builder.SetBasePath(AppContext.BaseDirectory);
        var beside = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        if (File.Exists(beside)) ConfigurationCheck.CheckJsonFile(beside, "the defaults beside the executable");
        builder.AddJsonFile("appsettings.json", optional: true, reloadOnChange: false);
        var extra = Environment.GetEnvironmentVariable("ECGEDGE_CONFIG");
        if (!string.IsNullOrEmpty(extra))
        {
            // checked here so that a missing or malformed file is a configuration error (exit 2) naming the file and line
            ConfigurationCheck.CheckJsonFile(Path.GetFullPath(extra), "named by ECGEDGE_CONFIG");
            builder.AddJsonFile(Path.GetFullPath(extra), optional: false, reloadOnChange: false);
        }
        builder.AddEnvironmentVariables("ECGEDGE_");
        builder.AddCommandLine(args);
    }

    public static IConfiguration Build(string[] args)
    {
        var b = new ConfigurationBuilder();
        AddSources(b, args);
        var root = b.Build();
        ConfigurationCheck.Check(root);
        return root;
    }

    /// <summary>Binds and validates the pipeline's stage options.</summary>
    public static PipelineSettings BindPipeline(IConfiguration config)
    {
        var p = new PipelineOptions();
        config.GetSection(PipelineOptions.SectionName).Bind(p);
        var c = new ConditioningOptions();
        config.GetSection(ConditioningOptions.SectionName).Bind(c);
        var d = new QrsDetectorOptions();
        config.GetSection(QrsDetectorOptions.SectionName).Bind(d);
        var s = new PipelineSettings(p, c, d);
        s.Validate();
        return s;
    }

    /// <summary>Binds the replay options and resolves a relative record path against the working directory, then the executable's folder.</summary>
    public static ReplayOptions BindReplay(IConfiguration config)
    {
        var r = new ReplayOptions();
        config.GetSection("Replay").Bind(r);
        var failures = new List<string>();
        PipelineSettings.Collect(new ReplayOptionsValidator().Validate("Replay", r), failures);
        if (r.Record.Contains('\0')) failures.Add("Replay:Record must not contain a NUL character.");
        if (failures.Count > 0) throw new Microsoft.Extensions.Options.OptionsValidationException("Replay", typeof(ReplayOptions), failures);
        r.Record = ResolveRecord(r.Record);
        return r;
    }

    /// <summary>Binds and validates the inference options; the model path is resolved like a record path.</summary>
    public static InferenceOptions BindInference(IConfiguration config)
    {
        var o = new InferenceOptions();
        var section = config.GetSection(InferenceOptions.SectionName);
        // The binder appends configured list items to the default list: configured trusted keys must replace the default
        // (the published test key), or a production device listing its own key would still accept test-signed models.
        if (section.GetSection(nameof(InferenceOptions.TrustedKeys)).GetChildren().Any()) o.TrustedKeys = [];
        section.Bind(o);
        var failures = new List<string>();
        PipelineSettings.Collect(new InferenceOptionsValidator().Validate(InferenceOptions.SectionName, o), failures);
        if (failures.Count > 0) throw new Microsoft.Extensions.Options.OptionsValidationException(InferenceOptions.SectionName, typeof(InferenceOptions), failures);
        o.Model = ResolveFile(o.Model);
        o.TrustedKeys = o.TrustedKeys.Select(k => EcgEdge.Inference.Model.ModelTrust.IsPemText(k) ? k : EcgEdge.Inference.Model.ModelTrust.ResolvePath(k)).ToList();
        return o;
    }

    /// <summary>Binds and validates the MQTT transport; an empty outbox folder becomes <see cref="RunTransport.DefaultOutboxDirectory"/>.</summary>
    public static EcgEdge.Transport.Mqtt.MqttTransportOptions BindMqtt(IConfiguration config)
    {
        var o = new EcgEdge.Transport.Mqtt.MqttTransportOptions();
        var section = config.GetSection(EcgEdge.Transport.Mqtt.MqttTransportOptions.SectionName);
        // The binder appends configured list items to the default list: configured endpoints replace the default
        // (found by the chaos run: "Endpoints": ["mqtts://…"] with RequireTls was refused because of the default mqtt:// one).
        if (section.GetSection("Endpoints").GetChildren().Any()) o.Endpoints = [];
        section.Bind(o);
        if (string.IsNullOrWhiteSpace(o.Outbox.Directory)) o.Outbox.Directory = RunTransport.DefaultOutboxDirectory();
        if (o.Mode == EcgEdge.Transport.Mqtt.MqttMode.Embedded && o.Tls.RequireTls)
            throw new Microsoft.Extensions.Options.OptionsValidationException("Mqtt", typeof(EcgEdge.Transport.Mqtt.MqttTransportOptions),
                ["Mqtt:Mode=Embedded is a plain loopback broker but Mqtt:Tls:RequireTls is set; use Mqtt:Mode=External with mqtts:// endpoints."]);
        if (o.Mode != EcgEdge.Transport.Mqtt.MqttMode.Off) o.Validate();
        return o;
    }

    /// <summary>Binds and validates the alarm criteria.</summary>
    public static EcgEdge.Events.Alerts.EventOptions BindEvents(IConfiguration config)
    {
        var o = new EcgEdge.Events.Alerts.EventOptions();
        config.GetSection(EcgEdge.Events.Alerts.EventOptions.SectionName).Bind(o);
        var failures = new List<string>();
        PipelineSettings.Collect(new EventOptionsValidator().Validate(EcgEdge.Events.Alerts.EventOptions.SectionName, o), failures);
        if (failures.Count > 0) throw new Microsoft.Extensions.Options.OptionsValidationException("Events", typeof(EcgEdge.Events.Alerts.EventOptions), failures);
        return o;
    }

    /// <summary>A relative path: against the working directory if the file is there, else the executable's folder.</summary>
    public static string ResolveFile(string path)
    {
        if (Path.IsPathRooted(path) || File.Exists(path)) return Path.GetFullPath(path);
        var beside = Path.Combine(AppContext.BaseDirectory, path);
        return File.Exists(beside) ? beside : Path.GetFullPath(path);
    }

    /// <summary>Binds the ADS1298 options; throws <see cref="Ads1298ConfigurationException"/> listing every problem.</summary>
    public static Ads1298Options BindAds1298(IConfiguration config)
    {
        var o = new Ads1298Options();
        config.GetSection(Ads1298Options.SectionName).Bind(o);
        o.ValidateOrThrow();
        return o;
    }

    public static string ResolveRecord(string record)
    {
        if (Path.IsPathRooted(record)) return record;
        var hea = record.EndsWith(".hea", StringComparison.OrdinalIgnoreCase) ? record : record + ".hea";
        if (File.Exists(hea)) return Path.GetFullPath(record);
        var beside = Path.Combine(AppContext.BaseDirectory, record);
        return File.Exists(beside.EndsWith(".hea", StringComparison.OrdinalIgnoreCase) ? beside : beside + ".hea")
            ? beside
            : Path.GetFullPath(record);
    }
}
