using Parley.Core.Errors;
using Parley.Core.Membership;
using Parley.Core.Ports;
using Parley.Core.Validation;
using Parley.Server.Hosting;

namespace Parley.Server.Conversations;

/// <summary>Reads a conversation's own fields from a create or PATCH body, with the same limits for both.</summary>
public static class ConversationFields
{
    public static ConversationEdit Read(JsonBody body, LimitsOptions limits) => new(
        Text(body, "title", limits.MaxTitleLength),
        Text(body, "description", ConversationRules.MaxDescription),
        Avatar(body),
        Metadata(body, limits.MaxMetadataBytes),
        OneOf(body, "visibility", ConversationVisibility.All),
        OneOf(body, "status", ConversationStatuses.All),
        MessageTtl(body));

    /// <summary><c>messageTtlSeconds</c>: seconds, or null to turn disappearing messages off.</summary>
    private static FieldChange<int?> MessageTtl(JsonBody body) =>
        body.Has("messageTtlSeconds")
            ? FieldChange<int?>.To((int?)body.OptionalInt64("messageTtlSeconds", Core.Messaging.MessageTtl.MinSeconds, Core.Messaging.MessageTtl.MaxSeconds))
            : default;

    private static FieldChange<string?> Text(JsonBody body, string field, int max) =>
        body.Has(field) ? FieldChange<string?>.To(body.OptionalString(field, max)) : default;

    private static FieldChange<string?> Metadata(JsonBody body, int maxBytes) =>
        body.Has("metadata") ? FieldChange<string?>.To(JsonObject(body, "metadata", maxBytes)) : default;

    /// <summary>Kept as the JSON text sent, so it must be text a reader can take back (as a message's metadata).</summary>
    public static string? JsonObject(JsonBody body, string field, int maxBytes)
    {
        var json = body.OptionalObjectJson(field, maxBytes);
        if (json is not null)
        {
            using var document = System.Text.Json.JsonDocument.Parse(json);
            TextRules.RequireStorableJson(field, document.RootElement);
        }

        return json;
    }

    public const int MaxContextId = 128;

    /// <summary><c>context: {type, id, metadata?}</c> of a create request, or null without one.</summary>
    public static ConversationContext? Context(JsonBody body, LimitsOptions limits)
    {
        if (body.OptionalObject("context") is not { } context)
        {
            return null;
        }

        var type = context.RequireString("type", 16);
        return ContextTypes.All.Contains(type, StringComparer.Ordinal)
            ? new ConversationContext(type, context.RequireString("id", MaxContextId), JsonObject(context, "metadata", limits.MaxMetadataBytes))
            : throw Errors.InvalidValue("context.type", $"must be one of: {string.Join(", ", ContextTypes.All)}").ToException();
    }

    /// <summary><c>sides: {userId: side}</c>; every key must be one of <paramref name="members"/>.</summary>
    public static Dictionary<Guid, string> Sides(JsonBody body, IReadOnlyCollection<Guid> members, int maxMembers)
    {
        var sides = new Dictionary<Guid, string>();
        foreach (var (key, side) in body.OptionalStringMap("sides", maxMembers, 16) ?? [])
        {
            if (!Guid.TryParse(key, out var user) || !members.Contains(user))
            {
                throw Errors.InvalidValue("sides", $"'{key}' is not a member of the conversation").ToException();
            }

            sides[user] = MemberSides.All.Contains(side, StringComparer.Ordinal)
                ? side
                : throw Errors.InvalidValue("sides", $"must map members to one of: {string.Join(", ", MemberSides.All)}").ToException();
        }

        return sides;
    }

    private static FieldChange<string?> Avatar(JsonBody body)
    {
        var change = Text(body, "avatarUrl", ProfileRules.MaxAvatarUrl);
        if (change.Value is { } url)
        {
            ProfileRules.RequireAvatarUrl(url);
        }

        return change;
    }

    /// <summary>Absent leaves the field; present must be one of <paramref name="allowed"/> (null is not a value here).</summary>
    public static FieldChange<string> OneOf(JsonBody body, string field, IReadOnlyList<string> allowed)
    {
        if (!body.Has(field))
        {
            return default;
        }

        var value = body.OptionalString(field, 32);
        return value is not null && allowed.Contains(value, StringComparer.Ordinal)
            ? FieldChange<string>.To(value)
            : throw Errors.InvalidValue(field, $"must be one of: {string.Join(", ", allowed)}").ToException();
    }
}
