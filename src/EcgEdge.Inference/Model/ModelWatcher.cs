using System.Security.Cryptography;
using EcgEdge.Inference.Execution;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EcgEdge.Inference.Model;

/// <summary>
/// Field model updates without a restart: polls the manifest and the model file it names; when either changed (and
/// stayed unchanged for one more poll, so a copy in progress is not read half-way), loads the new model with every
/// check of <see cref="ModelLoader"/> (signature, manifest, sha256, graph contract, self-check on its reference windows) on this
/// background thread and hands it to the inference stage, which switches at the next window. A refused model is logged
/// and the running one keeps going; the same files are not retried until they change again.
/// </summary>
public sealed partial class ModelWatcher(string manifestPath, InferenceOptions options, InferenceStage stage, TimeSpan interval,
    TimeProvider? time = null, ILogger? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Models swapped in.</summary>
    public int Swaps { get; private set; }

    /// <summary>Models refused.</summary>
    public int Refusals { get; private set; }

    /// <summary>The reason of the last refusal.</summary>
    public string? LastRefusal { get; private set; }

    /// <summary>Raised after a new model was handed to the stage (argument: its version label).</summary>
    public event Action<EcgNatModel>? Accepted;

    public async Task RunAsync(CancellationToken ct)
    {
        var current = Stamp();
        string? candidate = null;
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                var now = Stamp();
                if (now == current) { candidate = null; continue; }
                if (now != candidate) { candidate = now; continue; } // changed: wait until it is stable for one poll
                current = now;
                candidate = null;
                TryLoad();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private void TryLoad()
    {
        try
        {
            var model = ModelLoader.Load(manifestPath, options, _logger);
            try { stage.RequestModelSwap(model); }
            catch { model.Dispose(); throw; }
            Swaps++;
            LogAccepted(model.VersionLabel, model.SelfCheck?.ToString() ?? "no self-check");
            Accepted?.Invoke(model);
        }
        catch (Exception e) when (e is ModelLoadException or ExecutionProviderUnavailableException)
        {
            Refusals++;
            LastRefusal = e.Message;
            LogRefused(e.Message, stage.Model.VersionLabel);
        }
    }

    /// <summary>Hash of the manifest and of its signature file, plus size and time of every model file beside it.</summary>
    private string Stamp()
    {
        try
        {
            var bytes = File.ReadAllBytes(manifestPath);
            var dir = Path.GetDirectoryName(Path.GetFullPath(manifestPath)) ?? ".";
            var stamp = Convert.ToHexString(SHA256.HashData(bytes));
            // A new signature alone (the same manifest re-signed, or a signature arriving after its manifest) is a change to
            // try again: a model refused for its signature is retried once the right signature is in place.
            var sig = ManifestSignature.PathFor(manifestPath);
            stamp += File.Exists(sig) ? "|sig:" + Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(sig))) : "|unsigned";
            foreach (var path in Directory.EnumerateFiles(dir, "*.onnx").Order(StringComparer.Ordinal))
            {
                var f = new FileInfo(path);
                stamp += $"|{f.Name}:{f.Length}:{f.LastWriteTimeUtc.Ticks}";
            }
            return stamp;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "unreadable:" + e.Message;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "New model accepted: {Version} ({SelfCheck}); it takes over at the next window")]
    private partial void LogAccepted(string version, string selfCheck);

    [LoggerMessage(Level = LogLevel.Error, Message = "New model refused: {Reason}; {Running} keeps running")]
    private partial void LogRefused(string reason, string running);
}
