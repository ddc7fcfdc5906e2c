using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Hosting;
using Parley.Server.Hosting;

namespace Parley.Server.Http;

/// <summary>Writes a <see cref="ParleyError"/> as RFC 9457 Problem Details with Parley's stable <c>code</c>.</summary>
public static class Problems
{
    public const string ContentType = "application/problem+json";

    public static async Task WriteAsync(HttpContext context, ParleyError error)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.Clear();
        context.Response.StatusCode = error.Status;
        context.Response.ContentType = ContentType;
        if (error.Details?.GetValueOrDefault("retryAfterSeconds") is int seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        var body = new ProblemBody(
            $"urn:parley:error:{error.Code.ToLowerInvariant()}",
            ReasonPhrases.Get(error.Status),
            error.Status,
            error.Message,
            context.Request.Path,
            error.Code,
            error.Details,
            Activity.Current?.TraceId.ToString() ?? context.TraceIdentifier);
        await JsonSerializer.SerializeAsync(context.Response.Body, body, JsonSerializerOptions.Web, context.RequestAborted);
    }

    private sealed record ProblemBody(string Type, string Title, int Status, string Detail, string Instance, string Code, IReadOnlyDictionary<string, object?>? Details, string TraceId);
}

internal static class ReasonPhrases
{
    public static string Get(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Error";
}

/// <summary>
/// Turns every failure into a documented problem: Parley rejections as they are, framework rejections
/// (oversized or malformed requests) as 4xx, anything unexpected as one logged 500 with no internals leaked.
/// </summary>
public sealed class ErrorHandlingMiddleware(RequestDelegate next, TransientErrors transient, ILogger<ErrorHandlingMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (ParleyException ex)
        {
            await Problems.WriteAsync(context, ex.Error);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await Problems.WriteAsync(context, Errors.PayloadTooLarge(context.RequestServices.GetRequiredService<IOptions<LimitsOptions>>().Value.MaxRequestBodyBytes));
        }
        catch (BadHttpRequestException ex)
        {
            await Problems.WriteAsync(context, Errors.InvalidSchema($"Bad request: {ex.Message}"));
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is no one to answer.
        }
        catch (Exception ex) when (transient.IsTransient(ex))
        {
            Log.DependencyUnavailable(logger, ex, context.Request.Method, context.Request.Path);
            await Problems.WriteAsync(context, Errors.ServiceUnavailable("A backing service"));
        }
        catch (Exception ex)
        {
            Log.UnhandledRequestError(logger, ex, context.Request.Method, context.Request.Path);
            await Problems.WriteAsync(context, Errors.Internal());
        }
    }
}
