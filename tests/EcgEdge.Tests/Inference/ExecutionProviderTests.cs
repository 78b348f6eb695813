using EcgEdge.Inference.Execution;
using EcgEdge.Inference.Model;
using Microsoft.ML.OnnxRuntime;

namespace EcgEdge.Tests.Inference;

/// <summary>
/// Provider selection against the CPU build of ONNX Runtime that runs here: auto falls back to the CPU and says why,
/// the strict GPU modes refuse to start. A selector told that CUDA/TensorRT are available exercises the path where
/// appending the provider itself fails (what happens on a device whose GPU libraries are missing or broken).
/// </summary>
public class ExecutionProviderTests
{
    private static readonly string Manifest = Path.Combine(ModelFiles.Shipped, "ecg-nat.manifest.json");

    [Fact]
    public void This_build_offers_the_cpu_provider_only_among_the_candidates()
    {
        var available = new ExecutionProviderSelector().Available;
        Assert.Contains(ExecutionProviderSelector.CpuName, available);
        Assert.DoesNotContain(ExecutionProviderSelector.CudaName, available);
        Assert.DoesNotContain(ExecutionProviderSelector.TensorRtName, available);
    }

    [Fact]
    public void Auto_falls_back_to_the_cpu_and_reports_why_each_gpu_provider_was_skipped()
    {
        using var so = new SessionOptions();
        var s = new ExecutionProviderSelector().Configure(so, new InferenceOptions { Provider = ExecutionProviderKind.Auto });
        Assert.Equal(ExecutionProviderKind.Cpu, s.Provider);
        Assert.Equal(3, s.Reasons.Count);
        Assert.StartsWith("TensorRt: not in this ONNX Runtime build", s.Reasons[0]);
        Assert.StartsWith("Cuda: not in this ONNX Runtime build", s.Reasons[1]);
        Assert.Equal("CPU: chosen", s.Reasons[2]);
    }

    [Theory]
    [InlineData(ExecutionProviderKind.Cuda)]
    [InlineData(ExecutionProviderKind.TensorRt)]
    public void A_strict_gpu_provider_that_is_not_built_in_stops_the_worker_from_starting(ExecutionProviderKind kind)
    {
        var e = Assert.Throws<ExecutionProviderUnavailableException>(() =>
            ModelLoader.Load(Manifest, new InferenceOptions { Provider = kind }).Dispose());
        Assert.Contains($"Inference:Provider={kind}", e.Message);
        Assert.Contains("not in this ONNX Runtime build", e.Message);
    }

    [Fact]
    public void When_a_listed_gpu_provider_fails_to_initialise_auto_falls_through_and_strict_mode_throws()
    {
        // Pretend the library lists the GPU providers; appending them to the CPU build really fails.
        var lying = new ExecutionProviderSelector(() => [ExecutionProviderSelector.TensorRtName, ExecutionProviderSelector.CudaName, ExecutionProviderSelector.CpuName]);
        using (var so = new SessionOptions())
        {
            var s = lying.Configure(so, new InferenceOptions { Provider = ExecutionProviderKind.Auto, EngineCacheDirectory = "" });
            Assert.Equal(ExecutionProviderKind.Cpu, s.Provider);
            Assert.StartsWith("TensorRt: failed to initialise", s.Reasons[0]);
            Assert.StartsWith("Cuda: failed to initialise", s.Reasons[1]);
        }
        using var model = ModelLoader.Load(Manifest, new InferenceOptions { Provider = ExecutionProviderKind.Auto }, selector: lying);
        Assert.Equal(ExecutionProviderKind.Cpu, model.Selection.Provider);
        model.Run(); // the session works on the fallback

        using var so2 = new SessionOptions();
        var e = Assert.Throws<ExecutionProviderUnavailableException>(() => lying.Configure(so2, new InferenceOptions { Provider = ExecutionProviderKind.Cuda }));
        Assert.Contains("failed to initialise", e.Message);
        Assert.NotNull(e.InnerException);
    }

    [Fact]
    public void Cpu_options_set_the_thread_count()
    {
        using var so = new SessionOptions();
        new ExecutionProviderSelector().Configure(so, new InferenceOptions { Provider = ExecutionProviderKind.Cpu, IntraOpThreads = 2 });
        Assert.Equal(2, so.IntraOpNumThreads);
    }
}
