using System.Text.Json;
using System.Text.Json.Serialization;

namespace Parley.Server.Contracts;

/// <summary>
/// The node bus's wire format (source-generated, no reflection). Message metadata travels as a JSON string holding
/// the stored text (<see cref="JsonTextAsStringConverter"/>), so a stored value that is not valid JSON cannot break a
/// frame, and the receiving node hands devices exactly the text that was stored. Nulls are written and every
/// constructor parameter is required, so a frame missing part of an event is dropped rather than half-delivered.
/// </summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    Converters = [typeof(JsonTextAsStringConverter)],
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(AddressedEvent))]
public sealed partial class NodeEventJsonContext : JsonSerializerContext;
