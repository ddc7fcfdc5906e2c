using System.Text;
using Parley.Core.Partitioning;

namespace Parley.Core.Tests;

/// <summary>
/// MurmurHash3 x86_32 reference vectors. Every value here was computed independently with a separate
/// implementation of Appleby's reference algorithm (and agrees with the SMHasher verification vectors).
/// </summary>
public sealed class Murmur3Tests
{
    [Theory]
    [InlineData("", 0u, 0x00000000u)]
    [InlineData("", 1u, 0x514E28B7u)]
    [InlineData("", 0xFFFFFFFFu, 0x81F16F39u)]
    [InlineData("hello", 0u, 0x248BFA47u)]
    [InlineData("hello", 1u, 0xBB4ABCADu)]
    [InlineData("The quick brown fox jumps over the lazy dog", 0u, 0x2E4FF723u)]
    [InlineData("Hello, world!", 0x9747B28Cu, 0x24884CBAu)]
    [InlineData("a", 0u, 0x3C2569B2u)]
    [InlineData("ab", 0u, 0x9BBFD75Fu)]
    [InlineData("abc", 0u, 0xB3DD93FAu)]
    [InlineData("abcd", 0u, 0x43ED676Au)]
    [InlineData("00000000-0000-0000-0000-000000000000", 0u, 0x16A8EDD4u)]
    public void Matches_reference_vectors_for_ascii_input(string text, uint seed, uint expected)
    {
        Assert.Equal(expected, Murmur3.Hash32(Encoding.UTF8.GetBytes(text), seed));
    }

    [Theory]
    // Tail lengths 1, 2, 3 and a full block, over zero bytes and over non-zero bytes.
    [InlineData("00", 0u, 0x514E28B7u)]
    [InlineData("0000", 0u, 0x30F4C306u)]
    [InlineData("000000", 0u, 0x85F0B427u)]
    [InlineData("00000000", 0u, 0x2362F9DEu)]
    [InlineData("21", 0u, 0x72661CF4u)]
    [InlineData("2143", 0u, 0xA0F7B07Au)]
    [InlineData("214365", 0u, 0x7E4A8634u)]
    [InlineData("21436587", 0u, 0xF55B516Bu)]
    [InlineData("21436587", 0x5082EDEEu, 0x2362F9DEu)]
    [InlineData("FFFFFFFF", 0u, 0x76293B50u)]
    public void Matches_reference_vectors_for_raw_bytes(string hex, uint seed, uint expected)
    {
        Assert.Equal(expected, Murmur3.Hash32(Convert.FromHexString(hex), seed));
    }

    [Fact]
    public void Default_seed_is_zero()
    {
        var data = Encoding.UTF8.GetBytes("hello");
        Assert.Equal(Murmur3.Hash32(data, 0), Murmur3.Hash32(data));
    }

    [Fact]
    public void Hashes_only_the_given_slice()
    {
        var buffer = Encoding.UTF8.GetBytes("xxhelloyy");
        Assert.Equal(0x248BFA47u, Murmur3.Hash32(buffer.AsSpan(2, 5)));
    }
}
