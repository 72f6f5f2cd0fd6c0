namespace SaeGuard.Common;

/// <summary>The running SaeGuard's version, as recorded in every output folder.</summary>
public static class ToolInfo
{
    public static string Version => typeof(ToolInfo).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}
