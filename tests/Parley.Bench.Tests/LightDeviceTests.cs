using System.Buffers;
using System.Diagnostics;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace Parley.Bench.Tests;

/// <summary>
/// The light device's parsers against bytes written by SignalR's own hub protocols (configured as the server's are
/// by default): several messages in one read, a message cut in two, and everything that is not messageCreated skipped.
/// </summary>
public sealed class LightDeviceTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Message_created_contents_are_found_across_split_and_joined_reads(bool messagePack)
    {
        IHubProtocol protocol = messagePack ? new MessagePackHubProtocol() : new JsonHubProtocol();
        var writer = new ArrayBufferWriter<byte>();
        var sent = Stopwatch.GetTimestamp();
        protocol.WriteMessage(PingMessage.Instance, writer);
        protocol.WriteMessage(new InvocationMessage("unreadTotal", [new UnreadView(3)]), writer);
        protocol.WriteMessage(new InvocationMessage("messageCreated", [new MessageView(Guid.NewGuid(), 1, new Extra(["a", "b"], "not this"), $"7 {sent} e2e")]), writer);
        protocol.WriteMessage(new InvocationMessage("messageCreated", [new MessageView(Guid.NewGuid(), 2, new Extra(["a", "b"], "not this"), $"6 {sent} e2e")]), writer);
        protocol.WriteMessage(new InvocationMessage("messageCreated", [new MessageView(Guid.NewGuid(), 3, new Extra(["a", "b"], "not this"), $"7 {sent} e2e")]), writer);
        var bytes = writer.WrittenMemory;
        var probe = new E2eScenario.Probe();
        var (json, msgpack) = probe.Begin(7);

        // Everything but the last few bytes: the last message stays unconsumed until the rest arrives.
        var cut = bytes.Length - 5;
        var consumed = Consume(bytes[..cut], messagePack, probe);
        Assert.True(consumed < cut);
        Assert.Equal(1, (messagePack ? msgpack : json).TotalCount);
        var rest = bytes[consumed..];
        Assert.Equal(rest.Length, Consume(rest, messagePack, probe));

        // Step 6's message is not this step's: two recorded, on this protocol's histogram only.
        Assert.Equal(2, (messagePack ? msgpack : json).TotalCount);
        Assert.Equal(0, (messagePack ? json : msgpack).TotalCount);
    }

    private static int Consume(ReadOnlyMemory<byte> data, bool messagePack, E2eScenario.Probe probe) =>
        messagePack ? LightDevice.ConsumeMessagePack(data, probe) : LightDevice.ConsumeJson(data.Span, probe);

    public sealed record UnreadView(int Total);

    /// <summary>Shaped like the server's view: the content among other fields, an object-valued one before it.</summary>
    public sealed record MessageView(Guid ConversationId, long Sequence, Extra Metadata, string Content);

    public sealed record Extra(string[] Names, string Content);
}
