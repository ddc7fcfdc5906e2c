using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using MessagePack;

namespace Parley.Bench;

/// <summary>
/// A device as light as the bench can make it: one raw WebSocket speaking just enough of the SignalR JSON or
/// MessagePack hub protocol to pick <c>messageCreated</c> invocations out of the stream and hand their content to
/// the <see cref="E2eScenario.Probe"/>. One receive loop per socket over one reused buffer; the bytes are read as
/// a stream, so a SignalR message split over WebSocket frames, or several in one frame, parse the same. Everything
/// else (the handshake answer, pings, other events) is skipped. The owner pings it (<see cref="PingAsync"/>).
/// </summary>
internal sealed class LightDevice : IAsyncDisposable
{
    private const byte RecordSeparator = 0x1e;
    private const string Target = "messageCreated";
    private static readonly byte[] TargetUtf8 = Encoding.UTF8.GetBytes(Target);
    private static readonly byte[] JsonHandshake = Encoding.UTF8.GetBytes("{\"protocol\":\"json\",\"version\":1}\u001e");
    private static readonly byte[] MessagePackHandshake = Encoding.UTF8.GetBytes("{\"protocol\":\"messagepack\",\"version\":1}\u001e");
    private static readonly byte[] JsonPing = Encoding.UTF8.GetBytes("{\"type\":6}\u001e");

    // Length prefix 2, then the array [6].
    private static readonly byte[] MessagePackPing = [0x02, 0x91, 0x06];

    private readonly ClientWebSocket _socket;
    private readonly E2eScenario.Probe _probe;
    private readonly TaskCompletionSource _handshake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _receiving = Task.CompletedTask;
    private volatile bool _closing;

    private LightDevice(ClientWebSocket socket, bool messagePack, E2eScenario.Probe probe)
    {
        _socket = socket;
        MessagePack = messagePack;
        _probe = probe;
    }

    public bool MessagePack { get; }

    /// <summary>Set when the server closed the connection or the stream broke before <see cref="DisposeAsync"/>.</summary>
    public bool Lost { get; private set; }

    public static async Task<LightDevice> ConnectAsync(string url, string token, bool messagePack, HttpMessageInvoker invoker, E2eScenario.Probe probe, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        var device = new LightDevice(socket, messagePack, probe);
        try
        {
            await socket.ConnectAsync(new Uri($"{url.Replace("http", "ws", StringComparison.Ordinal)}/hubs/chat?access_token={token}"), invoker, cancellationToken);
            await socket.SendAsync(messagePack ? MessagePackHandshake : JsonHandshake, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
            device._receiving = device.ReceiveAsync();
            await device._handshake.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            return device;
        }
        catch
        {
            await device.DisposeAsync();
            throw;
        }
    }

    /// <summary>The server drops a client silent for 30 s; the owner calls this every 10 s.</summary>
    public async Task PingAsync(CancellationToken cancellationToken)
    {
        if (_socket.State != WebSocketState.Open)
        {
            return;
        }

        try
        {
            await _socket.SendAsync(MessagePack ? MessagePackPing : JsonPing, MessagePack ? WebSocketMessageType.Binary : WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or IOException)
        {
            Lost = true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _closing = true;
        _socket.Abort();
        await _receiving;
        _socket.Dispose();
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[4096];
        int start = 0, end = 0;
        var handshakeDone = false;
        try
        {
            while (true)
            {
                if (end == buffer.Length)
                {
                    if (start > 0)
                    {
                        Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                        (start, end) = (0, end - start);
                    }
                    else
                    {
                        Array.Resize(ref buffer, buffer.Length * 2);
                    }
                }

                var received = await _socket.ReceiveAsync(buffer.AsMemory(end), CancellationToken.None);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                end += received.Count;
                if (!handshakeDone)
                {
                    // The answer is JSON text ending in the separator whatever the protocol: {} or {"error":…}.
                    var separator = buffer.AsSpan(start, end - start).IndexOf(RecordSeparator);
                    if (separator < 0)
                    {
                        continue;
                    }

                    var answer = Encoding.UTF8.GetString(buffer, start, separator);
                    if (answer.Contains("error", StringComparison.Ordinal))
                    {
                        _handshake.TrySetException(new InvalidOperationException($"SignalR handshake refused: {answer}"));
                        return;
                    }

                    start += separator + 1;
                    handshakeDone = true;
                    _handshake.TrySetResult();
                }

                start += MessagePack ? ConsumeMessagePack(buffer.AsMemory(start, end - start), _probe) : ConsumeJson(buffer.AsSpan(start, end - start), _probe);
                if (start == end)
                {
                    start = end = 0;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException or IOException)
        {
            // Aborted by Dispose, or lost: Lost says which.
        }
        catch (Exception ex) when (ex is JsonException or MessagePackSerializationException or EndOfStreamException or InvalidOperationException)
        {
            // A frame this parser does not understand is a bench bug: make it visible as a lost device, not a hang.
            _handshake.TrySetException(ex);
        }
        finally
        {
            Lost = !_closing;
            _handshake.TrySetException(new InvalidOperationException("The connection closed before the SignalR handshake completed"));
        }
    }

    /// <summary>Handles every complete JSON record in <paramref name="data"/>; returns the bytes consumed.</summary>
    internal static int ConsumeJson(ReadOnlySpan<byte> data, E2eScenario.Probe probe)
    {
        var consumed = 0;
        while (true)
        {
            var separator = data[consumed..].IndexOf(RecordSeparator);
            if (separator < 0)
            {
                return consumed;
            }

            var record = data.Slice(consumed, separator);
            consumed += separator + 1;
            if (!record.IsEmpty && JsonContent(record, out var content))
            {
                probe.Record(content, messagePack: false);
            }
        }
    }

    /// <summary>
    /// The content of a messageCreated invocation, as raw UTF-8 (the bench's content needs no escaping): the first
    /// argument's <c>content</c> property. Property order is not assumed.
    /// </summary>
    private static bool JsonContent(ReadOnlySpan<byte> record, out ReadOnlySpan<byte> content)
    {
        content = default;
        var reader = new Utf8JsonReader(record);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        var type = 0;
        var target = false;
        var found = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                type = reader.TokenType == JsonTokenType.Number ? reader.GetInt32() : 0;
            }
            else if (reader.ValueTextEquals("target"u8))
            {
                reader.Read();
                target = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals(TargetUtf8);
            }
            else if (reader.ValueTextEquals("arguments"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartArray && reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                {
                    var depth = reader.CurrentDepth;
                    while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
                    {
                        if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == depth + 1 && reader.ValueTextEquals("content"u8))
                        {
                            reader.Read();
                            if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped)
                            {
                                content = reader.ValueSpan;
                                found = true;
                            }
                        }
                        else if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                        {
                            reader.Skip();
                        }
                    }
                }

                // Whatever is left of the arguments array.
                while (reader.CurrentDepth > 1 && reader.Read())
                {
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return type == 1 && target && found;
    }

    /// <summary>Handles every complete length-prefixed MessagePack message in <paramref name="data"/>; returns the bytes consumed.</summary>
    internal static int ConsumeMessagePack(ReadOnlyMemory<byte> data, E2eScenario.Probe probe)
    {
        var consumed = 0;
        while (TryReadLength(data.Span[consumed..], out var length, out var prefix) && data.Length - consumed - prefix >= length)
        {
            var message = data.Slice(consumed + prefix, length);
            consumed += prefix + length;
            MessagePackContent(message, probe);
        }

        return consumed;
    }

    /// <summary>SignalR's varint: 7 bits a byte, low bits first, at most 5 bytes.</summary>
    private static bool TryReadLength(ReadOnlySpan<byte> data, out int length, out int prefix)
    {
        length = 0;
        for (prefix = 0; prefix < Math.Min(5, data.Length); prefix++)
        {
            var b = data[prefix];
            length |= (b & 0x7f) << (7 * prefix);
            if ((b & 0x80) == 0)
            {
                prefix++;
                return true;
            }
        }

        if (prefix == 5)
        {
            throw new InvalidOperationException("A MessagePack length prefix longer than 5 bytes");
        }

        return false;
    }

    /// <summary>
    /// [1, headers, invocationId, target, arguments, …]: the first argument is a map, and its Content key (PascalCase:
    /// the server's MessagePack protocol uses the contractless resolver, which keeps C# property names) holds the text.
    /// </summary>
    private static void MessagePackContent(ReadOnlyMemory<byte> message, E2eScenario.Probe probe)
    {
        var span = message.Span;
        if (span.Length < 3 || (span[0] & 0xf0) != 0x90 || span[1] != 0x01)
        {
            return; // not an invocation: a ping is [6], a close [7, …]
        }

        var reader = new MessagePackReader(message);
        reader.ReadArrayHeader();
        reader.ReadInt32();
        reader.Skip(); // headers
        reader.Skip(); // invocation id
        if (!reader.TryReadStringSpan(out var target) || !target.SequenceEqual(TargetUtf8) || reader.ReadArrayHeader() < 1)
        {
            return;
        }

        var fields = reader.ReadMapHeader();
        for (var i = 0; i < fields; i++)
        {
            if (reader.TryReadStringSpan(out var key) && Ascii.EqualsIgnoreCase(key, "content"u8) && reader.TryReadStringSpan(out var content))
            {
                probe.Record(content, messagePack: true);
                return;
            }

            reader.Skip();
        }
    }
}
