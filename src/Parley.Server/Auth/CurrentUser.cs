using System.Security.Claims;
using Microsoft.AspNetCore.SignalR;
using Microsoft.IdentityModel.JsonWebTokens;
using Parley.Core.Errors;

namespace Parley.Server.Auth;

public static class CurrentUser
{
    public static Guid Id(ClaimsPrincipal? user) =>
        Guid.TryParse(user?.FindFirstValue(JwtRegisteredClaimNames.Sub), out var id) ? id : throw Errors.Unauthenticated().ToException();
}

/// <summary>SignalR addresses users by the token's <c>sub</c>, the same id the REST API uses.</summary>
public sealed class SubjectUserIdProvider : IUserIdProvider
{
    public string? GetUserId(HubConnectionContext connection) => connection.User?.FindFirstValue(JwtRegisteredClaimNames.Sub);
}
