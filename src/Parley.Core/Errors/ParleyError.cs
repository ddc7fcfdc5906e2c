namespace Parley.Core.Errors;

/// <summary>
/// A rejection the API hands back to a client: HTTP status, a stable machine code, a human message,
/// optional structured details, and the low-cardinality label used as a metric tag.
/// </summary>
public sealed record ParleyError(int Status, string Code, string Message, string TelemetryLabel)
{
    public IReadOnlyDictionary<string, object?>? Details { get; init; }

    public ParleyException ToException() => new(this);

    public ParleyError With(string key, object? value)
    {
        var details = Details is null ? new Dictionary<string, object?>(StringComparer.Ordinal) : new Dictionary<string, object?>(Details, StringComparer.Ordinal);
        details[key] = value;
        return this with { Details = details };
    }
}

public sealed class ParleyException(ParleyError error) : Exception(error.Message)
{
    public ParleyError Error { get; } = error;
}
