using System.Buffers;
using Microsoft.Extensions.Options;
using Parley.Server.Hosting;
using Parley.Core.Errors;
using Parley.Core.Ports;
using Parley.Core.Validation;

namespace Parley.Server.Http;

public static class JsonRequest
{
    /// <summary>Reads the body as one JSON object: 415 for a non-JSON content type, 413 past the size limit, 400 for bad JSON.</summary>
    public static async Task<JsonBody> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType())
        {
            throw Errors.UnsupportedMediaType(request.ContentType).ToException();
        }

        var max = request.HttpContext.RequestServices.GetRequiredService<IOptions<LimitsOptions>>().Value.MaxRequestBodyBytes;
        if (request.ContentLength > max)
        {
            throw Errors.PayloadTooLarge(max).ToException();
        }

        var buffer = new ArrayBufferWriter<byte>((int)Math.Min(request.ContentLength ?? 1024, max) + 1);
        var total = 0L;
        while (true)
        {
            var read = await request.Body.ReadAsync(buffer.GetMemory(4096), cancellationToken);
            if (read == 0)
            {
                break;
            }

            total += read;
            if (total > max)
            {
                // Read the rest (Kestrel stops at its hard cap) so the 413 reaches the client instead of a reset
                // connection with unread bytes in it.
                await request.Body.CopyToAsync(Stream.Null, cancellationToken);
                throw Errors.PayloadTooLarge(max).ToException();
            }

            buffer.Advance(read);
        }

        return JsonBody.Parse(buffer.WrittenMemory);
    }

    public static Guid RouteId(string value, string field) =>
        Guid.TryParse(value, out var id) ? id : throw Errors.InvalidValue(field, "must be a UUID").ToException();

    /// <summary>The one value of a query parameter, or null when it is absent or empty; given twice is INVALID_FIELD_VALUE.</summary>
    public static string? QueryString(HttpRequest request, string name)
    {
        var raw = request.Query[name];
        return raw.Count == 0 || string.IsNullOrEmpty(raw[0]) ? null
            : raw.Count > 1 ? throw Errors.InvalidValue(name, "must be given once").ToException()
            : raw[0];
    }

    /// <summary>One of <paramref name="allowed"/> exactly, or null when absent.</summary>
    public static string? QueryOneOf(HttpRequest request, string name, IReadOnlyList<string> allowed) =>
        QueryString(request, name) is not { } value ? null
        : allowed.Contains(value, StringComparer.Ordinal) ? value
        : throw Errors.InvalidValue(name, $"must be one of: {string.Join(", ", allowed)}").ToException();

    /// <summary>The cursor of a keyset-paged list: null for the first page; one this API did not return is a 400.</summary>
    public static ConversationCursor? QueryCursor(HttpRequest request, string name)
    {
        var raw = request.Query[name].ToString();
        return ConversationCursor.TryDecode(raw) is { } cursor ? cursor
            : raw.Length > 0 ? throw Errors.InvalidValue(name, "is not a cursor this API returned").ToException()
            : null;
    }

    /// <summary>A list's page size: the server's default when absent, capped at <see cref="LimitsOptions.MaxPageSize"/>.</summary>
    public static int QueryPageSize(HttpRequest request, string name, LimitsOptions limits) =>
        (int)Math.Min(QueryInt64(request, name, 1, int.MaxValue) ?? limits.DefaultPageSize, limits.MaxPageSize);

    /// <summary><c>true</c> or <c>false</c> (lower case), or null when absent.</summary>
    public static bool? QueryBool(HttpRequest request, string name) =>
        QueryOneOf(request, name, ["true", "false"]) is { } value ? value == "true" : null;

    public static long? QueryInt64(HttpRequest request, string name, long min, long max)
    {
        var raw = request.Query[name];
        if (raw.Count == 0 || string.IsNullOrEmpty(raw[0]))
        {
            return null;
        }

        if (raw.Count > 1 || !long.TryParse(raw[0], System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var value))
        {
            throw Errors.WrongType(name, "an integer").ToException();
        }

        return value < min || value > max ? throw Errors.InvalidValue(name, $"must be between {min} and {max}").ToException() : value;
    }
}
