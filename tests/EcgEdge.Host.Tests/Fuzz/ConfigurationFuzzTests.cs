using System.Collections;
using System.Reflection;
using EcgEdge.Acquisition.Ads1298;
using EcgEdge.Acquisition.Replay;
using EcgEdge.Conditioning;
using EcgEdge.Detection;
using EcgEdge.Events.Alerts;
using EcgEdge.Inference.Execution;
using EcgEdge.Pipeline;
using EcgEdge.Transport.Mqtt;
using EcgEdge.Verbs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace EcgEdge.Tests.Fuzz;

/// <summary>
/// Random command-line overrides (--Section:Key=value) of every known configuration key through
/// <see cref="AppConfiguration.Build"/> and the Bind* methods. Contract (what <c>RunVerb</c> reports as "invalid
/// configuration"): <see cref="OptionsValidationException"/>, <see cref="Ads1298ConfigurationException"/> or
/// <see cref="InvalidOperationException"/>, nothing else.
/// </summary>
public class ConfigurationFuzzTests
{
    private static readonly (string Section, Type Type)[] Sections =
    [
        (PipelineOptions.SectionName, typeof(PipelineOptions)),
        (ConditioningOptions.SectionName, typeof(ConditioningOptions)),
        (QrsDetectorOptions.SectionName, typeof(QrsDetectorOptions)),
        ("Replay", typeof(ReplayOptions)),
        (Ads1298Options.SectionName, typeof(Ads1298Options)),
        (InferenceOptions.SectionName, typeof(InferenceOptions)),
        (MqttTransportOptions.SectionName, typeof(MqttTransportOptions)),
        (EventOptions.SectionName, typeof(EventOptions)),
    ];

    private static readonly string[] Values =
    [
        "", " ", "0", "-0", "1", "-1", "2", "3", "8", "12", "50", "60", "250", "500", "1000", "100000", "2147483647", "-2147483648",
        "2147483648", "9223372036854775808", "1e308", "1e309", "-1e309", "NaN", "Infinity", "-Infinity", "0.0000001", "1.5", "-0.5",
        "true", "false", "yes", "abc", "\0", "a\0b", "/", "..", "Resources/mitdb/201", "/nonexistent/201", "mqtt://localhost:1883",
        "mqtts://h:8883", "mqtt://:0", "http://x", "tcp://[::1]:99999", "Replay", "Ads1298", "Emulator", "Embedded", "External", "Off",
        "Int8", "Fp32", "Cpu", "Cuda", "TensorRt", "Auto", "V311", "V500", "I,II,V1", "II", "MLII,V1,V9", "-", "::", "x=y",
        new string('9', 400), "00:00:01", "1.00:00:00", "-00:00:01", "99999999.00:00:00",
    ];

    private static readonly string[] Keys = Sections.SelectMany(s => KeysOf(s.Type, s.Section, depth: 0)).Distinct().ToArray();

    private static bool InvalidConfiguration(Exception e) =>
        e is OptionsValidationException or Ads1298ConfigurationException or InvalidOperationException or EcgEdge.Verbs.ConfigurationException;

    [Fact]
    public void Random_overrides_bind_or_are_reported_as_invalid_configuration()
    {
        Assert.True(Keys.Length > 50, $"only {Keys.Length} keys found");
        int executed = Mutator.Check(seed: 500, count: 8000,
            (rng, _) =>
            {
                var args = new string[rng.Next(1, 5)];
                for (int i = 0; i < args.Length; i++)
                {
                    string value = rng.Next(5) == 0 ? RandomText(rng) : Values[rng.Next(Values.Length)];
                    args[i] = $"--{Keys[rng.Next(Keys.Length)]}={value}";
                }

                return args;
            },
            args =>
            {
                // The sources without the check, so that the binders still see what the check would refuse; the check on
                // its own may only refuse with ConfigurationException (a clean exit 2).
                var builder = new ConfigurationBuilder();
                AppConfiguration.AddSources(builder, args);
                var config = builder.Build();
                Try(() => { EcgEdge.Verbs.ConfigurationCheck.Check(config); return config; });
                // Every binder on its own, so that an early refusal does not hide a later crash.
                Try(() => AppConfiguration.BindPipeline(config));
                Try(() => AppConfiguration.BindReplay(config));
                Try(() => AppConfiguration.BindAds1298(config));
                Try(() => AppConfiguration.BindInference(config));
                Try(() => AppConfiguration.BindMqtt(config));
                Try(() => AppConfiguration.BindEvents(config));
            },
            _ => false, args => string.Join(" ", args.Select(a => "'" + a.Replace("\0", "\\0", StringComparison.Ordinal) + "'")));
        Assert.True(executed >= 8000);
    }

    // ---- regressions for crashes found by the fuzzer ----

    [Theory]
    [InlineData("--Ads1298:DataRateHz=-1e309")]
    [InlineData("--Ads1298:DataRateHz=NaN")]
    [InlineData("--Ads1298:DataRateHz=1e10")]
    [InlineData("--Ads1298:LeadOffThresholdPercent=1e10")]
    [InlineData("--Ads1298:LeadOffThresholdPercent=NaN")]
    public void Out_of_range_ADS1298_doubles_are_invalid_configuration(string arg)
    {
        // Was: OverflowException from [Range(int, int)] converting the double to Int32.
        var e = Assert.Throws<Ads1298ConfigurationException>(() => AppConfiguration.BindAds1298(AppConfiguration.Build([arg])));
        Assert.Contains(arg[10..arg.IndexOf('=', StringComparison.Ordinal)], e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_lead_off_threshold_between_integers_is_still_accepted()
    {
        var o = AppConfiguration.BindAds1298(AppConfiguration.Build(["--Ads1298:LeadOffThresholdPercent=92.5"]));
        Assert.Equal(92.5, o.LeadOffThresholdPercent);
    }

    [Fact]
    public void Paths_with_a_NUL_character_are_invalid_configuration()
    {
        // Was: ArgumentException from Path.GetFullPath while resolving the path.
        var replay = Assert.Throws<OptionsValidationException>(() => AppConfiguration.BindReplay(AppConfiguration.Build(["--Replay:Record=a\0b"])));
        Assert.Contains(replay.Failures, f => f.Contains("Replay:Record", StringComparison.Ordinal));
        var model = Assert.Throws<OptionsValidationException>(() => AppConfiguration.BindInference(AppConfiguration.Build(["--Inference:Model=a\0b"])));
        Assert.Contains(model.Failures, f => f.Contains("Inference:Model", StringComparison.Ordinal));
    }

    private static void Try(Func<object> bind)
    {
        try
        {
            bind();
        }
        catch (Exception e) when (InvalidConfiguration(e))
        {
        }
    }

    private static string RandomText(Random rng)
    {
        var chars = new char[rng.Next(0, 12)];
        for (int i = 0; i < chars.Length; i++) chars[i] = (char)rng.Next(0, 128);
        return new string(chars);
    }

    /// <summary>The configuration keys of the bindable properties of <paramref name="type"/> (nested objects and list items included).</summary>
    private static IEnumerable<string> KeysOf(Type type, string prefix, int depth)
    {
        foreach (PropertyInfo p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.GetIndexParameters().Length > 0) continue;
            string key = prefix + ":" + p.Name;
            Type t = Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType;
            if (t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal) || t == typeof(TimeSpan))
            {
                if (p.CanWrite) yield return key;
            }
            else if (typeof(IEnumerable).IsAssignableFrom(t))
            {
                yield return key + ":0";
                yield return key + ":1";
                Type? item = t.IsArray ? t.GetElementType() : t.GetGenericArguments().LastOrDefault();
                if (item is not null && item.IsClass && item != typeof(string) && depth < 3)
                {
                    foreach (string k in KeysOf(item, key + ":0", depth + 1)) yield return k;
                }
            }
            else if (t.IsClass && depth < 3)
            {
                foreach (string k in KeysOf(t, key, depth + 1)) yield return k;
            }
        }
    }
}
