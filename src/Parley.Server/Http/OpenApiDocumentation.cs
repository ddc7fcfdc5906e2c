using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.OpenApi;
using Parley.Core.Errors;

namespace Parley.Server.Http;

/// <summary>
/// A query parameter an endpoint reads by hand (<see cref="JsonRequest.QueryInt64"/>, <c>Request.Query</c>). The
/// endpoints keep their own parsing so bad values keep their documented codes; this only declares the parameter.
/// </summary>
public sealed record QueryParameterMetadata(string Name, string Type, string Description, bool Required, long? Minimum, long? Maximum);

/// <summary>Error codes an endpoint answers with beyond those its shape implies (see <see cref="OpenApiDocumentation"/>).</summary>
public sealed record ErrorCodesMetadata(IReadOnlyList<string> Codes);

public static class OpenApiEndpointExtensions
{
    /// <summary>Declares a query parameter in the OpenAPI document. <paramref name="type"/> is "integer" (int64), "string" or "boolean".</summary>
    public static TBuilder WithQuery<TBuilder>(this TBuilder builder, string name, string type, string description,
        bool required = false, long? minimum = null, long? maximum = null)
        where TBuilder : IEndpointConventionBuilder
    {
        if (type is not ("integer" or "string" or "boolean"))
        {
            throw new ArgumentException($"Query parameter '{name}': type must be 'integer', 'string' or 'boolean', not '{type}'.", nameof(type));
        }

        return builder.WithMetadata(new QueryParameterMetadata(name, type, description, required, minimum, maximum));
    }

    /// <summary>The <c>limit</c> and <c>cursor</c> of a keyset-paged list (read with JsonRequest.QueryPageSize and a cursor decoder).</summary>
    public static TBuilder WithPaging<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder
        .WithQuery("limit", "integer", "Page size; the server's default when absent, capped at Parley:Limits:MaxPageSize.", minimum: 1, maximum: int.MaxValue)
        .WithQuery("cursor", "string", "The nextCursor of the previous page; absent for the first page.");

    /// <summary>Declares the domain error codes an endpoint can answer with (codes from <see cref="ErrorCodes"/>).</summary>
    public static TBuilder WithErrors<TBuilder>(this TBuilder builder, params string[] codes)
        where TBuilder : IEndpointConventionBuilder
    {
        foreach (var code in codes)
        {
            if (!OpenApiDocumentation.StatusOf.ContainsKey(code))
            {
                throw new ArgumentException($"Unknown error code '{code}': add it to OpenApiDocumentation.StatusOf.", nameof(codes));
            }
        }

        return builder.WithMetadata(new ErrorCodesMetadata(codes));
    }
}

/// <summary>
/// Completes the generated OpenAPI document so a client generator gets the whole contract: the bearer scheme on
/// every operation that needs a token, the query parameters the endpoints read by hand, and for every operation
/// the Problem Details responses with the codes each status can carry.
/// </summary>
public static class OpenApiDocumentation
{
    public const string BearerScheme = "Bearer";
    public const string ProblemSchema = "Problem";
    public const string ErrorCodesExtension = "x-error-codes";

    /// <summary>
    /// The status of every code (as in <see cref="Errors"/>); a code missing here cannot be declared.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, int> StatusOf = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        [ErrorCodes.InvalidJson] = 400,
        [ErrorCodes.InvalidSchema] = 400,
        [ErrorCodes.MissingRequiredField] = 400,
        [ErrorCodes.InvalidFieldType] = 400,
        [ErrorCodes.FieldTooLong] = 400,
        [ErrorCodes.InvalidFieldValue] = 400,
        [ErrorCodes.InvalidRecipient] = 400,
        [ErrorCodes.UnsupportedMediaType] = 415,
        [ErrorCodes.PayloadTooLarge] = 413,
        [ErrorCodes.Unauthenticated] = 401,
        [ErrorCodes.InvalidCredentials] = 401,
        [ErrorCodes.InvalidRefreshToken] = 401,
        [ErrorCodes.Forbidden] = 403,
        [ErrorCodes.NotConversationMember] = 403,
        [ErrorCodes.ConversationNotFound] = 404,
        [ErrorCodes.MessageNotFound] = 404,
        [ErrorCodes.UserNotFound] = 404,
        [ErrorCodes.RouteNotFound] = 404,
        [ErrorCodes.MethodNotAllowed] = 405,
        [ErrorCodes.UsernameTaken] = 409,
        [ErrorCodes.EmailTaken] = 409,
        [ErrorCodes.ConversationInactive] = 409,
        [ErrorCodes.RateLimited] = 429,
        [ErrorCodes.EnqueueFailed] = 503,
        [ErrorCodes.ServiceUnavailable] = 503,
        [ErrorCodes.InternalError] = 500,
        [ErrorCodes.ForbiddenRole] = 403,
        [ErrorCodes.MemberNotFound] = 404,
        [ErrorCodes.MemberLimitReached] = 409,
        [ErrorCodes.InviteNotFound] = 404,
        [ErrorCodes.InviteExpired] = 410,
        [ErrorCodes.QueryTooShort] = 400,
        [ErrorCodes.UserBlocked] = 409,
        [ErrorCodes.AlreadyFriends] = 409,
        [ErrorCodes.FriendRequestNotFound] = 404,
        [ErrorCodes.FriendshipRequired] = 403,
        [ErrorCodes.NotMessageSender] = 403,
        [ErrorCodes.EditWindowClosed] = 409,
        [ErrorCodes.MessageDeleted] = 409,
        [ErrorCodes.PollClosed] = 409,
        [ErrorCodes.NotAPoll] = 409,
        [ErrorCodes.ReportNotFound] = 404,
        [ErrorCodes.DeviceNotFound] = 404,
        [ErrorCodes.DeadLetterNotFound] = 404,
        [ErrorCodes.PushPlatformUnavailable] = 400,
        [ErrorCodes.ReportAlreadyResolved] = 409,
        [ErrorCodes.ScheduledNotFound] = 404,
        [ErrorCodes.ScheduledAlreadySent] = 409,
        [ErrorCodes.WebhookNotFound] = 404,
        [ErrorCodes.WebhookDeliveryNotFound] = 404,
        [ErrorCodes.EventHistoryIncomplete] = 409,
        [ErrorCodes.ReconcileRunNotFound] = 404,
    };

    private static readonly string[] BodyCodes =
    [
        ErrorCodes.InvalidJson, ErrorCodes.InvalidSchema, ErrorCodes.MissingRequiredField, ErrorCodes.InvalidFieldType,
        ErrorCodes.FieldTooLong, ErrorCodes.InvalidFieldValue, ErrorCodes.PayloadTooLarge, ErrorCodes.UnsupportedMediaType,
    ];

    public static IServiceCollection AddParleyOpenApi(this IServiceCollection services) => services.AddOpenApi(options =>
    {
        options.AddDocumentTransformer(static (document, _, _) =>
        {
            document.Info.Title = "Parley";
            document.Info.Description = "Parley's REST API. Errors are RFC 9457 Problem Details with a stable `code` (docs/errors.md); "
                + "realtime delivery is the SignalR hub at /hubs/chat (docs/realtime.md).";
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>(StringComparer.Ordinal);
            document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
                Description = "The access token from POST /api/v1/auth/login or /api/v1/auth/refresh.",
            };
            document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal);
            document.Components.Schemas[ProblemSchema] = Problem();
            RequireOnlyNonNullableBodyFields(document);
            return Task.CompletedTask;
        });
        options.AddOperationTransformer(static (operation, context, _) =>
        {
            Describe(operation, context);
            return Task.CompletedTask;
        });
    });

    private static void Describe(OpenApiOperation operation, OpenApiOperationTransformerContext context)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        // Any request can meet Kestrel's malformed-request rejection, a transient dependency failure or the catch-all
        // (ErrorHandlingMiddleware); the rest follow from what the endpoint declares.
        var codes = new List<string> { ErrorCodes.InvalidSchema, ErrorCodes.ServiceUnavailable, ErrorCodes.InternalError };

        var anonymous = metadata.OfType<IAllowAnonymous>().Any();
        if (!anonymous && metadata.OfType<IAuthorizeData>().Any())
        {
            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] });
            codes.Add(ErrorCodes.Unauthenticated);
        }

        if (metadata.OfType<IAcceptsMetadata>().Any())
        {
            codes.AddRange(BodyCodes);
        }

        if (metadata.OfType<EnableRateLimitingAttribute>().Any())
        {
            codes.Add(ErrorCodes.RateLimited);
        }

        foreach (var parameter in operation.Parameters ?? [])
        {
            if (parameter is OpenApiParameter { In: ParameterLocation.Path } path)
            {
                // Route ids are bound as strings and parsed by hand so a bad one is a 400 INVALID_FIELD_VALUE, not a 404.
                path.Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "uuid" };
                path.Description ??= "A UUID.";
                codes.Add(ErrorCodes.InvalidFieldValue);
            }
        }

        foreach (var query in metadata.OfType<QueryParameterMetadata>())
        {
            operation.Parameters ??= [];
            operation.Parameters.Add(QueryParameter(query));
            codes.Add(ErrorCodes.InvalidFieldValue);
            if (query.Type == "integer")
            {
                codes.Add(ErrorCodes.InvalidFieldType);
            }
        }

        codes.AddRange(metadata.OfType<ErrorCodesMetadata>().SelectMany(m => m.Codes));

        operation.Responses ??= [];
        foreach (var group in codes.Distinct(StringComparer.Ordinal).GroupBy(c => StatusOf[c]).OrderBy(g => g.Key))
        {
            var status = group.Key.ToString(CultureInfo.InvariantCulture);
            var list = group.Order(StringComparer.Ordinal).ToList();
            operation.Responses[status] = new OpenApiResponse
            {
                Description = $"{ReasonPhrases.Get(group.Key)}. Problem Details; `code` is one of: {string.Join(", ", list)}.",
                Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
                {
                    [Problems.ContentType] = new() { Schema = new OpenApiSchemaReference(ProblemSchema, context.Document) },
                },
                Extensions = new Dictionary<string, IOpenApiExtension>(StringComparer.Ordinal)
                {
                    [ErrorCodesExtension] = new JsonNodeExtension(new JsonArray([.. list.Select(c => (JsonNode)c)])),
                },
            };
        }
    }

    /// <summary>
    /// The bodies are positional records, so every property comes out required; but the endpoints read JSON by hand
    /// and take an absent field and <c>null</c> alike, so a nullable (or untyped) body field is optional.
    /// </summary>
    private static void RequireOnlyNonNullableBodyFields(OpenApiDocument document)
    {
        var bodies = (document.Paths?.Values ?? Enumerable.Empty<IOpenApiPathItem>())
            .SelectMany(p => p.Operations?.Values ?? Enumerable.Empty<OpenApiOperation>())
            .SelectMany(o => o.RequestBody?.Content?.Values ?? Enumerable.Empty<OpenApiMediaType>())
            .Select(m => m.Schema).OfType<OpenApiSchemaReference>()
            .Select(r => r.Reference.Id).OfType<string>()
            .Distinct(StringComparer.Ordinal);
        foreach (var id in bodies)
        {
            if (document.Components?.Schemas?.TryGetValue(id, out var schema) == true
                && schema is OpenApiSchema { Required: { } required, Properties: { } properties })
            {
                foreach (var (name, property) in properties)
                {
                    if (property.Type is null || property.Type.Value.HasFlag(JsonSchemaType.Null))
                    {
                        required.Remove(name);
                    }
                }
            }
        }
    }

    private static OpenApiParameter QueryParameter(QueryParameterMetadata query) => new()
    {
        Name = query.Name,
        In = ParameterLocation.Query,
        Required = query.Required,
        Description = query.Description,
        Schema = query.Type == "integer"
            ? new OpenApiSchema
            {
                Type = JsonSchemaType.Integer,
                Format = "int64",
                Minimum = query.Minimum?.ToString(CultureInfo.InvariantCulture),
                Maximum = query.Maximum?.ToString(CultureInfo.InvariantCulture),
            }
            : new OpenApiSchema { Type = query.Type == "boolean" ? JsonSchemaType.Boolean : JsonSchemaType.String },
    };

    /// <summary>The body <see cref="Problems.WriteAsync"/> writes.</summary>
    private static OpenApiSchema Problem() => new()
    {
        Type = JsonSchemaType.Object,
        Description = "RFC 9457 Problem Details with Parley's stable error code (docs/errors.md).",
        Required = new HashSet<string>(StringComparer.Ordinal) { "type", "title", "status", "detail", "instance", "code", "traceId" },
        Properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal)
        {
            ["type"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "urn:parley:error:<code in lower case>." },
            ["title"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The reason phrase of the status." },
            ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Description = "The HTTP status." },
            ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "A sentence for people; may change." },
            ["instance"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The request path." },
            ["code"] = new OpenApiSchema
            {
                Type = JsonSchemaType.String,
                // Not an enum: a code added later must not break a generated client's deserializer.
                Description = "The stable error code to branch on. Known codes: " + string.Join(", ", StatusOf.Keys.Order(StringComparer.Ordinal)) + ".",
            },
            ["details"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Object | JsonSchemaType.Null,
                AdditionalPropertiesAllowed = true,
                Description = "Structured data; the keys depend on the code.",
            },
            ["traceId"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The W3C trace id of the request." },
        },
    };
}
