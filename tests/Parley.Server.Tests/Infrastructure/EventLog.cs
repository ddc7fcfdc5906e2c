using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;

namespace Parley.Server.Tests.Infrastructure;

/// <summary>One device recording messages and changes in arrival order.</summary>
internal sealed class EventLog : IAsyncDisposable
{
    /// <summary>Messages, the changes to them, and conversation changes that alter what a device shows.</summary>
    private static readonly string[] Names =
        ["messageCreated", "messageEdited", "messageDeleted", "reactionChanged", "messageHidden", "messagePinned", "pollUpdated", "conversationUpdated"];

    private readonly ConcurrentQueue<(string, JsonElement)> _events = new();

    private EventLog(HubConnection connection)
    {
        Connection = connection;
        foreach (var name in Names)
        {
            connection.On<JsonElement>(name, payload => _events.Enqueue((name, payload)));
        }
    }

    public HubConnection Connection { get; }

    public IReadOnlyList<(string Name, JsonElement Payload)> Events => [.. _events];

    public static async Task<EventLog> ConnectAsync(ParleyClient client, Session who)
    {
        // Handlers of its own, registered before the start: SignalR binds a method's arguments by its first handler's types.
        var log = new EventLog(client.BuildConnection(who));
        await log.Connection.StartAsync();
        return log;
    }

    public async Task<IReadOnlyList<(string Name, JsonElement Payload)>> WaitAsync(Func<IReadOnlyList<(string Name, JsonElement Payload)>, bool> done, string what)
    {
        await Eventually.TrueAsync(() => done(Events), what);
        return Events;
    }

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}
