using Parley.Core.Ports;
using Parley.Server.Auth;
using Parley.Server.Contracts;

namespace Parley.Server.Conversations;

public static class UnreadEndpoints
{
    public static void MapUnreadEndpoints(this IEndpointRouteBuilder app) =>
        app.MapGet("/api/v1/users/me/unread", UnreadAsync).RequireAuthorization().WithTags("Users").Produces<UnreadTotalView>().WithName("getUnreadTotal");

    private static async Task<IResult> UnreadAsync(HttpContext context, IConversationStore conversations, CancellationToken ct) =>
        Results.Ok(UnreadTotalView.From(await conversations.GetUnreadTotalAsync(CurrentUser.Id(context.User), ct)));
}
