using Parley.Core.Ports;
using Parley.Server.Embedded;
using Parley.Specification;

namespace Parley.Server.Tests;

/// <summary>The partition lease specification against the embedded engine's in-process leases.</summary>
public sealed class InProcessPartitionLeaseSpecification : PartitionLeaseSpecification
{
    protected override Task<IPartitionLeases> CreateAsync() => Task.FromResult<IPartitionLeases>(new InProcessPartitionLeases(TimeProvider.System));
}
