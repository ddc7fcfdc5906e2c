namespace Parley.Server.Pipeline;

public static class DeliveryServiceCollectionExtensions
{
    /// <summary>
    /// Delivery from the log: partition ownership by lease, one worker loop per partition running the pipeline
    /// (persist, fan out, acknowledge), the lag sampler, the expiry worker for disappearing messages, and their metrics.
    /// </summary>
    public static WebApplicationBuilder AddParleyDelivery(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<DeliveryMetrics>();
        services.AddHostedService<LagSampler>();
        services.AddSingleton<PipelineStatus>();
        services.AddSingleton<PersistGroupCommit>();
        services.AddSingleton<DeliveryPipeline>();
        // Registered before the workers, so it stops after them and hands their leases over once their batches finished.
        services.AddSingleton<PartitionOwnership>();
        services.AddHostedService(sp => sp.GetRequiredService<PartitionOwnership>());
        services.AddHostedService<DeliveryWorker>();
        services.AddHostedService<ExpiryWorker>();
        return builder;
    }
}
