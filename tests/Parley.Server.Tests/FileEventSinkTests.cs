using System.Text.Json;
using Microsoft.Extensions.Options;
using Parley.Core.Events;
using Parley.Core.Ports;
using Parley.Server.Events;

namespace Parley.Server.Tests;

public sealed class FileEventSinkTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("parley-sink-").FullName;

    private FileEventSink Sink() => new(Options.Create(new EventsOptions { FilePath = "out/events.jsonl" }), Options.Create(new ParleyOptions { DataDirectory = _dir }));

    private static DomainEvent Event(long position, string data = """{"n":1}""") =>
        new(Guid.CreateVersion7(), AggregateTypes.User, Guid.NewGuid().ToString(), DomainEventTypes.UserRegistered, 1, Guid.CreateVersion7(), null, Guid.NewGuid(),
            DateTimeOffset.UnixEpoch.AddDays(position), data, null) { Cursor = new EventCursor(0, position) };

    private string[] Lines() => File.ReadAllText(Path.Combine(_dir, "out", "events.jsonl")).Split('\n')[..^1];

    [Fact]
    public async Task A_torn_last_line_from_a_crash_is_dropped_and_a_replayed_batch_is_not_written_twice()
    {
        var events = Enumerable.Range(1, 5).Select(i => Event(i)).ToList();
        using (var first = Sink())
        {
            await first.HandleAsync(events[..3], default);
        }

        // The crash: half of the next line made it to disk, and the reader's position was never saved.
        await File.AppendAllTextAsync(Path.Combine(_dir, "out", "events.jsonl"), """{"cursor":"0:4","id":""");
        using (var restarted = Sink())
        {
            await restarted.HandleAsync(events[1..5], default);
            await restarted.HandleAsync(events[4..], default);
        }

        var lines = Lines().Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(events.Select(e => e.Id), lines.Select(l => l.GetProperty("id").GetGuid()));
        Assert.Equal(["0:1", "0:2", "0:3", "0:4", "0:5"], lines.Select(l => l.GetProperty("cursor").GetString()));
    }

    [Fact]
    public async Task Data_and_metadata_are_written_as_the_json_they_are()
    {
        using (var sink = Sink())
        {
            await sink.HandleAsync([Event(1, """{"big":123456789012345678901234567890,"s":"\u0000"}""") with { Metadata = """{"traceparent":"00-x"}""" }], default);
        }

        var line = Assert.Single(Lines());
        Assert.Contains("""
            "data":{"big":123456789012345678901234567890,"s":"\u0000"},"metadata":{"traceparent":"00-x"}
            """.Trim(), line, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
