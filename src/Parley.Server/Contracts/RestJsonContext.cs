using System.Text.Json;
using System.Text.Json.Serialization;

namespace Parley.Server.Contracts;

/// <summary>
/// Source-generated writers for the REST answers that carry pages of messages (history, sync, the conversation list),
/// used by <see cref="Http.BufferedJson{T}"/>. Same web defaults as the app's JSON options (which Parley leaves as
/// they are), so the bytes on the wire are unchanged; a 50-message page is no longer written by walking reflection
/// metadata property by property.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(MessagePageView))]
[JsonSerializable(typeof(SyncView))]
[JsonSerializable(typeof(ConversationPageView))]
public sealed partial class RestJsonContext : JsonSerializerContext;
