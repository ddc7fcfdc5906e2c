using Microsoft.AspNetCore.Http.Connections;

namespace Parley.Server.Realtime;

/// <summary>Realtime limits under <c>Parley:Realtime</c> (docs/realtime.md, docs/configuration.md).</summary>
public sealed class RealtimeOptions
{
    public const string Section = "Parley:Realtime";

    /// <summary>Events queued for one connection before it counts as too slow and is disconnected.</summary>
    public int OutboundQueueLimit { get; set; } = 1000;

    /// <summary>Most messages replayed for one conversation by Resume (or a live gap fill); beyond it the answer is "resync".</summary>
    public int RecoveryLimit { get; set; } = 1000;

    /// <summary>A typing indicator without a refresh ends on its own after this long.</summary>
    public TimeSpan TypingTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Typing calls one connection may make per 10 seconds; more are refused with RATE_LIMITED.</summary>
    public int TypingPer10Seconds { get; set; } = 20;

    /// <summary>Presence changes are pushed to members of direct conversations and of groups up to this size.</summary>
    public int PresenceMaxGroupSize { get; set; } = 100;

    /// <summary>
    /// The transports negotiate offers, comma-separated: WebSockets, ServerSentEvents, LongPolling. WebSockets only by
    /// default: it is what docs/realtime.md describes, needs no sticky sessions across nodes, and keeps tokens out of URLs.
    /// </summary>
    public string Transports { get; set; } = nameof(HttpTransportType.WebSockets);

    public HttpTransportType TransportTypes => ParseTransports(Transports, out _);

    private static HttpTransportType ParseTransports(string? value, out List<string> unknown)
    {
        unknown = [];
        var result = HttpTransportType.None;
        foreach (var name in (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (name is nameof(HttpTransportType.WebSockets) or nameof(HttpTransportType.ServerSentEvents) or nameof(HttpTransportType.LongPolling))
            {
                result |= Enum.Parse<HttpTransportType>(name);
            }
            else
            {
                unknown.Add(name);
            }
        }

        return result;
    }

    public IEnumerable<string> Validate()
    {
        if (ParseTransports(Transports, out var unknown) == HttpTransportType.None || unknown.Count > 0)
        {
            yield return $"{Section}:Transports must list one or more of WebSockets, ServerSentEvents, LongPolling, comma-separated (was '{Transports}').";
        }

        if (OutboundQueueLimit is < 8 or > 1_000_000)
        {
            yield return $"{Section}:OutboundQueueLimit must be between 8 and 1000000 (was {OutboundQueueLimit}).";
        }

        if (RecoveryLimit is < 1 or > 100_000)
        {
            yield return $"{Section}:RecoveryLimit must be between 1 and 100000 (was {RecoveryLimit}).";
        }

        if (TypingTimeout < TimeSpan.FromSeconds(1) || TypingTimeout > TimeSpan.FromMinutes(5))
        {
            yield return $"{Section}:TypingTimeout must be between 00:00:01 and 00:05:00 (was {TypingTimeout}).";
        }

        if (TypingPer10Seconds is < 1 or > 1000 || PresenceMaxGroupSize is < 2 or > 100_000)
        {
            yield return $"{Section}:TypingPer10Seconds (1–1000) or PresenceMaxGroupSize (2–100000) is out of range (were {TypingPer10Seconds} / {PresenceMaxGroupSize}).";
        }
    }
}
