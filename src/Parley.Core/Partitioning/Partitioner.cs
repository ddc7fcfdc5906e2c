using System.Text;

namespace Parley.Core.Partitioning;

/// <summary>
/// partition = Murmur3(conversation id as lower-case "D" string, UTF-8) mod N. Every message of one
/// conversation lands in one partition, which is what keeps a conversation's order.
/// </summary>
public static class Partitioner
{
    public const int DefaultPartitions = 16;
    public const int MaxPartitions = 1024;

    public static int PartitionOf(Guid conversationId, int partitionCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        Span<byte> utf8 = stackalloc byte[36];
        Span<char> chars = stackalloc char[36];
        conversationId.TryFormat(chars, out _, "D");
        Encoding.UTF8.GetBytes(chars, utf8);
        return (int)(Murmur3.Hash32(utf8) % (uint)partitionCount);
    }
}
