using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Playwright;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>
/// CORS as a browser enforces it: headless Chromium (Debian's chromium package, driven by Playwright) loads a page
/// from another local origin and calls the API and the hub from it.
/// </summary>
public sealed class BrowserCorsTests
{
    private const string Chromium = "/usr/bin/chromium";

    // Runs in the page, so every request is cross-origin: login, an authenticated call, a 401 (whose body the page
    // must be able to read), negotiate with credentials included (as SignalR's JavaScript client does) and a WebSocket.
    private const string Script = """
        async ([api, username, password, token]) => {
          const out = {};
          const attempt = async (name, f) => { try { out[name] = await f(); } catch (e) { out[name] = 'blocked: ' + e; } };
          await attempt('login', async () => {
            const r = await fetch(api + '/api/v1/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username, password }) });
            return r.status + ' ' + ((await r.json()).accessToken ? 'token' : 'none');
          });
          await attempt('me', async () => {
            const r = await fetch(api + '/api/v1/users/me', { headers: { Authorization: 'Bearer ' + token } });
            return r.status + ' ' + (await r.json()).username;
          });
          await attempt('anonymous', async () => {
            const r = await fetch(api + '/api/v1/users/me');
            return r.status + ' ' + (await r.json()).code;
          });
          await attempt('negotiate', async () => {
            const r = await fetch(api + '/hubs/chat/negotiate?negotiateVersion=1', { method: 'POST', credentials: 'include', headers: { Authorization: 'Bearer ' + token } });
            return r.status + ' ' + (await r.json()).availableTransports.map(t => t.transport).join(',');
          });
          await attempt('websocket', () => new Promise(resolve => {
            const ws = new WebSocket(api.replace('http:', 'ws:') + '/hubs/chat?access_token=' + encodeURIComponent(token));
            ws.onopen = () => { ws.close(); resolve('open'); };
            ws.onerror = () => resolve('blocked');
          }));
          return out;
        }
        """;

    [Fact]
    public async Task A_page_on_an_allowed_origin_can_log_in_call_the_api_and_reach_the_hub_and_one_on_another_origin_cannot()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install Debian's chromium package (scripts/test.sh does).");
        await using var pages = await PageServer.StartAsync();
        var allowed = pages.Origins[0];
        var refused = pages.Origins[1];
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Cors:AllowedOrigins:0"] = allowed });
        using var client = server.Client();
        var alice = await client.SignUpAsync();
        var api = server.BaseAddress.ToString().TrimEnd('/');

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true });

        var fromAllowed = await RunAsync(browser, allowed, api, alice);
        Assert.Equal("200 token", fromAllowed["login"]);
        Assert.Equal($"200 {alice.Username}", fromAllowed["me"]);
        Assert.Equal("401 UNAUTHENTICATED", fromAllowed["anonymous"]);
        Assert.Equal("200 WebSockets", fromAllowed["negotiate"]);
        Assert.Equal("open", fromAllowed["websocket"]);

        var fromRefused = await RunAsync(browser, refused, api, alice);
        Assert.All(["login", "me", "anonymous", "negotiate"], name => Assert.StartsWith("blocked: TypeError", fromRefused[name], StringComparison.Ordinal));
        Assert.Equal("blocked", fromRefused["websocket"]);
    }

    [Theory]
    [InlineData("https://*.example.com")]
    [InlineData("https://app.example.com/path")]
    [InlineData("app.example.com")]
    public async Task A_malformed_allowed_origin_stops_the_start_and_names_the_setting(string origin)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Cors:AllowedOrigins:0"] = origin }));
        Assert.Contains("Parley:Cors:AllowedOrigins", error.Message, StringComparison.Ordinal);
    }

    private static async Task<Dictionary<string, string>> RunAsync(IBrowser browser, string origin, string api, Session who)
    {
        var page = await browser.NewPageAsync();
        try
        {
            await page.GotoAsync(origin + "/");
            Assert.Equal(origin, await page.EvaluateAsync<string>("location.origin"));
            var result = await page.EvaluateAsync<JsonElement>(Script, new[] { api, who.Username, "correct horse", who.AccessToken });
            return result.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    /// <summary>A second web server, on two loopback ports (two origins), that serves an empty page.</summary>
    private sealed class PageServer(WebApplication app, IReadOnlyList<string> origins) : IAsyncDisposable
    {
        public IReadOnlyList<string> Origins => origins;

        public static async Task<PageServer> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.WebHost.UseUrls($"http://127.0.0.1:{TestServer.FreePort()}", $"http://127.0.0.1:{TestServer.FreePort()}");
            var app = builder.Build();
            app.MapGet("/", () => Results.Content("<!doctype html><title>other origin</title>", "text/html"));
            await app.StartAsync();
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
                .Select(a => a.TrimEnd('/')).ToList();
            Assert.Equal(2, addresses.Distinct().Count());
            return new PageServer(app, addresses);
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
