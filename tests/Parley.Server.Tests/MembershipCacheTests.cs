using System.Reflection;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging.Abstractions;
using Parley.Core.Errors;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Conversations;
using Parley.Server.Embedded;

namespace Parley.Server.Tests;

public sealed class MembershipCacheTests
{
    [Fact]
    public async Task A_store_outage_while_checking_access_to_a_message_is_a_503_not_a_404()
    {
        // It answered MESSAGE_NOT_FOUND: a client would give up on a message that exists instead of retrying.
        var membership = new MembershipCache(UnreachableStore.Create(), new MemoryCache(new MemoryCacheOptions()), new SingleNodeInvalidation(),
            new TransientErrors([]), NullLogger<MembershipCache>.Instance);

        var refused = await Assert.ThrowsAsync<ParleyException>(() => membership.RequireMessageAccessAsync(Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), default).AsTask());

        Assert.Equal((503, ErrorCodes.ServiceUnavailable), (refused.Error.Status, refused.Error.Code));
    }

    /// <summary>A conversation store every call of which times out, as one behind a dead network does.</summary>
    public class UnreachableStore : DispatchProxy
    {
        public static IConversationStore Create() => Create<IConversationStore, UnreachableStore>();

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => throw new TimeoutException("the store did not answer");
    }
}
