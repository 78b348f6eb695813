using System.Xml.Linq;

namespace EcgEdge.Tests;

/// <summary>
/// The references between the projects (docs/architecture.md): nothing but the host's tests references the exe, the message
/// contracts depend on Core alone, and Transport does not reach the event engine or ONNX Runtime.
/// </summary>
public class ProjectReferenceTests
{
    private static readonly string Root = TestData.RepoRoot;

    private static IEnumerable<string> Projects() =>
        new[] { "src", "tests", "benchmarks" }
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(Root, d), "*.csproj", SearchOption.AllDirectories))
            .Where(p => !p.Split(Path.DirectorySeparatorChar).Any(s => s is "bin" or "obj"))
            .Select(Path.GetFullPath);

    private static IEnumerable<string> References(string project) =>
        XDocument.Load(project).Descendants("ProjectReference")
            .Select(e => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(project)!, e.Attribute("Include")!.Value.Replace('\\', '/'))));

    private static IEnumerable<string> Packages(string project) =>
        XDocument.Load(project).Descendants("PackageReference").Select(e => e.Attribute("Include")!.Value);

    private static HashSet<string> Closure(string project)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var todo = new Stack<string>([project]);
        while (todo.TryPop(out var p))
            foreach (var r in References(p))
                if (seen.Add(r)) todo.Push(r);
        return seen;
    }

    private static string Project(string name) => Path.GetFullPath(Path.Combine(Root, "src", name, name + ".csproj"));

    [Fact]
    public void Only_the_host_tests_reference_the_exe()
    {
        var exe = Project("EcgEdge");
        var referencing = Projects().Where(p => References(p).Contains(exe)).Select(p => Path.GetRelativePath(Root, p).Replace('\\', '/'));
        Assert.Equal(["tests/EcgEdge.Host.Tests/EcgEdge.Host.Tests.csproj"], referencing);
    }

    [Fact]
    public void The_contracts_depend_on_Core_alone_and_Transport_reaches_neither_the_event_engine_nor_ONNX_Runtime()
    {
        Assert.Equal([Project("EcgEdge.Core")], Closure(Project("EcgEdge.Contracts")));
        var transport = Closure(Project("EcgEdge.Transport"));
        Assert.DoesNotContain(Project("EcgEdge.Events"), transport);
        Assert.DoesNotContain(Project("EcgEdge.Inference"), transport);
        Assert.DoesNotContain(transport.Append(Project("EcgEdge.Transport")).SelectMany(Packages),
            p => p.StartsWith("Microsoft.ML.OnnxRuntime", StringComparison.Ordinal));
    }
}
