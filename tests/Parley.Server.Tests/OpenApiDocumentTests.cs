using System.Net;
using System.Runtime.Loader;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NJsonSchema.CodeGeneration.CSharp;
using NSwag.CodeGeneration.CSharp;
using NSwag.CodeGeneration.OperationNameGenerators;
using Parley.Server.Tests.Infrastructure;
using NSwagDocument = NSwag.OpenApiDocument;
using Parley.Testing;

namespace Parley.Server.Tests;

/// <summary>
/// /openapi/v1.json is the contract client generators read: it must declare the bearer scheme, every query
/// parameter, the Problem Details responses with their codes, and must generate a C# client that compiles.
/// </summary>
[Collection(SharedServerCollection.Name)]
public sealed partial class OpenApiDocumentTests(SharedServer fixture)
{
    private const string ProblemRef = "#/components/schemas/Problem";

    /// <summary>The operations that take no token; every other one must carry the bearer requirement.</summary>
    private static readonly HashSet<string> Anonymous = ["register", "login", "refreshTokens"];

    /// <summary>The query parameters each endpoint reads by hand, by operation id: (name, OpenAPI type).</summary>
    private static readonly Dictionary<string, (string Name, string Type)[]> QueryParameters = new()
    {
        ["listConversations"] = [("limit", "integer"), ("cursor", "string"), ("kind", "string"), ("archived", "boolean"), ("contextType", "string"), ("contextId", "string")],
        ["getHistory"] = [("before", "integer"), ("after", "integer"), ("limit", "integer"), ("around", "integer"), ("aroundMessageId", "string")],
        ["searchChannels"] = [("query", "string"), ("limit", "integer"), ("cursor", "string")],
        ["listBookmarks"] = [("limit", "integer"), ("cursor", "string")],
        ["searchUsers"] = [("query", "string"), ("limit", "integer"), ("cursor", "string")],
        ["listFriendRequests"] = [("direction", "string"), ("limit", "integer"), ("cursor", "string")],
        ["listFriends"] = [("limit", "integer"), ("cursor", "string")],
        ["listBlocks"] = [("limit", "integer"), ("cursor", "string")],
        ["deleteMessage"] = [("for", "string"), ("clientChangeId", "string")],
        ["getThread"] = [("before", "integer"), ("after", "integer"), ("limit", "integer")],
        ["listPins"] = [("limit", "integer")],
        ["listReports"] = [("status", "string"), ("conversationId", "string"), ("limit", "integer"), ("cursor", "string")],
        ["listEvents"] = [("aggregateId", "string"), ("type", "string"), ("after", "string"), ("limit", "integer")],
        ["listDeadLetters"] = [("kind", "string"), ("errorType", "string"), ("after", "string"), ("limit", "integer")],
        ["listScheduledMessages"] = [("limit", "integer"), ("cursor", "string")],
        ["listWebhookDeliveries"] = [("status", "string"), ("limit", "integer"), ("cursor", "string")],
    };

    /// <summary>The query parameters an endpoint cannot do without (every other one is optional).</summary>
    private static readonly HashSet<(string Operation, string Name)> RequiredQuery = [("deleteMessage", "for")];

    /// <summary>Client method names the generated client must have (operation ids make them).</summary>
    private static readonly string[] ClientMethods =
    [
        "RegisterAsync", "LoginAsync", "RefreshTokensAsync", "LogoutAsync", "GetMeAsync", "GetUserAsync",
        "CreateConversationAsync", "ListConversationsAsync", "GetConversationAsync", "GetPresenceAsync",
        "SendMessageAsync", "GetHistoryAsync", "MarkReadAsync", "GetMessageStatusAsync", "SyncAsync", "GetUnreadTotalAsync",
        "UpdateConversationAsync", "JoinChannelAsync", "AddMembersAsync", "ChangeMemberRoleAsync", "RemoveMemberAsync", "LeaveConversationAsync",
        "TransferOwnershipAsync", "SearchChannelsAsync", "CreateInviteAsync", "ListInvitesAsync", "RevokeInviteAsync", "JoinByInviteAsync", "UpdateConversationSettingsAsync",
        "BookmarkMessageAsync", "UnbookmarkMessageAsync", "ListBookmarksAsync", "SaveDraftAsync", "GetDraftAsync", "DeleteDraftAsync",
        "SearchUsersAsync", "SendFriendRequestAsync", "ListFriendRequestsAsync", "AcceptFriendRequestAsync", "DeclineFriendRequestAsync",
        "CancelFriendRequestAsync", "ListFriendsAsync", "RemoveFriendAsync", "BlockUserAsync", "ListBlocksAsync", "UnblockUserAsync",
        "EditMessageAsync", "DeleteMessageAsync", "AddReactionAsync", "RemoveReactionAsync", "GetMessageEditsAsync", "GetThreadAsync",
        "PinMessageAsync", "UnpinMessageAsync", "ListPinsAsync", "ForwardMessageAsync", "VotePollAsync", "RetractVoteAsync", "GetPollResultsAsync",
        "ReportMessageAsync", "ListReportsAsync", "ResolveReportAsync", "ListEventsAsync",
        "RebuildReadModelsAsync", "StartReconciliationAsync", "GetReconciliationAsync",
        "ListScheduledMessagesAsync", "GetScheduledMessageAsync", "CancelScheduledMessageAsync",
        "ListWebhooksAsync", "CreateWebhookAsync", "UpdateWebhookAsync", "DeleteWebhookAsync", "ListWebhookDeliveriesAsync", "RedeliverWebhookAsync",
    ];

    private static readonly string Root = RepositoryFiles.Root;

    private async Task<string> DocumentAsync()
    {
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        using var response = await http.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static IEnumerable<(string Method, string Path, JsonElement Operation)> Operations(JsonElement document)
    {
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject().Where(o => o.Name is "get" or "post" or "put" or "patch" or "delete"))
            {
                yield return (operation.Name.ToUpperInvariant(), path.Name, operation.Value);
            }
        }
    }

    [Fact]
    public async Task Every_operation_has_a_unique_operation_id_and_the_bearer_scheme_when_it_needs_a_token()
    {
        using var json = JsonDocument.Parse(await DocumentAsync());
        var document = json.RootElement;
        var bearer = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");
        Assert.Equal("http", bearer.GetProperty("type").GetString());
        Assert.Equal("bearer", bearer.GetProperty("scheme").GetString());
        Assert.Equal("JWT", bearer.GetProperty("bearerFormat").GetString());

        var ids = new List<string>();
        foreach (var (method, path, operation) in Operations(document))
        {
            var id = operation.TryGetProperty("operationId", out var value) ? value.GetString() : null;
            Assert.False(string.IsNullOrEmpty(id), $"{method} {path} has no operationId");
            ids.Add(id!);
            var schemes = operation.TryGetProperty("security", out var security)
                ? security.EnumerateArray().SelectMany(r => r.EnumerateObject().Select(p => p.Name)).ToList()
                : [];
            if (Anonymous.Contains(id!))
            {
                Assert.True(schemes.Count == 0, $"{id} takes no token but declares {string.Join(", ", schemes)}");
            }
            else
            {
                Assert.True(schemes.Contains("Bearer"), $"{id} ({method} {path}) needs a token but has no Bearer requirement");
            }
        }

        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.Superset(Anonymous.Concat(QueryParameters.Keys).ToHashSet(), ids.ToHashSet());
        // Health, metrics and the document itself are not part of the client API.
        Assert.DoesNotContain(Operations(document), o => o.Path.StartsWith("/health", StringComparison.Ordinal) || o.Path == "/metrics");
    }

    [Fact]
    public async Task Every_query_parameter_the_endpoints_read_is_declared_with_its_type()
    {
        // The table above must cover every name the endpoint files read from the query string.
        var read = Directory.EnumerateFiles(Path.Combine(Root, "src", "Parley.Server"), "*Endpoints.cs", SearchOption.AllDirectories)
            .SelectMany(f => QueryReads().Matches(File.ReadAllText(f)).Select(m => m.Groups["name"].Value))
            .ToHashSet(StringComparer.Ordinal);
        Assert.NotEmpty(read);
        Assert.Subset(QueryParameters.Values.SelectMany(p => p.Select(q => q.Name)).ToHashSet(StringComparer.Ordinal), read);

        using var json = JsonDocument.Parse(await DocumentAsync());
        var operations = Operations(json.RootElement).ToDictionary(o => o.Operation.GetProperty("operationId").GetString()!, o => o.Operation);
        foreach (var (id, expected) in QueryParameters)
        {
            var declared = operations[id].GetProperty("parameters").EnumerateArray()
                .Where(p => p.GetProperty("in").GetString() == "query")
                .ToDictionary(p => p.GetProperty("name").GetString()!);
            foreach (var (name, type) in expected)
            {
                Assert.True(declared.TryGetValue(name, out var parameter), $"{id} does not declare query parameter '{name}'");
                Assert.Equal(type, parameter.GetProperty("schema").GetProperty("type").GetString());
                Assert.True(RequiredQuery.Contains((id, name)) == (parameter.TryGetProperty("required", out var required) && required.GetBoolean()),
                    $"{id}: '{name}' is {(RequiredQuery.Contains((id, name)) ? "required" : "optional")}");
                Assert.False(string.IsNullOrWhiteSpace(parameter.GetProperty("description").GetString()), $"{id}: '{name}' has no description");
            }
        }
    }

    [Fact]
    public async Task Every_operation_declares_its_problem_responses_with_the_documented_codes()
    {
        var documented = ErrorsDoc.Statuses();
        using var json = JsonDocument.Parse(await DocumentAsync());
        var document = json.RootElement;
        var problem = document.GetProperty("components").GetProperty("schemas").GetProperty("Problem").GetProperty("properties");
        Assert.Equal(
            ["code", "detail", "details", "instance", "status", "title", "traceId", "type"],
            problem.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));

        foreach (var (method, path, operation) in Operations(document))
        {
            var id = operation.GetProperty("operationId").GetString();
            var responses = operation.GetProperty("responses");
            var codesByStatus = new Dictionary<int, List<string>>();
            foreach (var response in responses.EnumerateObject())
            {
                var status = int.Parse(response.Name, System.Globalization.CultureInfo.InvariantCulture);
                if (status < 400)
                {
                    Assert.True(response.Value.TryGetProperty("content", out _) || status == 204, $"{id}: {status} has no schema");
                    continue;
                }

                var schema = response.Value.GetProperty("content").GetProperty("application/problem+json").GetProperty("schema");
                Assert.Equal(ProblemRef, schema.GetProperty("$ref").GetString());
                var codes = response.Value.GetProperty("x-error-codes").EnumerateArray().Select(c => c.GetString()!).ToList();
                Assert.NotEmpty(codes);
                foreach (var code in codes)
                {
                    Assert.True(documented.TryGetValue(code, out var documentedStatus), $"{id}: {code} is not in docs/errors.md");
                    Assert.True(documentedStatus == status, $"{id}: {code} listed under {status}, docs/errors.md says {documentedStatus}");
                    Assert.Contains(code, response.Value.GetProperty("description").GetString());
                }

                codesByStatus[status] = codes;
            }

            Assert.True(codesByStatus.Count > 0, $"{method} {path} declares no Problem responses");
            Assert.Contains("SERVICE_UNAVAILABLE", codesByStatus.GetValueOrDefault(503) ?? []);
            if (!Anonymous.Contains(id!))
            {
                Assert.Contains("UNAUTHENTICATED", codesByStatus.GetValueOrDefault(401) ?? []);
            }

            if (operation.TryGetProperty("requestBody", out var body))
            {
                Assert.True(body.GetProperty("content").GetProperty("application/json").TryGetProperty("schema", out _), $"{id}: untyped body");
                Assert.Contains("INVALID_JSON", codesByStatus.GetValueOrDefault(400) ?? []);
                Assert.Contains("PAYLOAD_TOO_LARGE", codesByStatus.GetValueOrDefault(413) ?? []);
                Assert.Contains("UNSUPPORTED_MEDIA_TYPE", codesByStatus.GetValueOrDefault(415) ?? []);
            }

            if (Anonymous.Contains(id!))
            {
                Assert.Contains("RATE_LIMITED", codesByStatus.GetValueOrDefault(429) ?? []);
            }
        }

        var send = Operations(document).Single(o => o.Operation.GetProperty("operationId").GetString() == "sendMessage").Operation;
        var sendCodes = send.GetProperty("responses").EnumerateObject()
            .Where(r => r.Value.TryGetProperty("x-error-codes", out _))
            .SelectMany(r => r.Value.GetProperty("x-error-codes").EnumerateArray().Select(c => c.GetString()));
        Assert.Superset(new HashSet<string?> { "NOT_CONVERSATION_MEMBER", "CONVERSATION_INACTIVE", "RATE_LIMITED", "ENQUEUE_FAILED", "FIELD_TOO_LONG", "USER_BLOCKED" }, sendCodes.ToHashSet());
    }

    [Fact]
    public async Task Request_bodies_require_only_the_fields_the_server_requires()
    {
        using var json = JsonDocument.Parse(await DocumentAsync());
        var schemas = json.RootElement.GetProperty("components").GetProperty("schemas");
        string[] Required(string schema) => schemas.GetProperty(schema).TryGetProperty("required", out var r)
            ? [.. r.EnumerateArray().Select(e => e.GetString()!).Order(StringComparer.Ordinal)]
            : [];

        Assert.Equal(["content"], Required("SendMessageBody"));
        Assert.Equal(["password", "username"], Required("RegisterBody"));
        Assert.Equal(["memberIds", "type"], Required("CreateConversationBody"));
        Assert.Equal(["upToSequence"], Required("ReadBody"));
        Assert.Equal(["userId"], Required("UserIdBody"));
        Assert.Empty(Required("SyncBody"));
    }

    [Fact]
    public async Task The_document_generates_a_csharp_client_that_compiles()
    {
        var document = await NSwagDocument.FromJsonAsync(await DocumentAsync());
        var settings = new CSharpClientGeneratorSettings
        {
            ClassName = "ParleyApiClient",
            GenerateClientInterfaces = true,
            OperationNameGenerator = new SingleClientFromOperationIdOperationNameGenerator(),
        };
        settings.CSharpGeneratorSettings.Namespace = "Parley.Generated";
        settings.CSharpGeneratorSettings.JsonLibrary = CSharpJsonLibrary.SystemTextJson;
        var code = new CSharpClientGenerator(document, settings).GenerateFile();

        var compilation = CSharpCompilation.Create(
            "Parley.Generated",
            [CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(LanguageVersion.Latest))],
            ReferenceAssemblies().Select(p => MetadataReference.CreateFromFile(p)),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Disable));
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        var errors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(20).ToList();
        Assert.True(result.Success, "The generated client does not compile:\n" + string.Join("\n", errors));

        var client = compilation.GetTypeByMetadataName("Parley.Generated.ParleyApiClient");
        Assert.NotNull(client);
        var methods = client.GetMembers().OfType<IMethodSymbol>().ToList();
        foreach (var name in ClientMethods)
        {
            Assert.True(methods.Any(m => m.Name == name), $"The generated client has no {name}");
        }

        var history = methods.First(m => m.Name == "GetHistoryAsync");
        Assert.Equal(["id", "before", "after", "limit", "around", "aroundMessageId"], history.Parameters.Select(p => p.Name).Where(n => n != "cancellationToken"));
        Assert.Equal("System.Guid", history.Parameters[0].Type.ToDisplayString());
        Assert.NotNull(compilation.GetTypeByMetadataName("Parley.Generated.Problem"));

        await UseGeneratedClientAsync(image);
    }

    /// <summary>
    /// The generated client against the server: the bearer token goes where the document says, a query parameter
    /// reaches the endpoint, and an error comes back as the typed Problem with its code.
    /// </summary>
    private async Task UseGeneratedClientAsync(MemoryStream image)
    {
        var context = new AssemblyLoadContext("generated-client", isCollectible: true);
        try
        {
            image.Position = 0;
            var assembly = context.LoadFromStream(image);
            object Create(string type) => Activator.CreateInstance(assembly.GetType("Parley.Generated." + type, throwOnError: true)!)!;
            using var http = new HttpClient();
            dynamic api = Activator.CreateInstance(assembly.GetType("Parley.Generated.ParleyApiClient", throwOnError: true)!, http)!;
            api.BaseUrl = fixture.Server.BaseAddress.ToString();

            var username = "oa" + Guid.NewGuid().ToString("N")[..12];
            dynamic register = Create("RegisterBody");
            register.Username = username;
            register.Password = "correct horse battery";
            await api.RegisterAsync(register);

            dynamic wrong = Create("LoginBody");
            wrong.Username = username;
            wrong.Password = "not the password";
            Exception refused = await Assert.ThrowsAnyAsync<Exception>(async () => await api.LoginAsync(wrong));
            Assert.Equal("ApiException`1", refused.GetType().Name);
            Assert.Equal("INVALID_CREDENTIALS", (string)((dynamic)refused).Result.Code);

            dynamic login = Create("LoginBody");
            login.Username = username;
            login.Password = "correct horse battery";
            var tokens = await api.LoginAsync(login);
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", (string)tokens.AccessToken);
            var me = await api.GetMeAsync();
            Assert.Equal(username, (string)me.Username);

            Exception badLimit = await Assert.ThrowsAnyAsync<Exception>(async () => await api.ListConversationsAsync((long?)0, (string?)null, (string?)null, (bool?)null, (string?)null, (string?)null));
            Assert.Equal("INVALID_FIELD_VALUE", (string)((dynamic)badLimit).Result.Code);
            var page = await api.ListConversationsAsync((long?)5, (string?)null, "group", (bool?)true, (string?)null, (string?)null);
            Assert.Equal(0, (int)page.Items.Count);
        }
        finally
        {
            context.Unload();
        }
    }

    /// <summary>The targeting pack's reference assemblies when the SDK is there, else the running runtime's own.</summary>
    private static IEnumerable<string> ReferenceAssemblies()
    {
        var runtime = System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory();
        var packs = Path.GetFullPath(Path.Combine(runtime, "..", "..", "..", "packs", "Microsoft.NETCore.App.Ref"));
        var major = $"{Environment.Version.Major}.";
        var pack = Directory.Exists(packs)
            ? Directory.EnumerateDirectories(packs)
                .Where(d => Path.GetFileName(d).StartsWith(major, StringComparison.Ordinal))
                .Select(d => Path.Combine(d, "ref", $"net{Environment.Version.Major}.0"))
                .Where(Directory.Exists)
                .OrderByDescending(d => d, StringComparer.Ordinal)
                .FirstOrDefault()
            : null;
        return Directory.EnumerateFiles(pack ?? runtime, "*.dll")
            .Where(f => pack is not null || Path.GetFileName(f) is var n && (n.StartsWith("System.", StringComparison.Ordinal) || n is "netstandard.dll" or "mscorlib.dll"));
    }



    [GeneratedRegex("""(?:Query\w*\(\s*\w+\s*,\s*|Query\[)"(?<name>\w+)"[,\])]""")]
    private static partial Regex QueryReads();

}

/// <summary>The API reference page: on when enabled, served entirely from this server, absent by default.</summary>
[Collection(SharedServerCollection.Name)]
public sealed partial class ApiReferenceTests(SharedServer fixture)
{
    [Fact]
    public async Task The_reference_page_and_its_script_are_served_locally_when_enabled()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:ApiReference:Enabled"] = "true" });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        using var page = await http.GetAsync("/api-reference");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        // Scalar resolves the document URL against the application root.
        Assert.Contains("\"openapi/v1.json\"", html);
        using var openApi = await http.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, openApi.StatusCode);

        var scripts = ScriptSources().Matches(html).Select(m => m.Groups["src"].Value).ToList();
        Assert.NotEmpty(scripts);
        foreach (var src in scripts)
        {
            var url = new Uri(page.RequestMessage!.RequestUri!, src);
            Assert.True(url.Authority == server.BaseAddress.Authority, $"The page loads {src} from another host");
            using var script = await http.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, script.StatusCode);
            Assert.Contains("javascript", script.Content.Headers.ContentType?.MediaType ?? string.Empty, StringComparison.Ordinal);
            var size = (await script.Content.ReadAsByteArrayAsync()).Length;
            Assert.True(size > (src == "scalar.js" ? 100_000 : 0), $"{src} is only {size} bytes");
        }

        Assert.Contains("scalar.js", scripts);
    }

    [Fact]
    public async Task The_reference_page_is_404_when_not_enabled()
    {
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        using var page = await http.GetAsync("/api-reference");
        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
    }

    [GeneratedRegex(""""<script[^>]*\ssrc="(?<src>[^"]+)"""")]
    private static partial Regex ScriptSources();
}
