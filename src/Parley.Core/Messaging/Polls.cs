using Parley.Core.Validation;

namespace Parley.Core.Messaging;

/// <summary>
/// A poll as its sender defines it (M9): 2 to 10 options, one answer or several, voters shown or not, and an optional
/// closing time after which votes are refused. Options are numbered from 0 in the order given.
/// </summary>
public sealed record PollDefinition(IReadOnlyList<string> Options, bool MultipleAnswers, bool Anonymous, DateTimeOffset? ClosesAt)
{
    public const int MinOptions = 2;
    public const int MaxOptions = 10;
    public const int MaxOptionLength = 200;

    /// <summary>The furthest closing time: a year, as the furthest expiry.</summary>
    public static readonly TimeSpan MaxOpen = TimeSpan.FromDays(365);

    /// <summary>The REST body's <c>poll</c> object; the closing time is checked against the clock at the ingress.</summary>
    public static PollDefinition FromJson(JsonBody poll) => new(
        poll.RequireStringArray("options", MaxOptions, MaxOptionLength),
        poll.OptionalBool("multipleAnswers") ?? false,
        poll.OptionalBool("anonymous") ?? false,
        poll.OptionalTimestamp("closesAt"));

    /// <summary>Throws the documented 400 for the first problem: too few or too many options, a blank, long, unstorable or repeated one, a closing time not ahead.</summary>
    public PollDefinition Validate(DateTimeOffset now)
    {
        if (Options is null || Options.Count < MinOptions || Options.Count > MaxOptions)
        {
            throw Errors.Errors.InvalidValue("poll.options", $"must have {MinOptions} to {MaxOptions} options").ToException();
        }

        for (var i = 0; i < Options.Count; i++)
        {
            var name = $"poll.options[{i}]";
            TextRules.Require(name, Options[i] ?? "");
            if (string.IsNullOrWhiteSpace(Options[i]))
            {
                throw Errors.Errors.InvalidValue(name, "must not be empty").ToException();
            }

            if (Options[i].Length > MaxOptionLength)
            {
                throw Errors.Errors.TooLong(name, MaxOptionLength, Options[i].Length).ToException();
            }
        }

        if (Options.Distinct(StringComparer.Ordinal).Count() != Options.Count)
        {
            throw Errors.Errors.InvalidValue("poll.options", "must not repeat an option").ToException();
        }

        if (ClosesAt is { } closes && (closes <= now || closes - now > MaxOpen))
        {
            throw Errors.Errors.InvalidValue("poll.closesAt", $"must be in the future, at most {MaxOpen.TotalDays:0} days ahead").ToException();
        }

        return this;
    }

    /// <summary>
    /// A voter's choice against this poll: distinct options that exist, one unless several are allowed; empty retracts.
    /// Null when it is fine, else why not.
    /// </summary>
    public string? ProblemWith(IReadOnlyList<int> optionIds)
    {
        if (optionIds.Any(o => o < 0 || o >= Options.Count))
        {
            return $"each option id must be between 0 and {Options.Count - 1}";
        }

        if (optionIds.Distinct().Count() != optionIds.Count)
        {
            return "must not repeat an option";
        }

        return optionIds.Count > 1 && !MultipleAnswers ? "this poll takes one answer" : null;
    }

    public bool IsClosed(DateTimeOffset at) => ClosesAt is { } closes && at >= closes;
}

/// <summary>A poll as stored on its message: the definition and, per option, how many voters chose it; <see cref="Voters"/> counts each voter once.</summary>
public sealed record PollState(PollDefinition Definition, IReadOnlyList<int> Counts, int Voters)
{
    public static PollState Open(PollDefinition definition) => new(definition, [.. definition.Options.Select(_ => 0)], 0);

    /// <summary>The state after a voter's choice moved from <paramref name="before"/> to <paramref name="after"/> (either may be empty).</summary>
    public PollState Moved(IReadOnlyList<int> before, IReadOnlyList<int> after)
    {
        var counts = Counts.ToArray();
        foreach (var o in before)
        {
            counts[o]--;
        }

        foreach (var o in after)
        {
            counts[o]++;
        }

        return this with { Counts = counts, Voters = Voters + (after.Count > 0 ? 1 : 0) - (before.Count > 0 ? 1 : 0) };
    }
}
