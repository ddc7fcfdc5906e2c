using Parley.Core.Membership;

namespace Parley.Core.Ports;

/// <summary>
/// A member's own settings for one conversation (M5): muted (until <see cref="MutedUntil"/>, or indefinitely when it is
/// null), pinned since <see cref="PinnedAt"/>, archived. Nobody but the member sees them and nothing else depends on them.
/// </summary>
public sealed record MemberSettings(bool Muted, DateTimeOffset? MutedUntil, DateTimeOffset? PinnedAt, bool Archived)
{
    public static readonly MemberSettings None = new(false, null, null, false);

    public bool Pinned => PinnedAt is not null;

    /// <summary>
    /// The settings as the member sees them at <paramref name="now"/>: a mute that has run out is no mute. The row keeps
    /// the lapsed mute until the member's next change, so nothing has to run when it lapses.
    /// </summary>
    public MemberSettings AsOf(DateTimeOffset now) =>
        Muted && MutedUntil is { } until && until <= now ? this with { Muted = false, MutedUntil = null } : this;
}

/// <summary>
/// A change to a member's settings; an unset field stays as it is. <see cref="Muted"/> true mutes until
/// <see cref="MutedUntil"/> (indefinitely when null); false unmutes and clears the time. Pinning what is pinned keeps
/// its original pin time.
/// </summary>
public sealed record MemberSettingsChange(FieldChange<bool> Muted, DateTimeOffset? MutedUntil, FieldChange<bool> Pinned, FieldChange<bool> Archived)
{
    public bool IsEmpty => !Muted.IsSet && !Pinned.IsSet && !Archived.IsSet;

    public MemberSettings ApplyTo(MemberSettings current, DateTimeOffset now) => new(
        Muted.Or(current.Muted),
        !Muted.IsSet ? current.MutedUntil : Muted.Value ? MutedUntil : null,
        !Pinned.IsSet ? current.PinnedAt : Pinned.Value ? current.PinnedAt ?? now : null,
        Archived.Or(current.Archived));
}

/// <summary>What a settings change left; <see cref="Changed"/> is false when it changed nothing (and wrote nothing).</summary>
public sealed record MemberSettingsResult(MemberSettings Settings, bool Changed);

/// <summary>
/// Which of a user's conversations a list returns, and in what order. The default (<see cref="All"/>) is every one of
/// them by last activity alone: recovery stops at the first conversation older than its start, and presence must
/// reach every conversation, so neither may see a pinned-first order or lose archived ones.
/// </summary>
/// <param name="Kind">Only conversations of this <see cref="ConversationTypes"/> kind; all kinds when null.</param>
/// <param name="Archived">Only those the user archived (true), only those they did not (false), or both (null).</param>
/// <param name="PinnedFirst">The user's pinned conversations first, then the rest, each part by last activity.</param>
public sealed record ConversationListFilter(string? Kind = null, bool? Archived = null, bool PinnedFirst = false)
{
    public static readonly ConversationListFilter All = new();

    /// <summary>The position after <paramref name="last"/>, in the part of the list it is in.</summary>
    public ConversationCursor CursorAfter(ConversationSummary last) =>
        new(last.Conversation.LastActivityAt, last.Conversation.Id) { Pinned = PinnedFirst && last.Settings.Pinned };
}
