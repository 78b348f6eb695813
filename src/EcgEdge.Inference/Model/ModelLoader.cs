using System.Globalization;
using System.Security.Cryptography;
using EcgEdge.Core.Signals;
using EcgEdge.Inference.Execution;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;

namespace EcgEdge.Inference.Model;

/// <summary>
/// Opens a model for the device, refusing anything that does not fit: the manifest must carry a valid signature by a key
/// of <c>Inference:TrustedKeys</c> (checked over the bytes read, before they are parsed; docs/model-signing.md), it must
/// describe what the device
/// delivers (channel order I, II, V1..V6, a model rate dividing the pipeline rate, AAMI beat classes, known rhythm
/// classes, window/hop/token geometry), the model file must have the manifest's size and sha256 (read once; the
/// session is built from the very bytes that were hashed), and the ONNX graph's inputs and outputs must have the
/// manifest's names, element types and shapes. Every refusal is a <see cref="ModelLoadException"/> naming the problem.
/// </summary>
public static partial class ModelLoader
{
    /// <summary>Loads <paramref name="path"/> (a manifest, or an .onnx file with a manifest beside it).</summary>
    public static EcgNatModel Load(string path, InferenceOptions options, ILogger? logger = null, ExecutionProviderSelector? selector = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        logger ??= NullLogger.Instance;
        OrtNativeLibrary.Configure(options.NativeLibraryPath);
        var manifestPath = ManifestPathFor(path, out var onnxName);
        // One read: the signature is verified over these bytes and these same bytes are parsed (no window in which the
        // file could be swapped between the check and the use).
        var manifestBytes = ReadManifestBytes(manifestPath);
        var signature = Authenticate(manifestPath, manifestBytes, options, logger);
        var manifest = ModelManifest.Parse(manifestBytes, manifestPath);
        var entry = EntryFor(manifest, manifestPath, options.Variant, onnxName);
        ValidateManifest(manifest, manifestPath);
        var dir = Path.GetDirectoryName(Path.GetFullPath(manifestPath)) ?? ".";
        var modelPath = Path.GetFullPath(Path.Combine(dir, entry.Path));
        var bytes = ReadVerified(modelPath, entry);

        SessionOptions sessionOptions;
        try
        {
            // Patient data never leaves the device through the runtime: ONNX Runtime's usage telemetry is switched off.
            OrtEnv.Instance().DisableTelemetryEvents();
            sessionOptions = new SessionOptions();
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException)
        {
            throw NativeMissing(e);
        }
        InferenceSession session;
        ExecutionSelection selection;
        try
        {
            selection = (selector ?? new ExecutionProviderSelector()).Configure(sessionOptions, options);
            try
            {
                session = new InferenceSession(bytes, sessionOptions);
            }
            catch (OnnxRuntimeException e)
            {
                throw new ModelLoadException(ModelLoadFailure.ModelInvalid, $"ONNX Runtime cannot load '{modelPath}': {e.Message}", e);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException)
        {
            sessionOptions.Dispose();
            throw NativeMissing(e);
        }
        catch
        {
            sessionOptions.Dispose();
            throw;
        }
        EcgNatModel? model = null;
        try
        {
            var contract = ValidateGraph(session, manifest, modelPath);
            model = new EcgNatModel(manifest, modelPath, entry.Sha256, Convert.ToHexStringLower(SHA256.HashData(manifestBytes)), signature,
                session, sessionOptions, selection, contract);
            if (options.SelfCheck)
            {
                var isInt8 = string.Equals(entry.Path, manifest.Files.GetValueOrDefault("int8")?.Path, StringComparison.Ordinal);
                var check = ModelSelfCheck.Run(model, manifestPath, isInt8);
                if (check is { Passed: false })
                    throw new ModelLoadException(ModelLoadFailure.SelfCheckFailed, $"model '{modelPath}' failed its self-check: {check}");
                model.SelfCheck = check;
            }
            LogLoaded(logger, model.VersionLabel, selection.ToString(), signature.ToString());
            return model;
        }
        catch
        {
            if (model is not null) model.Dispose();
            else
            {
                session.Dispose();
                sessionOptions.Dispose();
            }
            throw;
        }
    }

    private static ExecutionProviderUnavailableException NativeMissing(Exception e) => new(
        $"the ONNX Runtime native library could not be loaded ({e.GetBaseException().Message}); with the managed-only build " +
        "(-p:EcgEdgeOnnxRuntime=Managed), install the device's libonnxruntime.so beside the executable or on LD_LIBRARY_PATH (deploy/README.md)", e);

    /// <summary>Finds the manifest and the file entry to run (no signature check: for tools that only inspect a manifest).</summary>
    public static (string ManifestPath, ModelManifest Manifest, ModelFileEntry Entry) Resolve(string path, ModelVariant variant)
    {
        var manifestPath = ManifestPathFor(path, out var onnxName);
        var manifest = ModelManifest.Read(manifestPath);
        return (manifestPath, manifest, EntryFor(manifest, manifestPath, variant, onnxName));
    }

    /// <summary>The manifest itself, or for an .onnx path the <c>*.manifest.json</c> beside it that lists the file.</summary>
    public static string ManifestPathFor(string path) => ManifestPathFor(path, out _);

    /// <summary>As <see cref="ManifestPathFor(string)"/>; <paramref name="onnxName"/> is the .onnx file name given (null for a manifest path).</summary>
    private static string ManifestPathFor(string path, out string? onnxName)
    {
        onnxName = null;
        if (!path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)) return path;
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full) ?? ".";
        var name = onnxName = Path.GetFileName(full);
        if (!Directory.Exists(dir))
            throw new ModelLoadException(ModelLoadFailure.ModelMissing, $"model '{path}' not found");
        // The candidates are parsed before any signature is checked, only to find the one naming the file; the manifest
        // found is then read again, verified and parsed by Load like any other.
        foreach (var m in Directory.EnumerateFiles(dir, "*.manifest.json").Order(StringComparer.Ordinal))
        {
            var manifest = ModelManifest.Read(m);
            foreach (var e in manifest.Files.Values)
                if (string.Equals(Path.GetFileName(e.Path), name, StringComparison.Ordinal)) return m;
        }
        throw new ModelLoadException(ModelLoadFailure.ManifestMissing,
            $"no *.manifest.json beside '{path}' lists it: a model is only run with its manifest (contract and sha256)");
    }

    /// <summary>The entry of the file named by an .onnx path (<paramref name="onnxName"/>), else the variant's.</summary>
    private static ModelFileEntry EntryFor(ModelManifest manifest, string manifestPath, ModelVariant variant, string? onnxName)
    {
        if (onnxName is not null)
        {
            foreach (var e in manifest.Files.Values)
                if (string.Equals(Path.GetFileName(e.Path), onnxName, StringComparison.Ordinal)) return e;
            // the verified manifest is not the one that listed the file when it was found (replaced in between)
            throw new ModelLoadException(ModelLoadFailure.ManifestMissing, $"model manifest '{manifestPath}' does not list '{onnxName}'");
        }
        var key = variant == ModelVariant.Int8 ? "int8" : "fp32";
        if (!manifest.Files.TryGetValue(key, out var entry) || string.IsNullOrEmpty(entry.Path))
            throw new ModelLoadException(ModelLoadFailure.ManifestInvalid, $"model manifest '{manifestPath}' has no '{key}' file entry");
        return entry;
    }

    private static byte[] ReadManifestBytes(string manifestPath)
    {
        try { return File.ReadAllBytes(manifestPath); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException(ModelLoadFailure.ManifestMissing, $"cannot read model manifest '{manifestPath}': {e.Message}", e);
        }
    }

    /// <summary>
    /// Checks the manifest's signature against the trusted keys. With <c>Inference:RequireSignedModel=false</c> a missing or
    /// failed signature is logged as an error and the model is loaded anyway (its label then says so).
    /// </summary>
    private static SignatureStatus Authenticate(string manifestPath, byte[] manifestBytes, InferenceOptions options, ILogger logger)
    {
        try
        {
            var status = ManifestSignature.Verify(manifestPath, manifestBytes, ModelTrust.Load(options.TrustedKeys));
            if (status.IsPublishedTestKey) LogTestKey(logger, manifestPath, status.KeyId!);
            return status;
        }
        catch (ModelLoadException e) when (!options.RequireSignedModel && e.Failure is ModelLoadFailure.SignatureMissing
            or ModelLoadFailure.SignatureInvalid or ModelLoadFailure.SignatureUntrusted or ModelLoadFailure.TrustedKeysInvalid)
        {
            LogUnverified(logger, manifestPath, e.Message);
            return new SignatureStatus(false, null, false, e.Failure.ToString());
        }
    }

    /// <summary>
    /// Checks that every file the manifest lists has its size and sha256 (for <c>ecgedge model sign</c> and
    /// <c>verify</c>: a signer vouches for the files, so it only signs a manifest that describes them).
    /// </summary>
    public static void VerifyFiles(string manifestPath, ModelManifest manifest)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(manifestPath)) ?? ".";
        if (manifest.Files.Count == 0)
            throw new ModelLoadException(ModelLoadFailure.ManifestInvalid, $"model manifest '{manifestPath}' lists no files");
        foreach (var entry in manifest.Files.Values)
        {
            if (string.IsNullOrEmpty(entry.Path))
                throw new ModelLoadException(ModelLoadFailure.ManifestInvalid, $"model manifest '{manifestPath}' has a file entry without a path");
            ReadVerified(Path.GetFullPath(Path.Combine(dir, entry.Path)), entry);
        }
    }

    private static byte[] ReadVerified(string modelPath, ModelFileEntry entry)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(modelPath); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException(ModelLoadFailure.ModelMissing, $"cannot read model '{modelPath}': {e.Message}", e);
        }
        if (entry.Bytes > 0 && bytes.Length != entry.Bytes)
            throw new ModelLoadException(ModelLoadFailure.SizeMismatch,
                $"model '{modelPath}' has {bytes.Length} bytes, its manifest says {entry.Bytes} (truncated or replaced)");
        if (string.IsNullOrEmpty(entry.Sha256))
            throw new ModelLoadException(ModelLoadFailure.ManifestInvalid, $"the manifest gives no sha256 for '{entry.Path}'");
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (!string.Equals(hash, entry.Sha256, StringComparison.OrdinalIgnoreCase))
            throw new ModelLoadException(ModelLoadFailure.HashMismatch,
                $"model '{modelPath}' has sha256 {hash}, its manifest says {entry.Sha256} (tampered, corrupted or a different model)");
        return bytes;
    }

    /// <summary>Checks the manifest's own consistency and that it fits the device.</summary>
    public static void ValidateManifest(ModelManifest m, string manifestPath)
    {
        var problems = new List<string>();
        var expectedLeads = Enumerable.Range(0, Leads.Count).Select(Leads.Name).ToArray();
        if (!m.ChannelOrder.SequenceEqual(expectedLeads, StringComparer.Ordinal))
            problems.Add($"channel_order [{string.Join(",", m.ChannelOrder)}] is not the device's [{string.Join(",", expectedLeads)}]");
        if (!(m.SampleRateHz > 0)) problems.Add("sample_rate_hz must be positive");
        if (m.WindowSamples < 1) problems.Add("window_samples must be positive");
        if (m.HopSamples < 1 || m.HopSamples > m.WindowSamples) problems.Add($"hop_samples {m.HopSamples} must be in 1..window_samples");
        if (m.TokenStride < 1 || m.FineTokens < 1 || (long)m.TokenStride * m.FineTokens > m.WindowSamples + m.TokenStride)
            problems.Add($"token_stride {m.TokenStride} × fine_tokens {m.FineTokens} does not fit window_samples {m.WindowSamples}");
        if (m.BeatClasses.Count == 0 || m.BeatClasses.Any(c => !ClassNames.TryParseBeat(c, out _)) || m.BeatClasses.Distinct().Count() != m.BeatClasses.Count)
            problems.Add($"beat_classes [{string.Join(",", m.BeatClasses)}] must be distinct AAMI classes (N, S, V, F, Q)");
        if (m.RhythmClasses.Any(c => !ClassNames.TryParseRhythm(c, out _)) || m.RhythmClasses.Distinct().Count() != m.RhythmClasses.Count
            || !m.RhythmClasses.Contains("sinus_other") || !m.RhythmClasses.Contains("af_afl"))
            problems.Add($"rhythm_classes [{string.Join(",", m.RhythmClasses)}] must be distinct known classes including sinus_other and af_afl");
        if (m.Inputs.Count is not (2 or 3))
            problems.Add($"expected 2 inputs (signal, lead mask) or 3 (and beat RR features), the manifest lists {m.Inputs.Count}");
        else
        {
            var x = m.Inputs[0].Dimensions();
            var mask = m.Inputs[1].Dimensions();
            if (x.Length != 3 || x[1] != Leads.Count || x[2] != m.WindowSamples)
                problems.Add($"input '{m.Inputs[0].Name}' must be [batch, {Leads.Count}, {m.WindowSamples}]");
            if (mask.Length != 2 || mask[1] != Leads.Count) problems.Add($"input '{m.Inputs[1].Name}' must be [batch, {Leads.Count}]");
            if (m.Inputs.Count == 3)
            {
                var rr = m.Inputs[2].Dimensions();
                string? why = null;
                var settings = m.RrFeatures?.ToSettings(out why, m.ChannelOrder);
                var channels = settings?.Channels ?? RrFeatureSettings.RrChannels;
                if (rr.Length != 3 || rr[1] != m.FineTokens || rr[2] != channels)
                    problems.Add($"input '{m.Inputs[2].Name}' must be [batch, {m.FineTokens}, {channels}]"
                        + (settings?.Shape is null ? " (RR features only: rr_features has no shape entry)" : " (RR and shape features)"));
                if (m.RrFeatures is null) problems.Add($"input '{m.Inputs[2].Name}' needs an rr_features entry (how the features are computed)");
                else if (settings is null) problems.Add(why!);
            }
        }
        if (m.BeatFeatureHead is { } head)
        {
            // the head reads the shape channels: a model with one but without them would be fed zeros there
            if (m.Inputs.Count != 3 || m.RrFeatures?.Shape is null)
                problems.Add("beat_feature_head needs the RR and shape beat input (rr_features with a shape entry)");
            if (head.Hidden < 1 || !(head.Weight > 0 && head.Weight <= 1))
                problems.Add(string.Create(CultureInfo.InvariantCulture,
                    $"beat_feature_head needs hidden >= 1 and 0 < weight <= 1, the manifest gives hidden {head.Hidden}, weight {head.Weight}"));
        }
        if (m.RhythmFusion is { } fusion)
        {
            fusion.ToFusion(out var why);
            if (why is not null) problems.Add(why);
        }
        if (m.BeatFusion is { } beatFusion)
        {
            beatFusion.ToFusion(out var why);
            if (why is not null) problems.Add(why);
        }
        if (m.Outputs.Count != 2) problems.Add($"expected 2 outputs (beat, rhythm logits), the manifest lists {m.Outputs.Count}");
        else
        {
            var b = m.Outputs[0].Dimensions();
            var r = m.Outputs[1].Dimensions();
            if (b.Length != 3 || b[1] != m.FineTokens || b[2] != m.BeatClasses.Count)
                problems.Add($"output '{m.Outputs[0].Name}' must be [batch, {m.FineTokens}, {m.BeatClasses.Count}]");
            if (r.Length != 2 || r[1] != m.RhythmClasses.Count) problems.Add($"output '{m.Outputs[1].Name}' must be [batch, {m.RhythmClasses.Count}]");
            if (m.Outputs[0].Classes is { } bc && !bc.SequenceEqual(m.BeatClasses)) problems.Add("beat output classes differ from beat_classes");
            if (m.Outputs[1].Classes is { } rc && !rc.SequenceEqual(m.RhythmClasses)) problems.Add("rhythm output classes differ from rhythm_classes");
        }
        if (problems.Count > 0)
            throw new ModelLoadException(ModelLoadFailure.ContractMismatch, $"model manifest '{manifestPath}': {string.Join("; ", problems)}");
    }

    private static ModelContract ValidateGraph(InferenceSession session, ModelManifest m, string modelPath)
    {
        var problems = new List<string>();
        Check(session.InputMetadata, m.Inputs, "input", problems);
        Check(session.OutputMetadata, m.Outputs, "output", problems);
        if (problems.Count > 0)
            throw new ModelLoadException(ModelLoadFailure.ContractMismatch, $"model '{modelPath}' does not match its manifest: {string.Join("; ", problems)}");
        var beat = m.BeatClasses.Select(c => { ClassNames.TryParseBeat(c, out var k); return k; }).ToArray();
        var rhythm = m.RhythmClasses.Select(c => { ClassNames.TryParseRhythm(c, out var k); return k; }).ToArray();
        var rr = m.Inputs.Count == 3 ? m.RrFeatures!.ToSettings(out _, m.ChannelOrder) : null;
        return new ModelContract(m.Inputs[0].Name, m.Inputs[1].Name, m.Outputs[0].Name, m.Outputs[1].Name,
            m.WindowSamples, m.HopSamples, m.SampleRateHz, m.TokenStride, m.FineTokens, beat, rhythm,
            rr is null ? null : m.Inputs[2].Name, rr, m.RhythmFusion?.ToFusion(out _), m.BeatFusion?.ToFusion(out _));
    }

    private static void Check(IReadOnlyDictionary<string, NodeMetadata> graph, List<TensorSpec> specs, string kind, List<string> problems)
    {
        var names = specs.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        if (!graph.Keys.ToHashSet(StringComparer.Ordinal).SetEquals(names))
        {
            problems.Add($"{kind}s are [{string.Join(",", graph.Keys)}], the manifest says [{string.Join(",", names)}]");
            return;
        }
        foreach (var s in specs)
        {
            var meta = graph[s.Name];
            if (meta.ElementType != typeof(float)) problems.Add($"{kind} '{s.Name}' is {meta.ElementType.Name}, expected float32");
            var want = s.Dimensions();
            var have = meta.Dimensions;
            var ok = have.Length == want.Length;
            for (var i = 0; ok && i < want.Length; i++)
                ok = want[i] < 0 ? have[i] < 0 || have[i] == 1 : have[i] == want[i];
            if (!ok) problems.Add($"{kind} '{s.Name}' has shape [{string.Join(",", have)}], the manifest says [{string.Join(",", want)}]");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Label} on {Selection}; signature {Signature}")]
    private static partial void LogLoaded(ILogger logger, string label, string selection, string signature);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model manifest {Path} is signed with the published TEST key {KeyId} " +
        "(models/keys/README.md): for tests and the demo only; a production device trusts only its own key (Inference:TrustedKeys)")]
    private static partial void LogTestKey(ILogger logger, string path, string keyId);

    [LoggerMessage(Level = LogLevel.Error, Message = "MODEL SIGNATURE NOT VERIFIED, loading anyway because Inference:RequireSignedModel " +
        "is false: {Reason} ({Path}). Anyone able to write the model folder can change what this device detects.")]
    private static partial void LogUnverified(ILogger logger, string path, string reason);
}

/// <summary>What the runtime needs of a validated manifest. <see cref="RrInput"/> and <see cref="Rr"/> are null for a
/// model without the RR-interval input.</summary>
public sealed record ModelContract(
    string SignalInput, string MaskInput, string BeatOutput, string RhythmOutput,
    int WindowSamples, int HopSamples, double SampleRateHz, int TokenStride, int FineTokens,
    BeatClass[] BeatClasses, RhythmClass[] RhythmClasses, string? RrInput = null, RrFeatureSettings? Rr = null,
    Rhythm.RhythmFusion? Fusion = null, Rhythm.BeatFusion? BeatFusion = null);
