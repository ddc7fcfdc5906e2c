using Parley.Hosting;

namespace Parley.Core.Tests;

public sealed class ParleyOptionsTests
{
    [Fact]
    public void Defaults_are_valid()
    {
        var options = new ParleyOptions();

        Assert.Empty(options.Validate());
        Assert.Equal(Engines.Embedded, options.Engine);
    }

    [Theory]
    [InlineData("Embedded")]
    [InlineData("embedded")]
    [InlineData("EMBEDDED")]
    public void Engine_name_is_case_insensitive(string engine)
    {
        Assert.Empty(new ParleyOptions { Engine = engine }.Validate());
    }

    [Theory]
    [InlineData("Kafka")]
    [InlineData("")]
    [InlineData("Embedded ")]
    public void Unknown_engine_names_the_setting(string engine)
    {
        var message = Assert.Single(new ParleyOptions { Engine = engine }.Validate());

        Assert.Contains("Parley:Engine", message, StringComparison.Ordinal);
        Assert.Contains($"'{engine}'", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Blank_data_directory_names_the_setting(string dataDirectory)
    {
        var message = Assert.Single(new ParleyOptions { DataDirectory = dataDirectory }.Validate());

        Assert.Contains("Parley:DataDirectory", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_bad_value_is_reported()
    {
        var messages = new ParleyOptions { Engine = "Nope", DataDirectory = "" }.Validate().ToList();

        Assert.Equal(2, messages.Count);
    }

    [Fact]
    public void Resolved_data_directory_is_absolute()
    {
        var options = new ParleyOptions { DataDirectory = "some-data" };

        Assert.True(Path.IsPathRooted(options.ResolvedDataDirectory));
        Assert.Equal(Path.GetFullPath("some-data"), options.ResolvedDataDirectory);
    }
}
