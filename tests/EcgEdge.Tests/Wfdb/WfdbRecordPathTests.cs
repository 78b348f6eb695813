using EcgEdge.Wfdb;
using Xunit;

namespace EcgEdge.Tests.Wfdb;

public class WfdbRecordPathTests
{
    [Fact]
    public void Records_file_is_preferred_over_header_files()
    {
        using var dir = new TempDirectory();
        dir.Write("b.hea", "b 0\n");
        dir.Write("a.hea", "a 0\n");
        dir.Write("10.hea", "10 0\n");
        Assert.Equal(new[] { "10", "a", "b" }, WfdbRecordPath.ListRecords(dir.Path));

        dir.Write("RECORDS", "b\r\n\r\nsub/c\r\n");
        Assert.Equal(new[] { "b", "sub/c" }, WfdbRecordPath.ListRecords(dir.Path));
    }

    [Fact]
    public void Header_paths()
    {
        using var dir = new TempDirectory();
        string header = dir.Write("r1.hea", "r1 0\n");
        Assert.Equal(header, WfdbRecordPath.ResolveHeaderPath(dir.Path, "r1"));
        Assert.Equal(header, WfdbRecordPath.ResolveHeaderPath(dir.Path, "r1.hea"));
        Assert.Throws<FileNotFoundException>(() => WfdbRecordPath.ResolveHeaderPath(dir.Path, "r2"));
        Assert.Equal("x/101.hea", WfdbRecordPath.ToHeaderPath("x/101"));
        Assert.Equal("x/101.HEA", WfdbRecordPath.ToHeaderPath("x/101.HEA"));
        Assert.Equal(Path.Combine("d", "101.atr"), WfdbRecordPath.AnnotationPath("d", "101", "atr"));
    }

    [SkippableFact]
    public void Mitdb_index_files()
    {
        string dir = TestData.Require("mitdb");
        IReadOnlyList<string> records = WfdbRecordPath.ListRecords(dir);
        Assert.Equal(26, records.Count);
        Assert.Equal("101", records[0]);
        Assert.Equal("atr", Assert.Single(WfdbRecordPath.ListAnnotators(dir)).Name);
        using var empty = new TempDirectory();
        Assert.Empty(WfdbRecordPath.ListAnnotators(empty.Path));
    }
}
