using Scalar.AspNetCore;

namespace Parley.Server.Http;

/// <summary>
/// The interactive API reference (Scalar) over /openapi/v1.json. Scalar's script is embedded in its package and
/// served from this server, so the page works without internet access.
/// </summary>
public static class ApiReference
{
    public const string Path = "/api-reference";
    public const string EnabledSetting = "Parley:ApiReference:Enabled";

    /// <summary>Maps the page when <c>Parley:ApiReference:Enabled</c> is true; unset, only in Development.</summary>
    public static WebApplication MapParleyApiReference(this WebApplication app)
    {
        var enabled = app.Configuration.GetValue<bool?>(EnabledSetting) ?? app.Environment.IsDevelopment();
        if (enabled)
        {
            app.MapScalarApiReference(Path, options => options
                .WithTitle("Parley API")
                .WithOpenApiRoutePattern("/openapi/{documentName}.json")
                .AddPreferredSecuritySchemes(OpenApiDocumentation.BearerScheme));
        }

        return app;
    }
}
