using Parley.Core.Events;
using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Core.Membership;
using Parley.Core.Ports;
using Parley.Core.Validation;
using Parley.Server.Auth;
using Parley.Server.Contracts;
using Parley.Server.Hosting;
using Parley.Server.Http;
using Parley.Server.Social;

namespace Parley.Server.Conversations;

public static class ConversationEndpoints
{
    public sealed record CreateConversationBody(
        string Type, IReadOnlyList<Guid> MemberIds, string? Title, string? Description, string? AvatarUrl, System.Text.Json.JsonElement? Metadata, string? Visibility,
        ContextBody? Context, Dictionary<string, string>? Sides);

    public sealed record ContextBody(string Type, string Id, System.Text.Json.JsonElement? Metadata);

    public static void MapConversationEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/conversations").RequireAuthorization().WithTags("Conversations");
        group.MapPost("/", CreateAsync).Accepts<CreateConversationBody>("application/json")
            .Produces<ConversationView>(StatusCodes.Status201Created).Produces<ConversationView>()
            .WithName("createConversation").WithErrors(ErrorCodes.InvalidRecipient)
            .WithErrors(ErrorCodes.UserBlocked, ErrorCodes.FriendshipRequired);
        group.MapMemberEndpoints();
        group.MapInviteEndpoints(app);
        group.MapSettingsEndpoint();
        group.MapGet("/", ListAsync).Produces<ConversationPageView>().WithName("listConversations")
            .WithPaging()
            .WithQuery("kind", "string", $"Only conversations of this kind: {string.Join(", ", ConversationTypes.All)}; every kind when absent.")
            .WithQuery("archived", "boolean", "true: only the conversations you archived; false or absent: only the others (absent with contextType: both).")
            .WithQuery("contextType", "string", $"Only conversations about this kind of thing: {string.Join(", ", ContextTypes.All)}.")
            .WithQuery("contextId", "string", "With contextType: only the conversations about this thing (your id for it).");
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
        if (!ConversationTypes.All.Contains(type, StringComparer.Ordinal))
        {
            throw Errors.InvalidValue("type", $"must be one of: {string.Join(", ", ConversationTypes.All)}").ToException();
        }

        var direct = string.Equals(type, ConversationTypes.Direct, StringComparison.Ordinal);
        var memberIds = body.RequireGuidArray("memberIds", limits.Value.MaxGroupMembers);
        var fields = ConversationFields.Read(body, limits.Value);
        if (fields.Status.IsSet)
        {
            throw Errors.InvalidValue("status", "a new conversation is active; change it afterwards with PATCH").ToException();
        }

        if (fields.MessageTtlSeconds.IsSet)
        {
            // Turning disappearing messages on is a change every member is told about (conversationUpdated): one path for it.
            throw Errors.InvalidValue("messageTtlSeconds", "turn disappearing messages on with PATCH once the conversation exists").ToException();
        }

        if (direct && (fields.Title.Value is not null || fields.Description.Value is not null || fields.AvatarUrl.Value is not null
            || fields.Metadata.Value is not null || fields.Visibility.IsSet))
        {
            // A direct conversation is the pair's and has no details of its own (a title used to be ignored silently).
            throw Errors.InvalidValue("type", "a direct conversation has no title, description, avatar, metadata or visibility").ToException();
        }

        var context = ConversationFields.Context(body, limits.Value);
        if (direct && context is not null)
        {
            throw Errors.InvalidValue("context", "a direct conversation is the pair's; a conversation about something is a group with a context").ToException();
        }

        var visibility = fields.Visibility.Or(ConversationVisibility.Private);
        if (string.Equals(visibility, ConversationVisibility.Public, StringComparison.Ordinal) && !string.Equals(type, ConversationTypes.Channel, StringComparison.Ordinal))
        {
            throw Errors.InvalidValue("visibility", "only a channel can be public").ToException();
        }

        var others = memberIds.Where(id => id != me).Distinct().ToList();
        if (direct && others.Count != 1)
        {
            throw Errors.InvalidRecipient("A direct conversation needs exactly one other user in memberIds").With("field", "memberIds").ToException();
        }

        if (others.Count + 1 > limits.Value.MaxGroupMembers)
        {
            throw Errors.TooLong("memberIds", limits.Value.MaxGroupMembers, others.Count + 1, "members").ToException();
        }

        var sides = ConversationFields.Sides(body, [.. others, me], limits.Value.MaxGroupMembers);
        if (sides.Count > 0 && context is null)
        {
            throw Errors.InvalidValue("sides", "only members of a context conversation have a side").ToException();
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
        if (direct)
        {
            await request.HttpContext.RequireDirectAllowedAsync(me, others[0], ct);
            (conversation, created) = await conversations.GetOrCreateDirectAsync(Guid.CreateVersion7(now), me, others[0], now, EventContext.New(me), ct);
        }
        else
        {
            (conversation, created) = await conversations.CreateAsync(
                new NewConversation(Guid.CreateVersion7(now), type, me, others, fields.Title.Value, fields.Description.Value, fields.AvatarUrl.Value, fields.Metadata.Value, visibility)
                {
                    Context = context,
                    Sides = sides,
                },
                now, EventContext.New(me), ct);
        }

        var members = await conversations.GetMemberIdsAsync(conversation.Id, ct);
        membership.Invalidate(conversation.Id);
        var view = ConversationView.Own(conversation, members, await conversations.GetParticipantAsync(conversation.Id, me, ct), now);
        return created ? Results.Created($"/api/v1/conversations/{conversation.Id}", view) : Results.Ok(view);
    }

    /// <summary>Pinned conversations first, then the rest, each by last activity; archived ones only when asked for (and then only they).</summary>
    private static async Task<IResult> ListAsync(HttpRequest request, IConversationStore conversations, IOptions<LimitsOptions> limits, TimeProvider time, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var limit = JsonRequest.QueryPageSize(request, "limit", limits.Value);
        var cursor = JsonRequest.QueryCursor(request, "cursor");

        var contextType = JsonRequest.QueryOneOf(request, "contextType", ContextTypes.All);
        var contextId = JsonRequest.QueryString(request, "contextId");
        if (contextId is not null && (contextType is null || contextId.Length > ConversationFields.MaxContextId))
        {
            throw Errors.InvalidValue("contextId", $"needs contextType and at most {ConversationFields.MaxContextId} characters").ToException();
        }

        // Looking a conversation up by what it is about finds it archived or not, unless archived is asked for.
        var filter = new ConversationListFilter(
            JsonRequest.QueryOneOf(request, "kind", ConversationTypes.All),
            JsonRequest.QueryBool(request, "archived") ?? (contextType is null ? false : null),
            PinnedFirst: true)
        {
            ContextType = contextType,
            ContextId = contextId is null ? null : TextRules.Require("contextId", contextId),
        };
        var page = await conversations.ListConversationsAsync(me, filter, cursor, limit, ct);
        var now = time.GetUtcNow();
        return BufferedJson.Ok(new ConversationPageView(
            page.Items.Select(s => ConversationView.From(s.Conversation, s.MemberIds, s.UnreadCount, s.LastMessage, settings: s.Settings.AsOf(now)) with { UnreadMentions = s.UnreadMentions }).ToList(),
            page.Next?.Encode()));
    }

    private static async Task<IResult> GetAsync(string id, HttpContext context, IConversationStore conversations, MembershipCache membership, TimeProvider time, CancellationToken ct)
    {
        var me = CurrentUser.Id(context.User);
        var conversationId = JsonRequest.RouteId(id, "conversationId");
        await membership.RequireMemberAsync(conversationId, me, ct);
        var conversation = await conversations.GetConversationAsync(conversationId, ct) ?? throw Errors.ConversationNotFound(conversationId).ToException();
        var participant = await conversations.GetParticipantAsync(conversationId, me, ct);
        return Results.Ok(ConversationView.Own(conversation, await conversations.GetMemberIdsAsync(conversationId, ct), participant, time.GetUtcNow()));
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
