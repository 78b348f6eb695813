using EcgEdge.Bench;
using EcgEdge.Verbs;

namespace EcgEdge;

public static class Program
{
    public const string Usage = """
        ecgedge — wearable-ECG edge worker

        Usage: ecgedge [verb] [options]

        Verbs:
          run     (default) acquire, condition and detect beats continuously; with no configuration it replays the
                  bundled MIT-BIH record 201 in real time. Options: --record PATH, --from S, --to S (a segment of the
                  record), --leads II,V1, --realtime true|false,
                  --loop true|false, --rate HZ, --mains 50|60|0, --source replay|ads1298|emulator, or any
                  --Section:Key=value (see appsettings.json; the ADS1298 wiring is in section Ads1298).
          eval    score the pipeline's beats against a WFDB database's reference annotations (ANSI/AAMI EC57).
                  --db DIR [--records a,b,...] [--leads II,V1] [--json FILE] [--annotations-out DIR]
                  [--annotator atr] [--from SECONDS] [--mains HZ] [--source replay|emulator] [--ads-rate SPS]
                  [--model PATH] [--variant int8|fp32] [--no-model]: with the model (default) also VEB, SVEB (EC57
                  beat by beat) and AF (episodes, duration, windows)
                  [--Section:Key=value ...] (e.g. --ads-rate 8000 --Ads1298:SpiClockHz=4096000)
          selftest  ADS1298 self-test (ID, test signal, noise floor, lead-off): --source ads1298|emulator,
                  plus --Section:Key=value overrides (e.g. --Ads1298:SpiBus=1).
          bench   time the whole pipeline (8 channels, model, events, serialisation) on a real record: real-time factor
                  (1 thread; default threads), µs per signal-second per stage, model latency p50/p99 (int8, fp32), QRS
                  detector per lead, allocations, and `ecgedge run` start-up and peak working set (child process).
                  [--record PATH] [--repeats N] [--json FILE] [--no-model] [--no-worker] [--broker URL]
                  bench inference --windows DIR [--runs N] [--intra-op-threads T] [--json FILE] [--logits-out DIR]
                  bench conditioning [--record PATH] [--repeats R] [--json FILE] [--dump DIR]   (tools/bench/compare.sh)
                  bench graph --onnx A.onnx[,B.onnx...] [--windows DIR] [--runs N] [--rounds R] [--config k=v;...]   (model cost breakdowns)
          analyze Holter-style summary per record (no reference annotations needed): beats per AAMI class, heart rate,
                  rhythm episodes, AF/VEB/SVEB/noise burden. --db DIR [--records a,b] [--json FILE] [--model PATH]
                  [--from S] [--to S] [--annotations-out DIR] (WFDB beat and rhythm annotations, RECORD.ecgedge, for
                  rdann/bxb/epicmp) [--mains HZ] [--leads ...] [--Section:Key=value ...]
          report  a Holter report a clinician can print: RECORD|FOLDER -o OUT.pdf|OUT.png (PNG: one file per page)
                  [--from S] [--to S] [--leads II,V1] [--mains HZ] [--records a,b] [--strips N] [--jobs N] [--model PATH]
                  [--loop-hours H] [--quiet]: monitoring time and quality, heart-rate trend and HRV, beats and ectopy per
                  period, AF burden, the device's alarm episodes, strips of the most significant events (25 mm/s,
                  10 mm/mV); a folder gives one row per record and the folder's most significant strips. docs/report.md
          pwave   validate the device's P-wave detection against reference marks: --db DIR --annotator q1c|ludb
                  [--records a,b] [--mains HZ] [--json FILE] [--jobs N] (QT Database q1c; LUDB per lead, all 12 leads)
          model info [PATH]  the model manifest, its signature and label, ONNX Runtime providers, the provider chosen,
                  a timing of one window. [--variant int8|fp32] [--provider auto|cpu|cuda|tensorrt] [--runs N]
                  model keygen --out PREFIX [--password-env VAR]: a P-256 signing key pair (PREFIX.pem, PREFIX.pub.pem)
                  model sign MANIFEST --key KEY.pem [--password-env VAR]: writes MANIFEST.sig (docs/model-signing.md)
                  model verify [MANIFEST] [--key PUB.pem]: signature (default: Inference:TrustedKeys), contract and
                  files; exit 1 when it does not verify
          watch   clinician side: subscribe to a fleet's alerts and print them live, de-duplicated by id.
                  --broker URL [--broker URL2 ...] [--prefix ecgedge] [--device ID|+] [--ca FILE] [--cert FILE --key FILE]
                  [--username U --password-env VAR] [--json] [--save-dir DIR] [--count N] [--timeout S] [--protocol 5|3.1.1]
                  watch --web [--port 8080] [--broker ws(s)://HOST:PORT/PATH] [--prefix P] [--device ID] [--username U]
                  [--clinician NAME] [--web-root DIR]: serve the clinician web page (live devices, alerts, strips, acks;
                  the browser connects to the broker over WebSockets) on 127.0.0.1 only.
          strip   render an alert's ECG strip as an ECG printout PNG (25 mm/s, 10 mm/mV, grid, lead labels, onset marker):
                  ecgedge strip ALERT.json -o OUT.png; or any moment of a record, through the device's conditioning:
                  ecgedge strip --record R --at SECONDS [--seconds 10] [--leads II,V1] [--max-leads N] [--mains HZ] -o OUT.png
          fleet-sim  N simulated devices in one process on the real transport (outbox, reconnect, failover, status and
                  last will), replaying the alerts and vitals real recordings produced, plus a consumer that checks every
                  alert id arrives: --devices N --broker URL[,URL...] --duration S [--alert-rate PER_DEVICE_PER_MIN]
                  [--vitals-interval S] [--protocol 5|3.1.1] [--records PATH,...] [--json FILE] [--seed N]  (tools/fleet)
          health  for scripts: reads the running worker's health file and exits 0 (healthy) or 1. [--file PATH] [--max-age S] [--json]
          help    this text.

        Exit codes: 0 success, 1 runtime failure (bad input data, I/O), 2 bad usage or configuration.
        """;

    public static async Task<int> Main(string[] args)
    {
        var verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0].ToLowerInvariant() : "run";
        var rest = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;
        // Asking for help or the version never starts the worker (with no verb, "run" would: broker, outbox, replay).
        if (args.Any(a => a is "--help" or "-h" or "-?")) return PrintUsage(Console.Out, 0);
        if (args.Any(a => a is "--version"))
        {
            Console.Out.WriteLine($"ecgedge {typeof(Program).Assembly.GetName().Version}");
            return 0;
        }
        try
        {
            return verb switch
            {
                "run" => await RunVerb.RunAsync(rest).ConfigureAwait(false),
                "eval" => await EvalVerb.RunAsync(rest).ConfigureAwait(false),
                "selftest" => await SelftestVerb.RunAsync(rest).ConfigureAwait(false),
                "bench" => await BenchVerb.RunAsync(rest).ConfigureAwait(false),
                "analyze" => await AnalyzeVerb.RunAsync(rest).ConfigureAwait(false),
                "pwave" => await PWaveVerb.RunAsync(rest).ConfigureAwait(false),
                "model" => await ModelVerb.RunAsync(rest).ConfigureAwait(false),
                "watch" => await WatchVerb.RunAsync(rest).ConfigureAwait(false),
                "strip" => await StripVerb.RunAsync(rest).ConfigureAwait(false),
                "report" => await ReportVerb.RunAsync(rest).ConfigureAwait(false),
                "health" => await HealthVerb.RunAsync(rest).ConfigureAwait(false),
                "fleet-sim" => await EcgEdge.Fleet.FleetSimVerb.RunAsync(rest).ConfigureAwait(false),
                "help" or "--help" or "-h" => PrintUsage(Console.Out, 0),
                _ => Fail($"unknown verb '{verb}'"),
            };
        }
        catch (UsageException e)
        {
            return Fail(e.Message);
        }
        catch (ConfigurationException e)
        {
            Console.Error.WriteLine($"ecgedge: invalid configuration: {e.Message}");
            return 2;
        }
        catch (Inference.Model.ModelLoadException e)
        {
            Console.Error.WriteLine($"ecgedge: model refused ({e.Failure}): {e.Message}");
            return 2;
        }
        catch (Inference.Execution.ExecutionProviderUnavailableException e)
        {
            Console.Error.WriteLine($"ecgedge: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is Wfdb.WfdbFormatException or IOException or UnauthorizedAccessException)
        {
            // Any verb's unreadable input (a missing or corrupt record, a file it may not read): a clear message and exit 1,
            // never an unhandled exception.
            Console.Error.WriteLine($"ecgedge {verb}: cannot read its input: {e.Message}");
            return 1;
        }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"ecgedge: {message}");
        Console.Error.WriteLine("Run 'ecgedge help' for usage.");
        return 2;
    }

    private static int PrintUsage(TextWriter w, int code)
    {
        w.WriteLine(Usage);
        return code;
    }
}

/// <summary>Bad command-line usage: reported with exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
