using System.Text.Json.Serialization;

namespace Parley.Sqlite;

[JsonSerializable(typeof(long[]))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class SqliteJsonContext : JsonSerializerContext;
