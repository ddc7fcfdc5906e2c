using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Parley.Hosting;
using Parley.Core.Events;
using Parley.Core.Ports;

namespace Parley.Server.Events;

/// <summary>
/// Appends every domain event to a file as one JSON line, fsynced before the reader saves its position. On its first
/// batch after a start it drops a torn last line (a crash mid-write) and skips what the file already holds, so across
/// a kill -9 the file gets each event exactly once, in order.
/// </summary>
public sealed class FileEventSink(IOptions<EventsOptions> options, IOptions<ParleyOptions> node) : IDomainEventConsumer, IDisposable
{
    private FileStream? _file;
    private EventCursor _written;

    public string Name => "file";

    // Each node writes its own file.
    public bool SingleActive => false;

    public string Path => System.IO.Path.GetFullPath(options.Value.FilePath!, node.Value.ResolvedDataDirectory);

    public async Task HandleAsync(IReadOnlyList<DomainEvent> events, CancellationToken cancellationToken)
    {
        _file ??= await OpenAsync(cancellationToken);
        using var buffer = new MemoryStream();
        foreach (var e in events.Where(e => e.Cursor > _written))
        {
            Write(buffer, e);
        }

        if (buffer.Length == 0)
        {
            return;
        }

        await _file.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), cancellationToken);
        _file.Flush(flushToDisk: true);
        _written = events[^1].Cursor;
    }

    private async Task<FileStream> OpenAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var file = new FileStream(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 1, FileOptions.Asynchronous);
        var (end, last) = await LastCompleteLineAsync(file, cancellationToken);
        file.SetLength(end);
        file.Position = end;
        if (last is not null)
        {
            using var line = JsonDocument.Parse(last);
            _written = EventCursor.Parse(line.RootElement.GetProperty("cursor").GetString()!);
        }

        return file;
    }

    /// <summary>The offset just past the last newline, and the line before it; scans backwards so a large file costs one tail read.</summary>
    private static async Task<(long End, byte[]? Line)> LastCompleteLineAsync(FileStream file, CancellationToken cancellationToken)
    {
        var length = file.Length;
        var window = 64 * 1024;
        while (true)
        {
            var start = Math.Max(0, length - window);
            var bytes = new byte[length - start];
            file.Position = start;
            await file.ReadExactlyAsync(bytes, cancellationToken);
            var end = Array.LastIndexOf(bytes, (byte)'\n');
            if (end >= 0)
            {
                var begin = end == 0 ? -1 : Array.LastIndexOf(bytes, (byte)'\n', end - 1);
                if (begin >= 0 || start == 0)
                {
                    return (start + end + 1, bytes[(begin + 1)..end]);
                }
            }
            else if (start == 0)
            {
                return (0, null);
            }

            window *= 4;
        }
    }

    private static void Write(Stream stream, DomainEvent e)
    {
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("cursor", e.Cursor.ToString());
            json.WriteString("id", e.Id);
            json.WriteString("type", e.Type);
            json.WriteNumber("version", e.Version);
            json.WriteString("aggregateType", e.AggregateType);
            json.WriteString("aggregateId", e.AggregateId);
            json.WriteString("correlationId", e.CorrelationId);
            WriteGuid(json, "causationId", e.CausationId);
            WriteGuid(json, "userId", e.UserId);
            json.WriteString("occurredAt", e.OccurredAt);
            json.WritePropertyName("data");
            json.WriteRawValue(e.Data);
            if (e.Metadata is not null)
            {
                json.WritePropertyName("metadata");
                json.WriteRawValue(e.Metadata);
            }

            json.WriteEndObject();
        }

        stream.WriteByte((byte)'\n');
    }

    private static void WriteGuid(Utf8JsonWriter json, string name, Guid? value)
    {
        if (value is { } id)
        {
            json.WriteString(name, id);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    public void Dispose() => _file?.Dispose();
}
