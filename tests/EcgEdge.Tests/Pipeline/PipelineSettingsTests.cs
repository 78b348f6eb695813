using EcgEdge.Conditioning;
using EcgEdge.Detection;
using EcgEdge.Pipeline;
using Microsoft.Extensions.Options;

namespace EcgEdge.Tests.Pipeline;

/// <summary><see cref="PipelineSettings"/>: every section's generated validator, then the rules that span sections.</summary>
public class PipelineSettingsTests
{
    private static PipelineSettings Settings(double rate = 500, double mains = 50, double lowPass = 40, double highPass = 0.5) =>
        new(new PipelineOptions { SampleRateHz = rate }, new ConditioningOptions { MainsHz = mains, LowPassHz = lowPass, HighPassHz = highPass },
            new QrsDetectorOptions());

    [Fact]
    public void The_defaults_are_valid()
    {
        Settings().Validate();
        Assert.False(new PipelineSettingsValidator().Validate("EcgEdge", Settings()).Failed);
    }

    [Fact]
    public void A_notch_or_low_pass_at_or_above_the_nyquist_frequency_of_the_pipeline_rate_is_refused_naming_both_keys()
    {
        // 250 Hz pipeline: Nyquist 125 Hz. Each value is inside its own section's range; only together are they wrong.
        var e = Assert.Throws<OptionsValidationException>(() => Settings(rate: 250, mains: 0, lowPass: 130).Validate());
        Assert.Contains(e.Failures, f => f.Contains("Conditioning:LowPassHz", StringComparison.Ordinal) && f.Contains("Pipeline:SampleRateHz", StringComparison.Ordinal));
    }

    [Fact]
    public void A_section_rule_and_a_cross_section_rule_are_reported_together()
    {
        var bad = new PipelineSettings(new PipelineOptions { SampleRateHz = 250 }, new ConditioningOptions { MainsHz = 50, LowPassHz = 130 },
            new QrsDetectorOptions { RefractorySeconds = 1 });
        var r = new PipelineSettingsValidator().Validate("EcgEdge", bad);
        Assert.True(r.Failed);
        Assert.Contains(r.Failures!, f => f.Contains("LowPassHz", StringComparison.Ordinal));
        Assert.Contains(r.Failures!, f => f.Contains("RefractorySeconds", StringComparison.Ordinal));
    }
}
