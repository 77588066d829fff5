using Tributary.Integration.Tests.Harness;

namespace Tributary.SchemaRegistry.Tests.Harness;

/// <summary>One broker process and one registry process shared by a test class; tests use their own subjects.</summary>
public sealed class RegistryFixture : IAsyncLifetime
{
    private BrokerProcess? _broker;
    private RegistryProcess? _registry;

    public BrokerProcess Broker => _broker ?? throw new InvalidOperationException("not started");
    public RegistryProcess Registry => _registry ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        _broker = await BrokerProcess.StartAsync(output: null);
        _registry = await RegistryProcess.StartAsync(_broker.BootstrapServers, output: null);
    }

    public async Task DisposeAsync()
    {
        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }

        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }
    }
}
