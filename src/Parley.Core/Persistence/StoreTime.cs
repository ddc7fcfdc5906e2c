namespace Parley.Core.Persistence;

public static class StoreTime
{
    /// <summary>Milliseconds in UTC: what the API and the keyset cursors carry, whatever engine stores it.</summary>
    public static DateTimeOffset Truncate(DateTimeOffset value) =>
        value.AddTicks(-(value.Ticks % TimeSpan.TicksPerMillisecond)).ToUniversalTime();
}
