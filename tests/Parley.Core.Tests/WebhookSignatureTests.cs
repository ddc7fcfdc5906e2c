using System.Text;
using Parley.Core.Events;

namespace Parley.Core.Tests;

/// <summary>The one signature scheme of what Parley POSTs out (E5, P5), from the receiver's side.</summary>
public sealed class WebhookSignatureTests
{
    private const string Secret = "whsec_receiver-and-parley-share-this";
    private static readonly DateTimeOffset SentAt = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"id":"0193","type":"message.stored","data":{"k":"wörld"}}""");

    private static bool Verify(string? header, byte[]? body = null, string secret = Secret, DateTimeOffset? now = null) =>
        WebhookSignature.Verify(secret, header, body ?? Body, now ?? SentAt.AddSeconds(3), WebhookSignature.DefaultTolerance);

    [Fact]
    public void A_signature_names_its_timestamp_and_verifies_with_the_same_secret_and_body()
    {
        var header = WebhookSignature.Sign(Secret, SentAt, Body);
        Assert.Matches("^t=1800000000,v1=[0-9a-f]{64}$", header);
        Assert.True(Verify(header));
        Assert.Equal(header, WebhookSignature.Sign(Encoding.UTF8.GetBytes(Secret), SentAt, Body));
    }

    [Fact]
    public void A_wrong_secret_a_tampered_body_or_a_moved_timestamp_fails()
    {
        var header = WebhookSignature.Sign(Secret, SentAt, Body);
        Assert.False(Verify(header, secret: "whsec_someone-else-entirely"));
        var tampered = (byte[])Body.Clone();
        tampered[^3] ^= 1;
        Assert.False(Verify(header, tampered));
        Assert.False(Verify(header, [.. Body, (byte)' ']));
        // The timestamp is inside the signed text: replaying the signature under a fresh timestamp does not verify.
        Assert.False(Verify(header.Replace("t=1800000000", "t=1800000002", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_signature_outside_the_tolerance_window_fails_either_way_and_one_inside_it_verifies()
    {
        var header = WebhookSignature.Sign(Secret, SentAt, Body);
        Assert.True(Verify(header, now: SentAt + WebhookSignature.DefaultTolerance));
        Assert.True(Verify(header, now: SentAt - WebhookSignature.DefaultTolerance));
        Assert.False(Verify(header, now: SentAt + WebhookSignature.DefaultTolerance + TimeSpan.FromSeconds(1)));
        Assert.False(Verify(header, now: SentAt - WebhookSignature.DefaultTolerance - TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void During_a_secret_rotation_a_header_with_both_signatures_verifies_under_either_secret()
    {
        const string next = "whsec_the-new-secret-being-rolled-out";
        var old = WebhookSignature.Sign(Secret, SentAt, Body);
        var rotated = old + "," + WebhookSignature.Sign(next, SentAt, Body).Split(',')[1];
        Assert.True(Verify(rotated));
        Assert.True(Verify(rotated, secret: next));
        Assert.False(Verify(rotated, secret: "whsec_neither-of-the-two-secrets"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("v1=00")]
    [InlineData("t=1800000000")]
    [InlineData("t=soon,v1=0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("t=1800000000,v1=zz00000000000000000000000000000000000000000000000000000000000000")]
    public void A_missing_or_malformed_header_fails(string? header) => Assert.False(Verify(header));
}
