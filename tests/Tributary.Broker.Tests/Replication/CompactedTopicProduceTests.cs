using System.Collections.Immutable;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Broker.Metadata;
using Tributary.Broker.Replication;
using Tributary.Protocol;
using Tributary.Protocol.Records;
using Tributary.Storage;

namespace Tributary.Broker.Tests.Replication;

/// <summary>
/// A compacted topic keeps records by key, so the leader refuses a produced batch holding a record without one
/// (INVALID_RECORD with KIP-467 record errors), by the topic's current cleanup.policy, on a real log.
/// </summary>
public sealed class CompactedTopicProduceTests : IDisposable
{
    private const long Now = 1_700_000_000_000;
    private const int Self = 1;

    private readonly string _logDir = Path.Combine(Path.GetTempPath(), "tributary-compacted-produce-" + Guid.NewGuid().ToString("N"));
    private readonly Uuid _topicId = Uuid.NewRandom();
    private readonly LogManager _logs;
    private readonly ReplicaManager _replicas;
    private long _metadataOffset = 1;

    public CompactedTopicProduceTests()
    {
        _logs = LogManager.Open(new LogManagerOptions { LogDirs = [_logDir] });
        _replicas = new ReplicaManager(Self, _logs, t => new LogConfig
        {
            CleanupPolicy = t.Configs.GetValueOrDefault("cleanup.policy") switch
            {
                "compact" => CleanupPolicy.Compact,
                "compact,delete" => CleanupPolicy.Compact | CleanupPolicy.Delete,
                _ => CleanupPolicy.Delete,
            },
        }, _ => 1, NullLogger.Instance);
    }

    public void Dispose()
    {
        _replicas.Dispose();
        _logs.Close();
        try
        {
            Directory.Delete(_logDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void ApplyPolicy(string policy)
    {
        var topic = new TopicImage("table", _topicId, [new PartitionImage(0, [Self], Self, 0, [Self], 0)],
            ImmutableDictionary<string, string>.Empty.Add("cleanup.policy", policy));
        var brokers = ImmutableDictionary<int, BrokerRegistration>.Empty.Add(Self, new BrokerRegistration(Self, "127.0.0.1", 1, null, 1));
        var topics = ImmutableSortedDictionary<string, TopicImage>.Empty.WithComparers(StringComparer.Ordinal).Add(topic.Name, topic);
        _replicas.ApplyImage(new MetadataImage("cluster", 1, brokers, topics, _metadataOffset++));
    }

    private static byte[] Batch(params string?[] keys)
    {
        var builder = new RecordBatchBuilder();
        foreach (var key in keys)
        {
            builder.Append(Now, key is null ? null : Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes("value"));
        }

        return builder.Build();
    }

    private AppendOutcome Produce(byte[] batch) => _replicas.Append(_replicas.AppliedImage.Topics["table"], 0, batch, acks: 1, 30_000, CancellationToken.None).Outcome;

    [Theory]
    [InlineData("compact")]
    [InlineData("compact,delete")]
    public void A_batch_with_records_without_a_key_is_refused_naming_each_of_them(string policy)
    {
        ApplyPolicy(policy);

        var outcome = Produce(Batch("a", null, "c", null));

        Assert.Equal(ErrorCode.InvalidRecord, outcome.Error);
        Assert.Equal([1, 3], outcome.RecordErrors);
        Assert.Contains("compacted", outcome.RecordErrorMessage, StringComparison.Ordinal);
        Assert.Contains("table-0", outcome.Message, StringComparison.Ordinal);
        Assert.Equal(0, _replicas.TryGetPartition("table", 0, out var partition) ? partition.Log.LogEndOffset : -1);
    }

    [Fact]
    public void A_batch_where_every_record_has_a_key_is_appended_on_a_compacted_topic()
    {
        ApplyPolicy("compact");

        var outcome = Produce(Batch("a", "b"));

        Assert.Equal(ErrorCode.None, outcome.Error);
        Assert.Null(outcome.RecordErrors);
        Assert.Equal(2, outcome.NextOffset);
    }

    [Fact]
    public void Records_without_a_key_are_appended_on_a_delete_topic()
    {
        ApplyPolicy("delete");

        Assert.Equal(ErrorCode.None, Produce(Batch(null, null)).Error);
    }

    [Fact]
    public void A_topic_switched_to_compact_refuses_records_without_a_key_from_the_next_produce_on()
    {
        ApplyPolicy("delete");
        Assert.Equal(ErrorCode.None, Produce(Batch((string?)null)).Error);

        ApplyPolicy("compact");

        Assert.Equal(ErrorCode.InvalidRecord, Produce(Batch((string?)null)).Error);
    }
}
