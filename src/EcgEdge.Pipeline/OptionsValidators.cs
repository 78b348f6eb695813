using System.ComponentModel.DataAnnotations;
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

/// <summary>
/// The stage options of one pipeline, validated together by <see cref="PipelineSettingsValidator"/>: each section by its
/// own generated validator (<c>[ValidateObjectMembers]</c>), then the rules that span sections (the mains notch and the
/// low-pass must lie below the Nyquist frequency of the pipeline's rate) as <see cref="IValidatableObject"/>.
/// </summary>
public sealed record PipelineSettings(
    [property: ValidateObjectMembers(typeof(PipelineOptionsValidator))] PipelineOptions Pipeline,
    [property: ValidateObjectMembers(typeof(ConditioningOptionsValidator))] ConditioningOptions Conditioning,
    [property: ValidateObjectMembers(typeof(QrsDetectorOptionsValidator))] QrsDetectorOptions Detection) : IValidatableObject
{
    /// <summary>Validates every section; throws <see cref="OptionsValidationException"/> listing all failures.</summary>
    public void Validate() => PipelineSettingsValidator.ThrowIfInvalid(this);

    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (Conditioning.MainsHz > 0 && Conditioning.MainsHz >= Pipeline.SampleRateHz / 2)
            yield return new ValidationResult($"Conditioning:MainsHz {Conditioning.MainsHz} must be below half of Pipeline:SampleRateHz.");
        if (Conditioning.LowPassHz >= Pipeline.SampleRateHz / 2)
            yield return new ValidationResult($"Conditioning:LowPassHz {Conditioning.LowPassHz} must be below half of Pipeline:SampleRateHz.");
    }

    public static void Collect(ValidateOptionsResult r, List<string> failures)
    {
        if (r.Failed) failures.AddRange(r.Failures ?? [r.FailureMessage]);
    }
}

/// <summary>Source-generated validator of <see cref="PipelineSettings"/> (its sections' validators, then the cross-section rules).</summary>
[OptionsValidator]
public sealed partial class PipelineSettingsValidator : IValidateOptions<PipelineSettings>
{
    /// <summary>Throws <see cref="OptionsValidationException"/> listing every problem.</summary>
    public static void ThrowIfInvalid(PipelineSettings settings)
    {
        if (new PipelineSettingsValidator().Validate("EcgEdge", settings) is { Failed: true } invalid)
            throw new OptionsValidationException("EcgEdge", typeof(PipelineSettings), invalid.Failures);
    }
}
