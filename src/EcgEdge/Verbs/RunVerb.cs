using System.CommandLine;
using EcgEdge.Acquisition.Ads1298;
using EcgEdge.Acquisition.Replay;
using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Events;
using EcgEdge.Events.Alerts;
using EcgEdge.Transport.Mqtt;
using OpenTelemetry.Metrics;
using EcgEdge.Inference;
using EcgEdge.Inference.Execution;
using EcgEdge.Inference.Model;
using EcgEdge.Pipeline;
using EcgEdge.Transport;
using EcgEdge.Wfdb;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EcgEdge.Verbs;

/// <summary><c>ecgedge run</c>: the worker host.</summary>
public static class RunVerb
{
    /// <summary>The retained status content: start time, software and model versions.</summary>
    internal static MqttStatusInfo StatusInfo(DateTimeOffset startedAt, string? model) => new(startedAt, new Dictionary<string, string>
    {
        ["software"] = typeof(RunVerb).Assembly.GetName().Version?.ToString() ?? "0",
        ["model"] = model ?? "none",
    });

    /// <summary><c>ecgedge run</c>'s command line: the short forms of the configuration keys a run is usually given.</summary>
    public static Command CreateCommand()
    {
        Option[] switches =
        [
            VerbOptions.Record(),
            VerbOptions.From(),
            VerbOptions.To(),
            VerbOptions.Leads(),
            new Option<bool?>("--realtime") { Description = "deliver samples at the recording's pace (true) or as fast as possible (false) (Replay:RealTime)", HelpName = "true|false" },
            new Option<bool?>("--loop") { Description = "start the record again at its end (Replay:Loop)", HelpName = "true|false" },
            VerbOptions.Rate(),
            VerbOptions.Mains(),
            VerbOptions.Source("where samples come from (Pipeline:Source; the ADS1298 wiring is in section Ads1298)", "replay", "ads1298", "emulator"),
            VerbOptions.Model(),
            VerbOptions.Provider(),
        ];
        var command = new Command("run",
            "the worker (the default verb): acquire, condition and detect beats continuously, classify them and the rhythm " +
            "with the model, raise alarms and publish them over MQTT. With no configuration it replays the bundled MIT-BIH " +
            "record 201 in real time. Any --Section:Key=value sets a configuration key (see appsettings.json).");
        foreach (var o in switches) command.Options.Add(o);
        // The configuration overrides first, then the short forms: --record R wins over --Replay:Record=R2.
        command.SetConfigurableAction((p, configuration) => RunAsync(configuration, [.. Cli.SwitchOverrides(p, switches)]));
        return command;
    }

    /// <summary>Runs the worker with the command line <paramref name="args"/> (as <c>ecgedge run ARGS</c>).</summary>
    public static Task<int> RunAsync(string[] args) => Cli.RunAsync(CreateCommand(), args);

    private static async Task<int> RunAsync(string[] configuration, string[] switches)
    {
        string[] args = [.. configuration, .. switches];
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
            DisableDefaults = false,
        });
        builder.Configuration.Sources.Clear();
        AppConfiguration.AddSources(builder.Configuration, args);
        ConfigurationCheck.Check(builder.Configuration);
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        // Under systemd (Type=notify): READY=1 once started, STOPPING=1 on stop, journald-friendly console format.
        builder.Services.AddSystemd();

        PipelineSettings settings;
        ReplayOptions replay;
        Ads1298Options ads;
        InferenceOptions inference;
        MqttTransportOptions mqtt;
        EventOptions events;
        try
        {
            settings = AppConfiguration.BindPipeline(builder.Configuration);
            replay = AppConfiguration.BindReplay(builder.Configuration);
            ads = AppConfiguration.BindAds1298(builder.Configuration);
            inference = AppConfiguration.BindInference(builder.Configuration);
            mqtt = AppConfiguration.BindMqtt(builder.Configuration);
            events = AppConfiguration.BindEvents(builder.Configuration);
        }
        catch (Ads1298ConfigurationException e)
        {
            Console.Error.WriteLine($"ecgedge: invalid configuration: {e.Message}");
            return 2;
        }
        catch (OptionsValidationException e)
        {
            return InvalidConfiguration(e);
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"ecgedge: invalid configuration: {e.Message}");
            return 2;
        }
        // The same sections, with the same generated validators, as the host's options, checked when the host starts
        // (ValidateOnStart). They were bound and checked above already, because the model, the source and the transport
        // are opened before the host is built; this keeps the host's own options as strict, for whatever resolves them.
        AppConfiguration.AddValidatedOptions(builder.Services, builder.Configuration);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(replay);
        builder.Services.AddSingleton(ads);
        // The model is loaded and checked before the host starts: a refused model or an unavailable strict provider
        // stops the worker here (exit 2) instead of running it half-configured.
        EcgNatModel? model = null;
        if (inference.Enabled)
        {
            try
            {
                using var loggerFactory = LoggerFactory.Create(l => l.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; }));
                model = ModelLoader.Load(inference.Model, inference, loggerFactory.CreateLogger("EcgEdge.Inference"));
                model.Warmup(inference.WarmupRuns);
            }
            catch (Exception e) when (e is ModelLoadException or ExecutionProviderUnavailableException)
            {
                Console.Error.WriteLine($"ecgedge: model refused: {e.Message}");
                return 2;
            }
        }
        using var ownedModel = model;
        builder.Services.AddSingleton(new ModelHolder(model, inference));
        builder.Services.AddSingleton(events);

        // The source is opened (record header read, front-end identified) before the broker and the outbox start: a bad
        // header or a missing front-end stops the worker here with its own message, before anything is published.
        ISampleSource openedSource;
        try
        {
            openedSource = SourceFactory.Open(settings.Pipeline.Source, replay, ads, settings.Pipeline.SampleRateHz, TimeProvider.System);
        }
        catch (Exception e) when (e is WfdbFormatException or IOException or UnauthorizedAccessException or Ads1298Exception)
        {
            Console.Error.WriteLine($"ecgedge: cannot open the source ({settings.Pipeline.Source}): {e.Message}");
            return 1;
        }
        catch (ArgumentException e)
        {
            // e.g. a --leads assignment that does not fit the record
            Console.Error.WriteLine($"ecgedge: invalid configuration: {e.Message}");
            return 2;
        }
        await using var sourceHolder = new SourceHolder(openedSource);
        builder.Services.AddSingleton(sourceHolder);

        // Transport before the pipeline: alerts are stored (fsync) before the worker processes further samples.
        RunTransport transport;
        using (var transportLoggers = LoggerFactory.Create(l => l.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; })))
        {
            try
            {
                transport = await RunTransport.StartAsync(mqtt, StatusInfo(TimeProvider.System.GetUtcNow(), model?.VersionLabel), transportLoggers, TimeProvider.System).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Net.Sockets.SocketException)
            {
                Console.Error.WriteLine($"ecgedge: cannot start the MQTT transport: {e.Message}");
                // Two workers never share an outbox (each would resend the other's alerts); say how to run a second one.
                if (e is IOException && e.Message.Contains("in use by another worker", StringComparison.Ordinal))
                    Console.Error.WriteLine("ecgedge: another worker is running with this outbox; give this one its own with " +
                        "--Mqtt:Outbox:Directory=DIR, or run it without MQTT with --Mqtt:Mode=Off");
                return 1;
            }
        }
        await using var ownedTransport = transport;
        // Optional metrics exporter: Prometheus text format on loopback only (scraped by a local agent or over an SSH tunnel).
        MeterProvider? metricsProvider = null;
        if (settings.Pipeline.PrometheusPort > 0)
        {
            try
            {
                metricsProvider = OpenTelemetry.Sdk.CreateMeterProviderBuilder()
                    .AddMeter(EcgEdge.Hosting.WorkerHealth.MeterName)
                    .AddPrometheusHttpListener(o => { o.Host = "127.0.0.1"; o.Port = settings.Pipeline.PrometheusPort; })
                    .Build();
            }
            catch (Exception e) when (e is System.Net.HttpListenerException or InvalidOperationException)
            {
                Console.Error.WriteLine($"ecgedge: invalid configuration: Pipeline:PrometheusPort {settings.Pipeline.PrometheusPort} cannot be served: {e.GetBaseException().Message}");
                return 2;
            }
        }
        using var metrics = metricsProvider;
        builder.Services.AddSingleton(transport);
        builder.Services.AddSingleton(TimeProvider.System);
        var outcome = new RunOutcome();
        builder.Services.AddSingleton(outcome);
        builder.Services.AddHostedService<PipelineWorker>();
        var progress = new EcgEdge.Hosting.PipelineProgress();
        builder.Services.AddSingleton(progress);
        if (Microsoft.Extensions.Hosting.Systemd.SystemdHelpers.IsSystemdService())
            builder.Services.AddHostedService<EcgEdge.Hosting.SampleFlowWatchdog>();
        using var host = builder.Build();
        try
        {
            await host.RunAsync().ConfigureAwait(false);
        }
        catch (OptionsValidationException e)
        {
            // ValidateOnStart: the host refused to start (exit 2, as for the checks above).
            return InvalidConfiguration(e);
        }
        catch (AggregateException e) when (e.InnerExceptions.All(x => x is OptionsValidationException))
        {
            // ValidateOnStart with more than one invalid section: the host throws them together.
            return InvalidConfiguration([.. e.InnerExceptions.Cast<OptionsValidationException>()]);
        }
        return outcome.ExitCode;
    }

    /// <summary>A configuration refused by options validators: every failure on stderr, exit 2.</summary>
    private static int InvalidConfiguration(params OptionsValidationException[] refused)
    {
        Console.Error.WriteLine("ecgedge: invalid configuration:");
        foreach (var f in refused.SelectMany(e => e.Failures)) Console.Error.WriteLine($"  - {f}");
        return 2;
    }
}

/// <summary>The source opened before the host starts (so that its errors come first); disposed after the host stops.</summary>
public sealed class SourceHolder(ISampleSource source) : IAsyncDisposable
{
    public ISampleSource Source { get; } = source;

    public ValueTask DisposeAsync() => Source.DisposeAsync();
}

/// <summary>How the worker ended: 0 normally, 1 when its input was rejected.</summary>
public sealed class RunOutcome
{
    public int ExitCode { get; set; }
}

/// <summary>Runs the pipeline on the configured source until stopped, logging beats, heart rate and signal quality.</summary>
public sealed partial class PipelineWorker(
    PipelineSettings settings,
    ReplayOptions replay,
    SourceHolder opened,
    TimeProvider time,
    RunOutcome outcome,
    ModelHolder model,
    EcgEdge.Hosting.PipelineProgress progress,
    EventOptions events,
    RunTransport transport,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggerFactory,
    ILogger<PipelineWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        try
        {
            var source = opened.Source;
            if (source is Ads1298Driver driver) driver.Fault += (_, e) => LogDeviceFault(e.Kind.ToString(), e.Message);
            using var pipeline = new EcgPipeline(source.Info, settings.Conditioning, settings.Detection, settings.Pipeline.BlockFrames);
            LogStart(source.Info.Name, source.Info.SampleRateHz, string.Join(", ",
                Enumerable.Range(0, Leads.Count).Where(c => source.Info.Present[c])
                    .Select(c => $"{Leads.Name(c)}←{source.Info.SourceLabels[c]}")));
            var rate = source.Info.SampleRateHz;
            var startUtc = time.GetUtcNow();
            // Timestamps: signal time since the start. A replay paced at Replay:Speed S plays S signal-seconds per wall
            // second; its timestamps follow the wall clock (a clinician's page must not show onsets in the future), while
            // durations and rates stay in signal time. A replay at full speed (RealTime false) stamps signal time.
            var clock = new SampleClock(startUtc, rate, source is ReplaySource && replay.RealTime ? 1 / replay.Speed : 1);
            var log = new LogEventSink(loggerFactory.CreateLogger<LogEventSink>(), rate);
            var deviceId = transport.Options?.DeviceId ?? "ecgedge";
            MqttEventSink? mqttSink = transport.Publisher is { } pub ? new MqttEventSink(pub, deviceId, clock, loggerFactory.CreateLogger<MqttEventSink>(), time) : null;
            // No episode is open yet: replace whatever list of open episodes an earlier run left retained on the broker.
            mqttSink?.PublishActiveState();
            using var health = new EcgEdge.Hosting.WorkerHealth
            {
                OutboxPending = transport.Outbox is { } ob ? () => ob.PendingCount : null,
                BrokerState = transport.Publisher is { } bp ? () => bp.State : null,
                Progress = progress,
            };
            // The engine publishes to these itself, in this order: the health counter (an alert is counted before anything
            // else sees it), MQTT (the alert is fsync'd in the outbox), then the audit file, then the console.
            using var audit = string.IsNullOrEmpty(events.AlertLogFile) ? null : new AlertLogSink(events.AlertLogFile, mqttSink);
            IAlertSink[] alertSinks = [.. new IAlertSink?[] { health, mqttSink, audit, log }.OfType<IAlertSink>()];
            IEventSink[] eventSinks = mqttSink is null ? [log] : [log, mqttSink];
            var engineModel = model.Model?.VersionLabel;
            var observer = new EventStageObserver(events, deviceId, source.Info.Present, clock, settings.Pipeline.VitalsIntervalSeconds,
                model.Model?.VersionLabel, eventSinks, alertSinks, health, logger);
            var engine = observer.Engine;
            var healthFile = string.IsNullOrEmpty(settings.Pipeline.HealthFile)
                ? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(transport.Options?.Outbox.Directory ?? RunTransport.DefaultOutboxDirectory()))!, "health.json")
                : settings.Pipeline.HealthFile;
            using var healthStop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var healthLoop = WriteHealthAsync(health, healthFile, startUtc, () => model.Model is null ? null : engineModel, healthStop.Token);
            using var watchStop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            Task watching = Task.CompletedTask;
            EcgNatModel? latest = null;
            if (model.Model is { } m)
            {
                // A file replayed at full speed may wait for the model; a live (or paced) source never waits for it.
                var overload = source is ReplaySource && !replay.RealTime ? InferenceOverload.Wait : InferenceOverload.DropBlocks;
                // The model's results go to the engine itself: no hand-over between the model and the alert sinks.
                var stage = pipeline.AttachInference(m, model.Options.RhythmSmoothingWindows, engine, model.Options.Threading, overload);
                stage.SupraventricularRuleEnabled = model.Options.SupraventricularRule;
                stage.DominantBeatVetoEnabled = model.Options.DominantBeatVeto;
                pipeline.ModelSwapped += (old, next) =>
                {
                    // On the pipeline thread, after a window boundary: the old model is done with.
                    if (!ReferenceEquals(old, model.Model)) old.Dispose();
                    engine.SetModelVersion(next.VersionLabel);
                    engineModel = next.VersionLabel;
                    LogModelSwapped(old.VersionLabel, next.VersionLabel);
                };
                if (model.Options.WatchSeconds > 0 && model.Options.Model.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
                {
                    var watcher = new ModelWatcher(model.Options.Model, model.Options, stage, TimeSpan.FromSeconds(model.Options.WatchSeconds), time,
                        loggerFactory.CreateLogger<ModelWatcher>());
                    watcher.Accepted += next =>
                    {
                        latest = next;
                        if (transport.Publisher is { } p)
                            _ = p.UpdateStatusAsync(RunVerb.StatusInfo(startUtc, next.VersionLabel));
                    };
                    watching = watcher.RunAsync(watchStop.Token);
                }
            }
            Exception? failure = null;
            try
            {
                await pipeline.RunAsync(source, observer, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                failure = e;
                throw;
            }
            finally
            {
                // End of monitoring is an event: every open episode gets an offset saying monitoring stopped or was
                // interrupted, and the retained status says so, before the outbox drains (a crash is covered by the LWT).
                var (interrupted, why) = EndOfMonitoring(failure, stoppingToken.IsCancellationRequested, source is ReplaySource);
                var closed = engine.EndMonitoring(engine.Now, interrupted, why);
                LogMonitoringEnded(interrupted ? "interrupted" : "stopped", why, closed);
                if (transport.Publisher is { } sp)
                {
                    try
                    {
                        await sp.UpdateStatusAsync(RunVerb.StatusInfo(startUtc, engineModel) with
                        {
                            Monitoring = interrupted ? MqttStatusInfo.MonitoringInterrupted : MqttStatusInfo.MonitoringStopped,
                            MonitoringReason = why,
                        }).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        LogStatusNotUpdated(e.Message);
                    }
                }
                // Alerts the outbox refused (disk full) are held in memory; a last try, then each one left is logged in full.
                mqttSink?.GiveUpHeld();
                await watchStop.CancelAsync().ConfigureAwait(false);
                await watching.ConfigureAwait(false);
                if (latest is not null && !ReferenceEquals(latest, model.Model)) latest.Dispose();
                await healthStop.CancelAsync().ConfigureAwait(false);
                await healthLoop.ConfigureAwait(false);
                TryWriteHealth(healthFile, health.Snapshot(time.GetUtcNow(), startUtc, null, engineModel) with { Status = "stopped" });
            }
            LogEnd(pipeline.Stats.Samples / source.Info.SampleRateHz, pipeline.Stats.Beats);
            if (model.Model is { } mm)
                LogInference(pipeline.Inference!.Windows, pipeline.Inference.BeatsClassified, mm.Latency.ToString(),
                    pipeline.InferenceThread?.BlocksDropped ?? 0, pipeline.InferenceThread?.BeatsDropped ?? 0);
            if (source is Ads1298Driver d) LogDeviceCounters(d.Counters.ToString());
            LogAlerts(engine.AlertsPublished);
            // Undelivered alerts are not lost (they stay in the outbox), but the run did not deliver them: exit 1, so that a
            // script or a supervisor does not read the run as a success.
            if (!await transport.DrainAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false) && outcome.ExitCode == 0) outcome.ExitCode = 1;
            using (var self = System.Diagnostics.Process.GetCurrentProcess()) LogPeakWorkingSet(self.PeakWorkingSet64 / 1048576.0);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is WfdbFormatException or IOException or Ads1298Exception)
        {
            LogBadInput(e.Message);
            outcome.ExitCode = 1;
        }
        catch (ArgumentException e)
        {
            // e.g. a --leads assignment that does not fit the record: a configuration error.
            LogBadConfiguration(e.Message);
            outcome.ExitCode = 2;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Anything else is a defect: stop with a failure code so a supervisor (systemd) restarts the worker.
            LogCrash(e);
            outcome.ExitCode = 1;
        }
        finally
        {
            lifetime.StopApplication();
        }
    }

    /// <summary>Whether the end of the pipeline interrupted monitoring (a failure) or stopped it (stop, end of a recording), and why.</summary>
    internal static (bool Interrupted, string Reason) EndOfMonitoring(Exception? failure, bool stopRequested, bool replay) => failure switch
    {
        null when stopRequested => (false, "the worker was stopped"),
        null => (false, replay ? "end of the replayed recording" : "the source ended"),
        OperationCanceledException when stopRequested => (false, "the worker was stopped"),
        _ => (true, $"{(failure is WfdbFormatException or IOException or Ads1298Exception ? "source failed" : "processing failed")}: {failure.Message}"),
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Monitoring {How}: {Reason}; {Closed} open episode(s) closed")]
    private partial void LogMonitoringEnded(string how, string reason, int closed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The retained status could not be updated: {Reason}")]
    private partial void LogStatusNotUpdated(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Front-end fault {Kind}: {Message}")]
    private partial void LogDeviceFault(string kind, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Front-end counters: {Counters}")]
    private partial void LogDeviceCounters(string counters);

    [LoggerMessage(Level = LogLevel.Information, Message = "Source {Name} at {Rate} Hz; channels: {Channels}")]
    private partial void LogStart(string name, double rate, string channels);

    [LoggerMessage(Level = LogLevel.Information, Message = "Source ended after {Seconds:F1} s of signal, {Beats} beats")]
    private partial void LogEnd(double seconds, long beats);

    /// <summary>Writes the health file every 5 s while the pipeline runs (status "stalled" when no sample flowed since the last write).</summary>
    private async Task WriteHealthAsync(EcgEdge.Hosting.WorkerHealth health, string path, DateTimeOffset startedAt, Func<string?> modelVersion, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5), time);
        EcgEdge.Hosting.HealthSnapshot? last = null;
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                last = health.Snapshot(time.GetUtcNow(), startedAt, last, modelVersion());
                TryWriteHealth(path, last);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private void TryWriteHealth(string path, EcgEdge.Hosting.HealthSnapshot snapshot)
    {
        try { EcgEdge.Hosting.WorkerHealth.Write(path, snapshot); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogHealthWriteFailed(path, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot write the health file {Path}: {Reason}")]
    private partial void LogHealthWriteFailed(string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model swapped at a window boundary: {Old} -> {New}")]
    private partial void LogModelSwapped(string old, string @new);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Alerts} alert message(s) published")]
    private partial void LogAlerts(long alerts);

    [LoggerMessage(Level = LogLevel.Information, Message = "Peak working set {Mb:F1} MB")]
    private partial void LogPeakWorkingSet(double mb);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model ran on {Windows} windows, classified {Beats} beats; latency {Latency}; blocks not analysed (inference behind) {BlocksDropped}, beats not queued {BeatsDropped}")]
    private partial void LogInference(long windows, long beats, string latency, long blocksDropped, long beatsDropped);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Pipeline failed")]
    private partial void LogCrash(Exception e);

    [LoggerMessage(Level = LogLevel.Error, Message = "Invalid configuration: {Reason}")]
    private partial void LogBadConfiguration(string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Input rejected: {Reason}")]
    private partial void LogBadInput(string reason);
}

/// <summary>The loaded model (null when inference is disabled) and its options; owned by <see cref="RunVerb"/>.</summary>
public sealed record ModelHolder(EcgNatModel? Model, InferenceOptions Options);
