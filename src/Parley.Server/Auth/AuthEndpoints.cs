using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Identity;
using Parley.Core.Errors;
using Parley.Core.Events;
using Parley.Core.Ports;
using Parley.Core.Validation;
using Parley.Server.Http;

namespace Parley.Server.Auth;

public static partial class AuthEndpoints
{
    public const string RateLimitPolicy = "auth";

    public sealed record RegisterBody(string Username, string Password, string? DisplayName);
    public sealed record LoginBody(string Username, string Password);
    public sealed record RefreshBody(string RefreshToken);
    /// <summary>A user as others see them; <c>email</c> only in the user's own views (register, me, the profile patch).</summary>
    public sealed record UserView(Guid UserId, string Username, string DisplayName, string? AvatarUrl, DateTimeOffset CreatedAt,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Email = null);

    public sealed record ProfileBody(string? DisplayName, string? AvatarUrl, string? Email);

    public static void MapAuthEndpoints(this IEndpointRouteBuilder app)
    {
        var auth = app.MapGroup("/api/v1/auth").WithTags("Auth");
        auth.MapPost("/register", RegisterAsync).AllowAnonymous().RequireRateLimiting(RateLimitPolicy)
            .Accepts<RegisterBody>("application/json").Produces<UserView>(StatusCodes.Status201Created)
            .WithName("register").WithErrors(ErrorCodes.UsernameTaken);
        auth.MapPost("/login", LoginAsync).AllowAnonymous().RequireRateLimiting(RateLimitPolicy)
            .Accepts<LoginBody>("application/json").Produces<TokenPair>()
            .WithName("login").WithErrors(ErrorCodes.InvalidCredentials);
        auth.MapPost("/refresh", RefreshAsync).AllowAnonymous().RequireRateLimiting(RateLimitPolicy)
            .Accepts<RefreshBody>("application/json").Produces<TokenPair>()
            .WithName("refreshTokens").WithErrors(ErrorCodes.InvalidRefreshToken);
        auth.MapPost("/logout", LogoutAsync).RequireAuthorization()
            .Accepts<RefreshBody>("application/json").Produces(StatusCodes.Status204NoContent)
            .WithName("logout");

        app.MapGet("/api/v1/users/me", MeAsync).RequireAuthorization().WithTags("Users").Produces<UserView>()
            .WithName("getMe");
        app.MapPatch("/api/v1/users/me", ChangeProfileAsync).RequireAuthorization().WithTags("Users")
            .Accepts<ProfileBody>("application/json").Produces<UserView>()
            .WithName("updateMe").WithErrors(ErrorCodes.EmailTaken);
        app.MapGet("/api/v1/users/{id}", UserAsync).RequireAuthorization().WithTags("Users").Produces<UserView>()
            .WithName("getUser").WithErrors(ErrorCodes.UserNotFound);
    }

    private static async Task<IResult> RegisterAsync(HttpRequest request, IUserStore users, IPasswordHasher<UserRecord> hasher, TimeProvider time, CancellationToken ct)
    {
        var body = await JsonRequest.ReadAsync(request, ct);
        var username = body.RequireString("username", 32);
        if (username.Length < 3 || !UsernamePattern().IsMatch(username))
        {
            throw Errors.InvalidValue("username", "3 to 32 characters: letters, digits, '.', '_' or '-'").ToException();
        }

        var password = body.RequireString("password", 128);
        if (password.Length < 8)
        {
            throw Errors.InvalidValue("password", "must be at least 8 characters").ToException();
        }

        var displayName = body.OptionalString("displayName", ProfileRules.MaxDisplayName) ?? username;
        var normalized = username.ToLowerInvariant();
        var user = new UserRecord(Guid.CreateVersion7(), normalized, displayName, string.Empty, time.GetUtcNow());
        user = user with { PasswordHash = hasher.HashPassword(user, password) };
        if (!await users.CreateUserAsync(user, EventContext.New(user.Id), ct))
        {
            throw Errors.UsernameTaken(normalized).ToException();
        }

        return Results.Created($"/api/v1/users/{user.Id}", OwnView(user));
    }

    private static async Task<IResult> LoginAsync(HttpRequest request, IUserStore users, IPasswordHasher<UserRecord> hasher, TokenService tokens, CancellationToken ct)
    {
        var body = await JsonRequest.ReadAsync(request, ct);
        var username = body.RequireString("username", 32).ToLowerInvariant();
        var password = body.RequireString("password", 128);
        var user = await users.FindByUsernameAsync(username, ct);

        // Verify against a throwaway hash for unknown names too, so timing does not reveal which names exist.
        var candidate = user ?? DummyUser.Value(hasher);
        var verdict = hasher.VerifyHashedPassword(candidate, candidate.PasswordHash, password);
        if (user is null || verdict == PasswordVerificationResult.Failed)
        {
            throw Errors.InvalidCredentials().ToException();
        }

        return Results.Ok(await tokens.IssueAsync(user, ct));
    }

    private static async Task<IResult> RefreshAsync(HttpRequest request, TokenService tokens, CancellationToken ct)
    {
        var body = await JsonRequest.ReadAsync(request, ct);
        var pair = await tokens.RefreshAsync(body.RequireString("refreshToken", 256), ct);
        return pair is null ? throw Errors.InvalidRefreshToken().ToException() : Results.Ok(pair);
    }

    private static async Task<IResult> LogoutAsync(HttpRequest request, TokenService tokens, CancellationToken ct)
    {
        var body = await JsonRequest.ReadAsync(request, ct);
        await tokens.RevokeAsync(body.RequireString("refreshToken", 256), CurrentUser.Id(request.HttpContext.User), ct);
        return Results.NoContent();
    }

    private static async Task<IResult> MeAsync(HttpContext context, IUserStore users, CancellationToken ct)
    {
        var user = await users.GetUserAsync(CurrentUser.Id(context.User), ct) ?? throw Errors.Unauthenticated("The account no longer exists").ToException();
        return Results.Ok(OwnView(user));
    }

    /// <summary>PATCH semantics: an absent field stays as it is; null clears avatarUrl or email (displayName cannot be cleared).</summary>
    private static async Task<IResult> ChangeProfileAsync(HttpContext context, IUserStore users, TimeProvider time, CancellationToken ct)
    {
        var body = await JsonRequest.ReadAsync(context.Request, ct);
        var displayName = body.OptionalString("displayName", ProfileRules.MaxDisplayName);
        if (displayName is null && body.Has("displayName"))
        {
            throw Errors.InvalidValue("displayName", "cannot be cleared").ToException();
        }

        var avatarUrl = body.OptionalString("avatarUrl", ProfileRules.MaxAvatarUrl);
        if (avatarUrl is not null)
        {
            ProfileRules.RequireAvatarUrl(avatarUrl);
        }

        var email = body.OptionalString("email", ProfileRules.MaxEmail);
        if (email is not null)
        {
            ProfileRules.NormalizeEmail(email);
        }

        var userId = CurrentUser.Id(context.User);
        var change = new ProfileChange(displayName, body.Has("avatarUrl"), avatarUrl, body.Has("email"), email);
        var result = await users.ChangeProfileAsync(userId, change, time.GetUtcNow(), EventContext.New(userId), ct);
        return result.Outcome switch
        {
            ProfileChangeOutcome.Updated => Results.Ok(OwnView(result.User!)),
            ProfileChangeOutcome.EmailTaken => throw Errors.EmailTaken().ToException(),
            _ => throw Errors.Unauthenticated("The account no longer exists").ToException(),
        };
    }

    private static async Task<IResult> UserAsync(string id, IUserStore users, CancellationToken ct)
    {
        var userId = JsonRequest.RouteId(id, "userId");
        var user = await users.GetUserAsync(userId, ct) ?? throw Errors.UserNotFound(userId).ToException();
        return Results.Ok(View(user));
    }

    private static UserView View(UserRecord user) => new(user.Id, user.Username, user.DisplayName, user.AvatarUrl, user.CreatedAt);

    private static UserView OwnView(UserRecord user) => View(user) with { Email = user.Email };

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex UsernamePattern();

    private static class DummyUser
    {
        private static UserRecord? s_user;

        public static UserRecord Value(IPasswordHasher<UserRecord> hasher)
        {
            if (s_user is null)
            {
                var user = new UserRecord(Guid.Empty, string.Empty, string.Empty, string.Empty, DateTimeOffset.UnixEpoch);
                s_user = user with { PasswordHash = hasher.HashPassword(user, Guid.NewGuid().ToString()) };
            }

            return s_user;
        }
    }
}
