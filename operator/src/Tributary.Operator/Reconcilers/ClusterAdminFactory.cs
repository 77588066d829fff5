using Tributary.Operator.Kafka;

namespace Tributary.Operator.Reconcilers;

/// <summary>Opens an admin client on a set of broker addresses (a seam for tests that run brokers elsewhere).</summary>
public interface IClusterAdminFactory
{
    IClusterAdmin Create(IReadOnlyList<string> bootstrapAddresses);
}

/// <summary>Admin clients over our Kafka protocol client.</summary>
public sealed class ClusterAdminFactory(TimeSpan requestTimeout) : IClusterAdminFactory
{
    public IClusterAdmin Create(IReadOnlyList<string> bootstrapAddresses) => new ClusterAdmin(bootstrapAddresses, requestTimeout);
}
