using SharpFuzz;

namespace EcgEdge.Fuzz;

/// <summary>
/// One parser under test. <see cref="Run"/> feeds it one input; an exception that <see cref="Expected"/> accepts is the
/// parser's documented refusal, anything else that escapes (or a failed property check) is a finding.
/// </summary>
internal interface IFuzzTarget
{
    /// <summary>Called once per process with a private, empty folder for the files the target needs.</summary>
    void Setup(string workDirectory);

    void Run(byte[] input);

    /// <summary>True for the documented exceptions of the parser (its contract).</summary>
    bool Expected(Exception e);
}

/// <summary>A property violated by an input although no exception escaped the parser: a finding.</summary>
internal sealed class PropertyViolation(string message) : Exception(message);

internal static class Harness
{
    /// <summary>Inputs larger than this are cut (afl-fuzz keeps cases far smaller; the limit bounds memory per case).</summary>
    public const int MaxInputBytes = 1 << 20;

    /// <summary>Points the instrumentation's coverage map at a private 64-kB buffer (the size of afl-fuzz's map).</summary>
    public static unsafe void UsePrivateCoverageMap()
    {
        if (SharpFuzz.Common.Trace.SharedMem == null) SharpFuzz.Common.Trace.SharedMem = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(1 << 16);
    }

    public static void RunUnderAfl(IFuzzTarget target)
    {
        // Out of process: the fork server stays alive when afl-fuzz kills a case on its timeout (-t), or when a case
        // dies of something no catch block sees (stack overflow, out of memory); the next case starts a new child.
        Fuzzer.OutOfProcess.Run(stream => RunOne(target, ReadAll(stream)));
    }

    /// <summary>Runs one input; rethrows what the contract does not allow (SharpFuzz reports it as a crash).</summary>
    public static void RunOne(IFuzzTarget target, byte[] input)
    {
        try
        {
            target.Run(input);
        }
        catch (Exception e) when (target.Expected(e))
        {
        }
    }

    public static int Replay(IFuzzTarget target, string[] paths)
    {
        var files = paths.SelectMany<string, string>(p => Directory.Exists(p)
            ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories).Where(f => !Path.GetFileName(f).StartsWith('.') && Path.GetFileName(f) != "README.txt").Order(StringComparer.Ordinal)
            : [p]).ToList();
        int findings = 0;
        foreach (var file in files)
        {
            try
            {
                target.Run(File.ReadAllBytes(file));
                Console.WriteLine($"accepted {file}");
            }
            catch (Exception e) when (target.Expected(e))
            {
                string message = e.Message.ReplaceLineEndings(" ");
                Console.WriteLine($"refused  {file}: {e.GetType().Name}: {(message.Length > 160 ? message[..160] + "..." : message)}");
            }
            catch (Exception e)
            {
                findings++;
                Console.WriteLine($"FINDING {file}: {e.GetType().FullName}: {e.Message}");
                Console.WriteLine(e.StackTrace);
            }
        }
        Console.WriteLine($"ecgedge-fuzz: {files.Count} input(s) replayed, {findings} finding(s)");
        return findings == 0 ? 0 : 1;
    }

    private static byte[] ReadAll(Stream stream)
    {
        using var memory = new MemoryStream();
        var buffer = new byte[81920];
        int n;
        while (memory.Length < MaxInputBytes && (n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, MaxInputBytes - memory.Length))) > 0)
            memory.Write(buffer, 0, n);
        return memory.ToArray();
    }
}

/// <summary>A per-process scratch folder under $EEFUZZ_WORK (fuzz/run.sh points it into the campaign's output) or /tmp.</summary>
internal sealed class WorkDirectory : IDisposable
{
    private WorkDirectory(string path) => Path = path;

    public string Path { get; }

    public static WorkDirectory Create(string target)
    {
        string root = Environment.GetEnvironmentVariable("EEFUZZ_WORK") is { Length: > 0 } w ? w : System.IO.Path.GetTempPath();
        string path = System.IO.Path.Combine(root, $"ecgedge-fuzz-{target}-{Environment.ProcessId}");
        Directory.CreateDirectory(path);
        return new WorkDirectory(path);
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
