using System.Text.Json;
using Tributary.Operator.Api;
using Tributary.Operator.Kube;
using Tributary.Operator.Reconcilers;

namespace Tributary.Operator.Tests.Kube;

public class KubeApiTests
{
    [Fact]
    public void Status_patch_replaces_the_whole_status_and_writes_no_nulls()
    {
        var status = new BrokerStatus
        {
            ObservedGeneration = 3,
            ReadyReplicas = 0,
            Conditions = Conditions.Build(null, 3, DateTimeOffset.UnixEpoch, (false, "BrokersNotReady", "0/3"), (true, "BrokersNotReady", "0/3"), (false, "NoError", "")),
        };
        var body = KubeApi.StatusPatchBody(status);
        Assert.DoesNotContain("null", body, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(body);
        var op = Assert.Single(json.RootElement.EnumerateArray().ToArray());
        Assert.Equal("add", op.GetProperty("op").GetString());
        Assert.Equal("/status", op.GetProperty("path").GetString());
        Assert.Equal(3, op.GetProperty("value").GetProperty("observedGeneration").GetInt64());
        Assert.Equal("BrokersNotReady", op.GetProperty("value").GetProperty("conditions")[0].GetProperty("reason").GetString());
    }
}
