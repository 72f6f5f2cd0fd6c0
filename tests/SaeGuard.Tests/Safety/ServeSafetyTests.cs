using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using SaeGuard.Server;
using SaeGuard.Serving;
using SaeGuard.Tests.Infrastructure;
using SaeGuard.Tests.Serving;

namespace SaeGuard.Tests.Safety;

/// <summary>Issue 12, case 7: serve on a busy port is one line and exit 1; a body without Content-Type gets 415.</summary>
[Collection("Guard")]
public class ServeSafetyTests(GuardFixture f)
{
    [Fact]
    public async Task A_request_without_content_type_gets_415_and_is_not_scored()
    {
        await using var app = GuardServer.Build(new LoadedGuard(f.Scorer, f.Catalog, f.ProbeDir), new GuardServerOptions(), b => b.WebHost.UseTestServer());
        await app.StartAsync();
        var bare = new ByteArrayContent(Encoding.UTF8.GetBytes("{\"text\":\"How do I bake bread?\"}"));
        Assert.Null(bare.Headers.ContentType);
        var r = await app.GetTestClient().PostAsync("/v1/classify", bare);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, r.StatusCode);
        var body = await r.Content.ReadAsStringAsync();
        Assert.Contains("unsupported_media_type", body);
        Assert.DoesNotContain("score", body);
        await app.StopAsync();
    }

    [Fact]
    public void Serve_on_a_busy_port_is_one_clear_line_and_exit_1()
    {
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        int port = ((IPEndPoint)busy.LocalEndpoint).Port;
        var (code, _, err) = CliHarness.Run("serve", "--probe", f.ProbeDir, "--urls", $"http://127.0.0.1:{port}");
        Assert.Equal(1, code);
        Assert.Contains($"Cannot listen on http://127.0.0.1:{port}", err);
        Assert.DoesNotContain("   at ", err);
        Assert.DoesNotContain("Exception", err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error:"));
    }
}
