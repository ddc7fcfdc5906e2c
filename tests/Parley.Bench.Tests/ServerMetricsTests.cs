namespace Parley.Bench.Tests;

/// <summary>The Prometheus text parsing and the histogram_quantile estimate the e2e stage breakdown rests on, on canned text.</summary>
public sealed class ServerMetricsTests
{
    private const string Before = """
        # HELP delivery_pipeline_step_duration_ms Time per pipeline step (persist, fanout, ack), milliseconds
        # TYPE delivery_pipeline_step_duration_ms histogram
        delivery_pipeline_step_duration_ms_bucket{otel_scope_name="Parley.Delivery",step="fanout",le="1"} 10
        delivery_pipeline_step_duration_ms_bucket{otel_scope_name="Parley.Delivery",step="fanout",le="2"} 10
        delivery_pipeline_step_duration_ms_bucket{otel_scope_name="Parley.Delivery",step="fanout",le="5"} 10
        delivery_pipeline_step_duration_ms_bucket{otel_scope_name="Parley.Delivery",step="fanout",le="10"} 10
        delivery_pipeline_step_duration_ms_bucket{otel_scope_name="Parley.Delivery",step="fanout",le="+Inf"} 10
        delivery_pipeline_step_duration_ms_sum{otel_scope_name="Parley.Delivery",step="fanout"} 5
        delivery_pipeline_step_duration_ms_count{otel_scope_name="Parley.Delivery",step="fanout"} 10
        dotnet_gc_pause_time_seconds_total{otel_scope_name="System.Runtime"} 0.125 1733390000000
        """;

    private const string After = """
        # HELP delivery_pipeline_step_duration_ms Time per pipeline step (persist, fanout, ack), milliseconds
        # TYPE delivery_pipeline_step_duration_ms histogram
        delivery_pipeline_step_duration_ms_bucket{otel_scope_name="Parley.Delivery",step="fanout",le="1"} 10
        delivery_pipeline_step_duration_ms_bucket{otel_scope_name="Parley.Delivery",step="fanout",le="2"} 30
        delivery_pipeline_step_duration_ms_bucket{otel_scope_name="Parley.Delivery",step="fanout",le="5"} 90
        delivery_pipeline_step_duration_ms_bucket{otel_scope_name="Parley.Delivery",step="fanout",le="10"} 100
        delivery_pipeline_step_duration_ms_bucket{otel_scope_name="Parley.Delivery",step="fanout",le="+Inf"} 100
        delivery_pipeline_step_duration_ms_sum{otel_scope_name="Parley.Delivery",step="fanout"} 321.5
        delivery_pipeline_step_duration_ms_count{otel_scope_name="Parley.Delivery",step="fanout"} 100
        delivery_pipeline_step_duration_ms_bucket{otel_scope_name="Parley.Delivery",step="ack",le="1"} 50
        delivery_pipeline_step_duration_ms_bucket{otel_scope_name="Parley.Delivery",step="ack",le="2"} 50
        delivery_pipeline_step_duration_ms_bucket{otel_scope_name="Parley.Delivery",step="ack",le="5"} 50
        delivery_pipeline_step_duration_ms_bucket{otel_scope_name="Parley.Delivery",step="ack",le="10"} 50
        delivery_pipeline_step_duration_ms_bucket{otel_scope_name="Parley.Delivery",step="ack",le="+Inf"} 50
        # TYPE delivery_pipeline_duration_ms histogram
        delivery_pipeline_duration_ms_bucket{partition="0",le="1"} 4
        delivery_pipeline_duration_ms_bucket{partition="0",le="2"} 4
        delivery_pipeline_duration_ms_bucket{partition="0",le="+Inf"} 4
        delivery_pipeline_duration_ms_bucket{partition="1",le="1"} 0
        delivery_pipeline_duration_ms_bucket{partition="1",le="2"} 4
        delivery_pipeline_duration_ms_bucket{partition="1",le="+Inf"} 4
        # TYPE producer_enqueue_duration_ms histogram
        producer_enqueue_duration_ms_bucket{status="duplicate",le="1"} 3
        producer_enqueue_duration_ms_bucket{status="duplicate",le="+Inf"} 3
        # The exporter may append a unit suffix to the family name.
        realtime_outbound_wait_ms_milliseconds_bucket{le="1"} 0
        realtime_outbound_wait_ms_milliseconds_bucket{le="+Inf"} 5
        odd_bucket{path="a\"b,c}",le="1"} 7
        odd_bucket{path="a\"b,c}",le="+Inf"} 7
        dotnet_gc_pause_time_seconds_total{otel_scope_name="System.Runtime"} 0.5 1733390001000
        """;

    [Fact]
    public void Quantiles_interpolate_inside_the_bucket_the_rank_falls_in()
    {
        var fanout = ServerMetrics.Parse(After).Histogram("delivery_pipeline_step_duration_ms", ("step", "fanout"));

        Assert.NotNull(fanout);
        Assert.Equal(100, fanout.Count);
        // Rank 50 falls in (2, 5] holding 60 of them, 20 into it: 2 + 3 × 20/60.
        Assert.Equal(3, fanout.Quantile(0.5), 9);
        // Rank 99 falls in (5, 10] holding 10, 9 into it.
        Assert.Equal(9.5, fanout.Quantile(0.99), 9);
    }

    [Fact]
    public void The_delta_between_two_scrapes_counts_only_what_was_observed_in_between()
    {
        var before = ServerMetrics.Parse(Before).Histogram("delivery_pipeline_step_duration_ms", ("step", "fanout"));
        var delta = ServerMetrics.Parse(After).Histogram("delivery_pipeline_step_duration_ms", ("step", "fanout"))!.Since(before);

        Assert.Equal(90, delta.Count);
        Assert.Equal([0.0, 20.0, 80.0, 90.0, 90.0], delta.Buckets.Select(b => b.Count));
        // Rank 45 in (2, 5] holding 60, 25 into it.
        Assert.Equal(2 + (3 * 25 / 60.0), delta.Quantile(0.5), 9);
        // A series the earlier scrape did not have yet counts from zero.
        var ack = ServerMetrics.Parse(After).Histogram("delivery_pipeline_step_duration_ms", ("step", "ack"))!;
        Assert.Equal(50, ack.Since(ServerMetrics.Parse(Before).Histogram("delivery_pipeline_step_duration_ms", ("step", "ack"))).Count);
    }

    [Fact]
    public void Label_sets_are_summed_and_the_first_bucket_starts_at_zero()
    {
        var pipeline = ServerMetrics.Parse(After).Histogram("delivery_pipeline_duration_ms")!;

        Assert.Equal([(1.0, 4.0), (2.0, 8.0), (double.PositiveInfinity, 8.0)], pipeline.Buckets);
        Assert.Equal(1, pipeline.Quantile(0.5), 9);
        Assert.Equal(1 + (3.92 / 4), pipeline.Quantile(0.99), 9);
    }

    [Fact]
    public void A_rank_in_the_inf_bucket_gives_the_largest_finite_bound_and_a_unit_suffix_is_found()
    {
        var outbound = ServerMetrics.Parse(After).Histogram("realtime_outbound_wait_ms");

        Assert.NotNull(outbound);
        Assert.Equal(5, outbound.Count);
        Assert.Equal(1, outbound.Quantile(0.99));
    }

    [Fact]
    public void A_missing_histogram_is_null_and_an_unmatched_filter_is_empty()
    {
        var metrics = ServerMetrics.Parse(After);

        Assert.Null(metrics.Histogram("delivery_queue_wait_ms"));
        var accepted = metrics.Histogram("producer_enqueue_duration_ms", ("status", "accepted"));
        Assert.NotNull(accepted);
        Assert.Equal(0, accepted.Count);
        Assert.True(double.IsNaN(accepted.Quantile(0.5)));
    }

    [Fact]
    public void Escaped_label_values_and_timestamps_parse()
    {
        var metrics = ServerMetrics.Parse(After);

        var odd = Assert.Single(metrics.Samples, s => s.Name == "odd_bucket" && s.Labels["le"] == "1");
        Assert.Equal("a\"b,c}", odd.Labels["path"]);
        Assert.Equal(7, odd.Value);
        Assert.Equal(0.5, metrics.SumByPrefix("dotnet_gc_pause_time"));
        Assert.Equal(0.125, ServerMetrics.Parse(Before).SumByPrefix("dotnet_gc_pause_time"));
        Assert.Null(metrics.SumByPrefix("no_such_metric"));
    }
}
