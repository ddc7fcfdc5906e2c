using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Parley.Server.Hosting;

namespace Parley.Server.Http;

public static class HttpServiceCollectionExtensions
{
    /// <summary>The HTTP surface shared by every endpoint: problem details, CORS, the OpenAPI document and Kestrel's limits.</summary>
    public static WebApplicationBuilder AddParleyHttp(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddProblemDetails();
        services.AddParleyCors(builder.Configuration);
        services.AddParleyOpenApi();
        // Endpoints enforce MaxRequestBodyBytes themselves and drain the excess so the 413 is delivered;
        // Kestrel's cap, four times higher, cuts off anything abusive.
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<LimitsOptions>>((k, l) =>
        {
            k.Limits.MaxRequestBodySize = l.Value.MaxRequestBodyBytes * 4;
            // Refusing connections past the descriptor budget keeps the node serving the ones it has.
            (k.Limits.MaxConcurrentConnections, k.Limits.MaxConcurrentUpgradedConnections) = l.Value.ConnectionBudget;
        });
        return builder;
    }
}
