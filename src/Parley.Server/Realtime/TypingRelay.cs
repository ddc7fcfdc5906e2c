using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Server.Auth;
using Parley.Server.Contracts;
using Parley.Server.Conversations;

namespace Parley.Server.Realtime;

/// <summary>
/// Typing start (or refresh) and stop from one connection, rate limited per connection (TypingPer10Seconds), checked
/// for membership and relayed to the other members' devices; an indicator nobody refreshes lapses after TypingTimeout
/// (<see cref="RealtimeSweeper"/>).
/// </summary>
public sealed class TypingRelay(
    DeviceSessions sessions,
    MembershipCache membership,
    TypingTracker tracker,
    RealtimeNotifier notifier,
    IOptions<RealtimeOptions> options,
    TimeProvider time,
    RealtimeMetrics metrics)
{
    public async Task TypingAsync(HubCallerContext context, Guid conversationId, bool isTyping)
    {
        if (conversationId == Guid.Empty)
        {
            throw Errors.MissingField("conversationId").ToException();
        }

        var me = CurrentUser.Id(context.User);
        var device = sessions.Current(context);
        var now = time.GetUtcNow();
        if (!device.TypingCalls.TryCount(now, options.Value.TypingPer10Seconds, out var retryAfter))
        {
            metrics.TypingRateLimited();
            throw Errors.RateLimited(retryAfter).ToException();
        }

        await membership.RequireAsync(conversationId, me, Core.Membership.ConversationAction.Send, context.ConnectionAborted);
        var members = await membership.MembersAsync(conversationId, context.ConnectionAborted);
        var timeout = options.Value.TypingTimeout;
        if (isTyping)
        {
            tracker.Start(conversationId, me, members, now + timeout);
        }
        else if (!tracker.Stop(conversationId, me))
        {
            return; // nothing was showing
        }

        metrics.TypingRelayed();
        await notifier.TypingAsync(members, new TypingView(conversationId, me, isTyping, isTyping ? (int)timeout.TotalMilliseconds : 0), context.ConnectionAborted);
    }
}
