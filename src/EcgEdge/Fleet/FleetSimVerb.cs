using System.Globalization;
using System.Text.Json;
using EcgEdge.Inference.Model;
using EcgEdge.Pipeline;
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
    public static async Task<int> RunAsync(string[] args)
    {
        var a = new ArgReader(args, ["--devices", "--broker", "--duration", "--alert-rate", "--vitals-interval", "--protocol", "--prefix",
            "--records", "--json", "--outbox", "--seed", "--drain-timeout", "--ramp", "--keep-alive", "--consumer-id"], ["--no-model", "--quiet"]);
        var options = new FleetSimOptions
        {
            Devices = (int)a.GetDouble("--devices", 100),
            Brokers = [.. (a.Get("--broker") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
            DurationSeconds = a.GetDouble("--duration", 60),
            AlertsPerDevicePerMinute = a.GetDouble("--alert-rate", 2),
            VitalsIntervalSeconds = a.GetDouble("--vitals-interval", 10),
            ProtocolVersion = a.GetProtocol(),
            TopicPrefix = a.Get("--prefix") ?? "ecgfleet",
            OutboxRoot = a.Get("--outbox"),
            Seed = (int)a.GetDouble("--seed", 1),
            DrainTimeoutSeconds = a.GetDouble("--drain-timeout", 120),
            RampSeconds = a.GetDouble("--ramp", 5),
            KeepAliveSeconds = (int)a.GetDouble("--keep-alive", 15),
            ConsumerClientId = a.Get("--consumer-id"),
        };
        try { options.Validate(); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        var quiet = a.Flag("--quiet");
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
        var records = (a.Get("--records") ?? AppConfiguration.BindReplay(config).Record)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(AppConfiguration.ResolveRecord).ToList();
        using var model = a.Flag("--no-model") || !inference.Enabled ? null : ModelLoader.Load(inference.Model, inference);
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
        if (a.Get("--json") is { } json)
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
