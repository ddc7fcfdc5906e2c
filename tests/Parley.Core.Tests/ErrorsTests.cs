using Parley.Core.Errors;
using Parley.Testing;

namespace Parley.Core.Tests;

public sealed class ErrorsTests
{
    private static readonly Guid Id = Guid.Parse("9f1c2b3a-0000-4000-8000-00000000abcd");

    [Fact]
    public void Every_error_code_constant_is_documented_in_errors_md_and_every_documented_code_exists()
    {
        var documented = ErrorsDoc.Codes();
        var defined = DefinedCodes();

        Assert.True(documented.Count >= 20, $"docs/errors.md's code table parsed to only {documented.Count} rows");
        Assert.Empty(defined.Except(documented.Keys, StringComparer.Ordinal));
        Assert.Empty(documented.Keys.Except(defined, StringComparer.Ordinal));
    }

    [Fact]
    public void Every_factory_returns_the_status_documented_for_its_code_and_codes_without_a_factory_are_documented_as_reserved()
    {
        var documented = ErrorsDoc.Codes();
        var errors = Factories().Select(f => f.Invoke()).ToList();

        Assert.All(errors, error =>
        {
            Assert.True(documented.TryGetValue(error.Code, out var status), $"{error.Code} is returned but not documented in docs/errors.md");
            Assert.True(status == error.Status.ToString(System.Globalization.CultureInfo.InvariantCulture), $"{error.Code}: docs/errors.md says {status}, the factory returns {error.Status}");
            Assert.False(string.IsNullOrWhiteSpace(error.Message));
            Assert.False(string.IsNullOrWhiteSpace(error.TelemetryLabel));
        });

        var produced = errors.Select(e => e.Code).ToHashSet(StringComparer.Ordinal);
        Assert.All(documented.Where(d => !produced.Contains(d.Key)), d => Assert.True(d.Value == "—", $"{d.Key} has no factory, so docs/errors.md must list it as reserved (status —), not {d.Value}"));
    }

    [Fact]
    public void A_code_documented_as_reserved_is_returned_nowhere_in_the_server()
    {
        // FORBIDDEN drifted this way: documented as never returned while the hub's RefreshToken returned it.
        var factoriesByCode = typeof(Errors.Errors).GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Where(m => m.ReturnType == typeof(ParleyError))
            .ToLookup(m => ((ParleyError)m.Invoke(null, [.. m.GetParameters().Select(Argument)])!).Code, m => m.Name, StringComparer.Ordinal);
        var constants = typeof(ErrorCodes).GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .ToLookup(f => (string)f.GetRawConstantValue()!, f => f.Name, StringComparer.Ordinal);
        var sources = Directory.EnumerateFiles(RepositoryFiles.Path("src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != "Errors.cs")
            .Select(f => (File: f, Text: File.ReadAllText(f)))
            .ToList();
        Assert.NotEmpty(sources);

        foreach (var code in ErrorsDoc.Reserved())
        {
            var uses = factoriesByCode[code].Select(name => $"Errors.{name}(").Concat(constants[code].Select(name => $"ErrorCodes.{name}"));
            var found = sources.Where(s => uses.Any(u => s.Text.Contains(u, StringComparison.Ordinal))).Select(s => Path.GetFileName(s.File)).ToList();
            Assert.True(found.Count == 0, $"docs/errors.md says {code} is reserved (never returned), but {string.Join(", ", found)} returns it");
        }
    }

    [Fact]
    public void Telemetry_labels_are_distinct_per_factory()
    {
        var labels = Factories().Select(f => f.Invoke().TelemetryLabel).ToList();

        Assert.True(labels.Count >= 20);
        Assert.Equal(labels.Count, labels.Distinct(StringComparer.Ordinal).Count());
    }

    private static HashSet<string> DefinedCodes() =>
        typeof(ErrorCodes).GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>Every public factory on <see cref="Errors.Errors"/>, called with plausible arguments.</summary>
    private static IEnumerable<Func<ParleyError>> Factories() =>
        typeof(Errors.Errors).GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Where(m => m.ReturnType == typeof(ParleyError))
            .Select(m => (Func<ParleyError>)(() => (ParleyError)m.Invoke(null, [.. m.GetParameters().Select(Argument)])!));

    private static object? Argument(System.Reflection.ParameterInfo parameter) =>
        parameter.HasDefaultValue ? parameter.DefaultValue : Type.GetTypeCode(parameter.ParameterType) switch
        {
            TypeCode.String => parameter.Name,
            TypeCode.Int32 => 2,
            TypeCode.Int64 => 2L,
            _ when parameter.ParameterType == typeof(Guid) => Id,
            _ when parameter.ParameterType == typeof(TimeSpan) => TimeSpan.FromSeconds(2),
            _ when parameter.ParameterType == typeof(DateTimeOffset) => DateTimeOffset.UnixEpoch,
            _ => throw new NotSupportedException($"ErrorsTests cannot make a {parameter.ParameterType} for {parameter.Member.Name}({parameter.Name}): add it to Argument()"),
        };

    [Theory]
    [InlineData(3000, 3)]
    [InlineData(1500, 2)]
    [InlineData(1, 1)]
    [InlineData(59_001, 60)]
    [InlineData(0, 0)]
    public void Rate_limited_puts_retry_after_seconds_rounded_up_in_details(int milliseconds, int expectedSeconds)
    {
        var error = Errors.Errors.RateLimited(TimeSpan.FromMilliseconds(milliseconds));

        Assert.Equal(expectedSeconds, Assert.IsType<int>(ParleyAssert.Detail(error, "retryAfterSeconds")));
    }

    [Fact]
    public void Field_errors_carry_their_details()
    {
        var tooLong = Errors.Errors.TooLong("content", 10, 12, "bytes");
        Assert.Equal("content", ParleyAssert.Detail(tooLong, "field"));
        Assert.Equal(10, ParleyAssert.Detail(tooLong, "max"));
        Assert.Equal(12, ParleyAssert.Detail(tooLong, "actual"));
        Assert.Equal("bytes", ParleyAssert.Detail(tooLong, "unit"));
        Assert.Equal("characters", ParleyAssert.Detail(Errors.Errors.TooLong("f", 1, 2), "unit"));

        Assert.Equal("a string", ParleyAssert.Detail(Errors.Errors.WrongType("f", "a string"), "expected"));
        Assert.Equal(Id, ParleyAssert.Detail(Errors.Errors.NotMember(Id), "conversationId"));
        Assert.Equal(Id, ParleyAssert.Detail(Errors.Errors.MessageNotFound(Id), "messageId"));
        Assert.Equal(1024L, ParleyAssert.Detail(Errors.Errors.PayloadTooLarge(1024), "maxBytes"));
        Assert.Equal("archived", ParleyAssert.Detail(Errors.Errors.ConversationInactive(Id, "archived"), "status"));
        Assert.Null(ParleyAssert.Detail(Errors.Errors.UnsupportedMediaType(null), "contentType"));
    }

    [Fact]
    public void Unauthenticated_uses_the_given_reason()
    {
        Assert.Equal("token expired", Errors.Errors.Unauthenticated("token expired").Message);
    }

    [Fact]
    public void With_returns_a_copy_and_leaves_the_original_untouched()
    {
        var original = Errors.Errors.InvalidSchema("bad");
        var first = original.With("a", 1);
        var second = first.With("b", 2).With("a", 3);

        Assert.Null(original.Details);
        Assert.Equal(1, ParleyAssert.Detail(first, "a"));
        Assert.False(first.Details!.ContainsKey("b"));
        Assert.Equal(3, ParleyAssert.Detail(second, "a"));
        Assert.Equal(2, ParleyAssert.Detail(second, "b"));
    }

    [Fact]
    public void To_exception_carries_the_error_and_its_message()
    {
        var error = Errors.Errors.Forbidden("nope");

        var exception = error.ToException();

        Assert.Same(error, exception.Error);
        Assert.Equal("nope", exception.Message);
    }
}
