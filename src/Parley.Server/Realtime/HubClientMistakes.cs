using Microsoft.Extensions.Options;

namespace Parley.Server.Realtime;

/// <summary>
/// Keeps Error out of SignalR's hub dispatcher log category, where its only Error is "Failed to invoke hub method"
/// for any exception, a HubException answering a client's mistake included (<see cref="ParleyHubFilter"/> logs the
/// real faults). Every other level of that category keeps the level configured for it.
/// </summary>
public static class HubClientMistakes
{
    public const string DispatcherCategory = "Microsoft.AspNetCore.SignalR.Internal.DefaultHubDispatcher";

    public static IServiceCollection AddQuietHubClientMistakes(this IServiceCollection services) =>
        services.AddSingleton<IPostConfigureOptions<LoggerFilterOptions>, QuietDispatcher>();

    /// <summary>
    /// One rule per provider for the dispatcher's category, carrying the level the configured rules would have given it
    /// (a rule replaces, not adds to, the ones it beats) plus a filter that drops Error and above.
    /// </summary>
    private sealed class QuietDispatcher : IPostConfigureOptions<LoggerFilterOptions>
    {
        public void PostConfigure(string? name, LoggerFilterOptions options)
        {
            var configured = options.Rules.ToList();
            foreach (var provider in configured.Select(r => r.ProviderName).Append(null).Distinct())
            {
                LoggerFilterRule? best = null;
                foreach (var rule in configured)
                {
                    if (Better(rule, best, provider))
                    {
                        best = rule;
                    }
                }

                options.Rules.Add(new LoggerFilterRule(provider, DispatcherCategory, best?.LogLevel ?? options.MinLevel, static (_, _, level) => level < LogLevel.Error));
            }
        }

        // As Microsoft.Extensions.Logging picks a rule: the provider's own rules before general ones, then the longest
        // matching category, the later rule on a tie.
        private static bool Better(LoggerFilterRule rule, LoggerFilterRule? current, string? provider)
        {
            if (rule.ProviderName is not null && rule.ProviderName != provider || !Matches(rule.CategoryName))
            {
                return false;
            }

            if (current?.ProviderName is not null)
            {
                if (rule.ProviderName is null)
                {
                    return false;
                }
            }
            else if (rule.ProviderName is not null)
            {
                return true;
            }

            return current?.CategoryName is null || rule.CategoryName is not null && rule.CategoryName.Length >= current.CategoryName.Length;
        }

        private static bool Matches(string? category)
        {
            if (category is null)
            {
                return true;
            }

            var star = category.IndexOf('*', StringComparison.Ordinal);
            return star < 0
                ? DispatcherCategory.StartsWith(category, StringComparison.OrdinalIgnoreCase)
                : DispatcherCategory.StartsWith(category[..star], StringComparison.OrdinalIgnoreCase) && DispatcherCategory.EndsWith(category[(star + 1)..], StringComparison.OrdinalIgnoreCase);
        }
    }
}
