using Microsoft.AspNetCore.SignalR;
using Parley.Hosting;
using Parley.Core.Errors;
using Parley.Core.Ports;
using Parley.Server.Hosting;

namespace Parley.Server.Realtime;

/// <summary>
/// Turns Parley rejections into HubExceptions carrying "CODE: message". SignalR puts its own sentence in
/// front, so clients see "... HubException: CODE: message" (docs/realtime.md).
/// <para>
/// A rejection is the client's mistake (bad argument, not a member, rate limited): logged here at Debug, without a
/// stack trace. SignalR's dispatcher logs every exception out of a hub method at Error ("Failed to invoke hub
/// method"), a HubException included, and cannot be told apart by level; HubClientMistakes keeps its
/// Errors out and this filter logs a real fault at Error itself.
/// </para>
/// </summary>
public sealed class ParleyHubFilter(TransientErrors transient, ILogger<ParleyHubFilter> logger) : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        try
        {
            return await next(invocationContext);
        }
        catch (ParleyException ex)
        {
            Log.HubCallRefused(logger, invocationContext.HubMethodName, invocationContext.Context.ConnectionId, ex.Error.Code, ex.Error.Message);
            throw new HubException($"{ex.Error.Code}: {ex.Error.Message}");
        }
        catch (HubException ex)
        {
            Log.HubCallRefused(logger, invocationContext.HubMethodName, invocationContext.Context.ConnectionId, "-", ex.Message);
            throw;
        }
        catch (OperationCanceledException) when (invocationContext.Context.ConnectionAborted.IsCancellationRequested)
        {
            throw; // the connection went away mid-call: nobody to answer, nothing wrong
        }
        catch (Exception ex) when (transient.IsTransient(ex))
        {
            Log.HubDependencyUnavailable(logger, ex, invocationContext.HubMethodName);
            var error = Errors.ServiceUnavailable("A backing service");
            throw new HubException($"{error.Code}: {error.Message}");
        }
        catch (Exception ex)
        {
            Log.HubMethodFailed(logger, ex, invocationContext.HubMethodName, invocationContext.Context.ConnectionId);
            throw;
        }
    }
}
