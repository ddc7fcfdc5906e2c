namespace Parley.Core.Validation;

/// <summary>What a conversation's own fields may hold (M4); the title's limit is the configurable Parley:Limits:MaxTitleLength.</summary>
public static class ConversationRules
{
    public const int MaxDescription = 2000;
}
