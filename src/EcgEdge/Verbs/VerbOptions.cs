using System.CommandLine;
using System.Globalization;
using EcgEdge.Transport.Mqtt;

namespace EcgEdge.Verbs;

/// <summary>
/// The options that several verbs share, defined once: each call makes a new <see cref="Option{T}"/> (a verb's command owns
/// its options), with the name, value type, value label and default every verb uses; a verb may say what the option means
/// for it in its own words (<c>description</c>). Options that stand for a configuration key (<c>--record</c> is
/// <c>Replay:Record</c>) are listed in <see cref="AppConfiguration.SwitchMappings"/>.
/// </summary>
public static class VerbOptions
{
    // ---- recordings and the pipeline ----

    /// <summary><c>--record PATH</c>: a WFDB record (its path without the extension).</summary>
    public static Option<string?> Record(string description = "a WFDB record: its path without the extension (Replay:Record)") =>
        new("--record") { Description = description, HelpName = "PATH" };

    /// <summary><c>--db DIR</c>: a folder of WFDB records.</summary>
    public static Option<string> Db(string description = "a folder of WFDB records") =>
        new("--db") { Description = description, HelpName = "DIR", Required = true };

    /// <summary><c>--records a,b,...</c>: some records of the folder instead of all.</summary>
    public static Option<string?> Records(string description = "only these records of the folder (comma-separated names)") =>
        new("--records") { Description = description, HelpName = "a,b,..." };

    /// <summary><c>--leads II,V1</c>: which signal of the record is which lead.</summary>
    public static Option<string?> Leads(string description = "the record's signals as leads, in order (e.g. II,V1; '-' skips a signal) (Replay:Leads)") =>
        new("--leads") { Description = description, HelpName = "II,V1" };

    /// <summary><c>--from S</c>: seconds from the record's start; a default when given.</summary>
    public static Option<double?> From(string description = "start this many seconds into the record (Replay:FromSeconds)") =>
        new("--from") { Description = description, HelpName = "S" };

    /// <summary><c>--to S</c>: seconds from the record's start where the segment ends.</summary>
    public static Option<double?> To(string description = "stop this many seconds into the record (Replay:ToSeconds)") =>
        new("--to") { Description = description, HelpName = "S" };

    /// <summary><c>--mains HZ</c>: the mains notch (50, 60, or 0 for none); with a default for the verbs that read recordings from anywhere.</summary>
    public static Option<double?> Mains(string description = "mains frequency to notch: 50, 60, or 0 for no notch (Conditioning:MainsHz)") =>
        new("--mains") { Description = description, HelpName = "HZ" };

    /// <summary><c>--mains HZ</c>, 50 Hz unless given (appsettings.json's 60 Hz is the bundled US demo record's).</summary>
    public static Option<double> RecordingMains() =>
        new("--mains") { Description = "mains frequency to notch: 50, 60, or 0 for no notch", HelpName = "HZ", DefaultValueFactory = _ => 50 };

    /// <summary><c>--rate HZ</c>: the pipeline's sample rate.</summary>
    public static Option<double?> Rate(string description = "the pipeline's sample rate in Hz (Pipeline:SampleRateHz)") =>
        new("--rate") { Description = description, HelpName = "HZ" };

    /// <summary><c>--source KIND</c>: where samples come from, one of <paramref name="kinds"/> (any case).</summary>
    public static Option<string?> Source(string description, params string[] kinds)
    {
        var o = new Option<string?>("--source") { Description = description, HelpName = string.Join('|', kinds) };
        o.AcceptOnlyFromAmong(StringComparer.OrdinalIgnoreCase, kinds);
        return o;
    }

    // ---- the model ----

    /// <summary><c>--model PATH</c>: a model manifest (or ONNX file).</summary>
    public static Option<string?> Model(string description = "the model manifest (Inference:Model)") =>
        new("--model") { Description = description, HelpName = "PATH" };

    /// <summary><c>--variant int8|fp32</c>.</summary>
    public static Option<string?> Variant(string description = "the model file to run (Inference:Variant)")
    {
        var o = new Option<string?>("--variant") { Description = description, HelpName = "int8|fp32" };
        o.AcceptOnlyFromAmong(StringComparer.OrdinalIgnoreCase, "int8", "fp32");
        return o;
    }

    /// <summary><c>--provider auto|cpu|cuda|tensorrt</c>.</summary>
    public static Option<string?> Provider(string description = "ONNX Runtime execution provider (Inference:Provider)")
    {
        var o = new Option<string?>("--provider") { Description = description, HelpName = "auto|cpu|cuda|tensorrt" };
        o.AcceptOnlyFromAmong(StringComparer.OrdinalIgnoreCase, "auto", "cpu", "cuda", "tensorrt");
        return o;
    }

    /// <summary><c>--no-model</c>: QRS detection only.</summary>
    public static Option<bool> NoModel(string description = "without the model (QRS detection and heart rate only)") =>
        new("--no-model") { Description = description };

    // ---- output and work ----

    /// <summary><c>--json FILE</c>: also write the results as JSON.</summary>
    public static Option<string?> JsonFile(string description = "also write the results to FILE as JSON") =>
        new("--json") { Description = description, HelpName = "FILE" };

    /// <summary><c>--json</c> (a flag): print JSON instead of text.</summary>
    public static Option<bool> JsonOutput(string description = "print JSON instead of text") =>
        new("--json") { Description = description };

    /// <summary><c>--quiet</c>: no progress on stderr.</summary>
    public static Option<bool> Quiet() => new("--quiet") { Description = "no progress display on stderr" };

    /// <summary><c>--jobs N</c>: parallel workers, default one per core.</summary>
    public static Option<int> Jobs(string description = "records processed in parallel") =>
        new("--jobs") { Description = description, HelpName = "N", DefaultValueFactory = _ => Environment.ProcessorCount };

    /// <summary><c>--annotations-out DIR</c>: WFDB annotation files of the device's beats and rhythm.</summary>
    public static Option<string?> AnnotationsOut(string description) =>
        new("--annotations-out") { Description = description, HelpName = "DIR" };

    /// <summary><c>-o, --out FILE</c>: the file written.</summary>
    public static Option<string> Out(string description, string helpName) =>
        new("--out", "-o") { Description = description, HelpName = helpName, Required = true };

    /// <summary><c>--runs N</c> with its default.</summary>
    public static Option<int> Runs(int defaultRuns, string description) =>
        new("--runs") { Description = description, HelpName = "N", DefaultValueFactory = _ => defaultRuns };

    /// <summary><c>--repeats N</c>: timed passes, default 5.</summary>
    public static Option<int> Repeats() =>
        new("--repeats") { Description = "timed passes over the record", HelpName = "N", DefaultValueFactory = _ => 5 };

    /// <summary><c>--windows DIR</c>: model input windows (ecg.bin, lead_mask.bin …, e.g. models/reference).</summary>
    public static Option<string?> Windows(string description = "input windows: a folder with ecg.bin and lead_mask.bin (default: the model's reference windows)") =>
        new("--windows") { Description = description, HelpName = "DIR" };

    // ---- MQTT ----

    /// <summary><c>--broker URL</c>: a broker, once.</summary>
    public static Option<string?> Broker(string description) => new("--broker") { Description = description, HelpName = "URL" };

    /// <summary><c>--prefix P</c>: the topic prefix.</summary>
    public static Option<string?> Prefix(string description) => new("--prefix") { Description = description, HelpName = "PREFIX" };

    /// <summary><c>--device ID</c>.</summary>
    public static Option<string?> Device(string description) => new("--device") { Description = description, HelpName = "ID" };

    /// <summary><c>--username U</c>.</summary>
    public static Option<string?> Username(string description) => new("--username") { Description = description, HelpName = "USER" };

    /// <summary><c>--password-env VAR</c>: the name of the environment variable holding a password (never the password itself).</summary>
    public static Option<string?> PasswordEnv(string description) => new("--password-env") { Description = description, HelpName = "VAR" };

    /// <summary><c>--timeout S</c>: stop after S seconds (0: never).</summary>
    public static Option<double> Timeout(string description = "stop after S seconds (0: run until Ctrl+C)") =>
        new("--timeout") { Description = description, HelpName = "S", DefaultValueFactory = _ => 0 };

    /// <summary>
    /// <c>--protocol 5|3.1.1</c>: the MQTT protocol level (default MQTT 5; 3.1.1 for RabbitMQ's MQTT plugin, which drops an
    /// MQTT 5 CONNECT).
    /// </summary>
    public static Option<MqttProtocolLevel> Protocol() => new("--protocol")
    {
        Description = "MQTT protocol level (3.1.1 for RabbitMQ's MQTT plugin)",
        HelpName = "5|3.1.1",
        DefaultValueFactory = _ => MqttProtocolLevel.V500,
        CustomParser = r =>
        {
            var p = r.Tokens.Count > 0 ? r.Tokens[0].Value : "5";
            switch (p)
            {
                case "5" or "5.0": return MqttProtocolLevel.V500;
                case "3.1.1" or "311" or "4": return MqttProtocolLevel.V311;
                default:
                    r.AddError($"--protocol '{p}': use 5 or 3.1.1");
                    return MqttProtocolLevel.V500;
            }
        },
    };

    /// <summary>A number as the configuration reads it.</summary>
    public static string Invariant(double value) => value.ToString(CultureInfo.InvariantCulture);
}
