using System.Text;
using Parley.Core.Partitioning;

namespace Parley.Core.Tests;

public sealed class PartitionerTests
{
    [Fact]
    public void Same_id_always_maps_to_the_same_partition()
    {
        var id = Guid.Parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301");
        var first = Partitioner.PartitionOf(id, 16);
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(first, Partitioner.PartitionOf(id, 16));
        }
    }

    [Theory]
    // Murmur3("00000000-0000-0000-0000-000000000000") = 0x16A8EDD4; Murmur3("3f2504e0-...-0305e82c3301") = 0x2CFA7302.
    [InlineData("00000000-0000-0000-0000-000000000000", 16, 4)]
    [InlineData("00000000-0000-0000-0000-000000000000", 7, 6)]
    [InlineData("3f2504e0-4f89-11d3-9a0c-0305e82c3301", 16, 2)]
    [InlineData("3f2504e0-4f89-11d3-9a0c-0305e82c3301", 1024, 770)]
    [InlineData("3F2504E0-4F89-11D3-9A0C-0305E82C3301", 1024, 770)]
    public void Matches_known_partitions(string id, int partitions, int expected)
    {
        Assert.Equal(expected, Partitioner.PartitionOf(Guid.Parse(id), partitions));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(16)]
    [InlineData(1024)]
    public void Is_murmur3_of_the_lowercase_D_string_mod_n_and_in_range(int partitions)
    {
        var random = new Random(20240601);
        for (var i = 0; i < 500; i++)
        {
            var id = NextGuid(random);
            var expected = (int)(Murmur3.Hash32(Encoding.UTF8.GetBytes(id.ToString("D").ToLowerInvariant())) % (uint)partitions);
            var actual = Partitioner.PartitionOf(id, partitions);
            Assert.Equal(expected, actual);
            Assert.InRange(actual, 0, partitions - 1);
        }
    }

    [Fact]
    public void Spreads_ids_roughly_evenly_over_16_partitions()
    {
        const int partitions = 16;
        const int ids = 16_000;
        var counts = new int[partitions];
        var random = new Random(42);
        for (var i = 0; i < ids; i++)
        {
            counts[Partitioner.PartitionOf(NextGuid(random), partitions)]++;
        }

        const double mean = ids / (double)partitions;
        for (var p = 0; p < partitions; p++)
        {
            Assert.InRange(counts[p], mean * 0.75, mean * 1.25);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void Rejects_a_partition_count_below_one(int partitions)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Partitioner.PartitionOf(Guid.NewGuid(), partitions));
    }

    private static Guid NextGuid(Random random)
    {
        Span<byte> bytes = stackalloc byte[16];
        random.NextBytes(bytes);
        return new Guid(bytes);
    }
}
