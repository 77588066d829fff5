using k8s.Models;
using Tributary.Operator.Api;

namespace Tributary.Operator.Tests.Model;

internal static class TestBrokers
{
    public static Broker Named(string name = "c", int replicas = 3, string ns = "ns", Dictionary<string, string>? config = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Uid = "0f8fad5b-d9cb-469f-a165-70867728950e", Generation = 1 },
        Spec = new BrokerSpec { Replicas = replicas, Config = config ?? [] },
    };
}
