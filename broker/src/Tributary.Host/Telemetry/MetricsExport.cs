using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Tributary.Broker.Config;
using Tributary.Broker.Metrics;

namespace Tributary.Host.Telemetry;

/// <summary>Wires <see cref="BrokerMetrics"/> to OpenTelemetry's Prometheus exporter and serves it at <see cref="Path"/>.</summary>
public static class MetricsExport
{
    public const string Path = "/metrics";

    /// <summary>Registers <see cref="BrokerMetrics"/> (on the container's <c>IMeterFactory</c>) and a meter provider exporting it, .NET runtime and Kestrel metrics.</summary>
    public static IServiceCollection AddBrokerMetrics(this IServiceCollection services, BrokerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        services.AddMetrics();
        services.TryAddSingleton<BrokerMetrics>();
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(
                serviceName: "tributary-broker",
                serviceInstanceId: config.NodeId.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .WithMetrics(metrics => metrics
                .AddMeter(BrokerMetrics.MeterName)
                // GC, heap, thread pool, JIT, exceptions (on .NET 9+ the runtime's own System.Runtime meter, which this enables).
                .AddRuntimeInstrumentation()
                .AddMeter("Microsoft.AspNetCore.Server.Kestrel")
                .AddPrometheusExporter(options =>
                {
                    options.ScrapeEndpointPath = Path;
                    // Strimzi's rules produce bare kafka_* series; otel_scope_* labels would only add noise to every one.
                    options.ScopeInfoEnabled = false;
                }));
        services.ConfigureOpenTelemetryMeterProvider((provider, metrics) =>
            metrics.AddView(OnlyThisContainersMeters(provider.GetRequiredService<IMeterFactory>())));
        return services;
    }

    /// <summary>Drops instruments of meters that another DI container's <see cref="IMeterFactory"/> created.</summary>
    /// <remarks>
    /// OpenTelemetry subscribes to meters by name process-wide, so with several brokers in one process (in-process
    /// cluster tests) each /metrics would otherwise also report the other brokers' counters and Kestrel connections.
    /// </remarks>
    private static Func<Instrument, MetricStreamConfiguration?> OnlyThisContainersMeters(IMeterFactory own) =>
        instrument => instrument.Meter.Scope is IMeterFactory factory && !ReferenceEquals(factory, own) ? MetricStreamConfiguration.Drop : null;

    /// <summary>Maps the Prometheus scrape endpoint; it is only reachable on HTTP listeners because Kafka listeners run no HTTP pipeline.</summary>
    public static IEndpointConventionBuilder MapBrokerMetrics(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapPrometheusScrapingEndpoint(Path);
}
