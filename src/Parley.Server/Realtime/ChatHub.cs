using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Parley.Core.Errors;
using Parley.Core.Messaging;
using Parley.Core.Ports;
using Parley.Server.Auth;
using Parley.Server.Conversations;
using Parley.Server.Messaging;
using Parley.Server.Observability;

namespace Parley.Server.Realtime;

/// <summary>The realtime endpoint at /hubs/chat (X2). Every method is authenticated and membership-checked.</summary>
[Authorize]
public sealed class ChatHub(MessageIngress ingress, IMessageStore messages, MembershipCache membership, RealtimeNotifier notifier, ParleyMetrics metrics) : Hub
{
    public const string Path = "/hubs/chat";

    public override Task OnConnectedAsync()
    {
        metrics.Connections.Add(1);
        return base.OnConnectedAsync();
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        metrics.Connections.Add(-1);
        return base.OnDisconnectedAsync(exception);
    }

    /// <summary>Sends a message exactly as POST /conversations/{id}/messages does and returns the same ack.</summary>
    public Task<SendAck> SendMessage(HubSendMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return ingress.SendAsync(CurrentUser.Id(Context.User), () => new SendMessageRequest(
            message.ConversationId == Guid.Empty ? throw Errors.MissingField("conversationId").ToException() : message.ConversationId,
            message.Content ?? throw Errors.MissingField("content").ToException(),
            message.Type ?? MessageTypes.Text,
            message.ClientMessageId,
            message.Metadata), Context.ConnectionAborted);
    }

    /// <summary>A device confirms it has everything in the conversation up to <paramref name="sequence"/>.</summary>
    public Task<ReceiptView> AckDelivered(Guid conversationId, long sequence) => AdvanceAsync(conversationId, ReceiptKind.Delivered, sequence);

    /// <summary>The user has read the conversation up to <paramref name="upToSequence"/>.</summary>
    public Task<ReceiptView> MarkRead(Guid conversationId, long upToSequence) => AdvanceAsync(conversationId, ReceiptKind.Read, upToSequence);

    private async Task<ReceiptView> AdvanceAsync(Guid conversationId, ReceiptKind kind, long upTo)
    {
        if (upTo < 0)
        {
            throw Errors.InvalidValue(kind == ReceiptKind.Read ? "upToSequence" : "sequence", "must not be negative").ToException();
        }

        var me = CurrentUser.Id(Context.User);
        await membership.RequireMemberAsync(conversationId, me, Context.ConnectionAborted);
        var update = await messages.AdvanceReceiptAsync(conversationId, me, kind, upTo, Context.ConnectionAborted)
            ?? throw Errors.NotMember(conversationId).ToException();
        await notifier.ReceiptAsync(update, Context.ConnectionAborted);
        return ReceiptView.From(update);
    }
}

/// <summary>
/// Turns Parley rejections into HubExceptions carrying "CODE: message". SignalR puts its own sentence in
/// front, so clients see "... HubException: CODE: message" (docs/realtime.md).
/// </summary>
public sealed class ParleyHubFilter(TransientErrors transient) : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        try
        {
            return await next(invocationContext);
        }
        catch (ParleyException ex)
        {
            throw new HubException($"{ex.Error.Code}: {ex.Error.Message}");
        }
        catch (Exception ex) when (transient.IsTransient(ex))
        {
            var error = Errors.ServiceUnavailable("A backing service");
            throw new HubException($"{error.Code}: {error.Message}");
        }
    }
}
