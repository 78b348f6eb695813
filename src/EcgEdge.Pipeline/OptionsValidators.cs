using EcgEdge.Acquisition.Replay;
using EcgEdge.Conditioning;
using EcgEdge.Detection;
using EcgEdge.Inference.Execution;
using Microsoft.Extensions.Options;

namespace EcgEdge.Pipeline;

// Compile-time generated validators (trim/AOT safe) for the DataAnnotations on each options class.
[OptionsValidator] public sealed partial class PipelineOptionsValidator : IValidateOptions<PipelineOptions>;
[OptionsValidator] public sealed partial class ConditioningOptionsValidator : IValidateOptions<ConditioningOptions>;
[OptionsValidator] public sealed partial class QrsDetectorOptionsValidator : IValidateOptions<QrsDetectorOptions>;
[OptionsValidator] public sealed partial class ReplayOptionsValidator : IValidateOptions<ReplayOptions>;
[OptionsValidator] public sealed partial class InferenceOptionsValidator : IValidateOptions<InferenceOptions>;
[OptionsValidator] public sealed partial class EventOptionsValidator : IValidateOptions<EcgEdge.Events.Alerts.EventOptions>;

/// <summary>The stage options of one pipeline, validated together.</summary>
public sealed record PipelineSettings(PipelineOptions Pipeline, ConditioningOptions Conditioning, QrsDetectorOptions Detection)
{
    /// <summary>Validates every section; throws <see cref="OptionsValidationException"/> listing all failures.</summary>
    public void Validate()
    {
        var failures = new List<string>();
        Collect(new PipelineOptionsValidator().Validate(PipelineOptions.SectionName, Pipeline), failures);
        Collect(new ConditioningOptionsValidator().Validate(ConditioningOptions.SectionName, Conditioning), failures);
        Collect(new QrsDetectorOptionsValidator().Validate(QrsDetectorOptions.SectionName, Detection), failures);
        if (Conditioning.MainsHz > 0 && Conditioning.MainsHz >= Pipeline.SampleRateHz / 2)
            failures.Add($"Conditioning:MainsHz {Conditioning.MainsHz} must be below half of Pipeline:SampleRateHz.");
        if (Conditioning.LowPassHz >= Pipeline.SampleRateHz / 2)
            failures.Add($"Conditioning:LowPassHz {Conditioning.LowPassHz} must be below half of Pipeline:SampleRateHz.");
        if (failures.Count > 0) throw new OptionsValidationException("EcgEdge", typeof(PipelineSettings), failures);
    }

    public static void Collect(ValidateOptionsResult r, List<string> failures)
    {
        if (r.Failed) failures.AddRange(r.Failures ?? [r.FailureMessage]);
    }
}
