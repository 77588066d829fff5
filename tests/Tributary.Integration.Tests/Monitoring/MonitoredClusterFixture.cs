using Tributary.Integration.Tests.Cluster;

namespace Tributary.Integration.Tests.Monitoring;

/// <summary>
/// A real 3-broker cluster scraped every second by a real Prometheus that evaluates the test copy of the alert rules
/// (<see cref="MonitoringSources.TestRules"/>: the checked-in rules with short <c>for:</c> and range windows).
/// </summary>
public sealed class MonitoredClusterFixture : IAsyncLifetime
{
    public static readonly TimeSpan ScrapeInterval = TimeSpan.FromSeconds(1);

    public ClusterProcess Cluster { get; private set; } = null!;

    public PrometheusServer Prometheus { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = await ClusterProcess.StartAsync(output: null, new ClusterOptions
        {
            Overrides = new Dictionary<string, string> { ["group.initial.rebalance.delay.ms"] = "0" },
        });
        try
        {
            Prometheus = await PrometheusServer.StartAsync(
                Cluster.Brokers.Select(b => $"{b.Host}:{b.Ports.Http}").ToList(), MonitoringSources.TestRules(), ScrapeInterval, Cluster.Log);
        }
        catch
        {
            await Cluster.DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (Prometheus is not null)
        {
            await Prometheus.DisposeAsync();
        }

        await Cluster.DisposeAsync();
    }
}
