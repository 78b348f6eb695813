using System.Runtime.InteropServices;

namespace EcgEdge.Tests.Inference;

/// <summary>
/// Inference:NativeLibraryPath (the Jetson's own ONNX Runtime build): honoured when the file is there, a clear refusal
/// (exit 2) when it is missing or not a library. Runs `ecgedge model info` in a child process, because this test process
/// has loaded ONNX Runtime already and the resolver must be set before the first call.
/// </summary>
public class NativeLibraryPathTests
{
    private static (int Code, string Out) Run(params string[] args) =>
        EcgEdgeProcess.RunAsync(TimeSpan.FromMinutes(3), args).GetAwaiter().GetResult();

    [SkippableFact]
    public void The_configured_library_is_loaded_and_a_missing_or_bad_one_is_refused_clearly()
    {
        var rid = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";
        var shipped = Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native");
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists(Path.Combine(shipped, "libonnxruntime.so")), "needs the Linux ONNX Runtime library");
        var dir = Path.Combine(Path.GetTempPath(), "ecgedge-ort-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            foreach (var f in Directory.GetFiles(shipped, "libonnxruntime*.so")) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            var lib = Path.Combine(dir, "libonnxruntime.so");
            var ok = Run("model", "info", "--runs", "1", $"--Inference:NativeLibraryPath={lib}");
            Assert.True(ok.Code == 0, ok.Out);
            Assert.Contains($"native lib   {lib}", ok.Out);

            var missing = Run("model", "info", $"--Inference:NativeLibraryPath={Path.Combine(dir, "nope.so")}");
            Assert.Equal(2, missing.Code);
            Assert.Contains("does not exist", missing.Out);

            var bad = Path.Combine(dir, "bad.so");
            File.WriteAllText(bad, "not a library");
            var broken = Run("model", "info", $"--Inference:NativeLibraryPath={bad}");
            Assert.Equal(2, broken.Code);
            Assert.Contains("native library could not be loaded", broken.Out);
            Assert.DoesNotContain("   at ", broken.Out);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
