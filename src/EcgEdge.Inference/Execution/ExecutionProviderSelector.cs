using Microsoft.ML.OnnxRuntime;

namespace EcgEdge.Inference.Execution;

/// <summary>What <see cref="ExecutionProviderSelector"/> decided, and why.</summary>
/// <param name="Provider">The provider that runs the model.</param>
/// <param name="Reasons">One line per provider considered (chosen, unavailable, failed to initialise).</param>
public sealed record ExecutionSelection(ExecutionProviderKind Provider, IReadOnlyList<string> Reasons)
{
    public override string ToString() => $"{Provider} ({string.Join("; ", Reasons)})";
}

/// <summary>
/// Configures <see cref="SessionOptions"/> for the requested provider. ONNX Runtime names the providers compiled into
/// the loaded native library (<c>OrtEnv.GetAvailableProviders</c>); a GPU provider is tried only when listed, and
/// appending it can still fail (no device, driver or library mismatch) — in <see cref="ExecutionProviderKind.Auto"/>
/// that falls through to the next candidate, in a strict mode it is an <see cref="ExecutionProviderUnavailableException"/>.
/// The CPU provider is implicit and always last.
/// </summary>
public sealed class ExecutionProviderSelector
{
    public const string TensorRtName = "TensorrtExecutionProvider";
    public const string CudaName = "CUDAExecutionProvider";
    public const string CpuName = "CPUExecutionProvider";

    private readonly Func<IReadOnlyCollection<string>> _available;

    /// <param name="available">The providers of the loaded ONNX Runtime build (default: ask ONNX Runtime).</param>
    public ExecutionProviderSelector(Func<IReadOnlyCollection<string>>? available = null)
    {
        _available = available ?? (() => OrtEnv.Instance().GetAvailableProviders());
    }

    /// <summary>The providers of the loaded ONNX Runtime build.</summary>
    public IReadOnlyCollection<string> Available => _available();

    /// <summary>Appends the chosen provider to <paramref name="session"/>; throws <see cref="ExecutionProviderUnavailableException"/> in strict modes.</summary>
    public ExecutionSelection Configure(SessionOptions session, InferenceOptions options)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(options);
        session.IntraOpNumThreads = options.IntraOpThreads;
        session.InterOpNumThreads = 1;
        session.ExecutionMode = ExecutionMode.ORT_SEQUENTIAL;
        session.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL;
        if (!string.IsNullOrEmpty(options.ProfilePrefix))
        {
            session.EnableProfiling = true;
            session.ProfileOutputPathPrefix = options.ProfilePrefix;
        }
        var available = _available();
        var reasons = new List<string>();
        var candidates = options.Provider switch
        {
            ExecutionProviderKind.Auto => new[] { ExecutionProviderKind.TensorRt, ExecutionProviderKind.Cuda, ExecutionProviderKind.Cpu },
            var p => [p],
        };
        var strict = options.Provider != ExecutionProviderKind.Auto;
        foreach (var kind in candidates)
        {
            if (kind == ExecutionProviderKind.Cpu)
            {
                reasons.Add("CPU: chosen");
                return new ExecutionSelection(kind, reasons);
            }
            var name = kind == ExecutionProviderKind.TensorRt ? TensorRtName : CudaName;
            if (!available.Contains(name))
            {
                var why = $"{kind}: not in this ONNX Runtime build (available: {string.Join(", ", available)})";
                if (strict) throw new ExecutionProviderUnavailableException($"Inference:Provider={kind} requested but {why}. " +
                    "On a Jetson, install the device's CUDA/TensorRT build of ONNX Runtime (deploy/README.md).");
                reasons.Add(why);
                continue;
            }
            try
            {
                Append(session, kind, options);
                reasons.Add($"{kind}: chosen (device {options.DeviceId})");
                return new ExecutionSelection(kind, reasons);
            }
            catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                var why = $"{kind}: failed to initialise: {e.Message}";
                if (strict) throw new ExecutionProviderUnavailableException($"Inference:Provider={kind} requested but {why}", e);
                reasons.Add(why);
            }
        }
        throw new InvalidOperationException("unreachable: the CPU provider is always a candidate");
    }

    private static void Append(SessionOptions session, ExecutionProviderKind kind, InferenceOptions options)
    {
        if (kind == ExecutionProviderKind.Cuda)
        {
            session.AppendExecutionProvider_CUDA(options.DeviceId);
            return;
        }
        using var trt = new OrtTensorRTProviderOptions();
        var settings = new Dictionary<string, string>
        {
            ["device_id"] = options.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["trt_fp16_enable"] = options.TensorRtFp16 ? "1" : "0",
            ["trt_int8_enable"] = options.TensorRtInt8 ? "1" : "0",
        };
        if (!string.IsNullOrEmpty(options.EngineCacheDirectory))
        {
            Directory.CreateDirectory(options.EngineCacheDirectory);
            settings["trt_engine_cache_enable"] = "1";
            settings["trt_engine_cache_path"] = options.EngineCacheDirectory;
        }
        trt.UpdateOptions(settings);
        session.AppendExecutionProvider_Tensorrt(trt);
        // TensorRT hands the nodes it cannot build to CUDA, then to the CPU.
        session.AppendExecutionProvider_CUDA(options.DeviceId);
    }
}
