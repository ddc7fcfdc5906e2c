using Parley.Core.Errors;
using Parley.Core.Events;
using Parley.Core.Ports;
using Parley.Core.Validation;
using Parley.Server.Auth;
using Parley.Server.Contracts;
using Parley.Server.Http;

namespace Parley.Server.Conversations;

/// <summary>
/// A member's own settings for a conversation (M5: mute, pin, archive). Any member may change their own, whatever their
/// role, so this is no action of the permission table; nobody else sees them.
/// </summary>
public static class SettingsEndpoints
{
    public sealed record SettingsBody(bool? Muted, DateTimeOffset? MutedUntil, bool? Pinned, bool? Archived);

    public static void MapSettingsEndpoint(this RouteGroupBuilder group) =>
        group.MapPatch("/{id}/settings", ChangeAsync).Accepts<SettingsBody>("application/json").Produces<ConversationSettingsView>()
            .WithName("updateConversationSettings").WithErrors(ErrorCodes.NotConversationMember, ErrorCodes.ConversationNotFound);

    /// <summary>Absent fields stay; the answer and the caller's devices get the settings as they now are.</summary>
    private static async Task<IResult> ChangeAsync(
        string id, HttpRequest request, IConversationStore store, MembershipCache membership, IRealtimeEvents realtime, TimeProvider time, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var conversationId = JsonRequest.RouteId(id, "conversationId");
        var now = time.GetUtcNow();
        var change = Read(await JsonRequest.ReadAsync(request, ct), now);
        await membership.RequireMemberAsync(conversationId, me, ct);
        // A removal that lands after the check above leaves no row to change: the store says so and writes nothing.
        var result = await store.ChangeSettingsAsync(conversationId, me, change, now, EventContext.New(me), ct)
            ?? throw Errors.NotMember(conversationId).ToException();
        var view = ConversationSettingsView.From(conversationId, result.Settings.AsOf(now));
        if (result.Changed)
        {
            await realtime.PublishAsync(new AddressedEvent(new ConversationSettingsChangedEvent(view), [me]), CancellationToken.None);
        }

        return Results.Ok(view);
    }

    /// <summary>
    /// <c>mutedUntil</c> mutes until then and so implies <c>muted: true</c>; with <c>muted: false</c> it contradicts
    /// itself. A time already past would mute nothing, which is never what a client meant.
    /// </summary>
    public static MemberSettingsChange Read(JsonBody body, DateTimeOffset now)
    {
        var muted = Flag(body, "muted");
        DateTimeOffset? until = null;
        if (body.Has("mutedUntil"))
        {
            until = body.OptionalTimestamp("mutedUntil") ?? throw Errors.WrongType("mutedUntil", "a string (ISO 8601 timestamp); unmute with muted: false").ToException();
            if (until <= now)
            {
                throw Errors.InvalidValue("mutedUntil", "must be in the future").ToException();
            }

            if (muted is { IsSet: true, Value: false })
            {
                throw Errors.InvalidValue("mutedUntil", "cannot go with muted: false").ToException();
            }

            muted = FieldChange<bool>.To(true);
        }

        return new MemberSettingsChange(muted, until, Flag(body, "pinned"), Flag(body, "archived"));
    }

    /// <summary>Absent leaves the setting; null is no value for a switch.</summary>
    private static FieldChange<bool> Flag(JsonBody body, string field) =>
        !body.Has(field) ? default : FieldChange<bool>.To(body.OptionalBool(field) ?? throw Errors.WrongType(field, "a boolean").ToException());
}
