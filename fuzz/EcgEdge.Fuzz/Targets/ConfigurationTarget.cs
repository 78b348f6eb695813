using EcgEdge.Acquisition.Ads1298;
using EcgEdge.Verbs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace EcgEdge.Fuzz.Targets;

/// <summary>
/// The input is a configuration file named by ECGEDGE_CONFIG, read the way <c>ecgedge run</c> reads it:
/// <see cref="AppConfiguration.AddSources"/> (with the defaults beside the executable), <see cref="ConfigurationCheck.Check"/>,
/// then every Bind* method. Contract (RunVerb and Program: exit 2, "invalid configuration"): the sources and the check
/// may refuse only with <see cref="ConfigurationException"/>; a binder only with <see cref="ConfigurationException"/>,
/// <see cref="OptionsValidationException"/>, <see cref="Ads1298ConfigurationException"/> or
/// <see cref="InvalidOperationException"/> (the binder's own conversion error, which RunVerb reports the same way).
/// </summary>
internal sealed class ConfigurationTarget : IFuzzTarget
{
    private string _file = "";

    public void Setup(string workDirectory)
    {
        _file = Path.Combine(workDirectory, "fuzz.json");
        Environment.SetEnvironmentVariable("ECGEDGE_CONFIG", _file);
    }

    public void Run(byte[] input)
    {
        File.WriteAllBytes(_file, input);
        var builder = new ConfigurationBuilder();
        AppConfiguration.AddSources(builder, []);
        var root = builder.Build();
        ConfigurationCheck.Check(root);
        Bind(() => AppConfiguration.BindPipeline(root));
        Bind(() => AppConfiguration.BindReplay(root));
        Bind(() => AppConfiguration.BindAds1298(root));
        Bind(() => AppConfiguration.BindInference(root));
        Bind(() => AppConfiguration.BindMqtt(root));
        Bind(() => AppConfiguration.BindEvents(root));
    }

    public bool Expected(Exception e) => e is ConfigurationException;

    // Every binder on its own, so that an early refusal does not hide a later crash.
    private static void Bind(Func<object> bind)
    {
        try
        {
            bind();
        }
        catch (Exception e) when (e is OptionsValidationException or Ads1298ConfigurationException or InvalidOperationException)
        {
        }
    }
}
