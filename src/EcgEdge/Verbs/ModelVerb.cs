using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using EcgEdge.Inference.Execution;
using EcgEdge.Inference.Model;
using Microsoft.Extensions.Options;

namespace EcgEdge.Verbs;

/// <summary>
/// <c>ecgedge model info|keygen|sign|verify</c>: the manifest, the providers of this ONNX Runtime build, the provider chosen,
/// a timing of one window; and the manifest signing tools (docs/model-signing.md).
/// </summary>
public static class ModelVerb
{
    /// <summary><c>ecgedge model</c>'s command line: info, keygen, sign, verify.</summary>
    /// <param name="output">Where the commands print (standard output by default).</param>
    public static Command CreateCommand(TextWriter? output = null)
    {
        var command = new Command("model",
            "the model: its manifest, signature and timing (info), and manifest signing (keygen, sign, verify; docs/model-signing.md)")
        {
            InfoCommand(output),
        };
        foreach (var c in ModelSigningVerbs.CreateCommands(output)) command.Subcommands.Add(c);
        return command;
    }

    /// <summary>Runs model with the command line <paramref name="args"/> (as <c>ecgedge model ARGS</c>).</summary>
    public static Task<int> RunAsync(string[] args) => RunAsync(args, Console.Out);

    /// <summary>Runs model with the command line <paramref name="args"/>, printing to <paramref name="output"/>.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter output) => Cli.RunAsync(CreateCommand(output), args, output);

    private static Command InfoCommand(TextWriter? output)
    {
        var path = new Argument<string?>("PATH") { Description = "a model manifest or ONNX file (default: Inference:Model)", Arity = ArgumentArity.ZeroOrOne };
        var variant = VerbOptions.Variant();
        var provider = VerbOptions.Provider();
        var runs = VerbOptions.Runs(50, "timed runs of one window");
        var command = new Command("info",
            "the model manifest, its signature and label, ONNX Runtime providers, the provider chosen, a timing of one window. " +
            "Any --Section:Key=value sets a configuration key.")
        {
            path, variant, provider, runs,
        };
        command.SetConfigurableAction((p, configuration) =>
            InfoAsync(p.GetValue(path), p.GetValue(variant), p.GetValue(provider), p.GetValue(runs), configuration, output ?? Console.Out));
        return command;
    }

    private static Task<int> InfoAsync(string? path, string? variant, string? provider, int runs, string[] configArgs, TextWriter w)
    {
        var overrides = new List<string>(configArgs);
        if (path is not null) overrides.Add($"--Inference:Model={path}");
        if (variant is not null) overrides.Add($"--Inference:Variant={variant}");
        if (provider is not null) overrides.Add($"--Inference:Provider={provider}");
        InferenceOptions options;
        try { options = AppConfiguration.BindInference(AppConfiguration.Build([.. overrides])); }
        catch (OptionsValidationException e) { throw new UsageException("invalid configuration: " + string.Join("; ", e.Failures)); }
        if (runs < 1) throw new UsageException("--runs must be >= 1");

        var inv = CultureInfo.InvariantCulture;
        using var model = ModelLoader.Load(options.Model, options);
        var providers = new ExecutionProviderSelector().Available;
        var m = model.Manifest;
        w.WriteLine($"model        {m.Name} {m.Version}");
        w.WriteLine($"label        {model.VersionLabel}");
        w.WriteLine($"signature    {model.Signature}");
        w.WriteLine($"manifest     sha256 {model.ManifestSha256}");
        w.WriteLine($"file         {model.ModelPath} ({new FileInfo(model.ModelPath).Length} bytes)");
        w.WriteLine($"sha256       {model.Sha256} (verified against the manifest)");
        foreach (var t in m.Inputs) w.WriteLine($"input        {t.Name} [{string.Join(", ", t.Shape.Select(d => d.ToString()))}] {t.Dtype}");
        foreach (var t in m.Outputs) w.WriteLine($"output       {t.Name} [{string.Join(", ", t.Shape.Select(d => d.ToString()))}] classes {string.Join(",", t.Classes ?? [])}");
        w.WriteLine(string.Create(inv, $"signal       {m.SampleRateHz} Hz, channels {string.Join(",", m.ChannelOrder)}, window {m.WindowSamples} ({m.WindowSamples / m.SampleRateHz:F1} s), hop {m.HopSamples} ({m.HopSamples / m.SampleRateHz:F1} s), token stride {m.TokenStride}"));
        w.WriteLine(m.BeatFeatureHead is { } head
            ? string.Create(inv, $"beat output  fused scores: network and a {head.Hidden}-wide MLP on each beat's RR and shape numbers, weight {head.Weight:G3}")
            : m.Inputs.Count == 3 ? "beat output  network logits (RR" + (m.RrFeatures?.Shape is null ? "" : " and shape") + " features as input)" : "beat output  network logits");
        if (m.SGate is not null) w.WriteLine("S gate       no S calls in windows whose RR statistics say AF (rhythm output unchanged)");
        w.WriteLine($"size         {m.Params} parameters, {m.MacsPerWindow / 1e6:F2} M MACs per window");
        w.WriteLine($"providers    {string.Join(", ", providers)} (this ONNX Runtime build)");
        w.WriteLine($"native lib   {OrtNativeLibrary.ConfiguredPath ?? "default search (beside the executable)"}");
        w.WriteLine($"chosen       {model.Selection}");
        w.WriteLine($"self-check   {model.SelfCheck?.ToString() ?? "no reference windows shipped with this model"}");
        // Timing of one window on a real-looking input (a 1 mV, 1.2 Hz pulse train on the present leads).
        for (var c = 0; c < 8; c++)
            for (var t = 0; t < m.WindowSamples; t++)
                model.Signal[c * m.WindowSamples + t] = (t % 208) < 10 ? 1f : 0f;
        model.LeadMask.Fill(1f);
        var sw = Stopwatch.StartNew();
        model.Run();
        var first = sw.Elapsed.TotalMilliseconds;
        model.Latency.Reset();
        for (var i = 0; i < runs; i++) model.Run();
        w.WriteLine(string.Create(inv, $"timing       first run {first:F2} ms; then {model.Latency} ({options.IntraOpThreads} intra-op thread(s))"));
        w.WriteLine(string.Create(inv, $"real time    one window per {m.HopSamples / m.SampleRateHz:F1} s: {m.HopSamples / m.SampleRateHz / model.Latency.MeanSeconds:F0}x faster than needed"));
        return Task.FromResult(0);
    }
}
