using System.CommandLine;
using EcgEdge.Acquisition.Ads1298;
using EcgEdge.Pipeline;

namespace EcgEdge.Verbs;

/// <summary>
/// <c>ecgedge selftest</c>: checks the ADS1298 front-end (ID, internal test signal amplitude and frequency on every
/// channel, shorted-input noise floor, lead-off status) and prints a pass/fail table; exit code 0 pass, 1 fail.
/// <c>--source ads1298</c> (default when the configured source is the ADS1298) uses the hardware;
/// <c>--source emulator</c> runs the same driver against the register-level emulator. Configuration keys can be
/// overridden as in <c>run</c> (<c>--Ads1298:SpiBus=1</c>).
/// </summary>
public static class SelftestVerb
{
    /// <summary><c>ecgedge selftest</c>'s command line.</summary>
    public static Command CreateCommand()
    {
        var source = VerbOptions.Source("test the ADS1298 hardware, or the register-level emulator (default: the hardware when Pipeline:Source is Ads1298)",
            "ads1298", "emulator");
        var command = new Command("selftest",
            "ADS1298 self-test: ID, internal test signal on every channel, shorted-input noise floor, lead-off; exit 0 pass, " +
            "1 fail. Any --Section:Key=value sets a configuration key (e.g. --Ads1298:SpiBus=1).")
        {
            source,
        };
        command.SetConfigurableAction((p, configuration) => RunAsync(p.GetValue(source), configuration));
        return command;
    }

    /// <summary>Runs selftest with the command line <paramref name="args"/> (as <c>ecgedge selftest ARGS</c>).</summary>
    public static Task<int> RunAsync(string[] args) => Cli.RunAsync(CreateCommand(), args);

    private static async Task<int> RunAsync(string? source, string[] configArgs)
    {
        var config = AppConfiguration.Build(configArgs);
        Ads1298Options ads;
        PipelineSettings settings;
        try
        {
            settings = AppConfiguration.BindPipeline(config);
            ads = AppConfiguration.BindAds1298(config);
        }
        catch (Exception e) when (e is Ads1298ConfigurationException or Microsoft.Extensions.Options.OptionsValidationException)
        {
            Console.Error.WriteLine($"ecgedge: invalid configuration: {e.Message}");
            return 2;
        }
        var kind = (source ?? (settings.Pipeline.Source == SourceKind.Ads1298 ? "ads1298" : "emulator")).ToLowerInvariant() switch
        {
            "ads1298" => SourceKind.Ads1298,
            "emulator" => SourceKind.Emulator,
            var other => throw new UsageException($"--source '{other}': selftest runs on 'ads1298' or 'emulator'"),
        };
        if (source is null && kind == SourceKind.Emulator)
            Console.Error.WriteLine("ecgedge selftest: no --source given and Pipeline:Source is not Ads1298: testing the EMULATOR, not hardware " +
                "(use --source ads1298 on the device)");
        try
        {
            await using var driver = kind == SourceKind.Ads1298
                ? Ads1298Driver.OpenHardware(ads, settings.Pipeline.SampleRateHz)
                : Ads1298Driver.OpenEmulator(ads, settings.Pipeline.SampleRateHz, recordPath: null);
            var report = await Ads1298SelfTest.RunAsync(driver).ConfigureAwait(false);
            Console.Write(report.Format());
            return report.ExitCode;
        }
        catch (Exception e) when (e is Ads1298Exception or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"ecgedge selftest: FAIL: {e.Message}");
            return 1;
        }
    }
}
