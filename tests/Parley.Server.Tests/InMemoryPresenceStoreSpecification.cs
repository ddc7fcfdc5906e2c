using Parley.Core.Ports;
using Parley.Server.Embedded;
using Parley.Specification;

namespace Parley.Server.Tests;

/// <summary>The presence specification against the embedded engine's in-process store.</summary>
public sealed class InMemoryPresenceStoreSpecification : PresenceStoreSpecification
{
    protected override Task<IPresenceStore> CreateAsync() => Task.FromResult<IPresenceStore>(new InMemoryPresenceStore());
}
