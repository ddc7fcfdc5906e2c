using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Core.Events;
using Parley.Core.Membership;
using Parley.Core.Ports;
using Parley.Server.Auth;
using Parley.Server.Contracts;
using Parley.Server.Conversations;
using Parley.Server.Hosting;
using Parley.Server.Http;

namespace Parley.Server.Messaging;

/// <summary>
/// What a user keeps for themselves (M9): bookmarks across conversations, and one draft per conversation synced to the
/// user's other devices. Nobody else sees them, so they are written directly, not through the message log.
/// </summary>
public static class PersonalEndpoints
{
    public sealed record DraftBody(string Content, System.Text.Json.JsonElement? Metadata);

    public static void MapPersonalEndpoints(this IEndpointRouteBuilder app)
    {
        var messages = app.MapGroup("/api/v1/messages/{id}").RequireAuthorization().WithTags("Personal");
        messages.MapPut("/bookmark", BookmarkAsync).Produces<BookmarkView>().WithName("bookmarkMessage").WithErrors(ErrorCodes.MessageNotFound);
        messages.MapDelete("/bookmark", UnbookmarkAsync).Produces(StatusCodes.Status204NoContent).WithName("unbookmarkMessage");
        app.MapGet("/api/v1/bookmarks", BookmarksAsync).RequireAuthorization().WithTags("Personal").Produces<BookmarkPageView>().WithName("listBookmarks")
            .WithPaging();

        var draft = app.MapGroup("/api/v1/conversations/{id}/draft").RequireAuthorization().WithTags("Personal");
        string[] member = [ErrorCodes.NotConversationMember, ErrorCodes.ConversationNotFound];
        draft.MapPut("/", SaveDraftAsync).Accepts<DraftBody>("application/json").Produces<DraftView>().WithName("saveDraft").WithErrors(member);
        draft.MapGet("/", GetDraftAsync).Produces<DraftView>().Produces(StatusCodes.Status204NoContent).WithName("getDraft").WithErrors(member);
        draft.MapDelete("/", DeleteDraftAsync).Produces(StatusCodes.Status204NoContent).WithName("deleteDraft").WithErrors(member);
    }

    /// <summary>Only a message the caller may read; anyone else's is "not found", as for its status.</summary>
    private static async Task<IResult> BookmarkAsync(string id, HttpContext context, IMessageStore messages, IPersonalStore personal, MembershipCache membership, TimeProvider time, CancellationToken ct)
    {
        var me = CurrentUser.Id(context.User);
        var messageId = JsonRequest.RouteId(id, "messageId");
        var message = await messages.GetMessageAsync(messageId, ct) ?? throw Errors.MessageNotFound(messageId).ToException();
        await membership.RequireMessageAccessAsync(message.ConversationId, messageId, me, ct);

        var (bookmark, _) = await personal.AddBookmarkAsync(me, message, time.GetUtcNow(), EventContext.New(me), ct);
        return Results.Ok(BookmarkView.From(bookmark));
    }

    private static async Task<IResult> UnbookmarkAsync(string id, HttpContext context, IPersonalStore personal, TimeProvider time, CancellationToken ct)
    {
        var me = CurrentUser.Id(context.User);
        await personal.RemoveBookmarkAsync(me, JsonRequest.RouteId(id, "messageId"), time.GetUtcNow(), EventContext.New(me), ct);
        return Results.NoContent();
    }

    private static async Task<IResult> BookmarksAsync(HttpRequest request, IPersonalStore personal, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var limit = JsonRequest.QueryPageSize(request, "limit", limits.Value);
        var cursor = JsonRequest.QueryCursor(request, "cursor");

        var page = await personal.ListBookmarksAsync(CurrentUser.Id(request.HttpContext.User), cursor, limit, ct);
        return Results.Ok(new BookmarkPageView([.. page.Items.Select(i => BookmarkView.From(i.Bookmark, i.Message))], page.Next?.Encode()));
    }

    private static async Task<IResult> SaveDraftAsync(string id, HttpRequest request, IPersonalStore personal, MembershipCache membership, IRealtimeEvents realtime,
        IOptions<LimitsOptions> limits, TimeProvider time, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var conversationId = JsonRequest.RouteId(id, "conversationId");
        var body = await JsonRequest.ReadAsync(request, ct);
        var draft = new DraftRecord(me, conversationId, body.RequireUtf8String("content", limits.Value.MaxContentBytes),
            ConversationFields.JsonObject(body, "metadata", limits.Value.MaxMetadataBytes), time.GetUtcNow());
        await membership.RequireAsync(conversationId, me, ConversationAction.Read, ct);
        await personal.SaveDraftAsync(draft, EventContext.New(me), ct);
        var saved = await personal.GetDraftAsync(me, conversationId, ct) ?? draft;
        var view = DraftView.From(saved);
        await realtime.PublishAsync(new AddressedEvent(new DraftUpdatedEvent(view), [me]), ct);
        return Results.Ok(view);
    }

    private static async Task<IResult> GetDraftAsync(string id, HttpContext context, IPersonalStore personal, MembershipCache membership, CancellationToken ct)
    {
        var me = CurrentUser.Id(context.User);
        var conversationId = JsonRequest.RouteId(id, "conversationId");
        await membership.RequireAsync(conversationId, me, ConversationAction.Read, ct);
        return await personal.GetDraftAsync(me, conversationId, ct) is { } draft ? Results.Ok(DraftView.From(draft)) : Results.NoContent();
    }

    private static async Task<IResult> DeleteDraftAsync(string id, HttpContext context, IPersonalStore personal, MembershipCache membership, IRealtimeEvents realtime,
        TimeProvider time, CancellationToken ct)
    {
        var me = CurrentUser.Id(context.User);
        var conversationId = JsonRequest.RouteId(id, "conversationId");
        await membership.RequireAsync(conversationId, me, ConversationAction.Read, ct);
        var now = time.GetUtcNow();
        if (await personal.DeleteDraftAsync(me, conversationId, now, EventContext.New(me), ct))
        {
            await realtime.PublishAsync(new AddressedEvent(new DraftUpdatedEvent(new DraftView(conversationId, null, null, now, true)), [me]), ct);
        }

        return Results.NoContent();
    }
}
