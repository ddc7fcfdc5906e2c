namespace Parley.Core.Ports;

/// <summary>
/// For a record that keeps its rarely-set properties in one object of their own (null while all are at their defaults,
/// see StoredMessage): the object after one property is set, allocating nothing when the value is what it already is.
/// </summary>
public static class OptionalParts
{
    /// <param name="parts">The record's object, null while every part is at its default (then <paramref name="none"/> stands for it).</param>
    public static TParts? With<TParts, T>(TParts? parts, TParts none, T value, Func<TParts, T> get, Func<TParts, T, TParts> with)
        where TParts : class
    {
        var current = parts ?? none;
        var now = get(current);
        // Two empty lists are the same value here, whatever instances they are.
        return EqualityComparer<T>.Default.Equals(now, value) || (now is System.Collections.ICollection { Count: 0 } && value is System.Collections.ICollection { Count: 0 })
            ? parts
            : with(current, value);
    }
}
