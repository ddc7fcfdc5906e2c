using Parley.Core.Messaging;

namespace Parley.Core.Tests;

public sealed class IdempotencyKeysTests
{
    private static readonly Guid Conversation = Guid.Parse("11111111-1111-1111-1111-111111111111");
    private static readonly Guid OtherConversation = Guid.Parse("22222222-2222-2222-2222-222222222222");
    private static readonly Guid Alice = Guid.Parse("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa");
    private static readonly Guid Bob = Guid.Parse("bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb");
    private static readonly DateTimeOffset Second = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    [Fact]
    public void Client_message_id_key_is_deterministic()
    {
        Assert.Equal(
            IdempotencyKeys.FromClientMessageId(Conversation, Alice, "m-1"),
            IdempotencyKeys.FromClientMessageId(Conversation, Alice, "m-1"));
    }

    [Fact]
    public void Client_message_id_key_is_scoped_per_conversation_and_sender()
    {
        var key = IdempotencyKeys.FromClientMessageId(Conversation, Alice, "m-1");

        Assert.NotEqual(key, IdempotencyKeys.FromClientMessageId(OtherConversation, Alice, "m-1"));
        Assert.NotEqual(key, IdempotencyKeys.FromClientMessageId(Conversation, Bob, "m-1"));
        Assert.NotEqual(key, IdempotencyKeys.FromClientMessageId(Conversation, Alice, "m-2"));
        Assert.NotEqual(key, IdempotencyKeys.FromClientMessageId(Conversation, Alice, "M-1"));
    }

    [Fact]
    public void Keys_are_prefixed_url_safe_base64_of_a_sha256()
    {
        var client = IdempotencyKeys.FromClientMessageId(Conversation, Alice, "m-1");
        var content = IdempotencyKeys.FromContent(Conversation, Alice, MessageTypes.Text, "hi", Second);

        Assert.StartsWith("c:", client, StringComparison.Ordinal);
        Assert.StartsWith("h:", content, StringComparison.Ordinal);
        foreach (var key in new[] { client, content })
        {
            var body = key[2..];
            Assert.Equal(43, body.Length); // 32 bytes, unpadded base64
            Assert.DoesNotContain('=', body);
            Assert.DoesNotContain('+', body);
            Assert.DoesNotContain('/', body);
        }
    }

    [Fact]
    public void Content_key_is_equal_within_the_same_second()
    {
        var key = IdempotencyKeys.FromContent(Conversation, Alice, MessageTypes.Text, "hi", Second);

        Assert.Equal(key, IdempotencyKeys.FromContent(Conversation, Alice, MessageTypes.Text, "hi", Second.AddMilliseconds(999)));
    }

    [Fact]
    public void Content_key_depends_on_the_instant_not_the_offset()
    {
        var key = IdempotencyKeys.FromContent(Conversation, Alice, MessageTypes.Text, "hi", Second);

        Assert.Equal(key, IdempotencyKeys.FromContent(Conversation, Alice, MessageTypes.Text, "hi", Second.ToOffset(TimeSpan.FromHours(5))));
    }

    [Fact]
    public void Content_key_differs_across_seconds()
    {
        var key = IdempotencyKeys.FromContent(Conversation, Alice, MessageTypes.Text, "hi", Second);

        Assert.NotEqual(key, IdempotencyKeys.FromContent(Conversation, Alice, MessageTypes.Text, "hi", Second.AddSeconds(1)));
        Assert.NotEqual(key, IdempotencyKeys.FromContent(Conversation, Alice, MessageTypes.Text, "hi", Second.AddMilliseconds(-1)));
    }

    [Fact]
    public void Content_key_differs_by_content_type_conversation_and_sender()
    {
        var key = IdempotencyKeys.FromContent(Conversation, Alice, MessageTypes.Text, "hi", Second);

        Assert.NotEqual(key, IdempotencyKeys.FromContent(Conversation, Alice, MessageTypes.Text, "hi!", Second));
        Assert.NotEqual(key, IdempotencyKeys.FromContent(Conversation, Alice, MessageTypes.Image, "hi", Second));
        Assert.NotEqual(key, IdempotencyKeys.FromContent(OtherConversation, Alice, MessageTypes.Text, "hi", Second));
        Assert.NotEqual(key, IdempotencyKeys.FromContent(Conversation, Bob, MessageTypes.Text, "hi", Second));
    }

    [Fact]
    public void For_uses_the_client_message_id_when_there_is_one()
    {
        var key = IdempotencyKeys.For(Conversation, Alice, "m-1", MessageTypes.Text, "hi", Second);

        Assert.StartsWith("c:", key, StringComparison.Ordinal);
        Assert.Equal(IdempotencyKeys.FromClientMessageId(Conversation, Alice, "m-1"), key);
        // The content and the time no longer matter: a retry with the same id is the same message.
        Assert.Equal(key, IdempotencyKeys.For(Conversation, Alice, "m-1", MessageTypes.Image, "other", Second.AddHours(1)));
    }

    [Fact]
    public void For_falls_back_to_the_content_key_without_a_client_message_id()
    {
        var key = IdempotencyKeys.For(Conversation, Alice, null, MessageTypes.Text, "hi", Second);

        Assert.StartsWith("h:", key, StringComparison.Ordinal);
        Assert.Equal(IdempotencyKeys.FromContent(Conversation, Alice, MessageTypes.Text, "hi", Second), key);
    }

    [Theory]
    [InlineData("hello", "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")]
    [InlineData("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("h\u00e9llo \u20ac", "9cb52b6d1cfc1eae34c63c2b0ff0d49ed8ef2c82482b3c455747594c83754098")]
    public void Content_hash_is_lowercase_hex_sha256_of_utf8(string content, string expected)
    {
        Assert.Equal(expected, IdempotencyKeys.ContentHash(content));
    }
}
