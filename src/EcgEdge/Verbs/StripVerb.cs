using System.CommandLine;
using System.Text.Json;
using EcgEdge.Events.Alerts;
using EcgEdge.Strips;

namespace EcgEdge.Verbs;

/// <summary>
/// <c>ecgedge strip ALERT.json -o OUT.png</c>: renders the ECG strip of an alert (as published on the alerts topic) as a
/// standard ECG printout, 25 mm/s and 10 mm/mV (see <see cref="StripRenderer"/>). A missing, unreadable or malformed
/// alert or strip is reported on one line of stderr with exit code 1 (bad input data), as is a failure to write the PNG.
/// </summary>
public static class StripVerb
{
    /// <summary>Largest alert file read; the longest strip rendered (<see cref="StripRenderer.MaxDurationS"/> s of 12 leads) at 1 kHz is about 2.5 MB.</summary>
    public const long MaxAlertFileBytes = 16L * 1024 * 1024;

    /// <summary>strip's options.</summary>
    private sealed class Options
    {
        public Argument<string?> Alert { get; } = new("ALERT.json")
        { Description = "an alert as published on the alerts topic (or saved by ecgedge watch --save-dir)", Arity = ArgumentArity.ZeroOrOne };
        public Option<string> Out { get; } = VerbOptions.Out("the PNG written", "OUT.png");
        public Option<string?> Record { get; } = VerbOptions.Record("instead of an alert: a moment of this WFDB record, through the device's conditioning");
        public Option<double?> At { get; } = new("--at") { Description = "with --record: where the strip starts, seconds from the record's start", HelpName = "S" };
        public Option<double> Seconds { get; } = new("--seconds")
        { Description = $"with --record: the strip's length in seconds (at most {StripRenderer.MaxDurationS})", HelpName = "S", DefaultValueFactory = _ => 10 };
        public Option<string?> Leads { get; } = VerbOptions.Leads();
        public Option<int> MaxLeads { get; } = new("--max-leads")
        { Description = "with --record: at most this many of the acquired leads", HelpName = "N", DefaultValueFactory = _ => StripRenderer.MaxLeads };
        public Option<double> Mains { get; } = VerbOptions.RecordingMains();

        public Option[] All => [Out, Record, At, Seconds, Leads, MaxLeads, Mains];
    }

    /// <summary><c>ecgedge strip</c>'s command line.</summary>
    public static Command CreateCommand()
    {
        var o = new Options();
        var command = new Command("strip",
            "render an alert's ECG strip as an ECG printout PNG (25 mm/s, 10 mm/mV, grid, lead labels, onset marker): " +
            "ecgedge strip ALERT.json -o OUT.png; or any moment of a record, through the device's conditioning: " +
            "ecgedge strip --record R --at SECONDS -o OUT.png")
        {
            o.Alert,
        };
        foreach (var option in o.All) command.Options.Add(option);
        command.SetVerbAction(p => RunAsync(p, o));
        return command;
    }

    /// <summary>Runs strip with the command line <paramref name="args"/> (as <c>ecgedge strip ARGS</c>).</summary>
    public static Task<int> RunAsync(string[] args) => Cli.RunAsync(CreateCommand(), args);

    private static async Task<int> RunAsync(ParseResult p, Options o)
    {
        var input = p.GetValue(o.Alert);
        var output = p.GetValue(o.Out)!;
        if (p.GetValue(o.Record) is { } record)
        {
            if (input is not null) throw new UsageException("give an alert file or --record, not both");
            return await RecordStripAsync(p, o, record, output).ConfigureAwait(false);
        }
        if (input is null) throw new UsageException("the alert file is missing (or give --record R --at SECONDS)");

        byte[] png;
        try
        {
            var alert = LoadAlert(input);
            try { png = StripRenderer.RenderPng(alert); }
            catch (StripFormatException e) when (e.FilePath is null) { throw e.WithFile(input); }
            catch (Exception e) when (e is TypeInitializationException or DllNotFoundException)
            {
                // The device bundle (deploy/publish.sh, -p:EcgEdgeDevice=true) leaves SkiaSharp's native library out.
                await Console.Error.WriteLineAsync("ecgedge: strip: rendering needs SkiaSharp's native library, which the device bundle does not " +
                    "include; render strips on a workstation build (dotnet run --project src/EcgEdge -- strip ...)").ConfigureAwait(false);
                return 1;
            }
        }
        catch (StripFormatException e)
        {
            await Console.Error.WriteLineAsync("ecgedge: strip: " + e.Message.ReplaceLineEndings(" ")).ConfigureAwait(false);
            return 1; // bad input data (exit 1)
        }

        try
        {
            await File.WriteAllBytesAsync(output, png).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"ecgedge: strip: cannot write {output}: {e.Message.ReplaceLineEndings(" ")}").ConfigureAwait(false);
            return 1;
        }
        await Console.Out.WriteLineAsync($"ecgedge: strip: wrote {output} ({png.Length} bytes)").ConfigureAwait(false);
        return 0;
    }

    /// <summary>
    /// A strip of any moment of a record: <c>--at</c> seconds from its start, <c>--seconds</c> long (default 10), through
    /// the device's conditioning (<see cref="RecordStrip"/>); all acquired leads unless <c>--max-leads</c> says fewer.
    /// </summary>
    private static async Task<int> RecordStripAsync(ParseResult p, Options o, string record, string output)
    {
        var at = p.GetValue(o.At) ?? throw new UsageException("--record needs --at SECONDS");
        var seconds = p.GetValue(o.Seconds);
        if (at < 0) throw new UsageException("--at must be >= 0 seconds");
        if (!(seconds > 0 && seconds <= StripRenderer.MaxDurationS)) throw new UsageException($"--seconds must lie in (0, {StripRenderer.MaxDurationS}]");
        var maxLeads = p.GetValue(o.MaxLeads);
        if (maxLeads < 1) throw new UsageException("--max-leads must be >= 1");
        var path = AppConfiguration.ResolveRecord(record.EndsWith(".hea", StringComparison.OrdinalIgnoreCase) ? record[..^4] : record);
        var settings = AppConfiguration.BindPipeline(AppConfiguration.Build([.. AppConfiguration.RecordingOverrides([], p.GetValue(o.Mains))]));
        StripSignal signal;
        try
        {
            signal = await RecordStrip.ExtractAsync(path, p.GetValue(o.Leads), at, seconds, settings, maxLeads).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync("ecgedge: strip: " + e.Message).ConfigureAwait(false);
            return 1;
        }
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var header = string.Create(inv, $"Record {Path.GetFileName(path)}  ·  {EcgEdge.Reports.HolterReport.Clock(at)} to {EcgEdge.Reports.HolterReport.Clock(at + signal.DurationS)} from its start");
        var details = string.Create(inv, $"{signal.DurationS:0.0#} s at {signal.SampleRateHz:0.#} Hz, conditioned as on the device ({settings.Conditioning.MainsHz} Hz mains)");
        byte[] png;
        try
        {
            using var bitmap = StripRenderer.Render(signal, header, details);
            png = StripRenderer.EncodePng(bitmap);
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException)
        {
            await Console.Error.WriteLineAsync("ecgedge: strip: rendering needs SkiaSharp's native library, which the device bundle does not include").ConfigureAwait(false);
            return 1;
        }
        try
        {
            await File.WriteAllBytesAsync(output, png).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"ecgedge: strip: cannot write {output}: {e.Message.ReplaceLineEndings(" ")}").ConfigureAwait(false);
            return 1;
        }
        await Console.Out.WriteLineAsync($"ecgedge: strip: wrote {output} ({png.Length} bytes)").ConfigureAwait(false);
        return 0;
    }

    /// <summary>Reads an alert serialized with <see cref="MessageJsonContext"/> (UTF-8, with or without a byte-order mark).</summary>
    /// <exception cref="StripFormatException">The file does not exist, cannot be read, is too large, or is not an alert in JSON.</exception>
    public static Alert LoadAlert(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) throw new StripFormatException("no such file", path);
            if (info.Length > MaxAlertFileBytes)
                throw new StripFormatException($"the file has {info.Length} bytes; an alert has at most {MaxAlertFileBytes}", path);
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new StripFormatException("cannot read the file: " + e.Message, path, e);
        }

        ReadOnlySpan<byte> json = bytes;
        if (json.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) json = json[3..];
        Alert? alert;
        try
        {
            alert = JsonSerializer.Deserialize(json, MessageJsonContext.Default.Alert);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            throw new StripFormatException("not an alert in JSON: " + e.Message, path, e);
        }
        return alert ?? throw new StripFormatException("the file holds JSON null, not an alert", path);
    }
}
