using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Parley.Server.Push;

/// <summary>
/// A circuit breaker and a timeout per provider (Polly): a provider that hangs costs one timeout per call, and one that
/// keeps failing is not called at all while its breaker is open (jobs fail fast and go on to their retries), then gets
/// one probe (half-open) after the break. The state per platform is read by metrics and health.
/// </summary>
public sealed class PushResilience
{
    private readonly Dictionary<string, (ResiliencePipeline<PushResult> Pipeline, CircuitBreakerStateProvider State)> _providers = new(StringComparer.Ordinal);

    public PushResilience(IEnumerable<IPushProvider> providers, IOptions<PushOptions> options, PushMetrics metrics, TimeProvider time, ILogger<PushResilience> logger)
    {
        var o = options.Value;
        foreach (var provider in providers)
        {
            var state = new CircuitBreakerStateProvider();
            var platform = provider.Platform;
            var pipeline = new ResiliencePipelineBuilder<PushResult> { TimeProvider = time }
                .AddCircuitBreaker(new CircuitBreakerStrategyOptions<PushResult>
                {
                    FailureRatio = o.BreakerFailureRatio,
                    MinimumThroughput = o.BreakerMinimumThroughput,
                    SamplingDuration = o.BreakerSamplingDuration,
                    BreakDuration = o.BreakerBreakDuration,
                    StateProvider = state,
                    // A provider that says a token is gone, or that a request is malformed, is up: only outages count.
                    ShouldHandle = new PredicateBuilder<PushResult>()
                        .Handle<HttpRequestException>()
                        .Handle<TimeoutRejectedException>()
                        .Handle<IOException>()
                        .HandleResult(r => r.Failure == Parley.Hosting.FailureKind.Retryable),
                    OnOpened = _ =>
                    {
                        metrics.BreakerChanged(platform, "open");
                        Parley.Server.Hosting.Log.PushBreakerChanged(logger, platform, "open");
                        return ValueTask.CompletedTask;
                    },
                    OnClosed = _ =>
                    {
                        metrics.BreakerChanged(platform, "closed");
                        Parley.Server.Hosting.Log.PushBreakerChanged(logger, platform, "closed");
                        return ValueTask.CompletedTask;
                    },
                    OnHalfOpened = _ =>
                    {
                        metrics.BreakerChanged(platform, "half_open");
                        Parley.Server.Hosting.Log.PushBreakerChanged(logger, platform, "half_open");
                        return ValueTask.CompletedTask;
                    },
                })
                .AddTimeout(o.ProviderTimeout)
                .Build();
            _providers[platform] = (pipeline, state);
        }

        metrics.ObserveBreakers(() => _providers.Select(p => (p.Key, p.Value.State.CircuitState)));
    }

    public ValueTask<PushResult> ExecuteAsync(IPushProvider provider, Parley.Core.Push.PushJob job, CancellationToken cancellationToken) =>
        _providers[provider.Platform].Pipeline.ExecuteAsync(static async (state, ct) => await state.provider.SendAsync(state.job, ct), (provider, job), cancellationToken);

    /// <summary>The platforms whose breaker is not closed, for health.</summary>
    public IReadOnlyList<(string Platform, CircuitState State)> NotClosed =>
        [.. _providers.Where(p => p.Value.State.CircuitState != CircuitState.Closed).Select(p => (p.Key, p.Value.State.CircuitState))];
}
