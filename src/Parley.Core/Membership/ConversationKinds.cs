namespace Parley.Core.Membership;

/// <summary>The kinds of conversation (M4). The wire and the store use these strings.</summary>
public static class ConversationTypes
{
    /// <summary>Exactly one per pair of users; nobody joins, leaves or manages it.</summary>
    public const string Direct = "direct";

    /// <summary>Every member sends.</summary>
    public const string Group = "group";

    /// <summary>Like a group, and a public one can be found and joined without an invite.</summary>
    public const string Channel = "channel";

    /// <summary>Only the owner and admins send; the other members receive.</summary>
    public const string Broadcast = "broadcast";

    public static readonly IReadOnlyList<string> All = [Direct, Group, Channel, Broadcast];

    /// <summary>The kinds a create request may name besides <see cref="Direct"/>.</summary>
    public static readonly IReadOnlyList<string> Managed = [Group, Channel, Broadcast];
}

public static class ConversationStatuses
{
    public const string Active = "active";
    public const string Archived = "archived";
    public const string Blocked = "blocked";

    public static readonly IReadOnlyList<string> All = [Active, Archived, Blocked];
}

public static class ConversationVisibility
{
    public const string Private = "private";
    public const string Public = "public";

    public static readonly IReadOnlyList<string> All = [Private, Public];
}

/// <summary>A member's role, highest first. The owner role changes hands only by a transfer (or the last owner leaving).</summary>
public static class ParticipantRoles
{
    public const string Owner = "owner";
    public const string Admin = "admin";
    public const string Moderator = "moderator";
    public const string Member = "member";

    public static readonly IReadOnlyList<string> All = [Owner, Admin, Moderator, Member];

    /// <summary>Higher outranks lower; an unknown role ranks below every real one.</summary>
    public static int Rank(string role) => role switch
    {
        Owner => 3,
        Admin => 2,
        Moderator => 1,
        Member => 0,
        _ => -1,
    };
}

/// <summary>What a conversation is about (M4, seed 01): a marketplace's booking or service, a support case, or general.</summary>
public static class ContextTypes
{
    public const string Booking = "BOOKING";
    public const string Service = "SERVICE";
    public const string General = "GENERAL";
    public const string Support = "SUPPORT";

    public static readonly IReadOnlyList<string> All = [Booking, Service, General, Support];
}

/// <summary>
/// Which side of a context conversation a member speaks for. Every stored message records its sender's side, so
/// response times can pair a customer's message with the provider's reply.
/// </summary>
public static class MemberSides
{
    public const string Customer = "customer";
    public const string Provider = "provider";
    public const string Agent = "agent";

    public static readonly IReadOnlyList<string> All = [Customer, Provider, Agent];
}
