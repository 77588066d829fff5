namespace Tributary.Integration.Tests.Harness;

/// <summary>A broker process shared by the tests of one class (xunit class fixture); each test uses its own topics.</summary>
public abstract class BrokerFixture : IAsyncLifetime
{
    private BrokerProcess? broker;

    public BrokerProcess Broker => broker ?? throw new InvalidOperationException("The fixture broker has not started.");

    /// <summary>Per-fixture broker overrides on top of the loopback defaults.</summary>
    protected virtual IReadOnlyDictionary<string, string>? Overrides => null;

    public async Task InitializeAsync() => broker = await BrokerProcess.StartAsync(output: null, Overrides);

    public async Task DisposeAsync()
    {
        if (broker is not null)
        {
            await broker.DisposeAsync();
        }
    }
}

/// <summary>A broker with Kafka's default settings.</summary>
public sealed class DefaultBrokerFixture : BrokerFixture;

/// <summary>
/// A broker where topics only come from the admin API (<c>auto.create.topics.enable=false</c>) and
/// <c>num.partitions=2</c> is set on the command line, so DescribeConfigs has a static override to report.
/// </summary>
public sealed class AdminBrokerFixture : BrokerFixture
{
    public const int NumPartitionsOverride = 2;

    protected override IReadOnlyDictionary<string, string> Overrides { get; } = new Dictionary<string, string>
    {
        ["auto.create.topics.enable"] = "false",
        ["num.partitions"] = "2",
    };
}
