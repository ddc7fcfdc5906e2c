namespace Parley.Server.Contracts;

/// <summary>A registered push target as its owner sees it. Never the token: it is only ever written, by the device.</summary>
public sealed record DeviceView(Guid Id, string Platform, DateTimeOffset CreatedAt)
{
    public static DeviceView From(Parley.Core.Push.PushDevice d) => new(d.Id, d.Platform, d.CreatedAt);
}

public sealed record DeviceListView(IReadOnlyList<DeviceView> Items);

/// <summary>The VAPID public key a browser subscribes with (<c>applicationServerKey</c>), base64url.</summary>
public sealed record WebPushKeyView(string PublicKey);
