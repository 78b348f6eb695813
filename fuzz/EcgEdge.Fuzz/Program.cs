using EcgEdge.Fuzz;
using EcgEdge.Fuzz.Targets;

// ecgedge-fuzz TARGET                 under afl-fuzz (fuzz/run.sh): SharpFuzz's out-of-process fork server runs TARGET on
//                                     each input, in a child process that afl-fuzz may kill on its per-case timeout
// ecgedge-fuzz TARGET FILE|DIR...     replays inputs (a crash found, the committed corpus) and names every input that
//                                     escapes the target's contract; exit 1 if any did
// ecgedge-fuzz --list                 the targets
// The instrumented product assemblies write every edge they take to SharpFuzz's coverage map. Until SharpFuzz maps afl-fuzz's
// shared memory (inside Fuzzer.OutOfProcess.Run) and when replaying without afl-fuzz, they write to this private map.
Harness.UsePrivateCoverageMap();

var targets = new Dictionary<string, IFuzzTarget>(StringComparer.Ordinal)
{
    ["wfdb-header"] = new WfdbHeaderTarget(),
    ["wfdb-signal"] = new WfdbSignalTarget(),
    ["wfdb-annotation"] = new WfdbAnnotationTarget(),
    ["manifest"] = new ManifestTarget(),
    ["manifest-signature"] = new ManifestSignatureTarget(),
    ["config"] = new ConfigurationTarget(),
    ["alert"] = new AlertTarget(),
    ["ads1298"] = new Ads1298FrameTarget(),
    ["canary"] = new CanaryTarget(), // not a parser: shows that a crash is reported (fuzz/run.sh canary 30 exits 1)
};

if (args.Length == 0 || args[0] == "--list")
{
    foreach (var name in targets.Keys) Console.WriteLine(name);
    return args.Length == 0 ? 2 : 0;
}

if (!targets.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"ecgedge-fuzz: unknown target '{args[0]}' (--list shows them)");
    return 2;
}

using var work = WorkDirectory.Create(args[0]);
target.Setup(work.Path);
if (args.Length > 1) return Harness.Replay(target, args[1..]);
Harness.RunUnderAfl(target);
return 0;
