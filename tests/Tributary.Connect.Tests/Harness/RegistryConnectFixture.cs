using Tributary.Integration.Tests.Harness;
using Tributary.SchemaRegistry.Tests.Harness;

namespace Tributary.Connect.Tests.Harness;

/// <summary>One broker, one schema registry and one distributed worker (real processes) shared by a test class; tests use their own topics and subjects.</summary>
public sealed class RegistryConnectFixture : IAsyncLifetime
{
    private BrokerProcess? broker;
    private RegistryProcess? registry;
    private ConnectWorkerProcess? worker;

    public BrokerProcess Broker => broker ?? throw new InvalidOperationException("not started");

    public RegistryProcess Registry => registry ?? throw new InvalidOperationException("not started");

    public ConnectWorkerProcess Worker => worker ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        broker = await BrokerProcess.StartAsync(output: null);
        registry = await RegistryProcess.StartAsync(broker.BootstrapServers, output: null,
            new Dictionary<string, string> { ["kafkastore.topic.replication.factor"] = "1" });
        worker = await ConnectWorkerProcess.StartAsync(null, ConnectWorkerProcess.DistributedDefaults(broker.BootstrapServers, "registry-converters"));
    }

    public async Task DisposeAsync()
    {
        if (worker is not null)
        {
            await worker.DisposeAsync();
        }

        if (registry is not null)
        {
            await registry.DisposeAsync();
        }

        if (broker is not null)
        {
            await broker.DisposeAsync();
        }
    }
}
