using EcgEdge.Wfdb;

namespace EcgEdge.Tests.Wfdb;

/// <summary>Synthetic signals and records for the WFDB tests.</summary>
internal static class WfdbTestSignals
{
    public static WfdbSignalSpec Spec(string file, int format, string description, int adcZero = 0) => new()
    {
        FileName = file,
        Format = format,
        Gain = 200,
        AdcResolution = format == 212 ? 12 : 16,
        AdcZero = adcZero,
        Description = description,
    };

    /// <summary>Deterministic pseudo-random samples covering the whole range of the format, extremes included.</summary>
    public static int[][] Random(int signals, int length, int format, int seed = 1)
    {
        int min = format == 212 ? -2048 : -32768;
        int max = format == 212 ? 2047 : 32767;
        var rng = new Random(seed);
        var data = new int[signals][];
        for (int s = 0; s < signals; s++)
        {
            data[s] = new int[length];
            for (int i = 0; i < length; i++)
            {
                data[s][i] = rng.Next(min, max + 1);
            }

            if (length > 2)
            {
                data[s][1] = min;
                data[s][2] = max;
            }
        }

        return data;
    }

    /// <summary>Writes a one-file record "rec" and returns its header path.</summary>
    public static string WriteRecord(string directory, int format, int signals, int length, int seed = 1)
    {
        var specs = new WfdbSignalSpec[signals];
        for (int s = 0; s < signals; s++)
        {
            specs[s] = Spec("rec.dat", format, "sig" + s);
        }

        WfdbWriter.WriteRecord(directory, "rec", 360, specs, Random(signals, length, format, seed));
        return Path.Combine(directory, "rec.hea");
    }

    /// <summary>Reads a whole record through the streaming reader with a given buffer size (in ints).</summary>
    public static int[][] ReadStreaming(WfdbHeader header, int bufferInts)
    {
        int nsig = header.SignalCount;
        var lists = new List<int>[nsig];
        for (int s = 0; s < nsig; s++)
        {
            lists[s] = [];
        }

        using WfdbSignalReader reader = WfdbSignalReader.Open(header);
        int[] buffer = new int[bufferInts];
        int frames;
        while ((frames = reader.ReadFrames(buffer)) > 0)
        {
            for (int f = 0; f < frames; f++)
            {
                for (int s = 0; s < nsig; s++)
                {
                    lists[s].Add(buffer[f * nsig + s]);
                }
            }
        }

        var result = new int[nsig][];
        for (int s = 0; s < nsig; s++)
        {
            result[s] = [.. lists[s]];
        }

        return result;
    }
}
