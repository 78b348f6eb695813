using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EcgEdge.Inference.Model;
using EcgEdge.Pipeline;
using EcgEdge.Transport.Mqtt;
using EcgEdge.Verbs;
using Microsoft.Extensions.Options;

namespace EcgEdge.Fleet;

/// <summary>
/// <c>ecgedge fleet-sim --devices N --broker URL[,URL...] --duration S</c>: N simulated devices in this process on the
/// product's transport, replaying the events real recordings produced, and a consumer checking that every alert arrives.
/// Exit 0 when no alert was lost, 1 when one was (or none was sent), 2 on bad usage.
/// </summary>
public static class FleetSimVerb
{
    /// <summary>fleet-sim's options; their defaults are <see cref="FleetSimOptions"/>'s.</summary>
    private sealed class Options
    {
        private static readonly FleetSimOptions Defaults = new();

        public Option<int> Devices { get; } = new("--devices") { Description = "simulated devices, each with its own connection, outbox, status and last will", HelpName = "N", DefaultValueFactory = _ => Defaults.Devices };
        public Option<string?> Brokers { get; } = VerbOptions.Broker("the brokers (mqtt://host:port), comma-separated: device i starts on broker i mod n and fails over to the next");
        public Option<double> Duration { get; } = new("--duration") { Description = "seconds during which devices emit (then the run drains and checks)", HelpName = "S", DefaultValueFactory = _ => Defaults.DurationSeconds };
        public Option<double> AlertRate { get; } = new("--alert-rate") { Description = "alerts per device per minute (a seeded Poisson process per device)", HelpName = "PER_MIN", DefaultValueFactory = _ => Defaults.AlertsPerDevicePerMinute };
        public Option<double> VitalsInterval { get; } = new("--vitals-interval") { Description = "seconds between a device's vitals messages", HelpName = "S", DefaultValueFactory = _ => Defaults.VitalsIntervalSeconds };
        public Option<MqttProtocolLevel> Protocol { get; } = VerbOptions.Protocol();
        public Option<string> Prefix { get; } = new("--prefix") { Description = "the simulated fleet's topic prefix (kept apart from real devices')", HelpName = "PREFIX", DefaultValueFactory = _ => Defaults.TopicPrefix };
        public Option<string?> Records { get; } = new("--records") { Description = "the recordings whose alerts and vitals the devices replay (default: Replay:Record)", HelpName = "PATH,..." };
        public Option<string?> Json { get; } = VerbOptions.JsonFile("also write the report to FILE as JSON");
        public Option<string?> Outbox { get; } = new("--outbox") { Description = "folder for one outbox per device (default: a temporary folder, deleted afterwards)", HelpName = "DIR" };
        public Option<int> Seed { get; } = new("--seed") { Description = "seed of the alert processes", HelpName = "N", DefaultValueFactory = _ => Defaults.Seed };
        public Option<double> DrainTimeout { get; } = new("--drain-timeout") { Description = "seconds to wait, after emitting stops, for every outbox to drain and every alert to arrive", HelpName = "S", DefaultValueFactory = _ => Defaults.DrainTimeoutSeconds };
        public Option<double> Ramp { get; } = new("--ramp") { Description = "seconds over which device connections start", HelpName = "S", DefaultValueFactory = _ => Defaults.RampSeconds };
        public Option<int> KeepAlive { get; } = new("--keep-alive") { Description = "device keep-alive in seconds (the last will comes after 1.5 x this)", HelpName = "S", DefaultValueFactory = _ => Defaults.KeepAliveSeconds };
        public Option<string?> ConsumerId { get; } = new("--consumer-id") { Description = "client id of the checking consumer (default: a fresh one per run)", HelpName = "ID" };
        public Option<bool> NoModel { get; } = VerbOptions.NoModel("build the event streams without the model (rate and pause alerts only)");
        public Option<bool> Quiet { get; } = VerbOptions.Quiet();

        public Option[] All => [Devices, Brokers, Duration, AlertRate, VitalsInterval, Protocol, Prefix, Records, Json, Outbox, Seed, DrainTimeout, Ramp,
            KeepAlive, ConsumerId, NoModel, Quiet];
    }

    /// <summary><c>ecgedge fleet-sim</c>'s command line.</summary>
    public static Command CreateCommand()
    {
        var o = new Options();
        var command = new Command("fleet-sim",
            "N simulated devices in one process on the real transport (outbox, reconnect, failover, status and last will), " +
            "replaying the alerts and vitals real recordings produced, plus a consumer that checks every alert id arrives (tools/fleet)");
        foreach (var option in o.All) command.Options.Add(option);
        command.SetVerbAction(p => RunAsync(p, o));
        return command;
    }

    /// <summary>Runs fleet-sim with the command line <paramref name="args"/> (as <c>ecgedge fleet-sim ARGS</c>).</summary>
    public static Task<int> RunAsync(string[] args) => Cli.RunAsync(CreateCommand(), args);

    private static async Task<int> RunAsync(ParseResult p, Options o)
    {
        var options = new FleetSimOptions
        {
            Devices = p.GetValue(o.Devices),
            Brokers = [.. (p.GetValue(o.Brokers) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
            DurationSeconds = p.GetValue(o.Duration),
            AlertsPerDevicePerMinute = p.GetValue(o.AlertRate),
            VitalsIntervalSeconds = p.GetValue(o.VitalsInterval),
            ProtocolVersion = p.GetValue(o.Protocol),
            TopicPrefix = p.GetValue(o.Prefix)!,
            OutboxRoot = p.GetValue(o.Outbox),
            Seed = p.GetValue(o.Seed),
            DrainTimeoutSeconds = p.GetValue(o.DrainTimeout),
            RampSeconds = p.GetValue(o.Ramp),
            KeepAliveSeconds = p.GetValue(o.KeepAlive),
            ConsumerClientId = p.GetValue(o.ConsumerId),
        };
        try { FleetSimOptionsValidator.ThrowIfInvalid(options); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        var quiet = p.GetValue(o.Quiet);
        var log = quiet ? null : Console.Error;

        // The event streams: the device pipeline (with the model) over real recordings, once, before any device starts.
        var config = AppConfiguration.Build([]);
        PipelineSettings settings;
        EcgEdge.Inference.Execution.InferenceOptions inference;
        try
        {
            settings = AppConfiguration.BindPipeline(config);
            inference = AppConfiguration.BindInference(config);
        }
        catch (OptionsValidationException e)
        {
            throw new UsageException("invalid configuration: " + string.Join("; ", e.Failures));
        }
        var records = (p.GetValue(o.Records) ?? AppConfiguration.BindReplay(config).Record)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(AppConfiguration.ResolveRecord).ToList();
        using var model = p.GetValue(o.NoModel) || !inference.Enabled ? null : ModelLoader.Load(inference.Model, inference);
        log?.WriteLine($"fleet-sim: building event streams from {records.Count} recording(s) ({(model is null ? "no model" : model.VersionLabel)})");
        var streams = await FleetEventStreams.BuildAsync(records, settings, model, inference.RhythmSmoothingWindows, CancellationToken.None).ConfigureAwait(false);
        foreach (var s in streams)
            log?.WriteLine($"fleet-sim:   {s.Record}: {s.SignalSeconds / 60:F1} min of signal → {s.Alerts.Count} alerts, {s.Vitals.Count} vitals");

        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
        // Many devices block briefly in fsync: give the thread pool room from the start instead of its slow injection.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 64), Math.Max(io, 64));
        FleetReport report;
        try
        {
            report = await new FleetSimulator(options, streams, log).RunAsync(cts.Token).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        Print(Console.Out, report);
        if (p.GetValue(o.Json) is { } json)
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(report, FleetJsonContext.Default.FleetReport)).ConfigureAwait(false);
        return report.AlertsLost == 0 && report.AlertsSent > 0 ? 0 : 1;
    }

    public static void Print(TextWriter o, FleetReport r)
    {
        ArgumentNullException.ThrowIfNull(o);
        ArgumentNullException.ThrowIfNull(r);
        var c = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(c, $"fleet-sim: {r.Devices} devices, MQTT {r.Protocol}, {r.DurationS:F0} s, brokers {string.Join(",", r.Brokers)}"));
        o.WriteLine(string.Create(c, $"  alerts   sent {r.AlertsSent}  acked {r.AlertsAcked}  received {r.AlertsReceived}  LOST {r.AlertsLost}  duplicates {r.Duplicates}  not stored {r.AlertsNotStored}"));
        o.WriteLine(string.Create(c, $"  latency  end-to-end p50 {r.EndToEndMs.P50} ms  p99 {r.EndToEndMs.P99} ms  max {r.EndToEndMs.Max} ms;  PUBACK p50 {r.PubackMs.P50} ms  p99 {r.PubackMs.P99} ms"));
        o.WriteLine(string.Create(c, $"  traffic  {r.MessagesPerS} msg/s published (alerts + vitals), vitals sent {r.VitalsSent} dropped {r.VitalsDropped}, alerts received {r.AlertsReceivedPerS}/s"));
        o.WriteLine(string.Create(c, $"  links    all connected after {(r.AllConnectedS is { } s ? s.ToString("F1", c) + " s" : "never")}, reconnects {r.Reconnects}, losses {r.ConnectionLosses}, resends {r.Resends}; at end: {string.Join(", ", r.DevicesByEndpointAtEnd.Select(kv => $"{kv.Key} {kv.Value}"))}"));
        o.WriteLine(string.Create(c, $"  cost     CPU {r.CpuCorePercentTotal}% of a core ({r.CpuCorePercentPerDevice}% per device), peak working set {r.PeakWorkingSetMb} MB ({r.WorkingSetKbPerDevice} kB per device); drain {r.DrainS} s"));
        if (r.AlertsLost > 0) o.WriteLine($"  lost ids (first {r.LostIdsSample.Count}): {string.Join(" ", r.LostIdsSample)}");
    }
}
