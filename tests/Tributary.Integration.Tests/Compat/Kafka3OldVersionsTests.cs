using Tributary.Integration.Tests.Cluster;
using Tributary.Integration.Tests.Harness;
using Tributary.Protocol;
using Tributary.Protocol.Messages;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Compat;

/// <summary>
/// The old request versions Kafka 3.9 still serves, sent on the wire to a real broker: the broker answers them (instead
/// of closing the connection) with the version's own fields.
/// </summary>
public sealed class Kafka3OldVersionsTests : IClassFixture<DefaultBrokerFixture>, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;

    public Kafka3OldVersionsTests(DefaultBrokerFixture fixture, ITestOutputHelper output)
    {
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
    }

    public void Dispose() => broker.Log.Attach(null);

    private Task<T> SendAsync<T>(IRequestMessage request, short version)
        where T : class, IResponseMessage =>
        RawKafkaExchange.SendAsync<T>("127.0.0.1", broker.KafkaPort, request, version, Timeout);

    [Fact]
    public async Task ListOffsets_v0_answers_the_high_watermark_for_latest_and_the_log_start_for_earliest()
    {
        var topic = KafkaClients.UniqueTopic("v0-offsets");
        await clients.CreateTopicAsync(topic, partitions: 1);
        using (var producer = clients.CreateProducer())
        {
            KafkaClients.ProduceAll(producer, topic, KafkaClients.NumberedMessages(7, 1_700_000_000_000, 1), Timeout);
        }

        var response = await SendAsync<ListOffsetsResponse>(V0Lookup(topic, (-1, 1), (-2, 1), (-1, 10), (-3, 1)), version: 0);

        var answers = Assert.Single(response.Topics).Partitions;
        Assert.Equal(new short[] { 0, 0, 0, (short)ErrorCode.UnsupportedVersion }, answers.Select(a => a.ErrorCode));
        Assert.Equal([7L], answers[0].OldStyleOffsets);
        Assert.Equal([0L], answers[1].OldStyleOffsets);
        Assert.Equal([7L, 0L], answers[2].OldStyleOffsets); // the log end, then the one segment's base offset
    }

    [Fact]
    public async Task ListOffsets_v0_answers_unknown_topic_or_partition_for_a_missing_topic()
    {
        var response = await SendAsync<ListOffsetsResponse>(V0Lookup(KafkaClients.UniqueTopic("v0-missing"), (-1, 1)), version: 0);

        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, Assert.Single(Assert.Single(response.Topics).Partitions).ErrorCode);
    }

    [Fact]
    public async Task ListOffsets_refuses_a_special_timestamp_older_than_its_version_and_v9_answers_no_tiered_offset()
    {
        var topic = KafkaClients.UniqueTopic("v9-offsets");
        await clients.CreateTopicAsync(topic, partitions: 1);

        var v6 = await SendAsync<ListOffsetsResponse>(Lookup(topic, -3, -1), version: 6);
        var v9 = await SendAsync<ListOffsetsResponse>(Lookup(topic, -5, -3, -7), version: 9);

        Assert.Equal(new short[] { (short)ErrorCode.UnsupportedVersion, 0 }, v6.Topics[0].Partitions.Select(p => p.ErrorCode));
        var answers = v9.Topics[0].Partitions;
        Assert.Equal(new short[] { 0, 0, (short)ErrorCode.UnsupportedVersion }, answers.Select(p => p.ErrorCode));
        Assert.Equal((-1L, -1L, -1), (answers[0].Offset, answers[0].Timestamp, answers[0].LeaderEpoch));
    }

    [Fact]
    public async Task FindCoordinator_v6_finds_a_group_coordinator_and_no_share_coordinator()
    {
        var group = new FindCoordinatorRequest { KeyType = 0, CoordinatorKeys = ["v6-group-" + Guid.NewGuid().ToString("N")] };
        var share = new FindCoordinatorRequest { KeyType = 2, CoordinatorKeys = ["v6-share"] };

        var groupAnswer = Assert.Single((await SendAsync<FindCoordinatorResponse>(group, version: 6)).Coordinators);
        var shareAnswer = Assert.Single((await SendAsync<FindCoordinatorResponse>(share, version: 6)).Coordinators);
        var shareV4 = Assert.Single((await SendAsync<FindCoordinatorResponse>(share, version: 4)).Coordinators);

        Assert.Equal((0, BrokerProcess.NodeId, broker.KafkaPort), (groupAnswer.ErrorCode, groupAnswer.NodeId, groupAnswer.Port));
        Assert.Equal((short)ErrorCode.CoordinatorNotAvailable, shareAnswer.ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidRequest, shareV4.ErrorCode);
    }

    [Fact]
    public async Task InitProducerId_v5_allocates_an_idempotent_producer_id()
    {
        var response = await SendAsync<InitProducerIdResponse>(new InitProducerIdRequest { TransactionalId = null, TransactionTimeoutMs = 60_000 }, version: 5);

        Assert.Equal(0, response.ErrorCode);
        Assert.True(response.ProducerId >= 0, $"producer id {response.ProducerId}");
        Assert.Equal(0, response.ProducerEpoch);
    }

    [Fact]
    public async Task CreateTopics_v0_creates_and_DeleteTopics_v0_deletes()
    {
        var topic = KafkaClients.UniqueTopic("v0-create");
        var create = new CreateTopicsRequest
        {
            Topics = [new CreateTopicsRequest.CreatableTopic { Name = topic, NumPartitions = 2, ReplicationFactor = 1 }],
            TimeoutMs = 30_000,
        };

        var created = await SendAsync<CreateTopicsResponse>(create, version: 0);
        Assert.Equal(0, Assert.Single(created.Topics).ErrorCode);
        using (var admin = clients.CreateAdmin())
        {
            var metadata = admin.GetMetadata(topic, Timeout);
            Assert.Equal(2, Assert.Single(metadata.Topics).Partitions.Count);
        }

        var deleted = await SendAsync<DeleteTopicsResponse>(new DeleteTopicsRequest { TopicNames = [topic], TimeoutMs = 30_000 }, version: 0);
        Assert.Equal((topic, (short)0), (Assert.Single(deleted.Responses).Name, deleted.Responses[0].ErrorCode));
    }

    [Fact]
    public async Task CreateTopics_v1_validate_only_creates_nothing_and_reports_errors_with_a_message()
    {
        var topic = KafkaClients.UniqueTopic("v1-validate");
        var request = new CreateTopicsRequest
        {
            Topics =
            [
                new CreateTopicsRequest.CreatableTopic { Name = topic, NumPartitions = 1, ReplicationFactor = 1 },
                new CreateTopicsRequest.CreatableTopic { Name = topic + "-bad", NumPartitions = 1, ReplicationFactor = 1,
                    Configs = [new CreateTopicsRequest.CreatableTopicConfig { Name = "retention.ms", Value = "soon" }] },
            ],
            TimeoutMs = 30_000,
            ValidateOnly = true,
        };

        var response = await SendAsync<CreateTopicsResponse>(request, version: 1);

        Assert.Equal(0, response.Topics[0].ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidConfig, response.Topics[1].ErrorCode);
        Assert.Contains("retention.ms", response.Topics[1].ErrorMessage);
        using var admin = clients.CreateAdmin();
        Assert.DoesNotContain(admin.GetMetadata(Timeout).Topics, t => t.Topic == topic);
    }

    [Fact]
    public async Task DescribeConfigs_v0_marks_built_in_defaults_with_is_default_and_overrides_without()
    {
        var topic = KafkaClients.UniqueTopic("v0-describe");
        await clients.CreateTopicAsync(topic, partitions: 1, new Dictionary<string, string> { ["retention.ms"] = "3600000" });
        var request = new DescribeConfigsRequest
        {
            Resources = [new DescribeConfigsRequest.DescribeConfigsResource { ResourceType = 2, ResourceName = topic, ConfigurationKeys = ["retention.ms", "preallocate"] }],
        };

        var response = await SendAsync<DescribeConfigsResponse>(request, version: 0);

        var configs = Assert.Single(response.Results).Configs.ToDictionary(c => c.Name);
        Assert.Equal(("3600000", false), (configs["retention.ms"].Value, configs["retention.ms"].IsDefault));
        Assert.Equal(("false", true), (configs["preallocate"].Value, configs["preallocate"].IsDefault));
    }

    [Fact]
    public async Task DescribeLogDirs_v0_lists_the_partitions_of_a_topic()
    {
        var topic = KafkaClients.UniqueTopic("v0-logdirs");
        await clients.CreateTopicAsync(topic, partitions: 2);
        var request = new DescribeLogDirsRequest
        {
            Topics = [new DescribeLogDirsRequest.DescribableLogDirTopic { Topic = topic, Partitions = [0, 1] }],
        };

        var response = await SendAsync<DescribeLogDirsResponse>(request, version: 0);

        var dir = Assert.Single(response.Results);
        Assert.Equal(0, dir.ErrorCode);
        Assert.Equal([0, 1], Assert.Single(dir.Topics, t => t.Name == topic).Partitions.Select(p => p.PartitionIndex).Order());
    }

    [Fact]
    public async Task OffsetCommit_v9_and_OffsetFetch_v9_store_and_read_a_simple_groups_offsets()
    {
        var topic = KafkaClients.UniqueTopic("v9-commit");
        await clients.CreateTopicAsync(topic, partitions: 1);
        var group = "v9-group-" + Guid.NewGuid().ToString("N");

        var commit = await CommitAsync(group, topic, generation: -1, offset: 42, version: 9);
        var fetch = new OffsetFetchRequest
        {
            Groups =
            [
                new OffsetFetchRequest.OffsetFetchRequestGroup
                {
                    GroupId = group, MemberId = "not-a-member", MemberEpoch = 12,
                    Topics = [new OffsetFetchRequest.OffsetFetchRequestTopics { Name = topic, PartitionIndexes = [0] }],
                },
            ],
        };
        var fetched = Assert.Single((await SendAsync<OffsetFetchResponse>(fetch, version: 9)).Groups);

        Assert.Equal(0, commit);
        Assert.Equal(0, fetched.ErrorCode);
        var partition = Assert.Single(Assert.Single(fetched.Topics).Partitions);
        Assert.Equal((0, 42L, 5, "m"), ((int)partition.ErrorCode, partition.CommittedOffset, partition.CommittedLeaderEpoch, partition.Metadata));
    }

    [Fact]
    public async Task OffsetCommit_v9_names_a_missing_group_GROUP_ID_NOT_FOUND_where_v8_says_ILLEGAL_GENERATION()
    {
        var topic = KafkaClients.UniqueTopic("v9-missing");
        await clients.CreateTopicAsync(topic, partitions: 1);
        var group = "v9-missing-" + Guid.NewGuid().ToString("N");

        var v8 = await CommitAsync(group, topic, generation: 3, offset: 1, version: 8);
        var v9 = await CommitAsync(group, topic, generation: 3, offset: 1, version: 9);

        Assert.Equal(((short)ErrorCode.IllegalGeneration, (short)ErrorCode.GroupIdNotFound), (v8, v9));
    }

    [Fact]
    public async Task ListGroups_v5_reports_type_classic_and_filters_by_type_without_regard_to_case()
    {
        var topic = KafkaClients.UniqueTopic("v5-groups");
        await clients.CreateTopicAsync(topic, partitions: 1);
        var group = "v5-group-" + Guid.NewGuid().ToString("N");
        Assert.Equal(0, await CommitAsync(group, topic, generation: -1, offset: 1, version: 8));

        var all = await SendAsync<ListGroupsResponse>(new ListGroupsRequest(), version: 5);
        var classic = await SendAsync<ListGroupsResponse>(new ListGroupsRequest { TypesFilter = ["Classic"] }, version: 5);
        var consumer = await SendAsync<ListGroupsResponse>(new ListGroupsRequest { TypesFilter = ["consumer", "share"] }, version: 5);

        var listed = Assert.Single(all.Groups, g => g.GroupId == group);
        Assert.Equal(("classic", "Empty"), (listed.GroupType, listed.GroupState));
        Assert.Contains(classic.Groups, g => g.GroupId == group);
        Assert.Equal(0, consumer.ErrorCode);
        Assert.Empty(consumer.Groups);
    }

    [Fact]
    public async Task DescribeQuorum_v2_explains_an_unknown_partition_in_its_error_message()
    {
        var request = new DescribeQuorumRequest
        {
            Topics = [new DescribeQuorumRequest.TopicData { TopicName = "not-the-metadata-topic", Partitions = [new DescribeQuorumRequest.PartitionData { PartitionIndex = 0 }] }],
        };

        var response = await SendAsync<DescribeQuorumResponse>(request, version: 2);

        var partition = Assert.Single(Assert.Single(response.Topics).Partitions);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, partition.ErrorCode);
        Assert.False(string.IsNullOrEmpty(partition.ErrorMessage));
    }

    /// <summary>Commits one offset (leader epoch 5, metadata "m") to partition 0; retries while the coordinator loads.</summary>
    private async Task<short> CommitAsync(string group, string topic, int generation, long offset, short version)
    {
        var request = new OffsetCommitRequest
        {
            GroupId = group, GenerationIdOrMemberEpoch = generation, MemberId = generation < 0 ? "" : "m-1",
            Topics =
            [
                new OffsetCommitRequest.OffsetCommitRequestTopic
                {
                    Name = topic,
                    Partitions = [new OffsetCommitRequest.OffsetCommitRequestPartition { PartitionIndex = 0, CommittedOffset = offset, CommittedLeaderEpoch = 5, CommittedMetadata = "m" }],
                },
            ],
        };
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var response = await SendAsync<OffsetCommitResponse>(request, version);
            var error = Assert.Single(Assert.Single(response.Topics).Partitions).ErrorCode;
            if ((error != (short)ErrorCode.CoordinatorLoadInProgress && error != (short)ErrorCode.CoordinatorNotAvailable) || DateTime.UtcNow > deadline)
            {
                return error;
            }

            await Task.Delay(100);
        }
    }

    private static ListOffsetsRequest Lookup(string topic, params long[] timestamps) => new()
    {
        ReplicaId = -1,
        Topics =
        [
            new ListOffsetsRequest.ListOffsetsTopic
            {
                Name = topic,
                Partitions = timestamps.Select(t => new ListOffsetsRequest.ListOffsetsPartition { PartitionIndex = 0, Timestamp = t }).ToList(),
            },
        ],
    };

    private static ListOffsetsRequest V0Lookup(string topic, params (long Timestamp, int MaxNumOffsets)[] lookups) => new()
    {
        ReplicaId = -1,
        Topics =
        [
            new ListOffsetsRequest.ListOffsetsTopic
            {
                Name = topic,
                Partitions = lookups.Select(l => new ListOffsetsRequest.ListOffsetsPartition
                {
                    PartitionIndex = 0, Timestamp = l.Timestamp, MaxNumOffsets = l.MaxNumOffsets,
                }).ToList(),
            },
        ],
    };
}
