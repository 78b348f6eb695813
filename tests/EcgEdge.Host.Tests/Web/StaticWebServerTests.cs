using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using EcgEdge.Verbs;
using EcgEdge.Web;

namespace EcgEdge.Tests.Web;

/// <summary>`ecgedge watch --web`'s server: the embedded page, content types, refused paths and hosts, loopback only.</summary>
public sealed class StaticWebServerTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ecgedge-web-" + Guid.NewGuid().ToString("N"));
    private StaticWebServer? _server;

    private async Task<StaticWebServer> StartAsync(IWebAssets? assets = null, string? config = "{\"broker\":\"ws://127.0.0.1:9001\"}")
    {
        _server = new StaticWebServer(assets ?? new EmbeddedWebAssets(), config is null ? null : Encoding.UTF8.GetBytes(config), 0);
        _server.Start();
        await Task.Yield();
        return _server;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    /// <summary>A raw HTTP/1.1 exchange (HttpClient would normalise "/../" away before sending it).</summary>
    private static async Task<(int Status, Dictionary<string, string> Headers, string Body)> RawAsync(int port, string requestLine, string host = "127.0.0.1")
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"{requestLine}\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var text = await reader.ReadToEndAsync();
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var lines = text[..split].Split("\r\n");
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        return (int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), headers, text[(split + 4)..]);
    }

    [Fact]
    public void The_page_is_embedded_in_the_build()
    {
        var assets = new EmbeddedWebAssets();
        Assert.Contains("index.html", assets.Names);
        Assert.Contains("app.js", assets.Names);
        Assert.Contains("style.css", assets.Names);
        Assert.Equal(File.ReadAllBytes(Path.Combine(TestData.RepoRoot, "web", "dist", "app.js")), assets.Find("app.js")!.Content);
    }

    [Theory]
    [InlineData("/", "text/html; charset=utf-8", "<!doctype html>")]
    [InlineData("/index.html", "text/html; charset=utf-8", "<!doctype html>")]
    [InlineData("/app.js", "text/javascript; charset=utf-8", "")]
    [InlineData("/style.css", "text/css; charset=utf-8", ":root")]
    [InlineData("/config.json", "application/json", "{\"broker\":\"ws://127.0.0.1:9001\"}")]
    [InlineData("/app.js?v=2#x", "text/javascript; charset=utf-8", "")]
    public async Task Serves_the_page_with_its_content_types_and_security_headers(string path, string contentType, string starts)
    {
        var server = await StartAsync();
        using var http = new HttpClient { BaseAddress = server.Url };
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(contentType, response.Content.Headers.ContentType!.ToString());
        Assert.StartsWith(starts, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Contains("script-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
    }

    [Fact]
    public async Task Head_has_the_headers_and_no_body_other_methods_are_refused_unknown_files_are_404()
    {
        var server = await StartAsync();
        var head = await RawAsync(server.Port, "HEAD /app.js HTTP/1.1");
        Assert.Equal(200, head.Status);
        Assert.Equal(new EmbeddedWebAssets().Find("app.js")!.Content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), head.Headers["Content-Length"]);
        Assert.Equal("", head.Body);
        var post = await RawAsync(server.Port, "POST /index.html HTTP/1.1");
        Assert.Equal(405, post.Status);
        Assert.Equal("GET, HEAD", post.Headers["Allow"]);
        Assert.Equal(404, (await RawAsync(server.Port, "GET /missing.js HTTP/1.1")).Status);
        Assert.Equal(400, (await RawAsync(server.Port, "GET http://127.0.0.1/index.html HTTP/1.1")).Status);
        Assert.Equal(400, (await RawAsync(server.Port, "GARBAGE")).Status);
    }

    [Theory]
    [InlineData("/../../../../etc/passwd")]
    [InlineData("/%2e%2e/%2e%2e/%2e%2e/etc/passwd")]
    [InlineData("/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd")]
    [InlineData("/..%5c..%5cetc%5cpasswd")]
    [InlineData("/%252e%252e/etc/passwd")]
    [InlineData("//etc/passwd")]
    [InlineData("/./index.html")]
    [InlineData("/.secret")]
    [InlineData("/sub/../../secret.txt")]
    [InlineData("/index.html%00.png")]
    [InlineData("/C:/secret.txt")]
    public async Task Refuses_paths_that_leave_the_page(string target)
    {
        // A folder root, with a file beside it that must never be served.
        var root = Path.Combine(_dir, "root");
        Directory.CreateDirectory(Path.Combine(root, "sub"));
        await File.WriteAllTextAsync(Path.Combine(root, "index.html"), "<!doctype html>");
        await File.WriteAllTextAsync(Path.Combine(root, ".secret"), "SECRET");
        await File.WriteAllTextAsync(Path.Combine(_dir, "secret.txt"), "SECRET");
        var server = await StartAsync(new DirectoryWebAssets(root));
        var r = await RawAsync(server.Port, $"GET {target} HTTP/1.1");
        Assert.Equal(400, r.Status);
        Assert.DoesNotContain("SECRET", r.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("root:", r.Body, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_symbolic_link_out_of_the_web_root_is_not_followed()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need privileges on Windows");
        var root = Path.Combine(_dir, "root");
        Directory.CreateDirectory(root);
        await File.WriteAllTextAsync(Path.Combine(_dir, "secret.txt"), "SECRET");
        File.CreateSymbolicLink(Path.Combine(root, "leak.txt"), Path.Combine(_dir, "secret.txt"));
        Directory.CreateSymbolicLink(Path.Combine(root, "up"), _dir);
        await File.WriteAllTextAsync(Path.Combine(root, "ok.txt"), "fine");
        var server = await StartAsync(new DirectoryWebAssets(root));
        Assert.Equal(404, (await RawAsync(server.Port, "GET /leak.txt HTTP/1.1")).Status);
        Assert.Equal(404, (await RawAsync(server.Port, "GET /up/secret.txt HTTP/1.1")).Status);
        var ok = await RawAsync(server.Port, "GET /ok.txt HTTP/1.1");
        Assert.Equal(200, ok.Status);
        Assert.Equal("fine", ok.Body);
        Assert.Equal("text/plain; charset=utf-8", ok.Headers["Content-Type"]);
    }

    [Theory]
    [InlineData("evil.example", 421)]
    [InlineData("127.0.0.1.evil.example", 421)]
    [InlineData("localhost", 200)]
    [InlineData("[::1]", 200)]
    public async Task Answers_only_to_a_loopback_host_name(string host, int status)
    {
        var server = await StartAsync();
        Assert.Equal(status, (await RawAsync(server.Port, "GET / HTTP/1.1", host)).Status);
    }

    [SkippableFact]
    public async Task Listens_on_loopback_only()
    {
        var server = await StartAsync();
        Assert.Equal(IPAddress.Loopback, server.Address);
        // From another address of this machine, if it has one, the port is closed.
        var other = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        Skip.If(other is null, "this machine has no non-loopback IPv4 address to try");
        using var tcp = new TcpClient();
        await Assert.ThrowsAnyAsync<SocketException>(() => tcp.ConnectAsync(other!, server.Port));
    }

    [Fact]
    public async Task Watch_web_refuses_a_broker_that_is_not_websockets_and_serves_until_its_timeout()
    {
        await Assert.ThrowsAsync<UsageException>(() => WatchVerb.RunAsync(["--web", "--port", "0", "--broker", "mqtt://127.0.0.1:1883"]));
        await Assert.ThrowsAsync<UsageException>(() => WatchVerb.RunAsync(["--web", "--port", "70000"]));
        Assert.Equal(0, await WatchVerb.RunAsync(["--web", "--port", "0", "--broker", "wss://broker.example:8884/mqtt", "--timeout", "0.5"]));
    }

    private static WebPageConfig PageConfig(string localUser, WebWatchArguments arguments) => WebWatchVerb.PageConfig(arguments, localUser);

    [Fact]
    public void Watch_web_without_a_broker_connects_to_the_local_embedded_broker_and_acknowledges_as_the_local_user()
    {
        // The README's demo: `ecgedge run` (embedded broker, WebSockets on 9001) and `ecgedge watch --web`.
        var demo = PageConfig("alice", new());
        Assert.Equal($"ws://127.0.0.1:{new EcgEdge.Transport.Mqtt.MqttTransportOptions().EmbeddedWebSocketPort}/mqtt", demo.Broker);
        Assert.Equal("ws://127.0.0.1:9001/mqtt", WebWatchVerb.DefaultBroker);
        Assert.True(demo.Autoconnect);
        Assert.Equal("alice", demo.Clinician);
        // The command the worker logs when it had to take another port: the same, on that port.
        Assert.Equal(("ws://127.0.0.1:40123/mqtt", "alice"), (PageConfig("alice", new() { Broker = "ws://127.0.0.1:40123/mqtt" }) is var c ? (c.Broker, c.Clinician) : default));
        // With a login the page asks for the password and acknowledges under the user name (bound by the broker's ACL).
        var login = PageConfig("alice", new() { Broker = "wss://broker.example:8884", Username = "clinician-ward-a" });
        Assert.False(login.Autoconnect);
        Assert.Null(login.Clinician);
        Assert.Equal("bob", PageConfig("alice", new() { Clinician = "bob" }).Clinician);
        // A local user name that is not one topic level is cleaned up, or replaced.
        Assert.Equal("j.doe", WebWatchVerb.LocalClinicianName("j.doe"));
        Assert.Equal("ab", WebWatchVerb.LocalClinicianName("a/b#"));
        Assert.Equal("clinician", WebWatchVerb.LocalClinicianName("_x"));
        Assert.Equal("clinician", WebWatchVerb.LocalClinicianName(null));
        Assert.Throws<UsageException>(() => PageConfig("alice", new() { Broker = "mqtt://127.0.0.1:1883" }));
    }

    [Theory]
    [InlineData("/", "index.html")]
    [InlineData("/app.js", "app.js")]
    [InlineData("/a/b.css?x=1", "a/b.css")]
    [InlineData("/%61pp.js", "app.js")]
    [InlineData("/..", null)]
    [InlineData("/a/./b", null)]
    [InlineData("/a//b", null)]
    [InlineData("/%zz", null)]
    [InlineData("relative", null)]
    [InlineData("", null)]
    public void Request_paths(string target, string? expected) => Assert.Equal(expected, WebRequestPath.ToRelative(target));
}
