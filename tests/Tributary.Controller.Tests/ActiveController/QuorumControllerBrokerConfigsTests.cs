using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Controller.Tests.ActiveController;

public sealed class QuorumControllerBrokerConfigsTests
{
    private static ReplaceBrokerConfigsCommand Replace(string resource, Dictionary<string, string> configs, bool validateOnly = false) =>
        new(resource, configs, validateOnly);

    [Fact]
    public async Task Replacing_a_brokers_dynamic_configs_writes_only_the_differences_as_broker_config_records()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1);
        await cluster.SendAsync(Replace("1", new() { ["log.retention.ms"] = "1000", ["log.segment.bytes"] = "2048" }));
        var before = cluster.Log.Batches.Count;

        var reply = await cluster.SendAsync(Replace("1", new() { ["log.retention.ms"] = "1000", ["min.insync.replicas"] = "2" }));

        Assert.Equal(ErrorCode.None, reply.Error);
        var written = cluster.Log.Batches.Skip(before).SelectMany(b => b.Records).OfType<ConfigRecord>().ToList();
        Assert.Equal([("log.segment.bytes", (string?)null), ("min.insync.replicas", "2")], written.Select(r => (r.Name, r.Value)).Order());
        Assert.All(written, r => Assert.Equal((MetadataApplier.BrokerResourceType, "1"), (r.ResourceType, r.ResourceName)));
        Assert.Equal(new Dictionary<string, string> { ["log.retention.ms"] = "1000", ["min.insync.replicas"] = "2" }, cluster.Image.BrokerConfigsOf("1"));
    }

    [Fact]
    public async Task The_cluster_default_is_the_empty_resource_name_and_validate_only_writes_nothing()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1);

        var validated = await cluster.SendAsync(Replace("", new() { ["log.retention.ms"] = "1000" }, validateOnly: true));
        Assert.Equal(ErrorCode.None, validated.Error);
        Assert.Empty(cluster.Image.BrokerConfigs);

        await cluster.SendAsync(Replace("", new() { ["log.retention.ms"] = "1000" }));
        Assert.Equal("1000", cluster.Image.BrokerConfigsOf("")["log.retention.ms"]);
    }

    [Fact]
    public async Task A_broker_resource_name_that_is_not_a_non_negative_number_is_an_invalid_request()
    {
        await using var cluster = await ControllerFixture.StartAsync();

        var reply = await cluster.SendAsync(Replace("-1", new() { ["log.retention.ms"] = "1000" }));

        Assert.Equal(ErrorCode.InvalidRequest, reply.Error);
        Assert.Empty(cluster.Image.BrokerConfigs);
    }
}
