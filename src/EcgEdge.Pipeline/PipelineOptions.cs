using System.ComponentModel.DataAnnotations;

namespace EcgEdge.Pipeline;

/// <summary>Where samples come from.</summary>
public enum SourceKind
{
    /// <summary>A WFDB recording replayed through the pipeline.</summary>
    Replay,

    /// <summary>The ADS1298 front-end over SPI with DRDY on a GPIO (section "Ads1298").</summary>
    Ads1298,

    /// <summary>The same ADS1298 driver against the register-level emulator, fed with the "Replay" record.</summary>
    Emulator,
}

/// <summary>Pipeline-wide settings (defaults in one place).</summary>
public sealed class PipelineOptions
{
    public const string SectionName = "Pipeline";

    /// <summary>The source of samples.</summary>
    public SourceKind Source { get; set; } = SourceKind.Replay;

    /// <summary>Pipeline sampling rate, Hz (the ADS1298's 500 SPS; recordings are resampled to it).</summary>
    [Range(250.0, 2000.0)]
    public double SampleRateHz { get; set; } = 500;

    /// <summary>Frames per block handed between stages (50 frames = 100 ms at 500 Hz).</summary>
    [Range(1, 8192)]
    public int BlockFrames { get; set; } = 50;

    /// <summary>How often the running heart rate is logged, seconds of signal.</summary>
    [Range(1.0, 3600.0)]
    public double VitalsIntervalSeconds { get; set; } = 10;

    /// <summary>Health file for `ecgedge health` (written every 5 s); empty: health.json beside the MQTT outbox folder.</summary>
    public string HealthFile { get; set; } = "";

    /// <summary>Serve the metrics (meter "EcgEdge") in Prometheus format on http://127.0.0.1:PORT/metrics; 0 = off.</summary>
    [Range(0, 65535)]
    public int PrometheusPort { get; set; }
}
