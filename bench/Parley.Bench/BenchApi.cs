using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Parley.Bench;

/// <summary>The few REST calls every scenario makes, in one place.</summary>
internal static class BenchApi
{
    public static async Task<(string Token, Guid UserId)> SignUpAsync(HttpClient http, string url)
    {
        var username = "b" + Guid.NewGuid().ToString("N")[..16];
        (await http.PostAsJsonAsync($"{url}/api/v1/auth/register", new { username, password = "bench password" })).EnsureSuccessStatusCode();
        var login = await (await http.PostAsJsonAsync($"{url}/api/v1/auth/login", new { username, password = "bench password" })).Content.ReadFromJsonAsync<JsonElement>();
        return (login.GetProperty("accessToken").GetString()!, login.GetProperty("userId").GetGuid());
    }

    /// <summary>A direct conversation (one member id) or a group; returns its id.</summary>
    public static async Task<Guid> CreateConversationAsync(HttpClient http, string url, string token, string type, Guid[] memberIds)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{url}/api/v1/conversations")
        {
            Content = JsonContent.Create(new { type, title = type == "group" ? "bench group" : null, memberIds }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    /// <summary>Adds members to a conversation in one request (at most Parley:Limits:MaxGroupMembers).</summary>
    public static async Task AddMembersAsync(HttpClient http, string url, string token, Guid conversation, Guid[] userIds)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{url}/api/v1/conversations/{conversation}/members")
        {
            Content = JsonContent.Create(new { userIds }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>An authenticated send; true when it was accepted (202). <paramref name="content"/> must need no JSON escaping.</summary>
    public static async Task<bool> SendMessageAsync(HttpClient http, string url, string token, Guid conversation, string content, string clientMessageId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{url}/api/v1/conversations/{conversation}/messages")
        {
            Content = new StringContent($$"""{"content":"{{content}}","clientMessageId":"{{clientMessageId}}"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        return response.StatusCode == HttpStatusCode.Accepted;
    }

    /// <summary>An authenticated send that must be accepted; returns the message's id.</summary>
    public static async Task<Guid> SendMessageForIdAsync(HttpClient http, string url, string token, Guid conversation, string content)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{url}/api/v1/conversations/{conversation}/messages")
        {
            Content = JsonContent.Create(new { content }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("messageId").GetGuid();
    }

    /// <summary>PUT (add) or DELETE (remove) one reaction; the status code, read to the end.</summary>
    public static async Task<HttpStatusCode> ReactAsync(HttpClient http, string url, string token, Guid message, string key, bool add)
    {
        using var request = new HttpRequestMessage(add ? HttpMethod.Put : HttpMethod.Delete, $"{url}/api/v1/messages/{message}/reactions/{Uri.EscapeDataString(key)}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        await response.Content.CopyToAsync(Stream.Null);
        return response.StatusCode;
    }

    /// <summary>The newest <paramref name="limit"/> messages of a conversation as the reader sees them (history page items).</summary>
    public static async Task<List<JsonElement>> NewestAsync(HttpClient http, string url, string token, Guid conversation, int limit)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{url}/api/v1/conversations/{conversation}/messages?limit={limit}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return [.. (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray()];
    }
}
