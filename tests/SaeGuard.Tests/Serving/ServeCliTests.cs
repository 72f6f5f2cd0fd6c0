using SaeGuard.Server;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Serving;

/// <summary>`saeguard serve` option checks (the running server is covered by the browser test).</summary>
[Collection("Guard")]
public class ServeCliTests
{
    readonly GuardFixture _f;
    public ServeCliTests(GuardFixture f) => _f = f;

    [Fact]
    public void Refuses_non_loopback_addresses_without_allow_remote()
    {
        foreach (var url in new[] { "http://0.0.0.0:5080", "http://*:5080", "http://192.168.1.4:5080", "http://example.org:80" })
        {
            var (code, _, err) = CliHarness.Run("serve", "--probe", _f.ProbeDir, "--urls", url);
            Assert.Equal(1, code);
            Assert.Contains("--allow-remote", err);
        }
    }

    [Theory]
    [InlineData("--probe", "/nonexistent/probe-dir", "/nonexistent/probe-dir")]
    [InlineData("--urls", "https://127.0.0.1:5443", "http://")]
    [InlineData("--urls", "http://127.0.0.1:5080/api", "path")]
    [InlineData("--max-texts", "0", "--max-texts")]
    [InlineData("--max-body", "0", "--max-body")]
    [InlineData("--report", "/nonexistent/report", "/nonexistent/report")]
    public void Names_bad_options_and_folders(string option, string value, string named)
    {
        var args = new List<string> { "serve", "--probe", _f.ProbeDir };
        if (option == "--probe") args[2] = value; else args.AddRange(new[] { option, value });
        var (code, _, err) = CliHarness.Run(args.ToArray());
        Assert.Equal(1, code);
        Assert.Contains(named, err);
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.8.9.10", true)]
    [InlineData("localhost", true)]
    [InlineData("[::1]", true)]
    [InlineData("0.0.0.0", false)]
    [InlineData("[::]", false)]
    [InlineData("10.0.0.1", false)]
    [InlineData("localhost.example.com", false)]
    public void Knows_loopback_hosts(string host, bool loopback) => Assert.Equal(loopback, ListenUrls.IsLoopback(host));
}
