using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Core.Events;
using Parley.Core.Ports;
using Parley.Core.Push;
using Parley.Core.Validation;
using Parley.Server.Auth;
using Parley.Server.Contracts;
using Parley.Server.Http;

namespace Parley.Server.Push;

/// <summary>
/// Push targets (P5): a device registers where its pushes go, lists and removes its registrations. A token is the
/// provider's opaque string; a Web Push device sends its subscription instead, whose endpoint must be a known push
/// service (<c>Parley:Push:WebPush:AllowedEndpoints</c>): the server POSTs there.
/// </summary>
public static class DeviceEndpoints
{
    public const int MaxTokenLength = 4096;
    public const int MaxEndpointLength = 2048;

    public static void MapDeviceEndpoints(this IEndpointRouteBuilder app)
    {
        var devices = app.MapGroup("/api/v1/devices").RequireAuthorization().WithTags("Push");
        devices.MapPost("/", RegisterAsync).Produces<DeviceView>(StatusCodes.Status201Created).Produces<DeviceView>().WithName("registerDevice")
            .WithErrors(ErrorCodes.PushPlatformUnavailable);
        devices.MapGet("/", ListAsync).Produces<DeviceListView>().WithName("listDevices");
        devices.MapDelete("/{id}", RemoveAsync).Produces(StatusCodes.Status204NoContent).WithName("removeDevice").WithErrors(ErrorCodes.DeviceNotFound);
        devices.MapGet("/webpush-key", WebPushKeyAsync).Produces<WebPushKeyView>().WithName("getWebPushKey");
    }

    /// <summary>201 with a new registration; 200 when this user had already registered the same target.</summary>
    private static async Task<IResult> RegisterAsync(HttpRequest request, IPushDeviceStore store, IEnumerable<IPushProvider> providers, IOptions<PushOptions> options,
        TimeProvider time, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var body = await JsonRequest.ReadAsync(request, ct);
        var platform = body.RequireString("platform", 16);
        if (!PushPlatforms.All.Contains(platform))
        {
            throw Errors.InvalidValue("platform", $"must be one of {string.Join(", ", PushPlatforms.All)}").ToException();
        }

        string token;
        if (platform == PushPlatforms.WebPush)
        {
            var subscription = body.OptionalObject("subscription") ?? throw Errors.MissingField("subscription").ToException();
            var endpoint = subscription.RequireString("endpoint", MaxEndpointLength);
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || !options.Value.AllowsEndpoint(uri))
            {
                throw Errors.InvalidValue("subscription.endpoint", "must be the URL of a known push service (Parley:Push:WebPush:AllowedEndpoints)").ToException();
            }

            var keys = subscription.OptionalObject("keys") ?? throw Errors.MissingField("subscription.keys").ToException();
            var p256dh = RequireKey(keys, "p256dh", 65);
            var auth = RequireKey(keys, "auth", 16);
            token = WebPushSubscriptions.Token(uri.AbsoluteUri, p256dh, auth);
        }
        else
        {
            token = body.RequireString("token", MaxTokenLength);
            TextRules.Require("token", token);
            if (token.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            {
                throw Errors.InvalidValue("token", "must not contain spaces or control characters").ToException();
            }
        }

        if (!providers.Any(p => p.Platform == platform && p.Configured))
        {
            throw Errors.PushPlatformUnavailable(platform).ToException();
        }

        var (device, created) = await store.RegisterAsync(me, platform, token, time.GetUtcNow(), EventContext.New(me), ct);
        return Results.Json(DeviceView.From(device), statusCode: created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    }

    private static async Task<IResult> ListAsync(HttpRequest request, IPushDeviceStore store, CancellationToken ct) =>
        Results.Ok(new DeviceListView([.. (await store.ListAsync(CurrentUser.Id(request.HttpContext.User), ct)).Select(DeviceView.From)]));

    private static async Task<IResult> RemoveAsync(string id, HttpRequest request, IPushDeviceStore store, TimeProvider time, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var deviceId = JsonRequest.RouteId(id, "deviceId");
        return await store.RemoveAsync(deviceId, me, "user", time.GetUtcNow(), EventContext.New(me), ct)
            ? Results.NoContent()
            : throw Errors.DeviceNotFound(deviceId).ToException();
    }

    private static async Task<IResult> WebPushKeyAsync(VapidKeys keys, CancellationToken ct) => Results.Ok(new WebPushKeyView((await keys.GetAsync(ct)).PublicKey));

    /// <summary>A subscription key, base64url, of the length RFC 8291 gives it (a P-256 point, a 16-byte secret).</summary>
    private static string RequireKey(JsonBody keys, string name, int bytes)
    {
        var value = keys.RequireString(name, 200);
        try
        {
            if (System.Buffers.Text.Base64Url.DecodeFromChars(value.TrimEnd('=')).Length == bytes)
            {
                return value.TrimEnd('=');
            }
        }
        catch (FormatException)
        {
        }

        throw Errors.InvalidValue($"subscription.keys.{name}", $"must be {bytes} bytes, base64url-encoded").ToException();
    }
}
