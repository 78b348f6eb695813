using System.Reflection;
using EcgEdge.Verbs;
using Microsoft.Extensions.Configuration;

namespace EcgEdge.Tests.Verbs;

public class ConfigurationCheckTests
{
    private static IConfigurationRoot Json(string json) =>
        new ConfigurationBuilder().AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json))).Build();

    private static ConfigurationException Refused(string json) => Assert.Throws<ConfigurationException>(() => ConfigurationCheck.Check(Json(json)));

    [Fact]
    public void The_shipped_defaults_pass()
    {
        var root = (IConfigurationRoot)AppConfiguration.Build([]);     // appsettings.json beside the tests is the product's (copied by the build)
        Assert.NotEmpty(root.GetSection("Events").GetChildren());
        ConfigurationCheck.Check(root);
    }

    [Fact]
    public void An_object_where_a_number_belongs_is_refused_with_its_key()
    {
        var e = Refused("""{"Mqtt": {"KeepAliveSeconds": {"value": 30}}}""");
        Assert.Equal("Mqtt:KeepAliveSeconds", e.Key);
        Assert.Contains("whole number", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_misspelt_key_is_refused_and_the_valid_ones_are_listed()
    {
        var e = Refused("""{"Events": {"AsystoleSec": 8}}""");
        Assert.Equal("Events:AsystoleSec", e.Key);
        Assert.Contains("AsystoleS", e.Reason, StringComparison.Ordinal);
        // keys are case-insensitive, as the binder reads them
        ConfigurationCheck.Check(Json("""{"events": {"asystoles": 12}}"""));
    }

    [Fact]
    public void On_the_command_line_a_section_nothing_reads_is_refused_in_files_and_the_environment_it_is_left_alone()
    {
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationCheck.Check(new ConfigurationBuilder().AddCommandLine(["--Foo:Bar=1"]).Build()));
        Assert.Equal(("command line", "Foo"), (e.Origin, e.Key));
        Assert.Contains("unknown section", e.Reason, StringComparison.Ordinal);
        Assert.Contains("Conditioning", e.Reason, StringComparison.Ordinal);   // the sections are listed
        // Far from every section, but near one still gets its guess.
        Assert.Contains("did you mean 'Events'?",
            Assert.Throws<ConfigurationException>(() => ConfigurationCheck.Check(new ConfigurationBuilder().AddCommandLine(["--Evnts=1"]).Build())).Reason,
            StringComparison.Ordinal);
        // The host's logging settings are read (by run); another component's settings in a file are not the product's business.
        ConfigurationCheck.Check(new ConfigurationBuilder().AddCommandLine(["--Logging:LogLevel:Default=Debug", "--Mqtt:Mode=Off"]).Build());
        ConfigurationCheck.Check(Json("""{"Foo": {"Bar": 1}}"""));
    }

    [Fact]
    public void A_misspelling_is_answered_with_the_nearest_valid_key_and_a_misspelt_section_is_refused()
    {
        // Issue 28's example: --Conditioning:MainHz=60 must name Conditioning:MainsHz.
        var root = new ConfigurationBuilder().AddCommandLine(["--Conditioning:MainHz=60"]).Build();
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationCheck.Check(root));
        Assert.Equal(("command line", "Conditioning:MainHz"), (e.Origin, e.Key));
        Assert.Contains("did you mean 'Conditioning:MainsHz'?", e.Reason, StringComparison.Ordinal);
        // A whole section misspelt would be ignored with all its keys.
        var section = Refused("""{"Conditoning": {"MainsHz": 60}}""");
        Assert.Equal("Conditoning", section.Key);
        Assert.Contains("did you mean 'Conditioning'?", section.Reason, StringComparison.Ordinal);
        // Far from every setting: no guess, the list only.
        Assert.DoesNotContain("did you mean", Refused("""{"Events": {"Zzzzzzzzzzzz": 1}}""").Reason, StringComparison.Ordinal);
        Assert.Equal("MainsHz", ConfigurationCheck.Nearest("mainhz", ["MainsHz", "NotchQ", "Mains"]));
        Assert.Null(ConfigurationCheck.Nearest("Logging", ConfigurationCheck.Sections.Keys));
    }

    [Fact]
    public async Task A_misspelt_verb_option_is_answered_with_the_nearest_one()
    {
        var e = await Assert.ThrowsAsync<UsageException>(() => Cli.RunAsync(EvalVerb.CreateCommand(), ["--recrods", "201"]));
        Assert.Contains("did you mean '--records'?", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"Events": {"PauseS": "three"}}""", "Events:PauseS")]
    [InlineData("""{"Mqtt": {"Mode": "Sometimes"}}""", "Mqtt:Mode")]
    [InlineData("""{"Mqtt": {"ConnectTimeout": "soon"}}""", "Mqtt:ConnectTimeout")]
    [InlineData("""{"Mqtt": {"Tls": {"RequireTls": "yes"}}}""", "Mqtt:Tls:RequireTls")]
    [InlineData("""{"Mqtt": {"Endpoints": "mqtt://127.0.0.1:1883"}}""", "Mqtt:Endpoints")]
    [InlineData("""{"Mqtt": {"Tls": "on"}}""", "Mqtt:Tls")]
    [InlineData("""{"Mqtt": {"Outbox": {"MaxBytes": 1, "Nope": 2}}}""", "Mqtt:Outbox:Nope")]
    public void Wrong_types_and_shapes_are_refused(string json, string key) => Assert.Equal(key, Refused(json).Key);

    [Fact]
    public void Valid_values_of_every_kind_pass_and_unowned_sections_are_left_alone()
    {
        ConfigurationCheck.Check(Json("""
            {"Events": {"PauseS": 3.5, "VtMinBeats": 4}, "Mqtt": {"Mode": "external", "ConnectTimeout": "00:00:05",
             "Endpoints": ["mqtt://127.0.0.1:1883", "mqtt://127.0.0.1:1884"], "Tls": {"RequireTls": false}},
             "Logging": {"LogLevel": {"Default": "Information"}}, "Anything": {"Else": 1}}
            """));
    }

    [Fact]
    public void The_source_of_a_bad_key_is_named()
    {
        var b = new ConfigurationBuilder().AddJsonStream(new MemoryStream("{}"u8.ToArray())).AddCommandLine(["--Events:PauseS=x"]);
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationCheck.Check(b.Build()));
        Assert.Equal("command line", e.Origin);
    }

    // ---- regressions for crashes found by coverage-guided fuzzing (fuzz/run.sh config) ----

    [Theory]
    // the input afl-fuzz saved: a raw byte 0x80 in one string and a lone surrogate escape in another
    [InlineData("{\n  \n  \"Mqtt\": {\"Mode\": \"Exter\u0080al\", //br\n    \"Tls\": {\"RequireTls\": true}, \"Outbox\": {\"Directory\": \"/dg\\ud800e\"}},\n  \"Events\": {\"AsystoleS\": 4,},\n}", true, "")]
    [InlineData("{\"Mqtt\": {\"Outbox\": {\"Directory\": \"/d\\ud800e\"}}}", false, "")] // a lone surrogate escape
    [InlineData("{\"Mqtt\": {\"Mode\": \"Off\"}, \"mqtt\": {\"Mode\": \"External\"}}", false, "duplicate")] // keys are case-insensitive
    [InlineData("{\"Events\": {\"AsystoleS\": 4, \"asystoles\": 5}}", false, "duplicate")]
    [InlineData("{\"Events:AsystoleS\": 4, \"Events\": {\"AsystoleS\": 5}}", false, "duplicate")] // flattened keys collide
    public void A_well_formed_JSON_file_the_configuration_provider_refuses_is_a_configuration_error(string json, bool rawByte, string reason)
    {
        // Was: CheckJsonFile passed it, then the JSON configuration provider threw an unhandled InvalidDataException (exit 134).
        var dir = Directory.CreateTempSubdirectory("ecgedge-config-");
        try
        {
            var path = Path.Combine(dir.FullName, "fuzzed.json");
            var bytes = System.Text.Encoding.UTF8.GetBytes(json);
            if (rawByte) bytes = System.Text.Encoding.Latin1.GetBytes(json); // U+0080 written as the single byte 0x80
            File.WriteAllBytes(path, bytes);
            Assert.Throws<InvalidDataException>(() => new ConfigurationBuilder().AddJsonFile(path).Build()); // what the check guards against
            var e = Assert.Throws<ConfigurationException>(() => ConfigurationCheck.CheckJsonFile(path, "test"));
            Assert.Equal(path, e.Origin);
            Assert.Contains("not a valid configuration file", e.Reason, StringComparison.Ordinal);
            Assert.Contains(reason, e.Reason, StringComparison.OrdinalIgnoreCase);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void A_malformed_or_missing_file_names_the_file_and_line()
    {
        var dir = Directory.CreateTempSubdirectory("ecgedge-config-");
        try
        {
            var path = Path.Combine(dir.FullName, "broken.json");
            File.WriteAllText(path, "{\n  \"Mqtt\": {\n    \"KeepAliveSeconds\": 30,,\n  }\n}\n");
            var e = Assert.Throws<ConfigurationException>(() => ConfigurationCheck.CheckJsonFile(path, "test"));
            Assert.Equal(path, e.Origin);
            Assert.Equal("line 3", e.Key);
            File.WriteAllText(path, "[1, 2]");
            Assert.Contains("one JSON object", Assert.Throws<ConfigurationException>(() => ConfigurationCheck.CheckJsonFile(path, "test")).Reason, StringComparison.Ordinal);
            Assert.Contains("not found", Assert.Throws<ConfigurationException>(() => ConfigurationCheck.CheckJsonFile(path + ".missing", "test")).Reason, StringComparison.Ordinal);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void Every_nested_options_class_is_kept_for_the_check_in_a_trimmed_build()
    {
        // Check reads public properties by reflection; OptionTypes lists what the trimmer must keep. A new nested options
        // class that is not listed would lose its properties in a trimmed build and every key in it would be "unknown".
        var seen = new HashSet<Type>();
        void Walk(Type t)
        {
            t = Nullable.GetUnderlyingType(t) ?? t;
            if (t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(TimeSpan) || t == typeof(decimal) || !seen.Add(t)) return;
            if (t.IsGenericType) { foreach (var a in t.GetGenericArguments()) Walk(a); return; }
            Assert.Contains(t, ConfigurationCheck.OptionTypes);
            foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite)) Walk(p.PropertyType);
        }
        foreach (var t in ConfigurationCheck.Sections.Values) Walk(t);
    }

    [Fact]
    public async Task The_worker_exits_2_naming_the_file_key_and_reason()
    {
        var dir = Directory.CreateTempSubdirectory("ecgedge-config-");
        try
        {
            var broken = Path.Combine(dir.FullName, "broken.json");
            File.WriteAllText(broken, """{"Mqtt": {"KeepAliveSeconds": 30,""");
            var (code, output) = await EcgEdgeProcess.RunAsync(TimeSpan.FromSeconds(60), new Dictionary<string, string> { ["ECGEDGE_CONFIG"] = broken }, "run");
            Assert.Equal(2, code);
            Assert.Contains(broken, output, StringComparison.Ordinal);

            var wrong = Path.Combine(dir.FullName, "wrong.json");
            File.WriteAllText(wrong, """{"Mqtt": {"KeepAliveSeconds": {"value": 30}}}""");
            (code, output) = await EcgEdgeProcess.RunAsync(TimeSpan.FromSeconds(60), new Dictionary<string, string> { ["ECGEDGE_CONFIG"] = wrong }, "run");
            Assert.Equal(2, code);
            Assert.Contains("Mqtt:KeepAliveSeconds", output, StringComparison.Ordinal);

            (code, output) = await EcgEdgeProcess.RunAsync(TimeSpan.FromSeconds(60), "eval", "--db", dir.FullName, "--Events:PauseSeconds=3");
            Assert.Equal(2, code);
            Assert.Contains("command line: Events:PauseSeconds: unknown setting", output, StringComparison.Ordinal);
        }
        finally { dir.Delete(true); }
    }
}
