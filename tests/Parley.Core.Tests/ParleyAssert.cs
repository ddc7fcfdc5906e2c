using Parley.Core.Errors;

namespace Parley.Core.Tests;

/// <summary>Assertions for the documented rejections: a <see cref="ParleyException"/> with a given code.</summary>
internal static class ParleyAssert
{
    public static ParleyError Throws(string expectedCode, Action action)
    {
        var ex = Assert.Throws<ParleyException>(action);
        Assert.Equal(expectedCode, ex.Error.Code);
        Assert.Equal(ex.Error.Message, ex.Message);
        return ex.Error;
    }

    public static ParleyError Throws(string expectedCode, Func<object?> action) => Throws(expectedCode, () => { _ = action(); });

    public static object? Detail(ParleyError error, string key)
    {
        Assert.NotNull(error.Details);
        Assert.True(error.Details.ContainsKey(key), $"details lack '{key}'");
        return error.Details[key];
    }
}
