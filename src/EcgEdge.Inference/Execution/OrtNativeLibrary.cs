using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace EcgEdge.Inference.Execution;

/// <summary>
/// Where the ONNX Runtime native library comes from. By default the runtime's normal search (beside the executable,
/// then the system); with <c>Inference:NativeLibraryPath</c> exactly that file — e.g. the JetPack-matched CUDA/TensorRT
/// build on a Jetson (deploy/README.md). Must be configured before the first ONNX Runtime call; the first configuration
/// wins for the process.
/// </summary>
public static class OrtNativeLibrary
{
    private static readonly Lock Gate = new();
    private static string? _configured;
    private static bool _resolverSet;

    /// <summary>The configured library file, or null for the default search.</summary>
    public static string? ConfiguredPath { get { lock (Gate) return _configured; } }

    /// <summary>
    /// Uses <paramref name="path"/> for ONNX Runtime's native library (empty: default search). A missing file is an
    /// <see cref="ExecutionProviderUnavailableException"/> naming it; a file that cannot be loaded fails the same way at
    /// first use (ModelLoader).
    /// </summary>
    public static void Configure(string? path)
    {
        if (string.IsNullOrWhiteSpace(path)) return;
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new ExecutionProviderUnavailableException($"Inference:NativeLibraryPath '{full}' does not exist (the device's libonnxruntime.so; deploy/README.md)");
        lock (Gate)
        {
            if (_resolverSet) return;
            _configured = full;
            _resolverSet = true;
            NativeLibrary.SetDllImportResolver(typeof(OrtEnv).Assembly, Resolve);
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? search)
    {
        if (name is not ("onnxruntime" or "libonnxruntime" or "libonnxruntime.so")) return IntPtr.Zero;
        return NativeLibrary.Load(_configured!);
    }
}
