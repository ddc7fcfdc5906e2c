using Parley.Core.Errors;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Core.Validation;

namespace Parley.Core.Tests;

public sealed class SearchRulesTests
{
    [Theory]
    [InlineData("José", "jose")]
    [InlineData("JOSÉ", "jose")]
    [InlineData("Jose\u0301", "jose")]
    [InlineData("Ñandú Ærø", "nandu ærø")]
    [InlineData("Zoë Çelik-Šimić", "zoe celik-simic")]
    [InlineData("Ελένη", "ελενη")]
    [InlineData("Йосиф", "иосиф")]
    [InlineData("Tiếng Việt", "tieng viet")]
    [InlineData("plain_ascii.1", "plain_ascii.1")]
    [InlineData("李小龍 😀", "李小龍 😀")]
    public void Folding_decomposes_drops_the_marks_and_lower_cases(string text, string folded) =>
        Assert.Equal(folded, SearchRules.Fold(text));

    [Fact]
    public void A_lone_surrogate_folds_without_throwing() =>
        Assert.Equal("a\ud800b", SearchRules.Fold("A\ud800B"));

    [Fact]
    public void A_query_is_a_folded_prefix_and_an_email_key_only_when_it_looks_like_an_address()
    {
        Assert.Equal(new UserQuery("jose r", null), SearchRules.Parse("  José R "));
        Assert.Equal(new UserQuery("ann@example.com", "ann@example.com"), SearchRules.Parse("Ann@Example.com"));
        Assert.Equal("jose" + SearchRules.PrefixEnd, SearchRules.Parse("jose").PrefixUpper);
        Assert.True(string.CompareOrdinal("josefa", SearchRules.Parse("jose").PrefixUpper) < 0);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("  é ")]
    [InlineData("\u0301\u0301\u0301")]
    public void A_query_under_two_folded_characters_is_too_short(string? query)
    {
        var error = Assert.Throws<ParleyException>(() => SearchRules.Parse(query)).Error;
        Assert.Equal((ErrorCodes.QueryTooShort, 400), (error.Code, error.Status));
    }

    [Fact]
    public void A_query_over_the_longest_address_is_too_long() =>
        Assert.Equal(ErrorCodes.FieldTooLong, Assert.Throws<ParleyException>(() => SearchRules.Parse(new string('q', SearchRules.MaxQueryLength + 1))).Error.Code);

    [Theory]
    [InlineData("alice")]
    [InlineData("a.b_c-9")]
    public void A_search_cursor_round_trips(string username) =>
        Assert.Equal(username, UsernameCursor.TryDecode(new UsernameCursor(username).Encode())?.AfterUsername);

    [Theory]
    [InlineData("")]
    [InlineData("***")]
    [InlineData("QUJD")]
    public void A_cursor_this_api_did_not_make_is_refused(string text) => Assert.Null(UsernameCursor.TryDecode(text));
}

public sealed class SocialRulesTests
{
    private static readonly Guid Me = Guid.NewGuid();
    private static readonly Guid Other = Guid.NewGuid();

    private static FriendRequestRecord From(Guid sender) => new(Guid.NewGuid(), sender, sender == Me ? Other : Me, DateTimeOffset.UnixEpoch);

    public static TheoryData<PairState, FriendRequestOutcome> Sends => new()
    {
        { new PairState(false, false, false, null), FriendRequestOutcome.UserNotFound },
        { new PairState(true, true, false, null), FriendRequestOutcome.Blocked },
        { new PairState(true, true, true, null), FriendRequestOutcome.Blocked },
        { new PairState(true, false, true, null), FriendRequestOutcome.AlreadyFriends },
        { new PairState(true, false, false, null), FriendRequestOutcome.Created },
        { new PairState(true, false, false, From(Me)), FriendRequestOutcome.AlreadyPending },
        { new PairState(true, false, false, From(Other)), FriendRequestOutcome.AcceptedTheirs },
    };

    [Theory]
    [MemberData(nameof(Sends))]
    public void Sending_a_request_comes_to_one_outcome_per_state(PairState state, FriendRequestOutcome outcome) =>
        Assert.Equal(outcome, SocialRules.DecideSend(Me, state));

    [Fact]
    public void Only_the_recipient_answers_a_request_and_only_the_sender_cancels_it()
    {
        var mine = From(Me);
        Assert.True(SocialRules.MayResolve(FriendRequestAction.Cancel, Me, mine));
        Assert.False(SocialRules.MayResolve(FriendRequestAction.Accept, Me, mine));
        Assert.True(SocialRules.MayResolve(FriendRequestAction.Accept, Other, mine));
        Assert.True(SocialRules.MayResolve(FriendRequestAction.Decline, Other, mine));
        Assert.False(SocialRules.MayResolve(FriendRequestAction.Cancel, Other, mine));
        Assert.False(SocialRules.MayResolve(FriendRequestAction.Decline, Guid.NewGuid(), mine));
        Assert.Equal(
            [DomainEventTypes.FriendAccepted, DomainEventTypes.FriendDeclined, DomainEventTypes.FriendCancelled],
            new[] { FriendRequestAction.Accept, FriendRequestAction.Decline, FriendRequestAction.Cancel }.Select(SocialRules.EventType));
    }

    [Fact]
    public void A_pair_is_the_same_whichever_way_round_and_so_is_its_lock_key()
    {
        Assert.Equal(SocialRules.Pair(Me, Other), SocialRules.Pair(Other, Me));
        Assert.Equal(SocialRules.PairLockKey(Me, Other), SocialRules.PairLockKey(Other, Me));
        Assert.NotEqual(SocialRules.PairLockKey(Me, Other), SocialRules.PairLockKey(Me, Guid.NewGuid()));
    }

    [Fact]
    public void A_request_to_oneself_is_an_invalid_user_id()
    {
        var error = Assert.Throws<ParleyException>(() => SocialRules.RequireOther(Me, Me)).Error;
        Assert.Equal((ErrorCodes.InvalidFieldValue, "userId"), (error.Code, error.Details?["field"]?.ToString()));
        SocialRules.RequireOther(Me, Other);
    }
}
