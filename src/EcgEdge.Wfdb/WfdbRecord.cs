using System.Globalization;

namespace EcgEdge.Wfdb;

/// <summary>A WFDB record loaded into memory: its header and all samples of every signal (ADU).</summary>
public sealed class WfdbRecord
{
    /// <summary>Samples (all signals together) allocated before the data shows how long a record of unknown length is.</summary>
    private const int MaxUpfrontSamples = 1 << 20;

    private WfdbRecord(WfdbHeader header, int[][] samples)
    {
        Header = header;
        Samples = samples;
    }

    /// <summary>The parsed header.</summary>
    public WfdbHeader Header { get; }

    /// <summary>The samples in ADU, one array per signal in header order (Samples[signal][sample]).</summary>
    public int[][] Samples { get; }

    /// <summary>The number of samples per signal that were loaded.</summary>
    public int SampleCount => Samples.Length > 0 ? Samples[0].Length : 0;

    /// <summary>
    /// Loads a record given the path of its header ("dir/101.hea") or the record path without extension ("dir/101").
    /// Initial values and checksums are verified.
    /// </summary>
    /// <exception cref="WfdbFormatException">The header or a signal file is malformed or truncated.</exception>
    /// <exception cref="WfdbChecksumException">A signal does not match its initial value or checksum.</exception>
    /// <exception cref="FileNotFoundException">The header or a signal file does not exist.</exception>
    public static WfdbRecord Load(string headerPathOrRecordPath) =>
        Load(WfdbHeader.Parse(WfdbRecordPath.ToHeaderPath(headerPathOrRecordPath)));

    /// <summary>Loads the signals described by an already parsed header.</summary>
    /// <param name="header">The header; its <see cref="WfdbHeader.Directory"/> locates the signal files.</param>
    /// <param name="verifyChecksums">False to skip the initial-value and checksum checks.</param>
    /// <exception cref="WfdbFormatException">A signal file is malformed or truncated.</exception>
    /// <exception cref="WfdbChecksumException">A signal does not match its initial value or checksum.</exception>
    public static WfdbRecord Load(WfdbHeader header, bool verifyChecksums = true)
    {
        ArgumentNullException.ThrowIfNull(header);
        using WfdbSignalReader reader = WfdbSignalReader.Open(header, verifyChecksums);
        int nsig = header.Signals.Count;
        if (header.SampleCount is long declared)
        {
            if (declared > Array.MaxLength)
            {
                throw new WfdbFormatException(header.SourcePath, null, string.Create(CultureInfo.InvariantCulture,
                    $"{declared} samples per signal are too many to load into memory; use {nameof(WfdbSignalReader)}"));
            }

            // Fail before allocating when a file is too short for the declared length.
            reader.EnsureFilesAreLongEnough();
        }

        // With an unknown length the arrays grow with the data read; what is allocated before reading is bounded in total,
        // so that a header declaring thousands of signals over an empty file cannot claim gigabytes.
        int perSignal = Math.Max(1, MaxUpfrontSamples / Math.Max(nsig, 1));
        int capacity = header.SampleCount is long n ? (int)n : Math.Min(64 * 1024, perSignal);
        var samples = new int[nsig][];
        for (int s = 0; s < nsig; s++)
        {
            samples[s] = new int[capacity];
        }

        int chunk = Math.Min(8192, perSignal);
        int[] buffer = new int[chunk * Math.Max(nsig, 1)];
        int length = 0;
        int frames;
        while (nsig > 0 && (frames = reader.ReadFrames(buffer)) > 0)
        {
            if ((long)length + frames > Array.MaxLength)
            {
                throw new WfdbFormatException(header.SourcePath, null, $"the record is too long to load into memory; use {nameof(WfdbSignalReader)}");
            }

            if (length + frames > capacity)
            {
                capacity = (int)Math.Min(Array.MaxLength, Math.Max((long)capacity * 2, length + frames));
                for (int s = 0; s < nsig; s++)
                {
                    Array.Resize(ref samples[s], capacity);
                }
            }

            Deinterleave(buffer.AsSpan(0, frames * nsig), samples, length);
            length += frames;
        }

        if (nsig > 0 && length != capacity)
        {
            for (int s = 0; s < nsig; s++)
            {
                Array.Resize(ref samples[s], length);
            }
        }

        return new WfdbRecord(header, samples);
    }

    /// <summary>Copies interleaved frames into the per-signal arrays, starting at sample <paramref name="start"/>.</summary>
    private static void Deinterleave(ReadOnlySpan<int> interleaved, int[][] samples, int start)
    {
        int nsig = samples.Length;
        int frames = interleaved.Length / nsig;
        for (int s = 0; s < nsig; s++)
        {
            Span<int> target = samples[s].AsSpan(start, frames);
            for (int f = 0, i = s; f < target.Length; f++, i += nsig)
            {
                target[f] = interleaved[i];
            }
        }
    }
}
