using System.Text.Json;

namespace Parley.Server.Tests.Infrastructure;

/// <summary>Message fields the server leaves out at their default (0, false) read as that default.</summary>
public static class JsonFields
{
    public static bool Flag(this JsonElement element, string name) => element.TryGetProperty(name, out var value) && value.GetBoolean();

    public static int Count(this JsonElement element, string name) => element.TryGetProperty(name, out var value) ? value.GetInt32() : 0;
}
