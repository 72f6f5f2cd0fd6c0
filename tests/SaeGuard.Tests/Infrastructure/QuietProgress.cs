using System.Runtime.CompilerServices;
using SaeGuard.Common;

namespace SaeGuard.Tests.Infrastructure;

static class QuietProgress
{
    /// <summary>
    /// Progress bars stay silent in the test host: hundreds of parallel bars would flood its stderr,
    /// which the test platform shows (truncated) when the host dies, hiding the reason.
    /// </summary>
    [ModuleInitializer]
    internal static void Init() => ProgressBar.Silent = true;
}
