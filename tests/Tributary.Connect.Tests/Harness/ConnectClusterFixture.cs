using Tributary.Integration.Tests.Harness;

namespace Tributary.Connect.Tests.Harness;

/// <summary>One broker and one distributed worker shared by the tests of a class; each test uses its own connectors and topics.</summary>
public sealed class ConnectClusterFixture : IAsyncLifetime
{
    private BrokerProcess? broker;
    private ConnectWorkerProcess? worker;

    public BrokerProcess Broker => broker ?? throw new InvalidOperationException("not started");

    public ConnectWorkerProcess Worker => worker ?? throw new InvalidOperationException("not started");

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("connect-fixture-").FullName;

    public async Task InitializeAsync()
    {
        broker = await BrokerProcess.StartAsync(output: null);
        worker = await ConnectWorkerProcess.StartAsync(null, ConnectWorkerProcess.DistributedDefaults(broker.BootstrapServers, "rest"));
    }

    public async Task DisposeAsync()
    {
        if (worker is not null)
        {
            await worker.DisposeAsync();
        }

        if (broker is not null)
        {
            await broker.DisposeAsync();
        }

        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
