using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Options;
using Parley.Server.Contracts;

namespace Parley.Server.Http;

/// <summary>
/// A JSON answer serialized in full before the status line is sent: if serializing fails, the client gets a clean
/// 500 problem instead of a 200 whose body stops halfway (a streamed page flushes its first bytes early). The buffer
/// is pooled: a 50-message page is some 20 KB, allocated afresh for every read it was a large share of the garbage
/// the history path made.
/// </summary>
public sealed class BufferedJson<T>(T value, int statusCode = StatusCodes.Status200OK) : IResult
{
    /// <summary>The source-generated writer for a page type (<see cref="RestJsonContext"/>), else null: the app's options.</summary>
    private static readonly JsonTypeInfo<T>? Generated = RestJsonContext.Default.GetTypeInfo(typeof(T)) as JsonTypeInfo<T>;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var options = Generated?.Options ?? httpContext.RequestServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        using var buffer = new PooledBuffer();
        await using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = options.Encoder, Indented = options.WriteIndented, MaxDepth = options.MaxDepth, SkipValidation = true }))
        {
            if (Generated is { } generated)
            {
                JsonSerializer.Serialize(writer, value, generated);
            }
            else
            {
                JsonSerializer.Serialize(writer, value, options);
            }
        }

        httpContext.Response.StatusCode = statusCode;
        httpContext.Response.ContentType = "application/json; charset=utf-8";
        httpContext.Response.ContentLength = buffer.Written.Length;
        await httpContext.Response.Body.WriteAsync(buffer.Written, httpContext.RequestAborted);
    }
}

public static class BufferedJson
{
    public static BufferedJson<T> Ok<T>(T value) => new(value);
}

/// <summary>A growable buffer over <see cref="ArrayPool{T}.Shared"/>; disposing it returns the array.</summary>
internal sealed class PooledBuffer : IBufferWriter<byte>, IDisposable
{
    private byte[] _array = ArrayPool<byte>.Shared.Rent(16 * 1024);
    private int _length;

    public ReadOnlyMemory<byte> Written => _array.AsMemory(0, _length);

    public void Advance(int count) => _length += count;

    public Memory<byte> GetMemory(int sizeHint = 0) => Reserve(sizeHint).AsMemory(_length);

    public Span<byte> GetSpan(int sizeHint = 0) => Reserve(sizeHint).AsSpan(_length);

    private byte[] Reserve(int sizeHint)
    {
        var needed = _length + Math.Max(sizeHint, 1);
        if (needed > _array.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _array.Length * 2));
            _array.AsSpan(0, _length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_array);
            _array = larger;
        }

        return _array;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_array);
        _array = [];
    }
}
