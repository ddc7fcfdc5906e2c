using Microsoft.AspNetCore.SignalR;
using Parley.Core.Ports;
using Parley.Server.Auth;
using Parley.Server.Hosting;
using Parley.Server.Http;

namespace Parley.Server.Conversations;

/// <summary>The caller's unread messages over all conversations (M11): for a badge, without paging the conversation list.</summary>
public sealed record UnreadTotalView(long Total, int Conversations)
{
    public static UnreadTotalView From(UnreadTotal total) => new(total.Total, total.Conversations);
}

public static class UnreadEndpoints
{
    /// <summary>The realtime event each new connection gets right after it connects.</summary>
    public const string UnreadTotalEvent = "unreadTotal";

    public static void MapUnreadEndpoints(this IEndpointRouteBuilder app) =>
        app.MapGet("/api/v1/users/me/unread", UnreadAsync).RequireAuthorization().WithTags("Users").Produces<UnreadTotalView>().WithName("getUnreadTotal");

    private static async Task<IResult> UnreadAsync(HttpContext context, IConversationStore conversations, CancellationToken ct) =>
        Results.Ok(UnreadTotalView.From(await conversations.GetUnreadTotalAsync(CurrentUser.Id(context.User), ct)));

    /// <summary>
    /// Sends a new connection its user's total right after it connects (one line in ChatHub.OnConnectedAsync), so a badge
    /// is right from the start. A store that cannot answer costs the badge, never the connection.
    /// </summary>
    public static async Task SendUnreadTotalAsync(this HubCallerContext context, IClientProxy caller)
    {
        var services = context.GetHttpContext()!.RequestServices;
        try
        {
            var total = await services.GetRequiredService<IConversationStore>().GetUnreadTotalAsync(CurrentUser.Id(context.User), context.ConnectionAborted);
            await caller.SendAsync(UnreadTotalEvent, UnreadTotalView.From(total), context.ConnectionAborted);
        }
        catch (Exception ex) when (!context.ConnectionAborted.IsCancellationRequested)
        {
            Log.UnreadTotalFailed(services.GetRequiredService<ILogger<UnreadTotalView>>(), ex, context.ConnectionId);
        }
    }
}
