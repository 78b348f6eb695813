using EcgEdge.Acquisition.Ads1298;
using EcgEdge.Acquisition.Replay;
using EcgEdge.Conditioning;
using EcgEdge.Detection;
using EcgEdge.Inference.Execution;
using EcgEdge.Core.Signals;
using EcgEdge.Pipeline;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

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
        config.GetSection(ReplayOptions.SectionName).Bind(r);
        var failures = new List<string>();
        PipelineSettings.Collect(new ReplayOptionsValidator().Validate(ReplayOptions.SectionName, r), failures);
        if (failures.Count > 0) throw new Microsoft.Extensions.Options.OptionsValidationException(ReplayOptions.SectionName, typeof(ReplayOptions), failures);
        r.Record = ResolveRecord(r.Record);
        return r;
    }

    /// <summary>Binds and validates the inference options; the model path is resolved like a record path.</summary>
    public static InferenceOptions BindInference(IConfiguration config)
    {
        var o = new InferenceOptions();
        BindSection(config, o);
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
        BindSection(config, o);
        if (o.Mode != EcgEdge.Transport.Mqtt.MqttMode.Off) EcgEdge.Transport.Mqtt.MqttTransportOptionsValidator.ThrowIfInvalid(o);
        return o;
    }

    private static void BindSection(IConfiguration config, InferenceOptions o)
    {
        var section = config.GetSection(InferenceOptions.SectionName);
        // The binder appends configured list items to the default list: configured trusted keys must replace the default
        // (the published test key), or a production device listing its own key would still accept test-signed models.
        if (section.GetSection(nameof(InferenceOptions.TrustedKeys)).GetChildren().Any()) o.TrustedKeys = [];
        section.Bind(o);
    }

    private static void BindSection(IConfiguration config, EcgEdge.Transport.Mqtt.MqttTransportOptions o)
    {
        var section = config.GetSection(EcgEdge.Transport.Mqtt.MqttTransportOptions.SectionName);
        // The binder appends configured list items to the default list: configured endpoints replace the default
        // (found by the chaos run: "Endpoints": ["mqtts://…"] with RequireTls was refused because of the default mqtt:// one).
        if (section.GetSection("Endpoints").GetChildren().Any()) o.Endpoints = [];
        section.Bind(o);
        if (string.IsNullOrWhiteSpace(o.Outbox.Directory)) o.Outbox.Directory = RunTransport.DefaultOutboxDirectory();
    }

    /// <summary>
    /// Registers every section <c>run</c> binds as options, each with its source-generated validator (DataAnnotations and
    /// cross-field rules) and <c>ValidateOnStart</c>: the host checks them all when it starts and does not start when one is
    /// invalid (<see cref="Microsoft.Extensions.Options.OptionsValidationException"/>, which <c>run</c> turns into exit 2).
    /// Bound as the Bind* methods bind them (lists replace their defaults; the outbox folder defaults). The MQTT section is
    /// registered only when MQTT is on: with <c>Mqtt:Mode=Off</c> nothing reads it, as <see cref="BindMqtt"/> skips it.
    /// </summary>
    public static IServiceCollection AddValidatedOptions(IServiceCollection services, IConfiguration config)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(config);
        // One line per section, with concrete types: the configuration binder's source generator and the trimmer need them.
        services.AddSingleton<IValidateOptions<PipelineOptions>, PipelineOptionsValidator>();
        services.AddOptions<PipelineOptions>().Bind(config.GetSection(PipelineOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ConditioningOptions>, ConditioningOptionsValidator>();
        services.AddOptions<ConditioningOptions>().Bind(config.GetSection(ConditioningOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<QrsDetectorOptions>, QrsDetectorOptionsValidator>();
        services.AddOptions<QrsDetectorOptions>().Bind(config.GetSection(QrsDetectorOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ReplayOptions>, ReplayOptionsValidator>();
        services.AddOptions<ReplayOptions>().Bind(config.GetSection(ReplayOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<Ads1298Options>, Ads1298OptionsValidator>();
        services.AddOptions<Ads1298Options>().Bind(config.GetSection(Ads1298Options.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<EcgEdge.Events.Alerts.EventOptions>, EventOptionsValidator>();
        services.AddOptions<EcgEdge.Events.Alerts.EventOptions>().Bind(config.GetSection(EcgEdge.Events.Alerts.EventOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<InferenceOptions>, InferenceOptionsValidator>();
        services.AddOptions<InferenceOptions>().Configure(o => BindSection(config, o)).ValidateOnStart();
        var mqttSection = config.GetSection(EcgEdge.Transport.Mqtt.MqttTransportOptions.SectionName);
        if (mqttSection.GetValue(nameof(EcgEdge.Transport.Mqtt.MqttTransportOptions.Mode), EcgEdge.Transport.Mqtt.MqttMode.Embedded)
            != EcgEdge.Transport.Mqtt.MqttMode.Off)
        {
            services.AddSingleton<IValidateOptions<EcgEdge.Transport.Mqtt.MqttTransportOptions>, EcgEdge.Transport.Mqtt.MqttTransportOptionsValidator>();
            services.AddOptions<EcgEdge.Transport.Mqtt.MqttTransportOptions>().Configure(o => BindSection(config, o)).ValidateOnStart();
        }
        return services;
    }

    /// <summary>Binds and validates the alarm criteria.</summary>
    public static EcgEdge.Events.Alerts.EventOptions BindEvents(IConfiguration config)
    {
        var o = new EcgEdge.Events.Alerts.EventOptions();
        config.GetSection(EcgEdge.Events.Alerts.EventOptions.SectionName).Bind(o);
        var failures = new List<string>();
        PipelineSettings.Collect(new EventOptionsValidator().Validate(EcgEdge.Events.Alerts.EventOptions.SectionName, o), failures);
        if (failures.Count > 0) throw new Microsoft.Extensions.Options.OptionsValidationException(EcgEdge.Events.Alerts.EventOptions.SectionName, typeof(EcgEdge.Events.Alerts.EventOptions), failures);
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
        Ads1298OptionsValidator.ThrowIfInvalid(o);
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
