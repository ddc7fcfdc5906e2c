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
        OneOf(body, "status", ConversationStatuses.All));

    private static FieldChange<string?> Text(JsonBody body, string field, int max) =>
        body.Has(field) ? FieldChange<string?>.To(body.OptionalString(field, max)) : default;

    /// <summary>Kept as the JSON text sent, so it must be text a reader can take back (as a message's metadata).</summary>
    private static FieldChange<string?> Metadata(JsonBody body, int maxBytes)
    {
        if (!body.Has("metadata"))
        {
            return default;
        }

        var json = body.OptionalObjectJson("metadata", maxBytes);
        if (json is not null)
        {
            using var document = System.Text.Json.JsonDocument.Parse(json);
            TextRules.RequireStorableJson("metadata", document.RootElement);
        }

        return FieldChange<string?>.To(json);
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
