using Parley.Core.Events;
using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Core.Ports;
using Parley.Server.Auth;
using Parley.Server.Contracts;
using Parley.Server.Hosting;
using Parley.Server.Http;
using Parley.Server.Social;

namespace Parley.Server.Conversations;

public static class ConversationEndpoints
{
    public sealed record CreateConversationBody(string Type, IReadOnlyList<Guid> MemberIds, string? Title);

    public static void MapConversationEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/conversations").RequireAuthorization().WithTags("Conversations");
        group.MapPost("/", CreateAsync).Accepts<CreateConversationBody>("application/json")
            .Produces<ConversationView>(StatusCodes.Status201Created).Produces<ConversationView>()
            .WithName("createConversation").WithErrors(ErrorCodes.InvalidRecipient)
            .WithErrors(ErrorCodes.UserBlocked, ErrorCodes.FriendshipRequired);
        group.MapGet("/", ListAsync).Produces<ConversationPageView>().WithName("listConversations")
            .WithQuery("limit", "integer", "Page size; the server's default when absent, capped at Parley:Limits:MaxPageSize.", minimum: 1, maximum: int.MaxValue)
            .WithQuery("cursor", "string", "The nextCursor of the previous page; absent for the first page.");
        group.MapGet("/{id}", GetAsync).Produces<ConversationView>()
            .WithName("getConversation").WithErrors(ErrorCodes.NotConversationMember, ErrorCodes.ConversationNotFound);
        group.MapGet("/{id}/presence", PresenceAsync).Produces<ConversationPresenceView>()
            .WithName("getPresence").WithErrors(ErrorCodes.NotConversationMember, ErrorCodes.ConversationNotFound);
    }

    private static async Task<IResult> CreateAsync(
        HttpRequest request, IConversationStore conversations, IUserStore users, MembershipCache membership,
        IOptions<LimitsOptions> limits, TimeProvider time, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var body = await JsonRequest.ReadAsync(request, ct);
        var type = body.RequireString("type", 32);
        var memberIds = body.RequireGuidArray("memberIds", limits.Value.MaxGroupMembers);
        var title = body.OptionalString("title", limits.Value.MaxTitleLength);
        var others = memberIds.Where(id => id != me).Distinct().ToList();

        if (string.Equals(type, ConversationTypes.Direct, StringComparison.Ordinal))
        {
            if (others.Count != 1)
            {
                throw Errors.InvalidRecipient("A direct conversation needs exactly one other user in memberIds").With("field", "memberIds").ToException();
            }
        }
        else if (!string.Equals(type, ConversationTypes.Group, StringComparison.Ordinal))
        {
            throw Errors.InvalidValue("type", "must be 'direct' or 'group'").ToException();
        }

        if (others.Count + 1 > limits.Value.MaxGroupMembers)
        {
            throw Errors.TooLong("memberIds", limits.Value.MaxGroupMembers, others.Count + 1, "members").ToException();
        }

        var existing = await users.ExistingUsersAsync(others, ct);
        var unknown = others.Where(id => !existing.Contains(id)).ToList();
        if (unknown.Count > 0)
        {
            throw Errors.InvalidRecipient("Some memberIds are not registered users").With("field", "memberIds").With("unknownIds", unknown).ToException();
        }

        var now = time.GetUtcNow();
        ConversationRecord conversation;
        var created = true;
        if (string.Equals(type, ConversationTypes.Direct, StringComparison.Ordinal))
        {
            await request.HttpContext.RequireDirectAllowedAsync(me, others[0], ct);
            (conversation, created) = await conversations.GetOrCreateDirectAsync(Guid.CreateVersion7(now), me, others[0], now, EventContext.New(me), ct);
        }
        else
        {
            conversation = await conversations.CreateGroupAsync(Guid.CreateVersion7(now), me, title, others, now, EventContext.New(me), ct);
        }

        var members = await conversations.GetMemberIdsAsync(conversation.Id, ct);
        membership.Invalidate(conversation.Id, members);
        var participant = await conversations.GetParticipantAsync(conversation.Id, me, ct);
        var view = ConversationView.From(conversation, members, participant?.UnreadCount ?? 0);
        return created ? Results.Created($"/api/v1/conversations/{conversation.Id}", view) : Results.Ok(view);
    }

    private static async Task<IResult> ListAsync(HttpRequest request, IConversationStore conversations, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var limit = (int)(JsonRequest.QueryInt64(request, "limit", 1, int.MaxValue) ?? limits.Value.DefaultPageSize);
        limit = Math.Min(limit, limits.Value.MaxPageSize);
        var rawCursor = request.Query["cursor"].ToString();
        var cursor = ConversationCursor.TryDecode(rawCursor);
        if (cursor is null && rawCursor.Length > 0)
        {
            throw Errors.InvalidValue("cursor", "is not a cursor this API returned").ToException();
        }

        var page = await conversations.ListConversationsAsync(me, cursor, limit, ct);
        return BufferedJson.Ok(new ConversationPageView(
            page.Items.Select(s => ConversationView.From(s.Conversation, s.MemberIds, s.UnreadCount, s.LastMessage)).ToList(),
            page.Next?.Encode()));
    }

    private static async Task<IResult> GetAsync(string id, HttpContext context, IConversationStore conversations, MembershipCache membership, CancellationToken ct)
    {
        var me = CurrentUser.Id(context.User);
        var conversationId = JsonRequest.RouteId(id, "conversationId");
        await membership.RequireMemberAsync(conversationId, me, ct);
        var conversation = await conversations.GetConversationAsync(conversationId, ct) ?? throw Errors.ConversationNotFound(conversationId).ToException();
        var participant = await conversations.GetParticipantAsync(conversationId, me, ct);
        var members = await conversations.GetMemberIdsAsync(conversationId, ct);
        return Results.Ok(ConversationView.From(conversation, members, participant?.UnreadCount ?? 0));
    }

    /// <summary>Who of the members is online, from the per-user connection counts presence keeps (no scan of connections).</summary>
    private static async Task<IResult> PresenceAsync(string id, HttpContext context, MembershipCache membership, IPresenceStore presence, CancellationToken ct)
    {
        var me = CurrentUser.Id(context.User);
        var conversationId = JsonRequest.RouteId(id, "conversationId");
        await membership.RequireMemberAsync(conversationId, me, ct);
        var members = await presence.GetAsync([.. await membership.MembersAsync(conversationId, ct)], ct);
        return Results.Ok(new ConversationPresenceView(conversationId, members.Count(m => m.Online), members.Sum(m => m.Connections),
            members.Select(m => new MemberPresenceView(m.UserId, m.Online, m.Connections, m.LastSeenAt)).ToList()));
    }
}
