using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Parley.Server.Http;

/// <summary>
/// A JSON answer serialized in full before the status line is sent: if serializing fails, the client gets a clean
/// 500 problem instead of a 200 whose body stops halfway (a streamed page flushes its first bytes early).
/// </summary>
public sealed class BufferedJson<T>(T value, int statusCode = StatusCodes.Status200OK) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var options = httpContext.RequestServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        var bytes = JsonSerializer.SerializeToUtf8Bytes(value, options);
        httpContext.Response.StatusCode = statusCode;
        httpContext.Response.ContentType = "application/json; charset=utf-8";
        httpContext.Response.ContentLength = bytes.Length;
        await httpContext.Response.Body.WriteAsync(bytes, httpContext.RequestAborted);
    }
}

public static class BufferedJson
{
    public static BufferedJson<T> Ok<T>(T value) => new(value);
}
