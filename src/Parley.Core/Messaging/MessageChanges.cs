using System.Text;
using Parley.Core.Validation;

namespace Parley.Core.Messaging;

/// <summary>
/// The changes to a stored message that travel through the log like a send (docs/architecture.md, "Changes to
/// messages"): the partition's worker applies each after the message it changes, in conversation order.
/// </summary>
public static class MessageChangeKinds
{
    public const string Edit = "edit";

    /// <summary>Delete for everyone: content and metadata erased, a tombstone keeps the sequence.</summary>
    public const string Delete = "delete";

    public const string Reaction = "reaction";

    /// <summary>Pin or unpin a message in its conversation (M9).</summary>
    public const string Pin = "pin";

    /// <summary>A vote in a poll, changed or retracted (M9): the voter's whole choice, replacing the previous one.</summary>
    public const string Vote = "vote";

    public static readonly IReadOnlyList<string> All = [Edit, Delete, Reaction, Pin, Vote];
}

/// <summary>Who a change is by when no user made it.</summary>
public static class ServerActors
{
    /// <summary>The expiry worker deleting a disappearing message: the nil UUID as <c>deletedBy</c>.</summary>
    public static readonly Guid Expiry = Guid.Empty;
}

/// <summary>Disappearing messages (M8): the bounds of a conversation's message TTL.</summary>
public static class MessageTtl
{
    public const int MinSeconds = 1;

    /// <summary>A year, as the furthest <c>expiresAt</c>.</summary>
    public const int MaxSeconds = 365 * 24 * 3600;
}

/// <summary><c>DELETE /messages/{id}?for=</c>: only the caller's own view, or everyone's.</summary>
public static class DeleteScopes
{
    public const string Me = "me";
    public const string Everyone = "everyone";
}

/// <summary>
/// A change as the ingress sees it, whichever transport it came by. <see cref="Content"/> and <see cref="Reason"/> are
/// for an edit; <see cref="ReactionKey"/> and <see cref="Added"/> for a reaction; <see cref="Added"/> (pinned or not)
/// and <see cref="ConversationId"/> (the conversation the caller named, which must be the message's) for a pin.
/// </summary>
public sealed record MessageChangeRequest(string Kind, Guid MessageId)
{
    public string? Content { get; init; }

    public string? Reason { get; init; }

    public string? ReactionKey { get; init; }

    public bool Added { get; init; }

    public Guid? ConversationId { get; init; }

    /// <summary>A vote's options; empty retracts it.</summary>
    public IReadOnlyList<int>? OptionIds { get; init; }

    /// <summary>Checks the values against the limits; throws the documented 400 for the first violation.</summary>
    public MessageChangeRequest Validate(int maxContentBytes)
    {
        switch (Kind)
        {
            case MessageChangeKinds.Edit:
                SendMessageRequest.RequireContent(Content ?? "", maxContentBytes);

                if (Reason is not null)
                {
                    TextRules.Require("reason", Reason);
                    if (string.IsNullOrWhiteSpace(Reason))
                    {
                        // As REST's reader refuses it: a hub client hands the string over as it is.
                        throw Errors.Errors.InvalidValue("reason", "must not be empty").ToException();
                    }

                    if (Reason.Length > MaxReasonLength)
                    {
                        throw Errors.Errors.TooLong("reason", MaxReasonLength, Reason.Length).ToException();
                    }
                }

                return this;
            case MessageChangeKinds.Reaction:
                ReactionKeys.Require(ReactionKey ?? "");
                return this;
            case MessageChangeKinds.Vote:
                return OptionIds is null ? throw Errors.Errors.MissingField("optionIds").ToException()
                    : OptionIds.Count > PollDefinition.MaxOptions ? throw Errors.Errors.TooLong("optionIds", PollDefinition.MaxOptions, OptionIds.Count, "items").ToException()
                    : this;
            default:
                return this;
        }
    }

    public const int MaxReasonLength = 500;
}

/// <summary>
/// A reaction key (M9): an emoji shortcode (<c>:thumbs_up:</c>, lower-case letters, digits, <c>_ + -</c>) or a run of
/// Unicode emoji code points, at most <see cref="MaxBytes"/> (one emoji or a short sequence of them, with skin tones,
/// variation selectors, joiners, keycaps and flag tags). Anything else would let reactions carry arbitrary text to
/// every member.
/// </summary>
public static class ReactionKeys
{
    public const int MaxBytes = 64;

    public const int MaxShortcodeLength = 40;

    public static string Require(string key)
    {
        if (Problem(key) is { } reason)
        {
            throw Errors.Errors.InvalidValue("key", reason).ToException();
        }

        return key;
    }

    public static string? Problem(string key)
    {
        if (key.Length == 0)
        {
            return "must not be empty";
        }

        if (Encoding.UTF8.GetByteCount(key) > MaxBytes)
        {
            return $"must be at most {MaxBytes} bytes";
        }

        if (key[0] == ':')
        {
            return key.Length is >= 3 and <= MaxShortcodeLength + 2 && key[^1] == ':' && key[1..^1].All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '+' or '-')
                ? null
                : $"a shortcode is :name: with 1 to {MaxShortcodeLength} lower-case letters, digits, '_', '+' or '-'";
        }

        if (TextRules.Problem(key) is not null)
        {
            return "must be an emoji or a :shortcode:";
        }

        var pictographs = 0;
        foreach (var rune in key.EnumerateRunes())
        {
            if (IsPictograph(rune.Value))
            {
                pictographs++;
            }
            else if (!IsModifier(rune.Value))
            {
                return "must be an emoji or a :shortcode:";
            }
        }

        return pictographs > 0 ? null : "must be an emoji or a :shortcode:";
    }

    // The blocks Unicode assigns emoji to (emoji-data.txt's Extended_Pictographic, by block), and the few older symbols.
    private static bool IsPictograph(int c) =>
        c is (>= 0x1F000 and <= 0x1FAFF) or (>= 0x2600 and <= 0x27BF) or (>= 0x2300 and <= 0x23FF) or (>= 0x2B00 and <= 0x2BFF)
            or (>= 0x2190 and <= 0x21FF) or (>= 0x25A0 and <= 0x25FF) or (>= 0x2900 and <= 0x297F)
            or 0x00A9 or 0x00AE or 0x203C or 0x2049 or 0x2122 or 0x2139 or 0x3030 or 0x303D or 0x3297 or 0x3299;

    // Joiners, variation selectors, the keycap mark and its bases, and the tag characters of subdivision flags.
    private static bool IsModifier(int c) =>
        c is 0x200D or 0xFE0F or 0xFE0E or 0x20E3 or (>= 0xE0020 and <= 0xE007F) or '#' or '*' or (>= '0' and <= '9');
}
