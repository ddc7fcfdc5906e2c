using Parley.Hosting;

namespace Parley.Core.Tests;

public sealed class LogOptionsTests
{
    [Fact]
    public void Defaults_are_valid()
    {
        var options = new LogOptions();

        Assert.Empty(options.Validate());
        Assert.Equal(16, options.Partitions);
        Assert.Equal(3, options.MaxRetries);
        Assert.Equal(4, options.MaxDeliveries);
    }

    [Theory]
    [InlineData(1, 0, 1, 1)]
    [InlineData(1024, 100, 86_400, 10_000)]
    public void Boundary_values_are_valid(int partitions, int maxRetries, int windowSeconds, int batchSize)
    {
        var options = new LogOptions
        {
            Partitions = partitions,
            MaxRetries = maxRetries,
            IdempotencyWindow = TimeSpan.FromSeconds(windowSeconds),
            BatchSize = batchSize,
        };

        Assert.Empty(options.Validate());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(1025)]
    public void Bad_partitions_name_the_setting(int partitions)
    {
        var message = Assert.Single(new LogOptions { Partitions = partitions }.Validate());

        Assert.Contains("Parley:Log:Partitions", message, StringComparison.Ordinal);
        Assert.Contains(partitions.ToString(System.Globalization.CultureInfo.InvariantCulture), message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(101)]
    public void Bad_max_retries_name_the_setting(int maxRetries)
    {
        var message = Assert.Single(new LogOptions { MaxRetries = maxRetries }.Validate());

        Assert.Contains("Parley:Log:MaxRetries", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(999)]
    [InlineData(-1000)]
    public void Too_short_idempotency_window_names_the_setting(int milliseconds)
    {
        var message = Assert.Single(new LogOptions { IdempotencyWindow = TimeSpan.FromMilliseconds(milliseconds) }.Validate());

        Assert.Contains("Parley:Log:IdempotencyWindow", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10_001)]
    public void Bad_batch_size_names_the_setting(int batchSize)
    {
        var message = Assert.Single(new LogOptions { BatchSize = batchSize }.Validate());

        Assert.Contains("Parley:Log:BatchSize", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_bad_value_is_reported()
    {
        var options = new LogOptions { Partitions = 0, MaxRetries = -1, IdempotencyWindow = TimeSpan.Zero, BatchSize = 0 };

        var messages = options.Validate().ToList();

        Assert.Equal(4, messages.Count);
        Assert.Contains(messages, m => m.Contains("Parley:Log:Partitions", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("Parley:Log:MaxRetries", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("Parley:Log:IdempotencyWindow", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("Parley:Log:BatchSize", StringComparison.Ordinal));
    }

    [Fact]
    public void Max_deliveries_is_the_first_attempt_plus_retries()
    {
        Assert.Equal(1, new LogOptions { MaxRetries = 0 }.MaxDeliveries);
        Assert.Equal(11, new LogOptions { MaxRetries = 10 }.MaxDeliveries);
    }
}
