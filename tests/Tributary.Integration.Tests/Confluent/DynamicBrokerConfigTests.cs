using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Integration.Tests.Cluster;
using Tributary.Integration.Tests.Harness;
using Tributary.Protocol.Messages;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Confluent;

/// <summary>A broker with a static <c>log.cleaner.delete.retention.ms</c>, so dynamic layers have a static value to shadow.</summary>
public sealed class DynamicConfigBrokerFixture : BrokerFixture
{
    public const string StaticDeleteRetentionMs = "7200000";

    protected override IReadOnlyDictionary<string, string> Overrides { get; } = new Dictionary<string, string>
    {
        ["log.cleaner.delete.retention.ms"] = StaticDeleteRetentionMs,
    };
}

/// <summary>
/// Dynamic broker configs (KIP-226) through Confluent.Kafka's AdminClient on one broker: IncrementalAlterConfigs and
/// DescribeConfigs on ResourceType.Broker with the broker's id and with "" (the cluster-wide default).
/// </summary>
public sealed class DynamicBrokerConfigTests : IClassFixture<DynamicConfigBrokerFixture>, IDisposable
{
    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;

    public DynamicBrokerConfigTests(DynamicConfigBrokerFixture fixture, ITestOutputHelper output)
    {
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
    }

    public void Dispose() => broker.Log.Attach(null);

    private static ConfigResource ThisBroker => new() { Type = ResourceType.Broker, Name = BrokerProcess.NodeId.ToString(CultureInfo.InvariantCulture) };

    [Fact]
    public async Task Cluster_default_then_per_broker_value_shadow_the_static_one_in_kafkas_precedence()
    {
        const string key = "log.cleaner.delete.retention.ms";
        using var admin = clients.CreateAdmin();
        try
        {
            await ClusterDefaultConfigs.SetAsync(broker, key, "3600000");
            var afterDefault = await DescribeAsync(admin, ThisBroker, key);
            Assert.Equal(("3600000", ConfigSource.DynamicDefaultBrokerConfig), (afterDefault.Value, afterDefault.Source));

            await SetAsync(admin, ThisBroker, key, "1800000");
            var afterBroker = await DescribeAsync(admin, ThisBroker, key);
            Assert.Equal(("1800000", ConfigSource.DynamicBrokerConfig), (afterBroker.Value, afterBroker.Source));
            Assert.Equal(
                [(ConfigSource.DynamicBrokerConfig, "1800000"), (ConfigSource.DynamicDefaultBrokerConfig, "3600000"),
                 (ConfigSource.StaticBrokerConfig, DynamicConfigBrokerFixture.StaticDeleteRetentionMs), (ConfigSource.DefaultConfig, "86400000")],
                afterBroker.Synonyms.Select(s => (s.Source, s.Value)));
            Assert.False(afterBroker.IsReadOnly);

            var defaults = await ClusterDefaultConfigs.DescribeAsync("127.0.0.1", broker.KafkaPort);
            var listed = Assert.Single(defaults.Configs);
            Assert.Equal((key, "3600000", (sbyte)ConfigSource.DynamicDefaultBrokerConfig), (listed.Name, listed.Value, listed.ConfigSource));
        }
        finally
        {
            await DeleteAsync(admin, ThisBroker, key);
            await ClusterDefaultConfigs.SetAsync(broker, key, null);
        }

        var restored = await DescribeAsync(admin, ThisBroker, key);
        Assert.Equal((DynamicConfigBrokerFixture.StaticDeleteRetentionMs, ConfigSource.StaticBrokerConfig), (restored.Value, restored.Source));
    }

    [Fact]
    public async Task Cluster_default_retention_flows_into_a_topic_without_an_override()
    {
        var topic = KafkaClients.UniqueTopic("dynamic-default");
        await clients.CreateTopicAsync(topic, 1);
        using var admin = clients.CreateAdmin();
        var topicResource = new ConfigResource { Type = ResourceType.Topic, Name = topic };
        try
        {
            await ClusterDefaultConfigs.SetAsync(broker, "log.retention.ms", "5400000");

            var retention = await DescribeAsync(admin, topicResource, "retention.ms");
            Assert.Equal(("5400000", ConfigSource.DynamicDefaultBrokerConfig), (retention.Value, retention.Source));
        }
        finally
        {
            await ClusterDefaultConfigs.SetAsync(broker, "log.retention.ms", null);
        }

        Assert.Equal("604800000", (await DescribeAsync(admin, topicResource, "retention.ms")).Value);
    }

    [Fact]
    public async Task A_key_the_broker_cannot_change_live_fails_its_resource_with_invalid_request_and_the_other_resource_succeeds()
    {
        using var admin = clients.CreateAdmin();
        try
        {
            var results = await ClusterDefaultConfigs.AlterAsync("127.0.0.1", broker.KafkaPort, false,
                ClusterDefaultConfigs.Resource(ThisBroker.Name, ("listeners", "PLAINTEXT://127.0.0.1:1"), ("log.retention.bytes", "1000000")),
                ClusterDefaultConfigs.Resource("", ("log.segment.bytes", "2000000")));

            var refused = results.Single(r => r.ResourceName.Length > 0);
            Assert.Equal((short)ErrorCode.InvalidRequest, refused.ErrorCode);
            Assert.Contains("Cannot update these configs dynamically: listeners", refused.ErrorMessage);
            Assert.Equal(0, results.Single(r => r.ResourceName.Length == 0).ErrorCode);
            Assert.Equal(ConfigSource.DefaultConfig, (await DescribeAsync(admin, ThisBroker, "log.retention.bytes")).Source);
            Assert.Equal(("2000000", ConfigSource.DynamicDefaultBrokerConfig),
                ((await DescribeAsync(admin, ThisBroker, "log.segment.bytes")).Value, (await DescribeAsync(admin, ThisBroker, "log.segment.bytes")).Source));
            Assert.True((await DescribeAsync(admin, ThisBroker, "listeners")).IsReadOnly);
        }
        finally
        {
            await ClusterDefaultConfigs.SetAsync(broker, "log.segment.bytes", null);
        }
    }

    [Fact]
    public async Task Validate_only_checks_without_applying()
    {
        using var admin = clients.CreateAdmin();

        await admin.IncrementalAlterConfigsAsync(
            new Dictionary<ConfigResource, List<ConfigEntry>> { [ThisBroker] = [Set("min.insync.replicas", "2")] },
            new IncrementalAlterConfigsOptions { ValidateOnly = true, RequestTimeout = KafkaClients.AdminTimeout });
        var invalid = await Assert.ThrowsAsync<IncrementalAlterConfigsException>(() => admin.IncrementalAlterConfigsAsync(
            new Dictionary<ConfigResource, List<ConfigEntry>> { [ThisBroker] = [Set("min.insync.replicas", "0")] },
            new IncrementalAlterConfigsOptions { ValidateOnly = true, RequestTimeout = KafkaClients.AdminTimeout }));

        Assert.Equal(ErrorCode.InvalidRequest, invalid.Results.Single().Error.Code);
        var entry = await DescribeAsync(admin, ThisBroker, "min.insync.replicas");
        Assert.Equal(("1", ConfigSource.DefaultConfig), (entry.Value, entry.Source));
    }

    private static ConfigEntry Set(string name, string value) => new() { Name = name, Value = value, IncrementalOperation = AlterConfigOpType.Set };

    private static Task SetAsync(IAdminClient admin, ConfigResource resource, string name, string value) =>
        admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>> { [resource] = [Set(name, value)] },
            new IncrementalAlterConfigsOptions { RequestTimeout = KafkaClients.AdminTimeout });

    private static Task DeleteAsync(IAdminClient admin, ConfigResource resource, string name) =>
        admin.IncrementalAlterConfigsAsync(
            new Dictionary<ConfigResource, List<ConfigEntry>> { [resource] = [new ConfigEntry { Name = name, IncrementalOperation = AlterConfigOpType.Delete }] },
            new IncrementalAlterConfigsOptions { RequestTimeout = KafkaClients.AdminTimeout });

    private static async Task<ConfigEntryResult> DescribeAsync(IAdminClient admin, ConfigResource resource, string key) =>
        (await DescribeAllAsync(admin, resource))[key];

    private static async Task<Dictionary<string, ConfigEntryResult>> DescribeAllAsync(IAdminClient admin, ConfigResource resource)
    {
        var described = await admin.DescribeConfigsAsync([resource],
            new DescribeConfigsOptions { RequestTimeout = KafkaClients.AdminTimeout });
        return described.Single().Entries;
    }
}

/// <summary>
/// IncrementalAlterConfigs / DescribeConfigs on the broker resource "" (the cluster-wide default), which Confluent.Kafka's
/// .NET AdminClient refuses to send ("Resource must be specified"); Kafka's own kafka-configs --entity-default sends these.
/// </summary>
internal static class ClusterDefaultConfigs
{
    private const sbyte BrokerResourceType = 4;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    /// <summary>One resource of an IncrementalAlterConfigs v1 request: key → value, or null to delete the key.</summary>
    public static IncrementalAlterConfigsRequest.AlterConfigsResource Resource(string name, params (string Key, string? Value)[] changes)
    {
        var resource = new IncrementalAlterConfigsRequest.AlterConfigsResource { ResourceType = BrokerResourceType, ResourceName = name };
        foreach (var (key, value) in changes)
        {
            resource.Configs.Add(new IncrementalAlterConfigsRequest.AlterableConfig { Name = key, Value = value, ConfigOperation = (sbyte)(value is null ? 1 : 0) });
        }

        return resource;
    }

    public static async Task<IReadOnlyList<IncrementalAlterConfigsResponse.AlterConfigsResourceResponse>> AlterAsync(
        string host, int port, bool validateOnly, params IncrementalAlterConfigsRequest.AlterConfigsResource[] resources)
    {
        var request = new IncrementalAlterConfigsRequest { ValidateOnly = validateOnly };
        request.Resources.AddRange(resources);
        var response = await RawKafkaExchange.SendAsync<IncrementalAlterConfigsResponse>(host, port, request, 1, Timeout);
        return response.Responses;
    }

    /// <summary>Sets (or with a null value deletes) one cluster-wide default and fails on any error.</summary>
    public static Task SetAsync(BrokerProcess broker, string key, string? value) => SetAsync("127.0.0.1", broker.KafkaPort, key, value);

    public static async Task SetAsync(string host, int port, string key, string? value)
    {
        var result = (await AlterAsync(host, port, false, Resource("", (key, value)))).Single();
        Assert.True(result.ErrorCode == 0, $"Setting the cluster default {key}={value}: error {result.ErrorCode} {result.ErrorMessage}");
    }

    /// <summary>DescribeConfigs v4 with synonyms of one resource (a broker resource by default; "" = the cluster defaults).</summary>
    public static async Task<DescribeConfigsResponse.DescribeConfigsResult> DescribeAsync(string host, int port, string resourceName = "",
        sbyte resourceType = BrokerResourceType)
    {
        var request = new DescribeConfigsRequest { IncludeSynonyms = true };
        request.Resources.Add(new DescribeConfigsRequest.DescribeConfigsResource { ResourceType = resourceType, ResourceName = resourceName });
        var response = await RawKafkaExchange.SendAsync<DescribeConfigsResponse>(host, port, request, 4, Timeout);
        return response.Results.Single();
    }
}
