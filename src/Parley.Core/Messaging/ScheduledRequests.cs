using System.Text.Json;
using System.Text.Json.Serialization;

namespace Parley.Core.Messaging;

/// <summary>
/// A checked send request as the text a scheduled message keeps until its release. The whole record is written, so a
/// field a send gains later is kept and released with it without a change here.
/// </summary>
public static class ScheduledRequests
{
    public static string ToJson(SendMessageRequest request) => JsonSerializer.Serialize(request, ScheduledRequestJson.Default.SendMessageRequest);

    public static SendMessageRequest FromJson(string json) =>
        JsonSerializer.Deserialize(json, ScheduledRequestJson.Default.SendMessageRequest) ?? throw new JsonException("A scheduled request is null.");
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SendMessageRequest))]
internal sealed partial class ScheduledRequestJson : JsonSerializerContext;
