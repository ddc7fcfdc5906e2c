using Parley.Core.Errors;

namespace Parley.Core.Tests;

public sealed class ErrorsTests
{
    private static readonly Guid Id = Guid.Parse("9f1c2b3a-0000-4000-8000-00000000abcd");

    private static ParleyError Make(string factory) => factory switch
    {
        nameof(Errors.Errors.InvalidJson) => Errors.Errors.InvalidJson("bad"),
        nameof(Errors.Errors.InvalidSchema) => Errors.Errors.InvalidSchema("bad"),
        nameof(Errors.Errors.MissingField) => Errors.Errors.MissingField("f"),
        nameof(Errors.Errors.WrongType) => Errors.Errors.WrongType("f", "a string"),
        nameof(Errors.Errors.TooLong) => Errors.Errors.TooLong("f", 1, 2),
        nameof(Errors.Errors.InvalidValue) => Errors.Errors.InvalidValue("f", "bad"),
        nameof(Errors.Errors.InvalidRecipient) => Errors.Errors.InvalidRecipient("bad"),
        nameof(Errors.Errors.UnsupportedMediaType) => Errors.Errors.UnsupportedMediaType("text/plain"),
        nameof(Errors.Errors.PayloadTooLarge) => Errors.Errors.PayloadTooLarge(1024),
        nameof(Errors.Errors.Unauthenticated) => Errors.Errors.Unauthenticated(),
        nameof(Errors.Errors.InvalidCredentials) => Errors.Errors.InvalidCredentials(),
        nameof(Errors.Errors.InvalidRefreshToken) => Errors.Errors.InvalidRefreshToken(),
        nameof(Errors.Errors.Forbidden) => Errors.Errors.Forbidden("no"),
        nameof(Errors.Errors.NotMember) => Errors.Errors.NotMember(Id),
        nameof(Errors.Errors.ConversationNotFound) => Errors.Errors.ConversationNotFound(Id),
        nameof(Errors.Errors.MessageNotFound) => Errors.Errors.MessageNotFound(Id),
        nameof(Errors.Errors.RouteNotFound) => Errors.Errors.RouteNotFound("/nope"),
        nameof(Errors.Errors.MethodNotAllowed) => Errors.Errors.MethodNotAllowed("PATCH"),
        nameof(Errors.Errors.UsernameTaken) => Errors.Errors.UsernameTaken("alice"),
        nameof(Errors.Errors.ConversationInactive) => Errors.Errors.ConversationInactive(Id, "archived"),
        nameof(Errors.Errors.RateLimited) => Errors.Errors.RateLimited(TimeSpan.FromSeconds(3)),
        nameof(Errors.Errors.EnqueueFailed) => Errors.Errors.EnqueueFailed(),
        nameof(Errors.Errors.Internal) => Errors.Errors.Internal(),
        nameof(Errors.Errors.InvalidText) => Errors.Errors.InvalidText("f", "bad"),
        _ => throw new ArgumentOutOfRangeException(nameof(factory), factory, null),
    };

    [Theory]
    [InlineData(nameof(Errors.Errors.InvalidJson), 400, "INVALID_JSON")]
    [InlineData(nameof(Errors.Errors.InvalidSchema), 400, "INVALID_SCHEMA")]
    [InlineData(nameof(Errors.Errors.MissingField), 400, "MISSING_REQUIRED_FIELD")]
    [InlineData(nameof(Errors.Errors.WrongType), 400, "INVALID_FIELD_TYPE")]
    [InlineData(nameof(Errors.Errors.TooLong), 400, "FIELD_TOO_LONG")]
    [InlineData(nameof(Errors.Errors.InvalidValue), 400, "INVALID_FIELD_VALUE")]
    [InlineData(nameof(Errors.Errors.InvalidRecipient), 400, "INVALID_RECIPIENT")]
    [InlineData(nameof(Errors.Errors.UnsupportedMediaType), 415, "UNSUPPORTED_MEDIA_TYPE")]
    [InlineData(nameof(Errors.Errors.PayloadTooLarge), 413, "PAYLOAD_TOO_LARGE")]
    [InlineData(nameof(Errors.Errors.Unauthenticated), 401, "UNAUTHENTICATED")]
    [InlineData(nameof(Errors.Errors.InvalidCredentials), 401, "INVALID_CREDENTIALS")]
    [InlineData(nameof(Errors.Errors.InvalidRefreshToken), 401, "INVALID_REFRESH_TOKEN")]
    [InlineData(nameof(Errors.Errors.Forbidden), 403, "FORBIDDEN")]
    [InlineData(nameof(Errors.Errors.NotMember), 403, "NOT_CONVERSATION_MEMBER")]
    [InlineData(nameof(Errors.Errors.ConversationNotFound), 404, "CONVERSATION_NOT_FOUND")]
    [InlineData(nameof(Errors.Errors.MessageNotFound), 404, "MESSAGE_NOT_FOUND")]
    [InlineData(nameof(Errors.Errors.RouteNotFound), 404, "ROUTE_NOT_FOUND")]
    [InlineData(nameof(Errors.Errors.MethodNotAllowed), 405, "METHOD_NOT_ALLOWED")]
    [InlineData(nameof(Errors.Errors.UsernameTaken), 409, "USERNAME_TAKEN")]
    [InlineData(nameof(Errors.Errors.ConversationInactive), 409, "CONVERSATION_INACTIVE")]
    [InlineData(nameof(Errors.Errors.RateLimited), 429, "RATE_LIMITED")]
    [InlineData(nameof(Errors.Errors.EnqueueFailed), 503, "ENQUEUE_FAILED")]
    [InlineData(nameof(Errors.Errors.Internal), 500, "INTERNAL_ERROR")]
    [InlineData(nameof(Errors.Errors.InvalidText), 400, "INVALID_TEXT")]
    public void Factory_returns_the_documented_status_and_code(string factory, int status, string code)
    {
        var error = Make(factory);

        Assert.Equal(status, error.Status);
        Assert.Equal(code, error.Code);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        Assert.False(string.IsNullOrWhiteSpace(error.TelemetryLabel));
    }

    [Fact]
    public void Telemetry_labels_are_distinct_per_factory()
    {
        var factories = new[]
        {
            "InvalidJson", "InvalidSchema", "MissingField", "WrongType", "TooLong", "InvalidValue", "InvalidRecipient",
            "UnsupportedMediaType", "PayloadTooLarge", "Unauthenticated", "InvalidCredentials", "InvalidRefreshToken",
            "Forbidden", "NotMember", "ConversationNotFound", "MessageNotFound", "RouteNotFound", "MethodNotAllowed",
            "UsernameTaken", "ConversationInactive", "RateLimited", "EnqueueFailed", "Internal", "InvalidText",
        };

        var labels = factories.Select(f => Make(f).TelemetryLabel).ToList();

        Assert.Equal(labels.Count, labels.Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData(3000, 3)]
    [InlineData(1500, 2)]
    [InlineData(1, 1)]
    [InlineData(59_001, 60)]
    [InlineData(0, 0)]
    public void Rate_limited_puts_retry_after_seconds_rounded_up_in_details(int milliseconds, int expectedSeconds)
    {
        var error = Errors.Errors.RateLimited(TimeSpan.FromMilliseconds(milliseconds));

        Assert.Equal(expectedSeconds, Assert.IsType<int>(ParleyAssert.Detail(error, "retryAfterSeconds")));
    }

    [Fact]
    public void Field_errors_carry_their_details()
    {
        var tooLong = Errors.Errors.TooLong("content", 10, 12, "bytes");
        Assert.Equal("content", ParleyAssert.Detail(tooLong, "field"));
        Assert.Equal(10, ParleyAssert.Detail(tooLong, "max"));
        Assert.Equal(12, ParleyAssert.Detail(tooLong, "actual"));
        Assert.Equal("bytes", ParleyAssert.Detail(tooLong, "unit"));
        Assert.Equal("characters", ParleyAssert.Detail(Errors.Errors.TooLong("f", 1, 2), "unit"));

        Assert.Equal("a string", ParleyAssert.Detail(Errors.Errors.WrongType("f", "a string"), "expected"));
        Assert.Equal(Id, ParleyAssert.Detail(Errors.Errors.NotMember(Id), "conversationId"));
        Assert.Equal(Id, ParleyAssert.Detail(Errors.Errors.MessageNotFound(Id), "messageId"));
        Assert.Equal(1024L, ParleyAssert.Detail(Errors.Errors.PayloadTooLarge(1024), "maxBytes"));
        Assert.Equal("archived", ParleyAssert.Detail(Errors.Errors.ConversationInactive(Id, "archived"), "status"));
        Assert.Null(ParleyAssert.Detail(Errors.Errors.UnsupportedMediaType(null), "contentType"));
    }

    [Fact]
    public void Unauthenticated_uses_the_given_reason()
    {
        Assert.Equal("token expired", Errors.Errors.Unauthenticated("token expired").Message);
    }

    [Fact]
    public void With_returns_a_copy_and_leaves_the_original_untouched()
    {
        var original = Errors.Errors.InvalidSchema("bad");
        var first = original.With("a", 1);
        var second = first.With("b", 2).With("a", 3);

        Assert.Null(original.Details);
        Assert.Equal(1, ParleyAssert.Detail(first, "a"));
        Assert.False(first.Details!.ContainsKey("b"));
        Assert.Equal(3, ParleyAssert.Detail(second, "a"));
        Assert.Equal(2, ParleyAssert.Detail(second, "b"));
    }

    [Fact]
    public void To_exception_carries_the_error_and_its_message()
    {
        var error = Errors.Errors.Forbidden("nope");

        var exception = error.ToException();

        Assert.Same(error, exception.Error);
        Assert.Equal("nope", exception.Message);
    }
}
