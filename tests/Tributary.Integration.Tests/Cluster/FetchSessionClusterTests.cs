using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Integration.Tests.Harness;
using Tributary.Protocol;
using Tributary.Protocol.Messages;
using Xunit.Abstractions;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Uuid = Tributary.Protocol.Uuid;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>
/// Incremental fetch sessions (KIP-227) on a real 3-broker cluster: followers fetch over one session per leader, consumers
/// read through sessions, and a session the broker does not know is refused and replaced by a full fetch.
/// </summary>
public sealed class FetchSessionClusterTests(ITestOutputHelper output)
{
    private const string Sessions = "kafka_server_fetchsessioncache_numincrementalfetchsessions";
    private const string PartitionsCached = "kafka_server_fetchsessioncache_numincrementalfetchpartitionscached";
    private const string FollowerFetches = "tributary_replica_fetch_requests_total";
    private const string FollowerResponsePartitions = "tributary_replica_fetch_response_partitions_total";
    private const short FetchVersion = 15;

    /// <summary>KIP-227: a full fetch that asks for a new session.</summary>
    private const int InitialEpoch = 0;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Follower_sessions_keep_isr_and_high_watermark_advancing_with_1000_idle_partitions()
    {
        await using var cluster = await ClusterProcess.StartAsync(output);
        var clients = new ClusterClients(cluster);
        await CreateIdleTopicsAsync(clients, ClusterSteps.UniqueTopic("idle")[..12], topics: 250, partitionsEach: 4);

        var topic = ClusterSteps.UniqueTopic("sess-data");
        await clients.CreateTopicAsync(topic, 3, replicationFactor: 3);
        // Every broker leads some of the 1,003 partitions and follows the rest from the two others: 2 follower sessions per
        // broker, each holding the partitions that broker leads, together 2 × 1,003 partitions.
        var sessions = await Eventually.ValueAsync(
            async () => (Sessions: await ClusterSteps.SumOverLiveBrokersAsync(cluster, Sessions),
                Cached: await ClusterSteps.SumOverLiveBrokersAsync(cluster, PartitionsCached)),
            s => s.Sessions >= 6 && s.Cached >= 2 * 1003, Timeout);
        Assert.True(sessions.Sessions >= 6 && sessions.Cached >= 2 * 1003,
            $"follower sessions {sessions.Sessions} (want ≥ 6), partitions cached {sessions.Cached} (want ≥ {2 * 1003})");

        var before = await FollowerFetchCountersAsync(cluster);
        using (var producer = clients.CreateProducer())
        {
            var errors = ClusterClients.ProduceAndWait(producer, topic, ClusterClients.SequenceKeys("k", 0, 300), Timeout);
            Assert.All(errors, e => Assert.Equal(ErrorCode.NoError, e));
        }

        var after = await FollowerFetchCountersAsync(cluster);
        var fetches = after.Fetches - before.Fetches;
        var perFetch = (after.ResponsePartitions - before.ResponsePartitions) / fetches;
        output.WriteLine($"{fetches} follower fetches while producing, {perFetch:0.0} partitions per response");

        // acks=all succeeded, so the high watermark passed every record; the followers stay in the ISR.
        Assert.Equal(300, clients.ReadAll(topic, 3, Timeout).Select(r => r.Key).Distinct().Count());
        for (var p = 0; p < 3; p++)
        {
            await clients.WaitForPartitionAsync(topic, p, s => s.Isr.Count == 3, Timeout);
        }

        // A full follower fetch would answer the ~334 partitions each leader leads; incremental ones answer what changed.
        Assert.True(fetches > 0);
        Assert.True(perFetch < 20, $"{perFetch:0.0} partitions per follower fetch response");
    }

    [Fact]
    public async Task Consumer_group_reads_every_record_exactly_once_with_fetch_sessions_on()
    {
        await using var cluster = await ClusterProcess.StartAsync(output);
        var clients = new ClusterClients(cluster);
        var topic = ClusterSteps.UniqueTopic("sess-group");
        await clients.CreateTopicAsync(topic, 6, replicationFactor: 3);
        var keys = ClusterClients.SequenceKeys("g", 0, 3000);
        using (var producer = clients.CreateProducer())
        {
            Assert.All(ClusterClients.ProduceAndWait(producer, topic, keys, Timeout), e => Assert.Equal(ErrorCode.NoError, e));
        }

        var config = clients.ConsumerConfig();
        config.GroupId = ClusterSteps.UniqueTopic("sess-group");
        config.AutoOffsetReset = AutoOffsetReset.Earliest;
        config.EnablePartitionEof = false;
        var seen = new List<(string Key, int Partition, long Offset)>();
        using (var first = clients.CreateConsumer(config))
        using (var second = clients.CreateConsumer(config))
        {
            first.Subscribe(topic);
            second.Subscribe(topic);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (seen.Count < keys.Count && clock.Elapsed < Timeout)
            {
                foreach (var consumer in new[] { first, second })
                {
                    if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message: not null } r)
                    {
                        seen.Add((r.Message.Key, r.Partition.Value, r.Offset.Value));
                    }
                }
            }

            // Anything more (a duplicate) would arrive within another fetch round.
            foreach (var consumer in new[] { first, second })
            {
                if (consumer.Consume(TimeSpan.FromSeconds(1)) is { Message: not null } extra)
                {
                    seen.Add((extra.Message.Key, extra.Partition.Value, extra.Offset.Value));
                }
            }
        }

        output.WriteLine($"consumer sessions seen by the brokers: {await ClusterSteps.SumOverLiveBrokersAsync(cluster, Sessions)}");
        Assert.Equal(keys.Count, seen.Count);
        Assert.Equal(keys.Order(), seen.Select(s => s.Key).Order());
        Assert.Equal(seen.Count, seen.Select(s => (s.Partition, s.Offset)).Distinct().Count());
    }

    [Fact]
    public async Task A_consumer_session_answers_new_records_and_leaves_out_unchanged_partitions()
    {
        await using var cluster = await ClusterProcess.StartAsync(output, new ClusterOptions { Brokers = 1 });
        var clients = new ClusterClients(cluster);
        var topic = ClusterSteps.UniqueTopic("sess-raw");
        await clients.CreateTopicAsync(topic, 2, replicationFactor: 1);
        var broker = cluster.Brokers.Single();
        var topicId = await TopicIdAsync(broker, topic);

        var full = await FetchAsync(broker, 0, InitialEpoch, topicId, [(0, 0L), (1, 0L)]);
        Assert.NotEqual(0, full.SessionId);
        Assert.Equal(2, full.Responses.Sum(t => t.Partitions.Count));

        using (var producer = clients.CreateProducer())
        {
            Assert.All(ClusterClients.ProduceAndWait(producer, topic, ["only-p1"], Timeout), e => Assert.Equal(ErrorCode.NoError, e));
        }

        var partitionOfRecord = clients.ReadAll(topic, 2, Timeout).Single().Partition;
        var incremental = await FetchAsync(broker, full.SessionId, 1, topicId, []);

        var answered = Assert.Single(incremental.Responses.SelectMany(t => t.Partitions));
        Assert.Equal(partitionOfRecord, answered.PartitionIndex);
        Assert.Equal(1, answered.HighWatermark);
        Assert.False(answered.Records!.Value.IsEmpty);
        Assert.Equal(full.SessionId, incremental.SessionId);
    }

    [Fact]
    public async Task An_incremental_fetch_naming_an_unknown_session_is_refused_with_FETCH_SESSION_ID_NOT_FOUND()
    {
        await using var cluster = await ClusterProcess.StartAsync(output, new ClusterOptions { Brokers = 1 });
        var clients = new ClusterClients(cluster);
        var topic = ClusterSteps.UniqueTopic("sess-unknown");
        await clients.CreateTopicAsync(topic, 1, replicationFactor: 1);
        var broker = cluster.Brokers.Single();
        var topicId = await TopicIdAsync(broker, topic);

        var refused = await FetchAsync(broker, 123_456, 1, topicId, [(0, 0L)]);

        Assert.Equal((short)Tributary.Protocol.ErrorCode.FetchSessionIdNotFound, refused.ErrorCode);
        Assert.Equal(0, refused.SessionId);
        Assert.Empty(refused.Responses);
    }

    private static async Task<FetchResponse> FetchAsync(ClusterBroker broker, int sessionId, int epoch, Uuid topicId, IReadOnlyList<(int Partition, long Offset)> partitions)
    {
        var request = new FetchRequest
        {
            MaxWaitMs = 0,
            MinBytes = 0,
            SessionId = sessionId,
            SessionEpoch = epoch,
        };
        if (partitions.Count > 0)
        {
            request.Topics.Add(new FetchRequest.FetchTopic
            {
                TopicId = topicId,
                Partitions = [.. partitions.Select(p => new FetchRequest.FetchPartition { Partition = p.Partition, FetchOffset = p.Offset, PartitionMaxBytes = 1 << 20 })],
            });
        }

        return await RawKafkaExchange.SendAsync<FetchResponse>(broker, request, FetchVersion);
    }

    private static async Task<(double Fetches, double ResponsePartitions)> FollowerFetchCountersAsync(ClusterProcess cluster) =>
        ((await ClusterSteps.SumOverLiveBrokersAsync(cluster, FollowerFetches)) ?? 0,
            (await ClusterSteps.SumOverLiveBrokersAsync(cluster, FollowerResponsePartitions)) ?? 0);

    /// <summary>
    /// Creates RF=3 topics in requests of 25 (100 partitions), so no one controller operation outlasts the harness's short
    /// controller.quorum.request.timeout.ms on a loaded machine; a topic whose request timed out is asked for again.
    /// </summary>
    private static async Task CreateIdleTopicsAsync(ClusterClients clients, string prefix, int topics, int partitionsEach)
    {
        using var admin = clients.CreateAdmin();
        var pending = Enumerable.Range(0, topics).Select(i => $"{prefix}-{i:D3}").ToList();
        for (var attempt = 0; pending.Count > 0; attempt++)
        {
            Assert.True(attempt < 10, $"{pending.Count} idle topics still not created, e.g. {pending[0]}");
            var failed = new List<string>();
            foreach (var batch in pending.Chunk(25))
            {
                try
                {
                    await admin.CreateTopicsAsync(
                        batch.Select(name => new TopicSpecification { Name = name, NumPartitions = partitionsEach, ReplicationFactor = 3 }),
                        new CreateTopicsOptions { RequestTimeout = Timeout, OperationTimeout = Timeout });
                }
                catch (CreateTopicsException e)
                {
                    failed.AddRange(e.Results.Where(r => r.Error.IsError && r.Error.Code != ErrorCode.TopicAlreadyExists).Select(r => r.Topic));
                }
            }

            pending = failed;
        }
    }

    private static async Task<Uuid> TopicIdAsync(ClusterBroker broker, string topic) =>
        (await RawKafkaExchange.SendAsync<MetadataResponse>(broker,
            new MetadataRequest { Topics = [new MetadataRequest.MetadataRequestTopic { Name = topic }] }, 12)).Topics.Single().TopicId;
}
