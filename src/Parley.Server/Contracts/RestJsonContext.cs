using System.Text.Json;
using System.Text.Json.Serialization;

namespace Parley.Server.Contracts;

/// <summary>
/// Source-generated writers for the REST answers that carry pages of messages (history, sync, the conversation list),
/// used by <see cref="Http.BufferedJson{T}"/>. Same web defaults as the app's JSON options (which Parley leaves as
/// they are), so the bytes on the wire are unchanged; a 50-message page is no longer written by walking reflection
/// metadata property by property. The webhook views are here too, and the event a webhook POSTs is written with it,
/// so a receiver gets exactly the shape the admin events API shows.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(MessagePageView))]
[JsonSerializable(typeof(SyncView))]
[JsonSerializable(typeof(ConversationPageView))]
[JsonSerializable(typeof(EventView))]
[JsonSerializable(typeof(WebhookView))]
[JsonSerializable(typeof(WebhookCreatedView))]
[JsonSerializable(typeof(WebhookListView))]
[JsonSerializable(typeof(WebhookDeliveryView))]
[JsonSerializable(typeof(WebhookDeliveryPageView))]
public sealed partial class RestJsonContext : JsonSerializerContext;
