using EcgEdge.Acquisition.Replay;
using EcgEdge.Conditioning;
using EcgEdge.Detection;
using EcgEdge.Pipeline;
using Microsoft.Extensions.Configuration;

namespace EcgEdge.Verbs;

/// <summary>
/// Configuration sources, lowest precedence first: appsettings.json beside the executable, an optional file named by
/// ECGEDGE_CONFIG, environment variables prefixed ECGEDGE_ (sections separated by "__"), then the command line
/// (--Section:Key=value, plus the short switches in <see cref="SwitchMappings"/>).
/// </summary>
public static class AppConfiguration
{
    /// <summary>Short command-line switches.</summary>
    public static readonly Dictionary<string, string> SwitchMappings = new(StringComparer.OrdinalIgnoreCase)
    {
        ["--source"] = "Pipeline:Source",
        ["--record"] = "Replay:Record",
        ["--leads"] = "Replay:Leads",
        ["--realtime"] = "Replay:RealTime",
        ["--loop"] = "Replay:Loop",
        ["--rate"] = "Pipeline:SampleRateHz",
        ["--mains"] = "Conditioning:MainsHz",
    };

    public static void AddSources(IConfigurationBuilder builder, string[] args)
    {
        builder.SetBasePath(AppContext.BaseDirectory);
        builder.AddJsonFile("appsettings.json", optional: true, reloadOnChange: false);
        var extra = Environment.GetEnvironmentVariable("ECGEDGE_CONFIG");
        if (!string.IsNullOrEmpty(extra)) builder.AddJsonFile(Path.GetFullPath(extra), optional: false, reloadOnChange: false);
        builder.AddEnvironmentVariables("ECGEDGE_");
        builder.AddCommandLine(args, SwitchMappings);
    }

    public static IConfiguration Build(string[] args)
    {
        var b = new ConfigurationBuilder();
        AddSources(b, args);
        return b.Build();
    }

    /// <summary>Binds and validates the pipeline's stage options.</summary>
    public static PipelineSettings BindPipeline(IConfiguration config)
    {
        var p = new PipelineOptions();
        config.GetSection(PipelineOptions.Section).Bind(p);
        var c = new ConditioningOptions();
        config.GetSection(ConditioningOptions.Section).Bind(c);
        var d = new QrsDetectorOptions();
        config.GetSection(QrsDetectorOptions.Section).Bind(d);
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
        if (failures.Count > 0) throw new Microsoft.Extensions.Options.OptionsValidationException("Replay", typeof(ReplayOptions), failures);
        r.Record = ResolveRecord(r.Record);
        return r;
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
