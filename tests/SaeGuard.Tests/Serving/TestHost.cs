using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Logging;

namespace SaeGuard.Tests.Serving;

/// <summary>Hosts a guard server in process (TestServer) without console logging: a logged
/// server fault must not land in the stdout another test (a CLI run) is reading.</summary>
static class TestHost
{
    public static void InProcess(WebApplicationBuilder b)
    {
        b.WebHost.UseTestServer();
        b.Logging.ClearProviders();
    }
}
