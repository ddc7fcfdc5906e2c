using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.IdentityModel.Tokens;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

[Collection(SharedServerCollection.Name)]
public sealed class EmbeddedBadInputTests(SharedServer fixture) : BadInputTests(fixture.Server);

[Collection(ProductionServerCollection.Name)]
public sealed class ProductionBadInputTests(ProductionServer fixture) : BadInputTests(fixture.Server);

/// <summary>P2: every bad input gets its documented 4xx Problem Details code; never a 500, never a hang. Run on both engine sets.</summary>
public abstract class BadInputTests(TestServer server)
{
    private static readonly HttpMethod Post = HttpMethod.Post;
    private static readonly HttpMethod Get = HttpMethod.Get;
    private readonly ParleyClient _client = server.Client();

    private async Task ExpectAsync(HttpMethod method, string path, Session? session, string? json, HttpStatusCode status, string code, string contentType = "application/json")
    {
        using var response = await _client.SendRawAsync(method, path, session, json, contentType);
        await ProblemAssert.IsAsync(response, status, code);
    }

    private static async Task ExpectHubAsync(string code, Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<HubException>(call);
        // SignalR prefixes a HubException's text with its own sentence; the code follows "HubException: ".
        Assert.True(error.Message.Contains($"HubException: {code}: ", StringComparison.Ordinal), error.Message);
    }

    /// <summary>A well-formed subscription key: a P-256 point's 65 bytes, base64url.</summary>
    private static readonly string ValidP256dh = System.Buffers.Text.Base64Url.EncodeToString([0x04, .. new byte[64]]);

    private static string Name(string prefix = "u") => prefix + Guid.NewGuid().ToString("N")[..12];

    [Theory]
    [InlineData("""{"password":"correct horse"}""", "MISSING_REQUIRED_FIELD")]
    [InlineData("""{"username":"abcdef"}""", "MISSING_REQUIRED_FIELD")]
    [InlineData("""{"username":null,"password":"correct horse"}""", "MISSING_REQUIRED_FIELD")]
    [InlineData("""{"username":42,"password":"correct horse"}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"username":"abcdef","password":["x"]}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"username":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","password":"correct horse"}""", "FIELD_TOO_LONG")]
    [InlineData("""{"username":"ab","password":"correct horse"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"username":"bad name!","password":"correct horse"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"username":"abcdef","password":"short"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""[1,2]""", "INVALID_SCHEMA")]
    [InlineData("""{"username":""", "INVALID_JSON")]
    [InlineData("", "INVALID_JSON")]
    public Task Register_rejects_bad_bodies(string json, string code) =>
        ExpectAsync(Post, "/api/v1/auth/register", null, json, HttpStatusCode.BadRequest, code);

    [Theory]
    [InlineData("""{"displayName":null}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"displayName":"   "}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"displayName":7}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"displayName":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}""", "FIELD_TOO_LONG")]
    [InlineData("""{"email":"not an address"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"email":"Ann <ann@example.com>"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"email":"ann@localhost"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"email":["ann@example.com"]}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"avatarUrl":"ftp://example.com/a.png"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"avatarUrl":"/relative.png"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"avatarUrl":"javascript:alert(1)"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""[1]""", "INVALID_SCHEMA")]
    [InlineData("""{"email":""", "INVALID_JSON")]
    public async Task Profile_patch_rejects_bad_bodies(string json, string code)
    {
        var alice = await _client.SignUpAsync();
        await ExpectAsync(HttpMethod.Patch, "/api/v1/users/me", alice, json, HttpStatusCode.BadRequest, code);
        await ExpectAsync(HttpMethod.Patch, "/api/v1/users/me", null, """{"displayName":"x"}""", HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
    }

    [Fact]
    public async Task Profile_patch_sets_and_clears_fields_and_refuses_an_email_another_account_has()
    {
        var alice = await _client.SignUpAsync();
        var bob = await _client.SignUpAsync();
        var mail = Name("Ann.") + "@Example.COM";
        var changed = await _client.OkAsync<JsonElement>(HttpMethod.Patch, "/api/v1/users/me", alice,
            new { displayName = "Ann Lee", avatarUrl = "https://cdn.example.com/a.png", email = mail });
        Assert.Equal(("Ann Lee", "https://cdn.example.com/a.png", mail),
            (changed.GetProperty("displayName").GetString(), changed.GetProperty("avatarUrl").GetString(), changed.GetProperty("email").GetString()));

        // Others see the profile but never the address.
        var seen = await _client.OkAsync<JsonElement>(Get, $"/api/v1/users/{changed.GetProperty("userId").GetGuid()}", bob);
        Assert.Equal("https://cdn.example.com/a.png", seen.GetProperty("avatarUrl").GetString());
        Assert.False(seen.TryGetProperty("email", out _));

        await ExpectAsync(HttpMethod.Patch, "/api/v1/users/me", bob, $$"""{"email":"{{mail.ToLowerInvariant()}}"}""", HttpStatusCode.Conflict, "EMAIL_TAKEN");

        // Absent fields stay; null clears; the address is then free for someone else.
        using (var cleared = await _client.SendRawAsync(HttpMethod.Patch, "/api/v1/users/me", alice, """{"email":null,"avatarUrl":null}"""))
        {
            Assert.Equal(HttpStatusCode.OK, cleared.StatusCode);
        }

        var me = await _client.OkAsync<JsonElement>(Get, "/api/v1/users/me", alice);
        Assert.Equal("Ann Lee", me.GetProperty("displayName").GetString());
        Assert.Equal(JsonValueKind.Null, me.GetProperty("avatarUrl").ValueKind);
        Assert.False(me.TryGetProperty("email", out _));
        Assert.Equal(mail, (await _client.OkAsync<JsonElement>(HttpMethod.Patch, "/api/v1/users/me", bob, new { email = mail })).GetProperty("email").GetString());
    }

    [Fact]
    public async Task Register_rejects_a_taken_username_in_any_case_and_a_non_json_body()
    {
        var name = Name();
        using (var first = await _client.SendRawAsync(Post, "/api/v1/auth/register", null, $$"""{"username":"{{name}}","password":"correct horse"}"""))
        {
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        }

        await ExpectAsync(Post, "/api/v1/auth/register", null, $$"""{"username":"{{name.ToUpperInvariant()}}","password":"correct horse"}""", HttpStatusCode.Conflict, "USERNAME_TAKEN");
        await ExpectAsync(Post, "/api/v1/auth/register", null, "username=x", HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "application/x-www-form-urlencoded");
    }

    [Fact]
    public async Task Login_refresh_and_logout_reject_bad_credentials_and_tokens()
    {
        var alice = await _client.SignUpAsync();
        await ExpectAsync(Post, "/api/v1/auth/login", null, $$"""{"username":"{{alice.Username}}","password":"wrong password"}""", HttpStatusCode.Unauthorized, "INVALID_CREDENTIALS");
        await ExpectAsync(Post, "/api/v1/auth/login", null, $$"""{"username":"{{Name()}}","password":"correct horse"}""", HttpStatusCode.Unauthorized, "INVALID_CREDENTIALS");
        await ExpectAsync(Post, "/api/v1/auth/login", null, $$"""{"username":"{{alice.Username}}"}""", HttpStatusCode.BadRequest, "MISSING_REQUIRED_FIELD");
        await ExpectAsync(Post, "/api/v1/auth/refresh", null, """{"refreshToken":"never-issued"}""", HttpStatusCode.Unauthorized, "INVALID_REFRESH_TOKEN");
        await ExpectAsync(Post, "/api/v1/auth/refresh", null, "{}", HttpStatusCode.BadRequest, "MISSING_REQUIRED_FIELD");
        await ExpectAsync(Post, "/api/v1/auth/logout", null, $$"""{"refreshToken":"{{alice.RefreshToken}}"}""", HttpStatusCode.Unauthorized, "UNAUTHENTICATED");

        using (var logout = await _client.SendRawAsync(Post, "/api/v1/auth/logout", alice, $$"""{"refreshToken":"{{alice.RefreshToken}}"}"""))
        {
            Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        }

        await ExpectAsync(Post, "/api/v1/auth/refresh", null, $$"""{"refreshToken":"{{alice.RefreshToken}}"}""", HttpStatusCode.Unauthorized, "INVALID_REFRESH_TOKEN");
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    public Task Register_rejects_a_non_json_content_type(string contentType) =>
        ExpectAsync(Post, "/api/v1/auth/register", null, $$"""{"username":"{{Name()}}","password":"correct horse"}""", HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", contentType);

    [Fact]
    public async Task Refresh_issues_a_working_access_token_and_a_refresh_token_works_only_once()
    {
        var alice = await _client.SignUpAsync();
        var body = $$"""{"refreshToken":"{{alice.RefreshToken}}"}""";
        using (var refreshed = await _client.SendRawAsync(Post, "/api/v1/auth/refresh", null, body))
        {
            Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
            var pair = await refreshed.Content.ReadFromJsonAsync<JsonElement>();
            var renewed = alice with { AccessToken = pair.GetProperty("accessToken").GetString()!, RefreshToken = pair.GetProperty("refreshToken").GetString()! };
            Assert.NotEqual(alice.RefreshToken, renewed.RefreshToken);

            var me = await _client.OkAsync<JsonElement>(Get, "/api/v1/users/me", renewed);
            Assert.Equal(alice.UserId, me.GetProperty("userId").GetGuid());
        }

        // The first refresh rotated the token: replaying it is refused.
        await ExpectAsync(Post, "/api/v1/auth/refresh", null, body, HttpStatusCode.Unauthorized, "INVALID_REFRESH_TOKEN");
        await ExpectAsync(Post, "/api/v1/auth/refresh", null, """{"refreshToken":42}""", HttpStatusCode.BadRequest, "INVALID_FIELD_TYPE");
    }

    [Fact]
    public async Task A_token_signed_by_another_key_is_unauthenticated()
    {
        var alice = await _client.SignUpAsync();
        var parts = alice.AccessToken.Split('.');

        // Same header (kid, alg) and claims, but an RS256 signature from a key the server never issued.
        using var rsa = RSA.Create(2048);
        var signature = rsa.SignData(Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}"), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var forged = $"{parts[0]}.{parts[1]}.{Base64UrlEncoder.Encode(signature)}";
        await ExpectAsync(Get, "/api/v1/users/me", alice with { AccessToken = forged }, null, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");

        // An unsigned token ("alg":"none") is refused too.
        var none = $"{Base64UrlEncoder.Encode("""{"alg":"none","typ":"JWT"}""")}.{parts[1]}.";
        await ExpectAsync(Get, "/api/v1/users/me", alice with { AccessToken = none }, null, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
    }

    [Fact]
    public async Task Requests_without_a_valid_access_token_are_unauthenticated()
    {
        var alice = await _client.SignUpAsync();
        var parts = alice.AccessToken.Split('.');
        var tampered = alice with { AccessToken = $"{parts[0]}.{parts[1]}.{new string('A', parts[2].Length)}" };
        var forgedPayload = alice with { AccessToken = $"{parts[0]}.{parts[1][..^2]}xx.{parts[2]}" };

        await ExpectAsync(Get, "/api/v1/users/me", null, null, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
        await ExpectAsync(Get, "/api/v1/users/me", alice with { AccessToken = "garbage" }, null, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
        await ExpectAsync(Get, "/api/v1/users/me", tampered, null, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
        await ExpectAsync(Get, "/api/v1/users/me", forgedPayload, null, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
        await ExpectAsync(Get, "/api/v1/conversations", null, null, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
        await ExpectAsync(Post, $"/api/v1/conversations/{Guid.NewGuid()}/messages", null, """{"content":"x"}""", HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
    }

    [Fact]
    public async Task Creating_a_conversation_rejects_bad_types_members_and_titles()
    {
        var me = await _client.SignUpAsync();
        var a = await _client.SignUpAsync();
        var b = await _client.SignUpAsync();
        const string path = "/api/v1/conversations";

        await ExpectAsync(Post, path, me, $$"""{"type":"team","memberIds":["{{a.UserId}}"]}""", HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Post, path, me, $$"""{"memberIds":["{{a.UserId}}"]}""", HttpStatusCode.BadRequest, "MISSING_REQUIRED_FIELD");
        await ExpectAsync(Post, path, me, """{"type":"group","memberIds":"everyone"}""", HttpStatusCode.BadRequest, "INVALID_FIELD_TYPE");
        await ExpectAsync(Post, path, me, """{"type":"group","memberIds":["not-a-user-id"]}""", HttpStatusCode.BadRequest, "INVALID_RECIPIENT");
        await ExpectAsync(Post, path, me, $$"""{"type":"direct","memberIds":["{{a.UserId}}","{{b.UserId}}"]}""", HttpStatusCode.BadRequest, "INVALID_RECIPIENT");
        await ExpectAsync(Post, path, me, $$"""{"type":"direct","memberIds":["{{me.UserId}}"]}""", HttpStatusCode.BadRequest, "INVALID_RECIPIENT");
        await ExpectAsync(Post, path, me, $$"""{"type":"group","title":"{{new string('t', 201)}}","memberIds":[]}""", HttpStatusCode.BadRequest, "FIELD_TOO_LONG");
        var tooMany = string.Join(",", Enumerable.Range(0, 1001).Select(_ => $"\"{Guid.NewGuid()}\""));
        await ExpectAsync(Post, path, me, $$"""{"type":"group","memberIds":[{{tooMany}}]}""", HttpStatusCode.BadRequest, "FIELD_TOO_LONG");

        var unknown = Guid.NewGuid();
        using var response = await _client.SendRawAsync(Post, path, me, $$"""{"type":"group","memberIds":["{{a.UserId}}","{{unknown}}"]}""");
        var problem = await ProblemAssert.IsAsync(response, HttpStatusCode.BadRequest, "INVALID_RECIPIENT");
        Assert.Equal(unknown, problem.Details!.Value.GetProperty("unknownIds")[0].GetGuid());
    }

    [Theory]
    [InlineData("""{"type":"group","memberIds":[],"visibility":"public"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"type":"channel","memberIds":[],"visibility":"open"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"type":"channel","memberIds":[],"status":"archived"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"type":"group","memberIds":[],"avatarUrl":"ftp://x.example/a.png"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"type":"group","memberIds":[],"metadata":"not an object"}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"type":"group","memberIds":[],"metadata":[1]}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"type":"group","memberIds":[],"description":7}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"type":"broadcast","memberIds":[],"title":"\u0000"}""", "INVALID_TEXT")]
    [InlineData("""{"type":"group","memberIds":[],"metadata":{"a":1,"a":2}}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"type":"group","memberIds":[],"context":{"type":"RENTAL","id":"x"}}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"type":"group","memberIds":[],"context":{"type":"BOOKING"}}""", "MISSING_REQUIRED_FIELD")]
    [InlineData("""{"type":"group","memberIds":[],"context":{"type":"BOOKING","id":7}}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"type":"group","memberIds":[],"context":"BOOKING"}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"type":"group","memberIds":[],"context":{"type":"BOOKING","id":"b","metadata":[1]}}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"type":"group","memberIds":[],"sides":{"00000000-0000-0000-0000-000000000001":"customer"}}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"type":"group","memberIds":[],"context":{"type":"BOOKING","id":"b"},"sides":{"nobody":"customer"}}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"type":"group","memberIds":[],"context":{"type":"BOOKING","id":"b"},"sides":[]}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"type":"group","memberIds":[],"context":{"type":"BOOKING","id":"b"},"sides":{"x":1}}""", "INVALID_FIELD_TYPE")]
    public async Task Creating_a_group_channel_or_broadcast_rejects_bad_details(string json, string code)
    {
        var me = await _client.SignUpAsync();
        await ExpectAsync(Post, "/api/v1/conversations", me, json, HttpStatusCode.BadRequest, code);
        var other = await _client.SignUpAsync();
        await ExpectAsync(Post, "/api/v1/conversations", me, $$"""{"type":"direct","memberIds":["{{other.UserId}}"],"title":"ours"}""", HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Post, "/api/v1/conversations", me, $$"""{"type":"group","memberIds":[],"description":"{{new string('d', 2001)}}"}""", HttpStatusCode.BadRequest, "FIELD_TOO_LONG");
        await ExpectAsync(Post, "/api/v1/conversations", me, $$$"""{"type":"group","memberIds":[],"context":{"type":"BOOKING","id":"{{{new string('i', 129)}}}"}}""", HttpStatusCode.BadRequest, "FIELD_TOO_LONG");
        await ExpectAsync(Post, "/api/v1/conversations", me, $$$"""{"type":"direct","memberIds":["{{{other.UserId}}}"],"context":{"type":"BOOKING","id":"b"}}""", HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Post, "/api/v1/conversations", me, $$$"""{"type":"group","memberIds":[],"context":{"type":"BOOKING","id":"b"},"sides":{"{{{me.UserId}}}":"seller"}}""", HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Post, "/api/v1/conversations", me, $$$"""{"type":"group","memberIds":[],"metadata":{"k":"{{{new string('m', 17000)}}}"}}""", HttpStatusCode.BadRequest, "FIELD_TOO_LONG");
        await ExpectAsync(Post, "/api/v1/conversations", me, """{"type":"group","memberIds":[],"messageTtlSeconds":60}""", HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
    }

    [Theory]
    [InlineData("PATCH", "", """{"status":"deleted"}""", "INVALID_FIELD_VALUE")]
    [InlineData("PATCH", "", """{"status":null}""", "INVALID_FIELD_VALUE")]
    [InlineData("PATCH", "", """{"visibility":"public"}""", "INVALID_FIELD_VALUE")]
    [InlineData("PATCH", "", """{"title":["x"]}""", "INVALID_FIELD_TYPE")]
    [InlineData("PATCH", "", """{"avatarUrl":"/x.png"}""", "INVALID_FIELD_VALUE")]
    [InlineData("PATCH", "", """{"messageTtlSeconds":0}""", "INVALID_FIELD_VALUE")]
    [InlineData("PATCH", "", """{"messageTtlSeconds":31536001}""", "INVALID_FIELD_VALUE")]
    [InlineData("PATCH", "", """{"messageTtlSeconds":1.5}""", "INVALID_FIELD_TYPE")]
    [InlineData("PATCH", "", """{"messageTtlSeconds":"60"}""", "INVALID_FIELD_TYPE")]
    [InlineData("PATCH", "", """[1]""", "INVALID_SCHEMA")]
    [InlineData("POST", "/members", """{"userIds":[]}""", "INVALID_RECIPIENT")]
    [InlineData("POST", "/members", """{"userIds":["nope"]}""", "INVALID_RECIPIENT")]
    [InlineData("POST", "/members", """{"userIds":"everyone"}""", "INVALID_FIELD_TYPE")]
    [InlineData("POST", "/members", """{}""", "MISSING_REQUIRED_FIELD")]
    [InlineData("POST", "/members", """{"userIds":["00000000-0000-0000-0000-000000000001"]}""", "INVALID_RECIPIENT")]
    [InlineData("POST", "/members", """{"userIds":["00000000-0000-0000-0000-000000000001"],"role":"king"}""", "INVALID_FIELD_VALUE")]
    [InlineData("POST", "/members", """{"userIds":["{member}"],"side":"seller"}""", "INVALID_FIELD_VALUE")]
    [InlineData("POST", "/members", """{"userIds":["{member}"],"side":"customer"}""", "INVALID_FIELD_VALUE")]
    [InlineData("PATCH", "/members/{member}", """{}""", "MISSING_REQUIRED_FIELD")]
    [InlineData("PATCH", "/members/{member}", """{"role":"superuser"}""", "INVALID_FIELD_VALUE")]
    [InlineData("PATCH", "/members/{member}", """{"role":1}""", "INVALID_FIELD_TYPE")]
    [InlineData("PATCH", "/members/not-an-id", """{"role":"admin"}""", "INVALID_FIELD_VALUE")]
    [InlineData("DELETE", "/members/not-an-id", null, "INVALID_FIELD_VALUE")]
    [InlineData("POST", "/invites", """{"maxUses":0}""", "INVALID_FIELD_VALUE")]
    [InlineData("POST", "/invites", """{"maxUses":"ten"}""", "INVALID_FIELD_TYPE")]
    [InlineData("POST", "/invites", """{"expiresAt":"2001-01-01T00:00:00Z"}""", "INVALID_FIELD_VALUE")]
    [InlineData("POST", "/invites", """{"expiresAt":"tomorrow"}""", "INVALID_FIELD_VALUE")]
    [InlineData("POST", "/invites", """[]""", "INVALID_SCHEMA")]
    [InlineData("POST", "/owner", """{}""", "MISSING_REQUIRED_FIELD")]
    [InlineData("POST", "/owner", """{"userId":"x"}""", "INVALID_FIELD_VALUE")]
    public async Task Managing_a_conversation_rejects_bad_bodies_and_ids(string method, string suffix, string? json, string code)
    {
        var owner = await _client.SignUpAsync();
        var member = await _client.SignUpAsync();
        var id = (await _client.OkAsync<Conversation>(Post, "/api/v1/conversations", owner, new { type = "group", memberIds = new[] { member.UserId } }, HttpStatusCode.Created)).Id;
        var path = $"/api/v1/conversations/{id}{suffix.Replace("{member}", member.UserId.ToString(), StringComparison.Ordinal)}";
        json = json?.Replace("{member}", member.UserId.ToString(), StringComparison.Ordinal);
        await ExpectAsync(new HttpMethod(method), path, owner, json, HttpStatusCode.BadRequest, code);
        await ExpectAsync(new HttpMethod(method), path, null, json, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
    }

    [Fact]
    public async Task Managing_a_conversation_answers_unknown_conversations_members_and_limits_with_their_codes()
    {
        var owner = await _client.SignUpAsync();
        var stranger = await _client.SignUpAsync();
        var id = (await _client.OkAsync<Conversation>(Post, "/api/v1/conversations", owner, new { type = "group", memberIds = Array.Empty<Guid>() }, HttpStatusCode.Created)).Id;
        await ExpectAsync(HttpMethod.Patch, $"/api/v1/conversations/{Guid.NewGuid()}", owner, """{"title":"x"}""", HttpStatusCode.NotFound, "CONVERSATION_NOT_FOUND");
        await ExpectAsync(Post, $"/api/v1/conversations/{Guid.NewGuid()}/join", owner, null, HttpStatusCode.NotFound, "CONVERSATION_NOT_FOUND");
        await ExpectAsync(HttpMethod.Delete, $"/api/v1/conversations/{id}/members/{stranger.UserId}", owner, null, HttpStatusCode.NotFound, "MEMBER_NOT_FOUND");
        await ExpectAsync(HttpMethod.Patch, $"/api/v1/conversations/{id}/members/{stranger.UserId}", owner, """{"role":"admin"}""", HttpStatusCode.NotFound, "MEMBER_NOT_FOUND");
        await ExpectAsync(Post, $"/api/v1/conversations/{id}/owner", owner, $$"""{"userId":"{{stranger.UserId}}"}""", HttpStatusCode.NotFound, "MEMBER_NOT_FOUND");
        await ExpectAsync(Post, $"/api/v1/conversations/{id}/leave", stranger, null, HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");
        await ExpectAsync(Post, $"/api/v1/conversations/{id}/join", stranger, null, HttpStatusCode.Forbidden, "FORBIDDEN");
        await ExpectAsync(Get, "/api/v1/channels?limit=0", owner, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, "/api/v1/conversations?contextType=RENTAL", owner, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, "/api/v1/conversations?contextId=4711", owner, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, $"/api/v1/conversations?contextType=BOOKING&contextId={new string('i', 129)}", owner, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, "/api/v1/conversations?contextType=BOOKING&contextId=%00", owner, null, HttpStatusCode.BadRequest, "INVALID_TEXT");
        await ExpectAsync(Get, "/api/v1/conversations?contextType=BOOKING&contextType=SERVICE", owner, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, "/api/v1/channels?cursor=nope", owner, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, $"/api/v1/channels?query={new string('q', 201)}", owner, null, HttpStatusCode.BadRequest, "FIELD_TOO_LONG");
        await ExpectAsync(Get, "/api/v1/channels?query=%00", owner, null, HttpStatusCode.BadRequest, "INVALID_TEXT");
        await ExpectAsync(Get, "/api/v1/channels", null, null, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
        await ExpectAsync(HttpMethod.Delete, $"/api/v1/conversations/{id}/invites/unknown", owner, null, HttpStatusCode.NotFound, "INVITE_NOT_FOUND");
        await ExpectAsync(HttpMethod.Delete, $"/api/v1/conversations/{id}/invites/{new string('x', 65)}", owner, null, HttpStatusCode.NotFound, "INVITE_NOT_FOUND");
        await ExpectAsync(Post, "/api/v1/invites/bad%20code/join", owner, null, HttpStatusCode.NotFound, "INVITE_NOT_FOUND");
        await ExpectAsync(Post, "/api/v1/invites/whatever/join", null, null, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
        await ExpectAsync(Get, $"/api/v1/conversations/{id}/invites", stranger, null, HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");
    }

    [Theory]
    [InlineData("""{"muted":"yes"}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"muted":null}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"pinned":1}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"pinned":null}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"archived":"true"}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"mutedUntil":null}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"mutedUntil":1893456000}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"mutedUntil":"tomorrow"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"mutedUntil":"2099-01-01T00:00:00"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"mutedUntil":"9999-12-31T23:59:59-05:00"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"mutedUntil":"2020-01-01T00:00:00Z"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"muted":false,"mutedUntil":"2099-01-01T00:00:00Z"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""[true]""", "INVALID_SCHEMA")]
    [InlineData("""{"pinned":""", "INVALID_JSON")]
    public async Task Changing_conversation_settings_rejects_bad_bodies(string json, string code)
    {
        var me = await _client.SignUpAsync();
        var id = (await _client.DirectAsync(me, (await _client.SignUpAsync()).UserId)).Id;
        await ExpectAsync(HttpMethod.Patch, $"/api/v1/conversations/{id}/settings", me, json, HttpStatusCode.BadRequest, code);
        await ExpectAsync(HttpMethod.Patch, $"/api/v1/conversations/{id}/settings", null, json, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
    }

    [Fact]
    public async Task Changing_conversation_settings_rejects_bad_ids_and_media_types_and_listing_rejects_bad_filters()
    {
        var me = await _client.SignUpAsync();
        var id = (await _client.DirectAsync(me, (await _client.SignUpAsync()).UserId)).Id;
        await ExpectAsync(HttpMethod.Patch, "/api/v1/conversations/not-an-id/settings", me, """{"pinned":true}""", HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(HttpMethod.Patch, $"/api/v1/conversations/{id}/settings", me, "pinned=true", HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "application/x-www-form-urlencoded");

        foreach (var query in new[] { "kind=dm", "kind=Direct", "kind=direct&kind=group", "archived=yes", "archived=1", "archived=TRUE", "archived=true&archived=false" })
        {
            await ExpectAsync(Get, $"/api/v1/conversations?{query}", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        }

        await ExpectAsync(Get, "/api/v1/conversations?cursor=1700000000123_6a1f5c3e2b4d4e8f9a0b1c2d3e4f5a6b_x", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        Assert.Single((await _client.ConversationsAsync(me, "?kind=direct&archived=false")).Items);
    }

    [Theory]
    [InlineData("""{}""", "MISSING_REQUIRED_FIELD")]
    [InlineData("""{"content":7}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"content":"\u0000"}""", "INVALID_TEXT")]
    [InlineData("""{"content":"x","metadata":"no"}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"content":"x","metadata":{"a":1,"a":2}}""", "INVALID_FIELD_VALUE")]
    [InlineData("""[]""", "INVALID_SCHEMA")]
    public async Task Saving_a_draft_rejects_bad_bodies(string json, string code)
    {
        var me = await _client.SignUpAsync();
        var other = await _client.SignUpAsync();
        var direct = (await _client.DirectAsync(me, other.UserId)).Id;
        await ExpectAsync(HttpMethod.Put, $"/api/v1/conversations/{direct}/draft", me, json, HttpStatusCode.BadRequest, code);
        await ExpectAsync(HttpMethod.Put, $"/api/v1/conversations/{direct}/draft", null, json, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
    }

    [Fact]
    public async Task Bookmarks_and_drafts_reject_bad_ids_cursors_and_sizes()
    {
        var me = await _client.SignUpAsync();
        var other = await _client.SignUpAsync();
        var direct = (await _client.DirectAsync(me, other.UserId)).Id;
        await ExpectAsync(HttpMethod.Put, "/api/v1/messages/not-an-id/bookmark", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(HttpMethod.Put, $"/api/v1/messages/{Guid.NewGuid()}/bookmark", me, null, HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");
        await ExpectAsync(HttpMethod.Delete, "/api/v1/messages/not-an-id/bookmark", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, "/api/v1/bookmarks?cursor=nope", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, "/api/v1/bookmarks?limit=0", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, "/api/v1/bookmarks", null, null, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
        await ExpectAsync(Get, "/api/v1/conversations/not-an-id/draft", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, $"/api/v1/conversations/{Guid.NewGuid()}/draft", me, null, HttpStatusCode.NotFound, "CONVERSATION_NOT_FOUND");
        await ExpectAsync(HttpMethod.Put, $"/api/v1/conversations/{direct}/draft", me, $$"""{"content":"{{new string('x', 10_241)}}"}""", HttpStatusCode.BadRequest, "FIELD_TOO_LONG");
    }

    [Fact]
    public async Task Creating_the_same_direct_conversation_again_returns_200_with_the_same_id()
    {
        var me = await _client.SignUpAsync();
        var other = await _client.SignUpAsync();
        var first = await _client.DirectAsync(me, other.UserId);
        var again = await _client.OkAsync<Conversation>(Post, "/api/v1/conversations", other, new { type = "direct", memberIds = new[] { me.UserId } });
        Assert.Equal(first.Id, again.Id);
    }

    [Fact]
    public async Task Listing_and_reading_conversations_rejects_bad_queries_ids_and_strangers()
    {
        var me = await _client.SignUpAsync();
        var stranger = await _client.SignUpAsync();
        var conversation = await _client.DirectAsync(me, (await _client.SignUpAsync()).UserId);

        await ExpectAsync(Get, "/api/v1/conversations?limit=abc", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_TYPE");
        await ExpectAsync(Get, "/api/v1/conversations?limit=0", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, "/api/v1/conversations?cursor=garbage", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, "/api/v1/conversations?cursor=99999999999999999_6a1f5c3e2b4d4e8f9a0b1c2d3e4f5a6b", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        Assert.Single((await _client.ConversationsAsync(me, "?limit=100000")).Items);

        await ExpectAsync(Get, "/api/v1/conversations/not-a-guid", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, $"/api/v1/conversations/{Guid.NewGuid()}", me, null, HttpStatusCode.NotFound, "CONVERSATION_NOT_FOUND");
        await ExpectAsync(Get, $"/api/v1/conversations/{conversation.Id}", stranger, null, HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");
    }

    public static TheoryData<string, string> BadMessages => new()
    {
        { """{"type":"text"}""", "MISSING_REQUIRED_FIELD" },
        { """{"content":17}""", "INVALID_FIELD_TYPE" },
        { """{"content":"   "}""", "INVALID_FIELD_VALUE" },
        { $$"""{"content":"{{new string('x', 10_241)}}"}""", "FIELD_TOO_LONG" },
        // 3,414 characters but 10,242 UTF-8 bytes: the limit is on bytes.
        { $$"""{"content":"{{new string('€', 3_414)}}"}""", "FIELD_TOO_LONG" },
        { """{"content":"hi","type":"system"}""", "INVALID_FIELD_VALUE" },
        { """{"content":"hi","type":"bogus"}""", "INVALID_FIELD_VALUE" },
        { $$"""{"content":"hi","clientMessageId":"{{new string('c', 256)}}"}""", "FIELD_TOO_LONG" },
        { """{"content":"hi","metadata":[1]}""", "INVALID_FIELD_TYPE" },
        { """{"content":"hi","metadata":"{}"}""", "INVALID_FIELD_TYPE" },
        { $$$"""{"content":"hi","metadata":{"k":"{{{new string('m', 4_100)}}}"}}""", "FIELD_TOO_LONG" },
        { """{"content":"hi",""", "INVALID_JSON" },
        { """{"content":"hi","replyTo":"not-a-message"}""", "INVALID_FIELD_VALUE" },
        { """{"content":"hi","replyTo":""}""", "INVALID_FIELD_VALUE" },
        { """{"content":"hi","replyTo":"\ud800"}""", "INVALID_TEXT" },
        { """{"content":"hi","expiresAt":"2020-01-01T00:00:00Z"}""", "INVALID_FIELD_VALUE" },
        { """{"content":"hi","expiresAt":"2999-01-01T00:00:00Z"}""", "INVALID_FIELD_VALUE" },
        { """{"content":"hi","expiresAt":"tomorrow"}""", "INVALID_FIELD_VALUE" },
        { """{"content":"hi","expiresAt":1767225600}""", "INVALID_FIELD_TYPE" },
        { """{"content":"q","poll":{"options":["a"]}}""", "INVALID_FIELD_VALUE" },
        { """{"content":"q","poll":{"options":["a","b","c","d","e","f","g","h","i","j","k"]}}""", "FIELD_TOO_LONG" },
        { """{"content":"q","poll":{"options":["a","a"]}}""", "INVALID_FIELD_VALUE" },
        { """{"content":"q","poll":{"options":["a"," "]}}""", "INVALID_FIELD_VALUE" },
        { $$$"""{"content":"q","poll":{"options":["a","{{{new string('o', 201)}}}"]}}""", "FIELD_TOO_LONG" },
        { """{"content":"q","poll":{"options":["a","\ud800"]}}""", "INVALID_TEXT" },
        { """{"content":"q","poll":{"options":["a",2]}}""", "INVALID_FIELD_TYPE" },
        { """{"content":"q","poll":{}}""", "MISSING_REQUIRED_FIELD" },
        { """{"content":"q","poll":"a,b"}""", "INVALID_FIELD_TYPE" },
        { """{"content":"q","poll":{"options":["a","b"],"multipleAnswers":"yes"}}""", "INVALID_FIELD_TYPE" },
        { """{"content":"q","poll":{"options":["a","b"],"closesAt":"2020-01-01T00:00:00Z"}}""", "INVALID_FIELD_VALUE" },
        { """{"content":"q","type":"poll"}""", "MISSING_REQUIRED_FIELD" },
        { """{"content":"q","type":"text","poll":{"options":["a","b"]}}""", "INVALID_FIELD_VALUE" },
        { """{"content":"hi","replyTo":7}""", "INVALID_FIELD_TYPE" },
        { """{"content":"hi","replyTo":["00000000-0000-0000-0000-000000000001"]}""", "INVALID_FIELD_TYPE" },
        { """{"content":"hi","replyTo":{"messageId":"00000000-0000-0000-0000-000000000001"}}""", "INVALID_FIELD_TYPE" },
        { """{"content":"hi","mentions":"00000000-0000-0000-0000-000000000001"}""", "INVALID_FIELD_TYPE" },
        { """{"content":"hi","mentions":[7]}""", "INVALID_FIELD_TYPE" },
        { """{"content":"hi","mentions":["nobody"]}""", "INVALID_RECIPIENT" },
        { """{"content":"hi","mentions":["00000000-0000-0000-0000-000000000001"]}""", "INVALID_FIELD_VALUE" },
        { $$"""{"content":"hi","mentions":[{{string.Join(",", Enumerable.Range(0, 51).Select(_ => $"\"{Guid.NewGuid()}\""))}}]}""", "FIELD_TOO_LONG" },
    };

    [Theory]
    [MemberData(nameof(BadMessages))]
    public async Task Sending_rejects_bad_message_bodies(string json, string code)
    {
        var me = await _client.SignUpAsync();
        var conversation = await _client.DirectAsync(me, (await _client.SignUpAsync()).UserId);
        await ExpectAsync(Post, $"/api/v1/conversations/{conversation.Id}/messages", me, json, HttpStatusCode.BadRequest, code);
    }

    [Fact]
    public async Task Sending_rejects_unknown_foreign_and_malformed_conversations_and_oversized_or_non_json_bodies()
    {
        var me = await _client.SignUpAsync();
        var stranger = await _client.SignUpAsync();
        var conversation = await _client.DirectAsync(me, (await _client.SignUpAsync()).UserId);
        var path = $"/api/v1/conversations/{conversation.Id}/messages";

        await ExpectAsync(Post, "/api/v1/conversations/xyz/messages", me, """{"content":"hi"}""", HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Post, $"/api/v1/conversations/{Guid.NewGuid()}/messages", me, """{"content":"hi"}""", HttpStatusCode.NotFound, "CONVERSATION_NOT_FOUND");
        await ExpectAsync(Post, path, stranger, """{"content":"hi"}""", HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");
        await ExpectAsync(Post, path, me, "hi", HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "text/plain");
        await ExpectAsync(Post, path, me, $$"""{"content":"{{new string('x', 70_000)}}"}""", HttpStatusCode.RequestEntityTooLarge, "PAYLOAD_TOO_LARGE");

        // Without a Content-Length the limit is enforced while reading.
        using var chunked = new HttpRequestMessage(Post, path)
        {
            Content = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes($$"""{"content":"{{new string('x', 66_000)}}"}"""))),
        };
        chunked.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", me.AccessToken);
        chunked.Headers.TransferEncodingChunked = true;
        chunked.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await _client.Http.SendAsync(chunked);
        await ProblemAssert.IsAsync(response, HttpStatusCode.RequestEntityTooLarge, "PAYLOAD_TOO_LARGE");

        Assert.Equal("pending", (await _client.SendAsync(me, conversation.Id, "still fine")).State);
    }

    [Fact]
    public async Task History_read_and_status_reject_bad_queries_and_strangers()
    {
        var me = await _client.SignUpAsync();
        var stranger = await _client.SignUpAsync();
        var conversation = await _client.DirectAsync(me, (await _client.SignUpAsync()).UserId);
        var ack = await _client.SendAsync(me, conversation.Id, "secret");
        var history = $"/api/v1/conversations/{conversation.Id}/messages";
        var read = $"/api/v1/conversations/{conversation.Id}/read";

        await ExpectAsync(Get, history + "?before=abc", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_TYPE");
        await ExpectAsync(Get, history + "?limit=0", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, history + "?before=0", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, history + "?after=-1", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, history, stranger, null, HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");
        await ExpectAsync(Get, $"/api/v1/conversations/{Guid.NewGuid()}/messages", me, null, HttpStatusCode.NotFound, "CONVERSATION_NOT_FOUND");
        await ExpectAsync(Get, $"/api/v1/conversations/{conversation.Id}/presence", stranger, null, HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");
        await ExpectAsync(Get, "/api/v1/conversations/xyz/presence", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, $"/api/v1/conversations/{Guid.NewGuid()}/presence", me, null, HttpStatusCode.NotFound, "CONVERSATION_NOT_FOUND");
        Assert.True((await _client.HistoryAsync(me, conversation.Id, "?limit=100000")).Items.Count <= 200);

        await ExpectAsync(Post, read, me, "{}", HttpStatusCode.BadRequest, "MISSING_REQUIRED_FIELD");
        await ExpectAsync(Post, read, me, """{"upToSequence":"3"}""", HttpStatusCode.BadRequest, "INVALID_FIELD_TYPE");
        await ExpectAsync(Post, read, me, """{"upToSequence":1.5}""", HttpStatusCode.BadRequest, "INVALID_FIELD_TYPE");
        await ExpectAsync(Post, read, me, """{"upToSequence":-1}""", HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Post, read, stranger, """{"upToSequence":1}""", HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");

        await ExpectAsync(Get, "/api/v1/messages/nope/status", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, $"/api/v1/messages/{Guid.NewGuid()}/status", me, null, HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");
        // Someone else's message does not even exist for a stranger, pending or stored.
        await ExpectAsync(Get, $"/api/v1/messages/{ack.MessageId}/status", stranger, null, HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");
        await _client.WaitForStoredAsync(me, conversation.Id, 1);
        await ExpectAsync(Get, $"/api/v1/messages/{ack.MessageId}/status", stranger, null, HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");
    }

    // Edits, deletes, reactions, edit history, threads (M7, M8, M9). A rejected change must append nothing: each row
    // ends by checking the message is still as sent.

    private const string AsSent = "as sent";

    /// <summary>A stored message by <see cref="Sender"/> that the tests try to change.</summary>
    private sealed record Target(Session Sender, Session Other, Guid ConversationId, Guid MessageId, string Content = AsSent)
    {
        public string Path => $"/api/v1/messages/{MessageId}";
    }

    private async Task<Target> StoredMessageAsync()
    {
        var sender = await _client.SignUpAsync();
        var other = await _client.SignUpAsync();
        var conversation = (await _client.DirectAsync(sender, other.UserId)).Id;
        var sent = await _client.SendAsync(sender, conversation, AsSent);
        await _client.WaitForStoredAsync(sender, conversation, 1);
        return new Target(sender, other, conversation, sent.MessageId);
    }

    /// <summary>
    /// The message is as it was (content, no edit, no reaction, deleted or not) for both members, and the history holds
    /// nothing a rejected request stored. A marker sent now is applied after anything appended before it (one partition
    /// per conversation, in order), so once the marker is stored the message's state is final. Returns the history.
    /// </summary>
    private async Task<List<JsonElement>> AssertUntouchedAsync(Target target, bool deleted = false)
    {
        var marker = await _client.SendAsync(target.Sender, target.ConversationId, "marker");
        List<JsonElement> history = [];
        await Eventually.TrueAsync(async () => (history = await HistoryItemsAsync(target.Sender, target.ConversationId)).Any(m => m.GetProperty("id").GetGuid() == marker.MessageId),
            "the marker sent after the rejected requests stored");
        foreach (var viewer in new[] { target.Sender, target.Other })
        {
            var message = (await HistoryItemsAsync(viewer, target.ConversationId)).Single(m => m.GetProperty("id").GetGuid() == target.MessageId);
            Assert.Equal((deleted ? "" : target.Content, 0, deleted),
                (message.GetProperty("content").GetString(), message.Count("editCount"), message.Flag("deleted")));
            Assert.False(message.TryGetProperty("editedAt", out _));
            Assert.False(message.TryGetProperty("reactions", out _));
            Assert.True(!message.TryGetProperty("myReactions", out var mine) || mine.GetArrayLength() == 0, mine.ToString());
        }

        return history;
    }

    private async Task<List<JsonElement>> HistoryItemsAsync(Session viewer, Guid conversation) =>
        [.. (await _client.OkAsync<JsonElement>(Get, $"/api/v1/conversations/{conversation}/messages?limit=200", viewer)).GetProperty("items").EnumerateArray()];

    public static TheoryData<string, string> BadEdits => new()
    {
        { """{}""", "MISSING_REQUIRED_FIELD" },
        { """{"content":null}""", "MISSING_REQUIRED_FIELD" },
        { """{"reason":"typo"}""", "MISSING_REQUIRED_FIELD" },
        { """{"content":""}""", "INVALID_FIELD_VALUE" },
        { """{"content":" \n\t "}""", "INVALID_FIELD_VALUE" },
        { $$"""{"content":"{{new string('x', 10_241)}}"}""", "FIELD_TOO_LONG" },
        // 3,414 characters but 10,242 UTF-8 bytes: the limit is on bytes, as for a send.
        { $$"""{"content":"{{new string('€', 3_414)}}"}""", "FIELD_TOO_LONG" },
        { """{"content":"a\u0000b"}""", "INVALID_TEXT" },
        { """{"content":"\ud800"}""", "INVALID_TEXT" },
        { """{"content":"x\udc00y"}""", "INVALID_TEXT" },
        { """{"content":7}""", "INVALID_FIELD_TYPE" },
        { """{"content":true}""", "INVALID_FIELD_TYPE" },
        { """{"content":["x"]}""", "INVALID_FIELD_TYPE" },
        { """{"content":{"text":"x"}}""", "INVALID_FIELD_TYPE" },
        { """{"content":"x","reason":5}""", "INVALID_FIELD_TYPE" },
        { """{"content":"x","reason":""}""", "INVALID_FIELD_VALUE" },
        { """{"content":"x","reason":"  "}""", "INVALID_FIELD_VALUE" },
        { """{"content":"x","reason":"\u0000"}""", "INVALID_TEXT" },
        { $$"""{"content":"x","reason":"{{new string('r', 501)}}"}""", "FIELD_TOO_LONG" },
        { """{"content":"x","extra":""" + new string('[', 40) + new string(']', 40) + "}", "INVALID_JSON" },
        { """{"content":"x","clientChangeId":5}""", "INVALID_FIELD_TYPE" },
        { """{"content":"x","clientChangeId":""}""", "INVALID_FIELD_VALUE" },
        { """{"content":"x","clientChangeId":"  "}""", "INVALID_FIELD_VALUE" },
        { """{"content":"x","clientChangeId":"\ud800"}""", "INVALID_TEXT" },
        { """[]""", "INVALID_SCHEMA" },
        { "\"content\"", "INVALID_SCHEMA" },
        { """{"content":""", "INVALID_JSON" },
        { "", "INVALID_JSON" },
    };

    [Theory]
    [MemberData(nameof(BadEdits))]
    public async Task Editing_rejects_bad_bodies_and_leaves_the_message_as_sent(string json, string code)
    {
        var target = await StoredMessageAsync();
        await ExpectAsync(HttpMethod.Patch, target.Path, target.Sender, json, HttpStatusCode.BadRequest, code);
        await AssertUntouchedAsync(target);
    }

    [Theory]
    [InlineData("PATCH", "", """{"content":"changed"}""")]
    [InlineData("DELETE", "?for=me", null)]
    [InlineData("DELETE", "?for=everyone", null)]
    [InlineData("PUT", "/reactions/:ok:", null)]
    [InlineData("DELETE", "/reactions/:ok:", null)]
    [InlineData("GET", "/edits", null)]
    [InlineData("GET", "/thread", null)]
    [InlineData("POST", "/forward", """{"conversationIds":["00000000-0000-0000-0000-000000000001"]}""")]
    [InlineData("POST", "/votes", """{"optionIds":[0]}""")]
    [InlineData("DELETE", "/votes", null)]
    [InlineData("GET", "/votes", null)]
    public async Task Message_routes_answer_malformed_unknown_and_foreign_ids_with_their_codes(string method, string suffix, string? json)
    {
        var target = await StoredMessageAsync();
        var stranger = await _client.SignUpAsync();
        var verb = new HttpMethod(method);
        await ExpectAsync(verb, $"/api/v1/messages/not-an-id{suffix}", target.Sender, json, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(verb, $"/api/v1/messages/{Guid.NewGuid()}{suffix}", target.Sender, json, HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");
        await ExpectAsync(verb, $"/api/v1/messages/{Guid.Empty}{suffix}", target.Sender, json, HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");
        await ExpectAsync(verb, target.Path + suffix, null, json, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");

        // Someone else's message does not exist for a stranger (a 403 would confirm it), stored or still in the log.
        var fresh = await _client.SendAsync(target.Sender, target.ConversationId, "just sent");
        await ExpectAsync(verb, target.Path + suffix, stranger, json, HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");
        await ExpectAsync(verb, $"/api/v1/messages/{fresh.MessageId}{suffix}", stranger, json, HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");
        await AssertUntouchedAsync(target);
    }

    [Fact]
    public async Task Editing_refuses_other_senders_and_non_json_bodies()
    {
        var target = await StoredMessageAsync();
        const string body = """{"content":"changed"}""";
        await ExpectAsync(HttpMethod.Patch, target.Path, target.Other, body, HttpStatusCode.Forbidden, "NOT_MESSAGE_SENDER");
        await ExpectAsync(HttpMethod.Patch, target.Path, target.Sender, "content=changed", HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "application/x-www-form-urlencoded");
        await ExpectAsync(HttpMethod.Patch, target.Path, target.Sender, body, HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "text/plain");
        await ExpectAsync(HttpMethod.Patch, target.Path, target.Sender, null, HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE");
        await ExpectAsync(HttpMethod.Patch, target.Path, target.Sender, $$"""{"content":"{{new string('x', 70_000)}}"}""", HttpStatusCode.RequestEntityTooLarge, "PAYLOAD_TOO_LARGE");
        await AssertUntouchedAsync(target);
    }

    // Reports and the moderation queue (M9).

    [Theory]
    [InlineData("""{}""", "MISSING_REQUIRED_FIELD")]
    [InlineData("""{"reason":null}""", "MISSING_REQUIRED_FIELD")]
    [InlineData("""{"reason":7}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"reason":""}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"reason":"   "}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"reason":"\u0000"}""", "INVALID_TEXT")]
    [InlineData("""["reason"]""", "INVALID_SCHEMA")]
    [InlineData("""{"reason":""", "INVALID_JSON")]
    public async Task Reporting_a_message_rejects_bad_bodies(string json, string code)
    {
        var target = await StoredMessageAsync();
        await ExpectAsync(Post, $"{target.Path}/reports", target.Other, json, HttpStatusCode.BadRequest, code);
        await ExpectAsync(Post, $"{target.Path}/reports", null, json, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
    }

    [Theory]
    [InlineData("""{}""", "MISSING_REQUIRED_FIELD")]
    [InlineData("""{"action":7}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"action":"ban"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"action":"Dismiss"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"action":""}""", "INVALID_FIELD_VALUE")]
    [InlineData("""[]""", "INVALID_SCHEMA")]
    [InlineData("""{"action":""", "INVALID_JSON")]
    public async Task Resolving_a_report_rejects_bad_bodies(string json, string code)
    {
        var target = await StoredMessageAsync();
        var report = (await _client.OkAsync<JsonElement>(Post, $"{target.Path}/reports", target.Other, new { reason = "spam" }, HttpStatusCode.Created)).GetProperty("id").GetGuid();
        await ExpectAsync(Post, $"/api/v1/moderation/reports/{report}/resolve", target.Sender, json, HttpStatusCode.BadRequest, code);
        await ExpectAsync(Post, $"/api/v1/moderation/reports/{report}/resolve", null, json, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
    }

    [Theory]
    [InlineData("""{}""", "MISSING_REQUIRED_FIELD")]
    [InlineData("""{"platform":"sms","token":"abc"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"platform":"FCM","token":"abc"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"platform":7,"token":"abc"}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"platform":"fcm"}""", "MISSING_REQUIRED_FIELD")]
    [InlineData("""{"platform":"fcm","token":""}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"platform":"fcm","token":"has space"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"platform":"fcm","token":"ok-but-no-provider"}""", "PUSH_PLATFORM_UNAVAILABLE")]
    [InlineData("""{"platform":"apns","token":"abcdef"}""", "PUSH_PLATFORM_UNAVAILABLE")]
    [InlineData("""{"platform":"webhook","token":"abcdef"}""", "PUSH_PLATFORM_UNAVAILABLE")]
    [InlineData("""{"platform":"webpush"}""", "MISSING_REQUIRED_FIELD")]
    [InlineData("""{"platform":"webpush","subscription":{"endpoint":"https://fcm.googleapis.com/fcm/send/x"}}""", "MISSING_REQUIRED_FIELD")]
    [InlineData("""{"platform":"webpush","subscription":{"endpoint":"http://169.254.169.254/latest","keys":{"p256dh":"KEY65","auth":"AAAAAAAAAAAAAAAAAAAAAA"}}}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"platform":"webpush","subscription":{"endpoint":"not a url","keys":{"p256dh":"KEY65","auth":"AAAAAAAAAAAAAAAAAAAAAA"}}}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"platform":"webpush","subscription":{"endpoint":"https://fcm.googleapis.com/fcm/send/x","keys":{"p256dh":"short","auth":"AAAAAAAAAAAAAAAAAAAAAA"}}}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"platform":"webpush","subscription":{"endpoint":"https://fcm.googleapis.com/fcm/send/x","keys":{"p256dh":"KEY65","auth":"!!!"}}}""", "INVALID_FIELD_VALUE")]
    [InlineData("""[]""", "INVALID_SCHEMA")]
    [InlineData("""{"platform":""", "INVALID_JSON")]
    public async Task Registering_a_push_device_rejects_bad_bodies(string json, string code)
    {
        var me = await _client.SignUpAsync();
        json = json.Replace("KEY65", ValidP256dh, StringComparison.Ordinal);
        await ExpectAsync(Post, "/api/v1/devices", me, json, HttpStatusCode.BadRequest, code);
        await ExpectAsync(Post, "/api/v1/devices", null, json, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
    }

    [Fact]
    public async Task Push_devices_reject_bad_ids_long_tokens_strangers_and_forms()
    {
        var (me, other) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        await ExpectAsync(Post, "/api/v1/devices", me, $$"""{"platform":"fcm","token":"{{new string('t', 4097)}}"}""", HttpStatusCode.BadRequest, "FIELD_TOO_LONG");
        await ExpectAsync(Post, "/api/v1/devices", me, "platform=fcm", HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "application/x-www-form-urlencoded");
        await ExpectAsync(HttpMethod.Delete, "/api/v1/devices/not-an-id", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(HttpMethod.Delete, $"/api/v1/devices/{Guid.NewGuid()}", me, null, HttpStatusCode.NotFound, "DEVICE_NOT_FOUND");
        var mine = await _client.OkAsync<JsonElement>(Post, "/api/v1/devices", me, new
        {
            platform = "webpush",
            subscription = new { endpoint = "https://fcm.googleapis.com/fcm/send/" + Guid.NewGuid().ToString("N"), keys = new { p256dh = ValidP256dh, auth = "AAAAAAAAAAAAAAAAAAAAAA" } },
        }, HttpStatusCode.Created);
        await ExpectAsync(HttpMethod.Delete, $"/api/v1/devices/{mine.GetProperty("id").GetGuid()}", other, null, HttpStatusCode.NotFound, "DEVICE_NOT_FOUND");
        await ExpectAsync(Get, "/api/v1/devices", null, null, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
    }

    [Fact]
    public async Task Reports_and_the_moderation_queue_reject_bad_ids_sizes_queries_and_strangers()
    {
        var target = await StoredMessageAsync();
        var stranger = await _client.SignUpAsync();
        await ExpectAsync(Post, "/api/v1/messages/not-an-id/reports", target.Other, """{"reason":"spam"}""", HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Post, $"/api/v1/messages/{Guid.NewGuid()}/reports", target.Other, """{"reason":"spam"}""", HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");
        await ExpectAsync(Post, $"{target.Path}/reports", stranger, """{"reason":"spam"}""", HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");
        await ExpectAsync(Post, $"{target.Path}/reports", target.Other, $$"""{"reason":"{{new string('r', 501)}}"}""", HttpStatusCode.BadRequest, "FIELD_TOO_LONG");
        await ExpectAsync(Post, $"{target.Path}/reports", target.Other, "reason=spam", HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "application/x-www-form-urlencoded");

        foreach (var query in new[] { "status=closed", "status=OPEN", "status=open&status=resolved", "conversationId=nope", "cursor=nope", "limit=0" })
        {
            await ExpectAsync(Get, $"/api/v1/moderation/reports?{query}", target.Other, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        }

        await ExpectAsync(Get, "/api/v1/moderation/reports?limit=abc", target.Other, null, HttpStatusCode.BadRequest, "INVALID_FIELD_TYPE");
        await ExpectAsync(Get, $"/api/v1/moderation/reports?conversationId={Guid.NewGuid()}", target.Other, null, HttpStatusCode.NotFound, "CONVERSATION_NOT_FOUND");
        await ExpectAsync(Get, $"/api/v1/moderation/reports?conversationId={target.ConversationId}", stranger, null, HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");
        await ExpectAsync(Get, $"/api/v1/moderation/reports?conversationId={target.ConversationId}", target.Other, null, HttpStatusCode.Forbidden, "FORBIDDEN_ROLE");
        await ExpectAsync(Get, "/api/v1/moderation/reports", null, null, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
        Assert.Empty((await _client.OkAsync<JsonElement>(Get, "/api/v1/moderation/reports", target.Other)).GetProperty("items").EnumerateArray());

        await ExpectAsync(Post, "/api/v1/moderation/reports/not-an-id/resolve", target.Sender, """{"action":"dismiss"}""", HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Post, $"/api/v1/moderation/reports/{Guid.NewGuid()}/resolve", target.Sender, """{"action":"dismiss"}""", HttpStatusCode.NotFound, "REPORT_NOT_FOUND");
        // In a direct conversation nobody moderates: only a server admin may resolve its reports.
        var report = (await _client.OkAsync<JsonElement>(Post, $"{target.Path}/reports", target.Other, new { reason = "spam" }, HttpStatusCode.Created)).GetProperty("id").GetGuid();
        await ExpectAsync(Post, $"/api/v1/moderation/reports/{report}/resolve", target.Sender, """{"action":"dismiss"}""", HttpStatusCode.Forbidden, "FORBIDDEN_ROLE");
        await ExpectAsync(Post, $"/api/v1/moderation/reports/{report}/resolve", stranger, """{"action":"dismiss"}""", HttpStatusCode.NotFound, "REPORT_NOT_FOUND");
        await AssertUntouchedAsync(target);
    }

    [Fact]
    public async Task A_deleted_message_refuses_edits_and_reactions()
    {
        var target = await StoredMessageAsync();
        using (var deleted = await _client.SendRawAsync(HttpMethod.Delete, target.Path + "?for=everyone", target.Sender))
        {
            Assert.Equal(HttpStatusCode.Accepted, deleted.StatusCode);
        }

        await Eventually.TrueAsync(async () => (await HistoryItemsAsync(target.Sender, target.ConversationId)).Single().Flag("deleted"), "the delete stored");
        await ExpectAsync(HttpMethod.Patch, target.Path, target.Sender, """{"content":"back again"}""", HttpStatusCode.Conflict, "MESSAGE_DELETED");
        await ExpectAsync(HttpMethod.Put, target.Path + "/reactions/:ok:", target.Other, null, HttpStatusCode.Conflict, "MESSAGE_DELETED");
        await ExpectAsync(HttpMethod.Delete, target.Path + "/reactions/:ok:", target.Other, null, HttpStatusCode.Conflict, "MESSAGE_DELETED");
        await AssertUntouchedAsync(target, deleted: true);
    }

    [Fact]
    public async Task An_overlong_clientChangeId_is_too_long_like_an_overlong_clientMessageId()
    {
        var target = await StoredMessageAsync();
        var id = new string('c', 256);
        await ExpectAsync(Post, $"/api/v1/conversations/{target.ConversationId}/messages", target.Sender, $$"""{"content":"x","clientMessageId":"{{id}}"}""", HttpStatusCode.BadRequest, "FIELD_TOO_LONG");
        await ExpectAsync(HttpMethod.Patch, target.Path, target.Sender, $$"""{"content":"x","clientChangeId":"{{id}}"}""", HttpStatusCode.BadRequest, "FIELD_TOO_LONG");
        await ExpectAsync(HttpMethod.Delete, $"{target.Path}?for=everyone&clientChangeId={id}", target.Sender, null, HttpStatusCode.BadRequest, "FIELD_TOO_LONG");
        await using var device = await _client.ConnectAsync(target.Sender);
        await ExpectHubAsync("FIELD_TOO_LONG", () => device.Connection.InvokeAsync<object>("EditMessage", target.MessageId, "x", null, id));
        await ExpectHubAsync("FIELD_TOO_LONG", () => device.Connection.InvokeAsync<object>("DeleteMessage", target.MessageId, id));
        await AssertUntouchedAsync(target);
    }

    [Fact]
    public async Task The_hub_refuses_a_blank_edit_reason_as_rest_does()
    {
        var target = await StoredMessageAsync();
        await using var device = await _client.ConnectAsync(target.Sender);
        foreach (var reason in new[] { "", " " })
        {
            await ExpectAsync(HttpMethod.Patch, target.Path, target.Sender, JsonSerializer.Serialize(new { content = "x", reason }), HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
            await ExpectHubAsync("INVALID_FIELD_VALUE", () => device.Connection.InvokeAsync<object>("EditMessage", target.MessageId, "x", reason, null));
        }

        await AssertUntouchedAsync(target);
    }

    public static TheoryData<string, string> BadDeleteQueries => new()
    {
        { "", "MISSING_REQUIRED_FIELD" },
        { "?for=", "MISSING_REQUIRED_FIELD" },
        { "?clientChangeId=c1", "MISSING_REQUIRED_FIELD" },
        { "?for=all", "INVALID_FIELD_VALUE" },
        { "?for=Everyone", "INVALID_FIELD_VALUE" },
        { "?for=ME", "INVALID_FIELD_VALUE" },
        { "?for=me%20", "INVALID_FIELD_VALUE" },
        { "?for=%00", "INVALID_FIELD_VALUE" },
        { "?for=me&for=everyone", "INVALID_FIELD_VALUE" },
        { "?for=everyone&for=everyone", "INVALID_FIELD_VALUE" },
        { "?for=everyone&clientChangeId=%20", "INVALID_FIELD_VALUE" },
        { "?for=everyone&clientChangeId=a&clientChangeId=b", "INVALID_FIELD_VALUE" },
        { "?for=everyone&clientChangeId=%00", "INVALID_TEXT" },
    };

    [Theory]
    [MemberData(nameof(BadDeleteQueries))]
    public async Task Deleting_rejects_a_missing_or_bad_scope_and_bad_change_ids(string query, string code)
    {
        var target = await StoredMessageAsync();
        await ExpectAsync(HttpMethod.Delete, target.Path + query, target.Sender, null, HttpStatusCode.BadRequest, code);
        await AssertUntouchedAsync(target);
    }

    [Fact]
    public async Task A_member_may_not_delete_another_members_message_for_everyone()
    {
        var (owner, author, member) = (await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync());
        var group = (await _client.GroupAsync(owner, "deletes", author.UserId, member.UserId)).Id;
        var sent = await _client.SendAsync(author, group, AsSent);
        await _client.WaitForStoredAsync(author, group, 1);
        var target = new Target(author, member, group, sent.MessageId);

        // Hiding it from their own view is theirs to do; erasing it for everyone needs deleteOthersMessages.
        await ExpectAsync(HttpMethod.Delete, $"{target.Path}?for=everyone", member, null, HttpStatusCode.Forbidden, "FORBIDDEN_ROLE");
        await AssertUntouchedAsync(target);
    }

    public static TheoryData<string> BadReactionKeys => new()
    {
        "hello",
        ":UPPER:",
        "::",
        ":",
        ":a",
        "a:",
        ":thumbs up:",
        ":thumbs_up:!",
        // A shortcode of 41 characters: at most 40 between the colons.
        ":" + new string('a', 41) + ":",
        // 65 bytes, one over the limit: a shortcode, and an emoji sequence.
        ":" + new string('a', 63) + ":",
        string.Concat(Enumerable.Repeat("👍", 16)) + "#",
        "👍ok",
        "ok👍",
        "👍 ",
        " ",
        "123",
        "#",
        "\u200D\uFE0F",
        "é",
    };

    [Theory]
    [MemberData(nameof(BadReactionKeys))]
    public async Task Reacting_rejects_keys_that_are_not_an_emoji_or_a_shortcode(string key)
    {
        var target = await StoredMessageAsync();
        foreach (var method in new[] { HttpMethod.Put, HttpMethod.Delete })
        {
            await ExpectAsync(method, $"{target.Path}/reactions/{Uri.EscapeDataString(key)}", target.Other, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        }

        await AssertUntouchedAsync(target);
    }

    [Fact]
    public async Task Reacting_rejects_escaped_keys_that_do_not_decode_to_an_emoji()
    {
        var target = await StoredMessageAsync();
        foreach (var method in new[] { HttpMethod.Put, HttpMethod.Delete })
        {
            // An encoded surrogate (CESU-8), bytes that are not UTF-8, a cut emoji, an emoji and a line feed, a slash.
            foreach (var escaped in new[] { "%ED%A0%80", "%FF", "%F0%9F%91", "%F0%9F%91%8D%0A", "%2F" })
            {
                await ExpectAsync(method, $"{target.Path}/reactions/{escaped}", target.Other, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
            }

            // A NUL in the path is refused by Kestrel before Parley sees the request: a bare 400, no Problem Details.
            using var nul = await _client.SendRawAsync(method, $"{target.Path}/reactions/%F0%9F%91%8D%00", target.Other);
            Assert.Equal(HttpStatusCode.BadRequest, nul.StatusCode);
        }

        await AssertUntouchedAsync(target);
    }

    [Theory]
    [InlineData("?before=0", "INVALID_FIELD_VALUE")]
    [InlineData("?before=-5", "INVALID_FIELD_VALUE")]
    [InlineData("?after=-1", "INVALID_FIELD_VALUE")]
    [InlineData("?limit=0", "INVALID_FIELD_VALUE")]
    [InlineData("?limit=-1", "INVALID_FIELD_VALUE")]
    [InlineData("?limit=2147483648", "INVALID_FIELD_VALUE")]
    [InlineData("?before=abc", "INVALID_FIELD_TYPE")]
    [InlineData("?after=1.5", "INVALID_FIELD_TYPE")]
    [InlineData("?limit=many", "INVALID_FIELD_TYPE")]
    [InlineData("?before=9223372036854775808", "INVALID_FIELD_TYPE")]
    [InlineData("?after=1&after=2", "INVALID_FIELD_TYPE")]
    public async Task Thread_paging_rejects_what_history_paging_rejects_with_the_same_code(string query, string code)
    {
        var target = await StoredMessageAsync();
        await ExpectAsync(Get, $"/api/v1/conversations/{target.ConversationId}/messages{query}", target.Other, null, HttpStatusCode.BadRequest, code);
        await ExpectAsync(Get, $"{target.Path}/thread{query}", target.Other, null, HttpStatusCode.BadRequest, code);
    }

    [Fact]
    public async Task A_thread_read_checks_the_message_before_its_query_and_caps_an_oversized_page()
    {
        var target = await StoredMessageAsync();
        var stranger = await _client.SignUpAsync();
        // The message is looked up before the query is read: a bad query does not tell a stranger the message exists.
        await ExpectAsync(Get, $"{target.Path}/thread?limit=0", stranger, null, HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");
        // Past the maximum page size the page is capped, as for history, not refused.
        Assert.Empty((await _client.OkAsync<JsonElement>(Get, $"{target.Path}/thread?limit=100000", target.Other)).GetProperty("items").EnumerateArray());
    }

    public static TheoryData<string, HttpStatusCode, string> BadForwards => new()
    {
        { "{}", HttpStatusCode.BadRequest, "MISSING_REQUIRED_FIELD" },
        { """{"conversationIds":[]}""", HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE" },
        { """{"conversationIds":"00000000-0000-0000-0000-000000000001"}""", HttpStatusCode.BadRequest, "INVALID_FIELD_TYPE" },
        { """{"conversationIds":[1]}""", HttpStatusCode.BadRequest, "INVALID_FIELD_TYPE" },
        { $$"""{"conversationIds":[{{string.Join(",", Enumerable.Range(0, 11).Select(_ => $"\"{Guid.NewGuid()}\""))}}]}""", HttpStatusCode.BadRequest, "FIELD_TOO_LONG" },
        { $$"""{"conversationIds":["{{Guid.NewGuid()}}"],"clientForwardId":"   "}""", HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE" },
        { $$"""{"conversationIds":["{{Guid.NewGuid()}}"],"clientForwardId":"{{new string('f', 250)}}"}""", HttpStatusCode.BadRequest, "FIELD_TOO_LONG" },
        { $$"""{"conversationIds":["{{Guid.NewGuid()}}"]}""", HttpStatusCode.NotFound, "CONVERSATION_NOT_FOUND" },
        { """{"conversationIds":["00000000-0000-0000-0000-000000000001"],""", HttpStatusCode.BadRequest, "INVALID_JSON" },
    };

    public static TheoryData<string, string> BadVotes => new()
    {
        { "{}", "MISSING_REQUIRED_FIELD" },
        { """{"optionIds":null}""", "MISSING_REQUIRED_FIELD" },
        { """{"optionIds":"0"}""", "INVALID_FIELD_TYPE" },
        { """{"optionIds":[1.5]}""", "INVALID_FIELD_TYPE" },
        { """{"optionIds":["0"]}""", "INVALID_FIELD_TYPE" },
        { """{"optionIds":[]}""", "INVALID_FIELD_VALUE" },
        { """{"optionIds":[3]}""", "INVALID_FIELD_VALUE" },
        { """{"optionIds":[-1]}""", "INVALID_FIELD_VALUE" },
        { """{"optionIds":[0,1]}""", "INVALID_FIELD_VALUE" },
        { """{"optionIds":[0,0]}""", "INVALID_FIELD_VALUE" },
        { """{"optionIds":[0,1,2,3,4,5,6,7,8,9,10]}""", "FIELD_TOO_LONG" },
        { """{"optionIds":[0],"clientChangeId":"  "}""", "INVALID_FIELD_VALUE" },
        { """{"optionIds":[0],""", "INVALID_JSON" },
    };

    [Theory]
    [MemberData(nameof(BadVotes))]
    public async Task Voting_rejects_bad_bodies_and_counts_nothing(string json, string code)
    {
        var (owner, voter) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var direct = (await _client.DirectAsync(owner, voter.UserId)).Id;
        var poll = (await _client.OkAsync<JsonElement>(Post, $"/api/v1/conversations/{direct}/messages", owner,
            new { content = "one answer", poll = new { options = new[] { "a", "b", "c" } } }, HttpStatusCode.Accepted)).GetProperty("messageId").GetGuid();
        await _client.WaitForStoredAsync(voter, direct, 1);
        await ExpectAsync(Post, $"/api/v1/messages/{poll}/votes", voter, json, HttpStatusCode.BadRequest, code);
        Assert.Equal(0, (await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/messages/{poll}/votes", voter)).GetProperty("totalVoters").GetInt32());
    }

    [Theory]
    [MemberData(nameof(BadForwards))]
    public async Task Forwarding_rejects_bad_bodies_and_sends_nothing(string json, HttpStatusCode status, string code)
    {
        var target = await StoredMessageAsync();
        await ExpectAsync(Post, target.Path + "/forward", target.Sender, json, status, code);
        Assert.Equal([AsSent, "marker"], (await AssertUntouchedAsync(target)).Select(m => m.GetProperty("content").GetString()));
    }

    [Fact]
    public async Task Forwarding_to_a_conversation_the_sender_is_not_in_sends_to_none_of_them()
    {
        var target = await StoredMessageAsync();
        var outsider = await _client.SignUpAsync();
        var notTheirs = (await _client.DirectAsync(target.Other, outsider.UserId)).Id;
        await ExpectAsync(Post, target.Path + "/forward", target.Sender, $$"""{"conversationIds":["{{target.ConversationId}}","{{notTheirs}}"]}""",
            HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");
        Assert.Equal([AsSent, "marker"], (await AssertUntouchedAsync(target)).Select(m => m.GetProperty("content").GetString()));
    }

    [Fact]
    public async Task Pin_routes_answer_malformed_unknown_and_foreign_ids_with_their_codes()
    {
        var target = await StoredMessageAsync();
        var stranger = await _client.SignUpAsync();
        var elsewhere = (await _client.DirectAsync(target.Sender, stranger.UserId)).Id;
        var pins = $"/api/v1/conversations/{target.ConversationId}/pins";
        foreach (var verb in new[] { HttpMethod.Put, HttpMethod.Delete })
        {
            await ExpectAsync(verb, $"/api/v1/conversations/nope/pins/{target.MessageId}", target.Sender, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
            await ExpectAsync(verb, $"{pins}/nope", target.Sender, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
            await ExpectAsync(verb, $"{pins}/{Guid.NewGuid()}", target.Sender, null, HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");
            await ExpectAsync(verb, $"/api/v1/conversations/{elsewhere}/pins/{target.MessageId}", target.Sender, null, HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");
            await ExpectAsync(verb, $"{pins}/{target.MessageId}", stranger, null, HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");
            await ExpectAsync(verb, $"{pins}/{target.MessageId}", null, null, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
        }

        await ExpectAsync(Get, pins, stranger, null, HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");
        await ExpectAsync(Get, $"/api/v1/conversations/{Guid.NewGuid()}/pins", stranger, null, HttpStatusCode.NotFound, "CONVERSATION_NOT_FOUND");
        await ExpectAsync(Get, pins + "?limit=0", target.Sender, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, pins + "?limit=x", target.Sender, null, HttpStatusCode.BadRequest, "INVALID_FIELD_TYPE");
        Assert.Empty((await _client.OkAsync<System.Text.Json.JsonElement>(Get, pins, target.Sender)).GetProperty("items").EnumerateArray());
        await AssertUntouchedAsync(target);
    }

    [Fact]
    public async Task Replying_to_an_unknown_message_or_one_of_another_conversation_is_not_found_and_stores_nothing()
    {
        var target = await StoredMessageAsync();
        var outsider = await _client.SignUpAsync();
        var elsewhere = (await _client.DirectAsync(target.Sender, outsider.UserId)).Id;
        var storedElsewhere = (await _client.SendAsync(outsider, elsewhere, "stored elsewhere")).MessageId;
        await _client.WaitForStoredAsync(outsider, elsewhere, 1);
        var freshElsewhere = (await _client.SendAsync(outsider, elsewhere, "just sent elsewhere")).MessageId;
        var path = $"/api/v1/conversations/{target.ConversationId}/messages";

        // The sender is a member of both conversations and still may not reply across them; the other member cannot
        // even learn the message exists.
        foreach (var (who, replyTo) in new[] { (target.Sender, Guid.NewGuid()), (target.Sender, Guid.Empty), (target.Sender, storedElsewhere),
            (target.Sender, freshElsewhere), (target.Other, storedElsewhere), (target.Other, freshElsewhere) })
        {
            await ExpectAsync(Post, path, who, $$"""{"content":"re","replyTo":"{{replyTo}}"}""", HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");
        }

        Assert.Equal([AsSent, "marker"], (await AssertUntouchedAsync(target)).Select(m => m.GetProperty("content").GetString()));
    }

    [Fact]
    public async Task User_profiles_are_found_by_id_and_unknown_ids_are_404()
    {
        var me = await _client.SignUpAsync();
        var other = await _client.SignUpAsync();
        var profile = await _client.OkAsync<System.Text.Json.JsonElement>(Get, $"/api/v1/users/{other.UserId}", me);
        Assert.Equal(other.Username, profile.GetProperty("username").GetString());
        await ExpectAsync(Get, $"/api/v1/users/{Guid.NewGuid()}", me, null, HttpStatusCode.NotFound, "USER_NOT_FOUND");
        await ExpectAsync(Get, "/api/v1/users/nope", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, $"/api/v1/users/{other.UserId}", null, null, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
    }

    [Fact]
    public async Task Unknown_routes_and_methods_get_problem_details()
    {
        var me = await _client.SignUpAsync();
        await ExpectAsync(Get, "/api/v1/nothing-here", me, null, HttpStatusCode.NotFound, "ROUTE_NOT_FOUND");
        await ExpectAsync(HttpMethod.Delete, "/api/v1/conversations", me, null, HttpStatusCode.MethodNotAllowed, "METHOD_NOT_ALLOWED");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Hub_methods_reject_bad_input_with_the_stable_code_in_the_message(bool messagePack)
    {
        var me = await _client.SignUpAsync();
        var other = await _client.SignUpAsync();
        var mine = await _client.DirectAsync(me, other.UserId);
        var theirs = await _client.DirectAsync(other, (await _client.SignUpAsync()).UserId);
        await using var device = await _client.ConnectAsync(me, messagePack);

        // PascalCase keys: MessagePack binds objects by the server's property names (docs/realtime.md); JSON either way.
        await ExpectHubAsync("NOT_CONVERSATION_MEMBER", () => device.Connection.InvokeAsync<Ack>("SendMessage", new { ConversationId = theirs.Id, Content = "hi" }));
        await ExpectHubAsync("CONVERSATION_NOT_FOUND", () => device.Connection.InvokeAsync<Ack>("SendMessage", new { ConversationId = Guid.NewGuid(), Content = "hi" }));
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<Ack>("SendMessage", new { ConversationId = mine.Id }));
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<Ack>("SendMessage", new { Content = "hi" }));
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<Ack>("SendMessage", (object?)null));
        await ExpectHubAsync("INVALID_FIELD_TYPE", () => device.Connection.InvokeAsync<Ack>("SendMessage", new { ConversationId = mine.Id, Content = "hi", Metadata = "[1]" }));
        await ExpectHubAsync("FIELD_TOO_LONG", () => device.Connection.InvokeAsync<Ack>("SendMessage", new { ConversationId = mine.Id, Content = new string('x', 10_241) }));
        await ExpectHubAsync("INVALID_FIELD_VALUE", () => device.Connection.InvokeAsync<Ack>("SendMessage", new { ConversationId = mine.Id, Content = "hi", ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(-1) }));
        await ExpectHubAsync("INVALID_FIELD_VALUE", () => device.Connection.InvokeAsync<Receipt>("MarkRead", mine.Id, -1L));
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<Receipt>("MarkRead", Guid.Empty, 1L));
        await ExpectHubAsync("CONVERSATION_NOT_FOUND", () => device.Connection.InvokeAsync<Receipt>("MarkRead", Guid.NewGuid(), 1L));
        await ExpectHubAsync("NOT_CONVERSATION_MEMBER", () => device.Connection.InvokeAsync<Receipt>("AckDelivered", theirs.Id, 1L));
        await ExpectHubAsync("INVALID_FIELD_VALUE", () => device.Connection.InvokeAsync<Receipt>("AckDelivered", mine.Id, -1L));
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<Receipt>("AckDelivered", Guid.Empty, 1L));
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<List<ResumeResultDto>>("Resume", Array.Empty<ResumePositionDto>()));
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<List<ResumeResultDto>>("Resume", (object?)null));
        await ExpectHubAsync("INVALID_FIELD_TYPE", () => device.Connection.InvokeAsync<List<ResumeResultDto>>("Resume", new ResumePositionDto?[] { null }));
        await ExpectHubAsync("INVALID_FIELD_TYPE", () => device.Connection.InvokeAsync<List<ResumeResultDto>>("Resume", new ResumePositionDto?[] { new() { ConversationId = mine.Id }, null }));
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<List<ResumeResultDto>>("Resume", new[] { new ResumePositionDto { LastSequence = 1 } }));
        await ExpectHubAsync("INVALID_FIELD_VALUE", () => device.Connection.InvokeAsync<List<ResumeResultDto>>("Resume", new[] { new ResumePositionDto { ConversationId = mine.Id, LastSequence = -1 } }));
        await ExpectHubAsync("INVALID_FIELD_VALUE", () => device.Connection.InvokeAsync<List<ResumeResultDto>>("Resume",
            Enumerable.Range(0, 1001).Select(_ => new ResumePositionDto { ConversationId = Guid.NewGuid() }).ToArray()));
        await ExpectHubAsync("CONVERSATION_NOT_FOUND", () => device.Connection.InvokeAsync<List<ResumeResultDto>>("Resume", new[] { new ResumePositionDto { ConversationId = Guid.NewGuid() } }));
        await ExpectHubAsync("NOT_CONVERSATION_MEMBER", () => device.Connection.InvokeAsync<List<ResumeResultDto>>("Resume", new[] { new ResumePositionDto { ConversationId = theirs.Id } }));
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<List<ResumeResultDto>>("ResumeSince", ""));
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<List<ResumeResultDto>>("ResumeSince", (object?)null));
        await ExpectHubAsync("INVALID_FIELD_VALUE", () => device.Connection.InvokeAsync<List<ResumeResultDto>>("ResumeSince", "yesterday"));
        await ExpectHubAsync("INVALID_FIELD_VALUE", () => device.Connection.InvokeAsync<List<ResumeResultDto>>("ResumeSince", "2026-01-01T08:00:00"));
        await ExpectHubAsync("NOT_CONVERSATION_MEMBER", () => device.Connection.InvokeAsync("Typing", theirs.Id, true));
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync("Typing", Guid.Empty, true));
        await ExpectHubAsync("CONVERSATION_NOT_FOUND", () => device.Connection.InvokeAsync("Typing", Guid.NewGuid(), true));
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<object>("RefreshToken", ""));
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<object>("RefreshToken", (object?)null));
        await ExpectHubAsync("UNAUTHENTICATED", () => device.Connection.InvokeAsync<object>("RefreshToken", "not.a.token"));
        await ExpectHubAsync("FORBIDDEN", () => device.Connection.InvokeAsync<object>("RefreshToken", other.AccessToken));

        // Changes to messages: checked like their REST twins, and a rejected one appends nothing (checked below).
        var myMessage = (await _client.SendAsync(me, mine.Id, "mine")).MessageId;
        var othersMessage = (await _client.SendAsync(other, mine.Id, "theirs")).MessageId;
        var foreignMessage = (await _client.SendAsync(other, theirs.Id, "elsewhere")).MessageId;
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<object>("EditMessage", Guid.Empty, "x", null, null));
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<object>("EditMessage", myMessage, null, null, null));
        await ExpectHubAsync("INVALID_FIELD_VALUE", () => device.Connection.InvokeAsync<object>("EditMessage", myMessage, " ", null, null));
        await ExpectHubAsync("INVALID_TEXT", () => device.Connection.InvokeAsync<object>("EditMessage", myMessage, "a\0b", null, null));
        await ExpectHubAsync("FIELD_TOO_LONG", () => device.Connection.InvokeAsync<object>("EditMessage", myMessage, new string('x', 10_241), null, null));
        await ExpectHubAsync("FIELD_TOO_LONG", () => device.Connection.InvokeAsync<object>("EditMessage", myMessage, "x", new string('r', 501), null));
        await ExpectHubAsync("INVALID_TEXT", () => device.Connection.InvokeAsync<object>("EditMessage", myMessage, "x", "\0", null));
        await ExpectHubAsync("INVALID_FIELD_VALUE", () => device.Connection.InvokeAsync<object>("EditMessage", myMessage, "x", null, " "));
        await ExpectHubAsync("MESSAGE_NOT_FOUND", () => device.Connection.InvokeAsync<object>("EditMessage", Guid.NewGuid(), "x", null, null));
        await ExpectHubAsync("MESSAGE_NOT_FOUND", () => device.Connection.InvokeAsync<object>("EditMessage", foreignMessage, "x", null, null));
        await ExpectHubAsync("NOT_MESSAGE_SENDER", () => device.Connection.InvokeAsync<object>("EditMessage", othersMessage, "x", null, null));
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<object>("DeleteMessage", Guid.Empty, null));
        await ExpectHubAsync("INVALID_FIELD_VALUE", () => device.Connection.InvokeAsync<object>("DeleteMessage", myMessage, " "));
        await ExpectHubAsync("MESSAGE_NOT_FOUND", () => device.Connection.InvokeAsync<object>("DeleteMessage", Guid.NewGuid(), null));
        await ExpectHubAsync("MESSAGE_NOT_FOUND", () => device.Connection.InvokeAsync<object>("DeleteMessage", foreignMessage, null));
        await ExpectHubAsync("FORBIDDEN_ROLE", () => device.Connection.InvokeAsync<object>("DeleteMessage", othersMessage, null));
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<object>("SetReaction", Guid.Empty, "👍", true));
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<object>("SetReaction", myMessage, null, true));
        foreach (var key in new[] { "", "hello", ":UPPER:", "::", "👍ok", "👍\0" })
        {
            await ExpectHubAsync("INVALID_FIELD_VALUE", () => device.Connection.InvokeAsync<object>("SetReaction", othersMessage, key, true));
            await ExpectHubAsync("INVALID_FIELD_VALUE", () => device.Connection.InvokeAsync<object>("SetReaction", othersMessage, key, false));
        }

        await ExpectHubAsync("MESSAGE_NOT_FOUND", () => device.Connection.InvokeAsync<object>("SetReaction", Guid.NewGuid(), "👍", true));
        await ExpectHubAsync("MESSAGE_NOT_FOUND", () => device.Connection.InvokeAsync<object>("SetReaction", foreignMessage, ":ok:", false));
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<object>("Vote", Guid.Empty, new[] { 0 }, null));
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<object>("Vote", othersMessage, null, null));
        await ExpectHubAsync("FIELD_TOO_LONG", () => device.Connection.InvokeAsync<object>("Vote", othersMessage, Enumerable.Range(0, 11).ToArray(), null));
        await ExpectHubAsync("MESSAGE_NOT_FOUND", () => device.Connection.InvokeAsync<object>("Vote", Guid.NewGuid(), new[] { 0 }, null));
        await ExpectHubAsync("MESSAGE_NOT_FOUND", () => device.Connection.InvokeAsync<object>("Vote", foreignMessage, new[] { 0 }, null));
        await ExpectHubAsync("NOT_A_POLL", () => device.Connection.InvokeAsync<object>("Vote", othersMessage, new[] { 0 }, null));

        // Arguments SignalR itself cannot bind (wrong count or type) never reach Parley: SignalR's own sentence, no code
        // (docs/errors.md says what a client does about it).
        foreach (var call in new Func<Task>[]
        {
            () => device.Connection.InvokeAsync<Receipt>("MarkRead", mine.Id),
            () => device.Connection.InvokeAsync<Receipt>("MarkRead", mine.Id, "3"),
            () => device.Connection.InvokeAsync<Receipt>("AckDelivered", "not-a-uuid", 1L),
            () => device.Connection.InvokeAsync("Typing", mine.Id),
            () => device.Connection.InvokeAsync<List<ResumeResultDto>>("Resume", "positions"),
            () => device.Connection.InvokeAsync<List<ResumeResultDto>>("ResumeSince", 5),
            () => device.Connection.InvokeAsync<object>("EditMessage", mine.Id, "x"),
            () => device.Connection.InvokeAsync<object>("DeleteMessage", "not-a-uuid", null),
            () => device.Connection.InvokeAsync<object>("SetReaction", mine.Id, "👍", "yes"),
        })
        {
            var error = await Assert.ThrowsAsync<HubException>(call);
            Assert.Contains("due to an error on the server", error.Message, StringComparison.Ordinal);
        }

        // The connection survives its rejected calls.
        Assert.Equal("pending", (await device.Connection.InvokeAsync<Ack>("SendMessage", new { ConversationId = mine.Id, Content = "fine" })).State);
        await AssertUntouchedAsync(new Target(me, other, mine.Id, myMessage, "mine"));
        await AssertUntouchedAsync(new Target(other, me, mine.Id, othersMessage, "theirs"));
    }

    [Fact]
    public async Task Connecting_to_the_hub_without_a_token_is_refused()
    {
        var anonymous = new HubConnectionBuilder().WithUrl(new Uri(_client.BaseAddress, "/hubs/chat")).Build();
        await using (anonymous)
        {
            var error = await Assert.ThrowsAsync<HttpRequestException>(() => anonymous.StartAsync());
            Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
        }
    }

    // Users search, friends and blocks (M2, M3).

    [Theory]
    [InlineData("", "QUERY_TOO_SHORT")]
    [InlineData("?query=", "QUERY_TOO_SHORT")]
    [InlineData("?query=a", "QUERY_TOO_SHORT")]
    [InlineData("?query=%20%C3%A9%20", "QUERY_TOO_SHORT")]
    [InlineData("?query=e%CC%81", "QUERY_TOO_SHORT")]
    [InlineData("?query=ab&limit=0", "INVALID_FIELD_VALUE")]
    [InlineData("?query=ab&limit=many", "INVALID_FIELD_TYPE")]
    [InlineData("?query=ab&cursor=not*a*cursor", "INVALID_FIELD_VALUE")]
    [InlineData("?query=ab&cursor=QUJD", "INVALID_FIELD_VALUE")]
    public async Task User_search_rejects_short_queries_and_bad_paging(string query, string code)
    {
        var me = await _client.SignUpAsync();
        await ExpectAsync(Get, "/api/v1/users" + query, me, null, HttpStatusCode.BadRequest, code);
    }

    [Theory]
    [InlineData("/api/v1/friends?limit=0", "INVALID_FIELD_VALUE")]
    [InlineData("/api/v1/friends?limit=x", "INVALID_FIELD_TYPE")]
    [InlineData("/api/v1/friends?cursor=%25%25", "INVALID_FIELD_VALUE")]
    [InlineData("/api/v1/blocks?limit=-1", "INVALID_FIELD_VALUE")]
    [InlineData("/api/v1/blocks?cursor=QUJD", "INVALID_FIELD_VALUE")]
    [InlineData("/api/v1/friends/requests?limit=1.5", "INVALID_FIELD_TYPE")]
    [InlineData("/api/v1/friends/requests?direction=outgoing&cursor=***", "INVALID_FIELD_VALUE")]
    public async Task Friend_block_and_request_lists_reject_bad_paging(string path, string code)
    {
        var me = await _client.SignUpAsync();
        await ExpectAsync(Get, path, me, null, HttpStatusCode.BadRequest, code);
    }

    [Fact]
    public async Task User_search_rejects_an_overlong_query_and_anonymous_callers()
    {
        var me = await _client.SignUpAsync();
        await ExpectAsync(Get, "/api/v1/users?query=" + new string('q', 255), me, null, HttpStatusCode.BadRequest, "FIELD_TOO_LONG");
        await ExpectAsync(Get, "/api/v1/users?query=abc", null, null, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
        Assert.Empty((await _client.OkAsync<JsonElement>(Get, "/api/v1/users?query=zz" + Guid.NewGuid().ToString("N") + "&limit=100000", me)).GetProperty("items").EnumerateArray());
    }

    [Theory]
    [InlineData("/api/v1/friends/requests")]
    [InlineData("/api/v1/blocks")]
    public async Task Friend_requests_and_blocks_reject_bad_bodies_themselves_and_unknown_users(string path)
    {
        var me = await _client.SignUpAsync();
        await ExpectAsync(Post, path, me, "{}", HttpStatusCode.BadRequest, "MISSING_REQUIRED_FIELD");
        await ExpectAsync(Post, path, me, """{"userId":null}""", HttpStatusCode.BadRequest, "MISSING_REQUIRED_FIELD");
        await ExpectAsync(Post, path, me, """{"userId":42}""", HttpStatusCode.BadRequest, "INVALID_FIELD_TYPE");
        await ExpectAsync(Post, path, me, """{"userId":"someone"}""", HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Post, path, me, $$"""{"userId":"{{me.UserId}}"}""", HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Post, path, me, $$"""{"userId":"{{Guid.NewGuid()}}"}""", HttpStatusCode.NotFound, "USER_NOT_FOUND");
        await ExpectAsync(Post, path, me, """{"userId":""", HttpStatusCode.BadRequest, "INVALID_JSON");
        await ExpectAsync(Post, path, me, """[1]""", HttpStatusCode.BadRequest, "INVALID_SCHEMA");
        await ExpectAsync(Post, path, me, "userId=x", HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "text/plain");
        await ExpectAsync(Post, path, null, $$"""{"userId":"{{me.UserId}}"}""", HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
        await ExpectAsync(Get, path, null, null, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
    }

    [Fact]
    public async Task Acting_on_friend_requests_friends_and_blocks_rejects_bad_ids_unknown_requests_and_directions()
    {
        var me = await _client.SignUpAsync();
        var unknown = Guid.NewGuid();
        await ExpectAsync(Get, "/api/v1/friends/requests?direction=sideways", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        foreach (var action in new[] { "accept", "decline" })
        {
            await ExpectAsync(Post, $"/api/v1/friends/requests/nope/{action}", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
            await ExpectAsync(Post, $"/api/v1/friends/requests/{unknown}/{action}", me, null, HttpStatusCode.NotFound, "FRIEND_REQUEST_NOT_FOUND");
            await ExpectAsync(Post, $"/api/v1/friends/requests/{unknown}/{action}", null, null, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
        }

        await ExpectAsync(HttpMethod.Delete, "/api/v1/friends/requests/nope", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(HttpMethod.Delete, $"/api/v1/friends/requests/{unknown}", me, null, HttpStatusCode.NotFound, "FRIEND_REQUEST_NOT_FOUND");
        await ExpectAsync(HttpMethod.Delete, "/api/v1/friends/nope", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(HttpMethod.Delete, "/api/v1/blocks/nope", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(HttpMethod.Delete, $"/api/v1/blocks/{unknown}", null, null, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
        await ExpectAsync(Get, "/api/v1/friends", null, null, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");

        // Removing a friend one does not have and lifting a block one never made are no-ops, not errors.
        using (var removed = await _client.SendRawAsync(HttpMethod.Delete, $"/api/v1/friends/{unknown}", me))
        {
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }

        using var unblocked = await _client.SendRawAsync(HttpMethod.Delete, $"/api/v1/blocks/{unknown}", me);
        Assert.Equal(HttpStatusCode.NoContent, unblocked.StatusCode);
    }

    [Theory]
    [InlineData("""{"content":"x","sendAt":"tomorrow"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"content":"x","sendAt":"2030-01-01T08:00:00"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"content":"x","sendAt":1893484800}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"content":"x","sendAt":"PAST"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"content":"x","sendAt":"NOW"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"content":"x","sendAt":"TOO_FAR"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"sendAt":"SOON"}""", "MISSING_REQUIRED_FIELD")]
    [InlineData("""{"content":" ","sendAt":"SOON"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"content":"x","type":"system","sendAt":"SOON"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"content":"x","metadata":[1],"sendAt":"SOON"}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"content":"x","clientMessageId":"","sendAt":"SOON"}""", "INVALID_FIELD_VALUE")]
    public async Task Scheduling_a_send_rejects_bad_send_times_and_every_bad_field_a_send_now_rejects(string json, string code)
    {
        var me = await _client.SignUpAsync();
        var other = await _client.SignUpAsync();
        var group = (await _client.GroupAsync(me, "schedule", other.UserId)).Id;
        var body = json.Replace("PAST", ScheduledSendsTests.At(TimeSpan.FromMinutes(-1)), StringComparison.Ordinal)
            .Replace("NOW", ScheduledSendsTests.At(TimeSpan.Zero), StringComparison.Ordinal)
            .Replace("TOO_FAR", ScheduledSendsTests.At(TimeSpan.FromDays(31)), StringComparison.Ordinal)
            .Replace("SOON", ScheduledSendsTests.At(TimeSpan.FromMinutes(1)), StringComparison.Ordinal);
        await ExpectAsync(Post, $"/api/v1/conversations/{group}/messages", me, body, HttpStatusCode.BadRequest, code);
        Assert.Equal(0, (await _client.OkAsync<JsonElement>(Get, $"/api/v1/conversations/{group}/scheduled", me)).GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Listing_reading_and_cancelling_scheduled_messages_reject_bad_ids_cursors_strangers_and_anonymous_callers()
    {
        var me = await _client.SignUpAsync();
        var stranger = await _client.SignUpAsync();
        var group = (await _client.GroupAsync(me, "scheduled", stranger.UserId)).Id;
        await _client.OkAsync<JsonElement>(Post, $"/api/v1/conversations/{group}/leave", stranger);
        var unknown = Guid.NewGuid();

        await ExpectAsync(Get, "/api/v1/conversations/nope/scheduled", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, $"/api/v1/conversations/{group}/scheduled?limit=0", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, $"/api/v1/conversations/{group}/scheduled?cursor=nope", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync(Get, $"/api/v1/conversations/{unknown}/scheduled", me, null, HttpStatusCode.NotFound, "CONVERSATION_NOT_FOUND");
        await ExpectAsync(Get, $"/api/v1/conversations/{group}/scheduled", stranger, null, HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");
        await ExpectAsync(Get, $"/api/v1/conversations/{group}/scheduled", null, null, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
        await ExpectAsync(Post, $"/api/v1/conversations/{group}/messages", stranger, $$"""{"content":"x","sendAt":"{{ScheduledSendsTests.At(TimeSpan.FromMinutes(1))}}"}""",
            HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");
        foreach (var method in new[] { Get, HttpMethod.Delete })
        {
            await ExpectAsync(method, "/api/v1/scheduled/nope", me, null, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
            await ExpectAsync(method, $"/api/v1/scheduled/{unknown}", me, null, HttpStatusCode.NotFound, "SCHEDULED_NOT_FOUND");
            await ExpectAsync(method, $"/api/v1/scheduled/{unknown}", null, null, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
        }
    }

    [Theory]
    [InlineData("POST", "/api/v1/admin/read-models/rebuild", null)]
    [InlineData("POST", "/api/v1/admin/reconcile", """{"repair":true}""")]
    [InlineData("POST", "/api/v1/admin/reconcile", """{"repair":"yes"}""")]
    [InlineData("GET", "/api/v1/admin/reconcile/00000000-0000-0000-0000-000000000000", null)]
    [InlineData("GET", "/api/v1/admin/reconcile/not-a-run", null)]
    public async Task Read_model_and_reconciliation_endpoints_refuse_everyone_but_server_admins_before_reading_the_request(string method, string path, string? json)
    {
        // This server has no admins: every caller is refused first (ReconciliationTests checks the admins' bad inputs).
        await ExpectAsync(new HttpMethod(method), path, await _client.SignUpAsync(), json, HttpStatusCode.Forbidden, "FORBIDDEN");
        await ExpectAsync(new HttpMethod(method), path, null, json, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
    }

    [Fact]
    public async Task The_hubs_schedule_method_rejects_what_rest_rejects()
    {
        var me = await _client.SignUpAsync();
        var other = await _client.SignUpAsync();
        var group = (await _client.GroupAsync(me, "hub schedule", other.UserId)).Id;
        await using var device = await _client.ConnectAsync(me);
        var message = new { conversationId = group, content = "x" };
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<object>("ScheduleMessage", message, null));
        await ExpectHubAsync("INVALID_FIELD_VALUE", () => device.Connection.InvokeAsync<object>("ScheduleMessage", message, "tomorrow"));
        await ExpectHubAsync("INVALID_FIELD_VALUE", () => device.Connection.InvokeAsync<object>("ScheduleMessage", message, ScheduledSendsTests.At(TimeSpan.FromMinutes(-1))));
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<object>("ScheduleMessage", null, ScheduledSendsTests.At(TimeSpan.FromMinutes(1))));
        await ExpectHubAsync("MISSING_REQUIRED_FIELD", () => device.Connection.InvokeAsync<object>("ScheduleMessage",
            new { conversationId = group }, ScheduledSendsTests.At(TimeSpan.FromMinutes(1))));
    }

    /// <summary>The admin check comes first: a bad body or an unknown id from someone who is not a server admin reveals nothing.</summary>
    [Theory]
    [InlineData("GET", "")]
    [InlineData("POST", "")]
    [InlineData("PATCH", "/{id}")]
    [InlineData("DELETE", "/{id}")]
    [InlineData("GET", "/{id}/deliveries?status=lost")]
    [InlineData("POST", "/{id}/deliveries/{id}/redeliver")]
    public async Task Webhook_admin_endpoints_refuse_everyone_but_server_admins_before_reading_anything(string method, string path)
    {
        var me = await _client.SignUpAsync();
        var url = "/api/v1/admin/webhooks" + path.Replace("{id}", Guid.NewGuid().ToString(), StringComparison.Ordinal);
        await ExpectAsync(new HttpMethod(method), url, me, """{"url":"ftp://x","eventTypes":[]}""", HttpStatusCode.Forbidden, "FORBIDDEN");
        await ExpectAsync(new HttpMethod(method), url, null, """{"url":"ftp://x","eventTypes":[]}""", HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
    }
}
