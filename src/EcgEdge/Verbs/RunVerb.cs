using EcgEdge.Acquisition.Ads1298;
using EcgEdge.Acquisition.Replay;
using EcgEdge.Core.Signals;
using EcgEdge.Detection;
using EcgEdge.Events;
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
    public static async Task<int> RunAsync(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
            DisableDefaults = false,
        });
        builder.Configuration.Sources.Clear();
        AppConfiguration.AddSources(builder.Configuration, args);
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });

        PipelineSettings settings;
        ReplayOptions replay;
        Ads1298Options ads;
        try
        {
            settings = AppConfiguration.BindPipeline(builder.Configuration);
            replay = AppConfiguration.BindReplay(builder.Configuration);
            ads = AppConfiguration.BindAds1298(builder.Configuration);
        }
        catch (Ads1298ConfigurationException e)
        {
            Console.Error.WriteLine($"ecgedge: invalid configuration: {e.Message}");
            return 2;
        }
        catch (OptionsValidationException e)
        {
            Console.Error.WriteLine("ecgedge: invalid configuration:");
            foreach (var f in e.Failures) Console.Error.WriteLine($"  - {f}");
            return 2;
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"ecgedge: invalid configuration: {e.Message}");
            return 2;
        }
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(replay);
        builder.Services.AddSingleton(ads);
        builder.Services.AddSingleton(TimeProvider.System);
        var outcome = new RunOutcome();
        builder.Services.AddSingleton(outcome);
        builder.Services.AddHostedService<PipelineWorker>();
        using var host = builder.Build();
        await host.RunAsync().ConfigureAwait(false);
        return outcome.ExitCode;
    }
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
    Ads1298Options ads,
    TimeProvider time,
    RunOutcome outcome,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggerFactory,
    ILogger<PipelineWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        try
        {
            await using var source = AppConfiguration.OpenSource(settings.Pipeline.Source, replay, ads, settings.Pipeline.SampleRateHz, time);
            if (source is Ads1298Driver driver) driver.Fault += (_, e) => LogDeviceFault(e.Kind.ToString(), e.Message);
            var pipeline = new EcgPipeline(source.Info, settings.Conditioning, settings.Detection, settings.Pipeline.BlockFrames);
            LogStart(source.Info.Name, source.Info.SampleRateHz, string.Join(", ",
                Enumerable.Range(0, Leads.Count).Where(c => source.Info.Present[c])
                    .Select(c => $"{Leads.Name(c)}←{source.Info.SourceLabels[c]}")));
            var sink = new LogEventSink(loggerFactory.CreateLogger<LogEventSink>(), source.Info.SampleRateHz);
            var vitals = new VitalsAggregator(source.Info.SampleRateHz, settings.Pipeline.VitalsIntervalSeconds, sink);
            var observer = new WorkerObserver(logger, source.Info.SampleRateHz, vitals);
            await pipeline.RunAsync(source, observer, stoppingToken).ConfigureAwait(false);
            LogEnd(pipeline.Stats.Samples / source.Info.SampleRateHz, pipeline.Stats.Beats);
            if (source is Ads1298Driver d) LogDeviceCounters(d.Counters.ToString());
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (WfdbFormatException e)
        {
            LogBadInput(e.Message);
            outcome.ExitCode = 1;
        }
        catch (IOException e)
        {
            LogBadInput(e.Message);
            outcome.ExitCode = 1;
        }
        catch (Ads1298Exception e)
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Front-end fault {Kind}: {Message}")]
    private partial void LogDeviceFault(string kind, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Front-end counters: {Counters}")]
    private partial void LogDeviceCounters(string counters);

    [LoggerMessage(Level = LogLevel.Information, Message = "Source {Name} at {Rate} Hz; channels: {Channels}")]
    private partial void LogStart(string name, double rate, string channels);

    [LoggerMessage(Level = LogLevel.Information, Message = "Source ended after {Seconds:F1} s of signal, {Beats} beats")]
    private partial void LogEnd(double seconds, long beats);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Pipeline failed")]
    private partial void LogCrash(Exception e);

    [LoggerMessage(Level = LogLevel.Error, Message = "Invalid configuration: {Reason}")]
    private partial void LogBadConfiguration(string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Input rejected: {Reason}")]
    private partial void LogBadInput(string reason);
}

/// <summary>Feeds the pipeline's output to the event stage (vitals, quality changes) and logs beats at Debug.</summary>
internal sealed partial class WorkerObserver(ILogger logger, double sampleRateHz, VitalsAggregator vitals) : IPipelineObserver
{
    public void OnBeat(in DetectedBeat beat)
    {
        vitals.OnBeat(beat);
        if (logger.IsEnabled(LogLevel.Debug))
            LogBeat(beat.SampleIndex / sampleRateHz, beat.RrSeconds * 1000, beat.HeartRateBpm);
    }

    public void OnQualityChanged(long sampleIndex, ReadOnlySpan<SignalQuality> quality) => vitals.OnQualityChanged(sampleIndex, quality);

    public void OnBlockProcessed(SampleBlock conditioned) => vitals.Advance(conditioned.StartIndex + conditioned.Count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "beat t={T:F3}s RR={Rr:F0}ms HR={Hr:F0}")]
    private partial void LogBeat(double t, double rr, double hr);
}
