using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using SaeGuard.Common;

namespace SaeGuard.Server;

/// <summary>Reads a JSON request body under a size cap, with JSON errors for every bad input.</summary>
static class RequestReader
{
    public static readonly JsonSerializerOptions Strict = new(JsonDefaults.Line)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
    };

    public static async Task<T> ReadJson<T>(HttpContext ctx, long maxBytes, string shape) where T : class
    {
        var type = ctx.Request.ContentType;
        if (string.IsNullOrWhiteSpace(type))
            throw new ApiException(415, "unsupported_media_type", "Send the body as application/json (the request has no Content-Type).");
        {
            var media = type.Split(';')[0].Trim();
            if (!media.Equals("application/json", StringComparison.OrdinalIgnoreCase) && !media.EndsWith("+json", StringComparison.OrdinalIgnoreCase))
                throw new ApiException(415, "unsupported_media_type", $"Send the body as application/json, not '{media}'.");
        }
        var body = await ReadBody(ctx, maxBytes);
        if (body.Length == 0) throw new ApiException(400, "empty_body", $"The request body is empty; expected {shape}.");
        try
        {
            return JsonSerializer.Deserialize<T>(body, Strict)
                   ?? throw new ApiException(400, "invalid_request", $"The body is JSON null; expected {shape}.");
        }
        catch (JsonException e)
        {
            var where = e.Path is { Length: > 0 } p ? $" at {p}" : "";
            var pos = e.LineNumber is long line ? $" (line {line + 1}, byte {e.BytePositionInLine + 1})" : "";
            throw new ApiException(400, "invalid_json", $"The body is not valid JSON or has the wrong shape{where}{pos}; expected {shape}.");
        }
    }

    static async Task<byte[]> ReadBody(HttpContext ctx, long maxBytes)
    {
        if (ctx.Request.ContentLength > maxBytes) throw TooLarge(maxBytes);
        using var ms = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            int n;
            while ((n = await ctx.Request.Body.ReadAsync(buffer, ctx.RequestAborted)) > 0)
            {
                if (ms.Length + n > maxBytes) throw TooLarge(maxBytes);
                ms.Write(buffer, 0, n);
            }
        }
        catch (BadHttpRequestException e)
        {
            throw e.StatusCode == 413 ? TooLarge(maxBytes) : new ApiException(e.StatusCode, "bad_request", "The request body could not be read.");
        }
        return ms.ToArray();
    }

    static ApiException TooLarge(long maxBytes) =>
        new(413, "body_too_large", $"The request body is larger than this server accepts ({maxBytes:N0} bytes).");
}
