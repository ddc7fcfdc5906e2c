using Parley.Core.Events;

namespace Parley.Core.Ports;

/// <summary>
/// What a user keeps for themselves (M9): bookmarks and drafts. Nobody else sees them, so they are written directly,
/// not through the message log; each change still records its domain event in the same transaction.
/// </summary>
public interface IPersonalStore
{
    /// <summary>Bookmarks the message; bookmarking it again keeps the first bookmark (Created false, no event).</summary>
    Task<(BookmarkRecord Bookmark, bool Created)> AddBookmarkAsync(Guid userId, StoredMessage message, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);

    /// <summary>False when there was no such bookmark (nothing written, no event).</summary>
    Task<bool> RemoveBookmarkAsync(Guid userId, Guid messageId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);

    /// <summary>
    /// The user's bookmarks, newest first, with their messages, across the conversations the user is still a member
    /// of (a bookmark in a conversation they left is kept but not shown: they may not read it).
    /// </summary>
    Task<BookmarkPage> ListBookmarksAsync(Guid userId, ConversationCursor? after, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the message for this user only (M8 delete for me): it leaves their history, and their unread count drops
    /// if it was unread (theirs to read, not deleted for everyone, past their read watermark). Serialized with the
    /// conversation's persist batches, so a concurrent delete for everyone cannot take the same unread away twice.
    /// <see cref="HideResult.Hidden"/> false when the user had already hidden it (nothing written, no event).
    /// </summary>
    Task<HideResult> HideMessageAsync(Guid userId, StoredMessage message, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);

    Task<DraftRecord?> GetDraftAsync(Guid userId, Guid conversationId, CancellationToken cancellationToken);

    /// <summary>Replaces the user's draft in the conversation.</summary>
    Task SaveDraftAsync(DraftRecord draft, EventContext context, CancellationToken cancellationToken);

    /// <summary>False when there was no draft (nothing written, no event).</summary>
    Task<bool> DeleteDraftAsync(Guid userId, Guid conversationId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);
}

/// <summary>Whether a delete for me hid the message now, and the user's unread count in its conversation after it.</summary>
public sealed record HideResult(bool Hidden, long UnreadCount);

public sealed record BookmarkRecord(Guid UserId, Guid MessageId, Guid ConversationId, DateTimeOffset CreatedAt);

public sealed record BookmarkSummary(BookmarkRecord Bookmark, StoredMessage Message);

/// <summary>Keyset over (bookmarked at, message id) descending, carried in a <see cref="ConversationCursor"/>'s (time, id).</summary>
public sealed record BookmarkPage(IReadOnlyList<BookmarkSummary> Items, ConversationCursor? Next);

/// <summary>A message being written: <see cref="Metadata"/> is JSON text as the client sent it.</summary>
public sealed record DraftRecord(Guid UserId, Guid ConversationId, string Content, string? Metadata, DateTimeOffset UpdatedAt);
