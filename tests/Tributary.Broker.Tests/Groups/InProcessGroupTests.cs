using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Broker.Config;
using Tributary.Broker.Metrics;
using Tributary.Broker.Requests;
using Tributary.Protocol;
using Tributary.Protocol.Messages;
using Tributary.Tests.Shared;

namespace Tributary.Broker.Tests.Groups;

/// <summary>The real broker in-process (real logs, real __consumer_offsets), driven through the request dispatcher.</summary>
public sealed class InProcessGroupTests : IDisposable
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "tributary-groups-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dataDir))
        {
            Directory.Delete(_dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task A_member_joins_commits_and_after_a_broker_restart_its_offsets_and_generation_are_still_there()
    {
        JoinGroupResponse joined;
        await using (var broker = await StartAsync())
        {
            await CallAsync(broker, new CreateTopicsRequest
            {
                Topics = { new CreateTopicsRequest.CreatableTopic { Name = "t", NumPartitions = 2, ReplicationFactor = 1 } },
            }, CreateTopicsRequest.ApiKey, 5);
            var coordinator = (FindCoordinatorResponse)await CallAsync(broker, new FindCoordinatorRequest { KeyType = 0, CoordinatorKeys = { "g" } },
                FindCoordinatorRequest.ApiKey, 4);
            Assert.Equal((short)ErrorCode.None, Assert.Single(coordinator.Coordinators).ErrorCode);
            await WaitUntilLoadedAsync(broker);

            var required = (JoinGroupResponse)await CallAsync(broker, Join(""), JoinGroupRequest.ApiKey, 7);
            Assert.Equal((short)ErrorCode.MemberIdRequired, required.ErrorCode);
            joined = (JoinGroupResponse)await CallAsync(broker, Join(required.MemberId), JoinGroupRequest.ApiKey, 7);
            Assert.Equal((short)ErrorCode.None, joined.ErrorCode);
            var synced = (SyncGroupResponse)await CallAsync(broker, new SyncGroupRequest
            {
                GroupId = "g",
                GenerationId = joined.GenerationId,
                MemberId = joined.MemberId,
                Assignments = { new SyncGroupRequest.SyncGroupRequestAssignment { MemberId = joined.MemberId, Assignment = [5] } },
            }, SyncGroupRequest.ApiKey, 5);
            Assert.Equal(new byte[] { 5 }, synced.Assignment);

            var committed = (OffsetCommitResponse)await CallAsync(broker, new OffsetCommitRequest
            {
                GroupId = "g",
                GenerationIdOrMemberEpoch = joined.GenerationId,
                MemberId = joined.MemberId,
                Topics =
                {
                    new OffsetCommitRequest.OffsetCommitRequestTopic
                    {
                        Name = "t",
                        Partitions = { new OffsetCommitRequest.OffsetCommitRequestPartition { PartitionIndex = 1, CommittedOffset = 17, CommittedMetadata = "m" } },
                    },
                    new OffsetCommitRequest.OffsetCommitRequestTopic
                    {
                        Name = "missing",
                        Partitions = { new OffsetCommitRequest.OffsetCommitRequestPartition { PartitionIndex = 0, CommittedOffset = 1 } },
                    },
                },
            }, OffsetCommitRequest.ApiKey, 8);
            Assert.Equal((short)ErrorCode.None, committed.Topics[0].Partitions[0].ErrorCode);
            Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, committed.Topics[1].Partitions[0].ErrorCode);
        }

        await using (var restarted = await StartAsync())
        {
            await WaitUntilLoadedAsync(restarted);
            var fetched = (OffsetFetchResponse)await CallAsync(restarted, new OffsetFetchRequest
            {
                Groups = { new OffsetFetchRequest.OffsetFetchRequestGroup { GroupId = "g", Topics = null } },
            }, OffsetFetchRequest.ApiKey, 8);
            var partition = Assert.Single(Assert.Single(Assert.Single(fetched.Groups).Topics).Partitions);
            Assert.Equal((1, 17L, "m"), (partition.PartitionIndex, partition.CommittedOffset, partition.Metadata));

            var heartbeat = (HeartbeatResponse)await CallAsync(restarted, new HeartbeatRequest
            {
                GroupId = "g", GenerationId = joined.GenerationId, MemberId = joined.MemberId,
            }, HeartbeatRequest.ApiKey, 4);
            Assert.Equal((short)ErrorCode.None, heartbeat.ErrorCode);

            var described = (DescribeGroupsResponse)await CallAsync(restarted, new DescribeGroupsRequest { Groups = { "g" } },
                DescribeGroupsRequest.ApiKey, 5);
            Assert.Equal("Stable", Assert.Single(described.Groups).GroupState);
            Assert.Equal(new byte[] { 5 }, Assert.Single(described.Groups[0].Members).MemberAssignment);
        }
    }

    [Fact]
    public async Task FindCoordinator_answers_coordinator_not_available_while_fewer_brokers_than_the_offsets_topic_replication_factor()
    {
        await using var broker = await StartAsync(offsetsReplicationFactor: 3);

        var response = (FindCoordinatorResponse)await CallAsync(broker, new FindCoordinatorRequest { KeyType = 0, Key = "g" },
            FindCoordinatorRequest.ApiKey, 3);

        Assert.Equal((short)ErrorCode.CoordinatorNotAvailable, response.ErrorCode);
        Assert.DoesNotContain(Directory.EnumerateDirectories(_dataDir), d => Path.GetFileName(d).StartsWith("__consumer_offsets-", StringComparison.Ordinal));
    }

    /// <summary>A new leader loads its groups in the background (COORDINATOR_LOAD_IN_PROGRESS meanwhile), as clients expect.</summary>
    private static async Task WaitUntilLoadedAsync(RunningBroker broker)
    {
        var error = await Eventually.ValueAsync(
            async () =>
            {
                var described = (DescribeGroupsResponse)await CallAsync(broker, new DescribeGroupsRequest { Groups = { "g" } }, DescribeGroupsRequest.ApiKey, 5);
                return (ErrorCode)Assert.Single(described.Groups).ErrorCode;
            },
            answered => answered is not (ErrorCode.CoordinatorLoadInProgress or ErrorCode.NotCoordinator),
            TimeSpan.FromSeconds(10),
            TimeSpan.FromMilliseconds(20));

        Assert.True(error == ErrorCode.None, $"the coordinator answered {error}");
    }

    private static JoinGroupRequest Join(string memberId) => new()
    {
        GroupId = "g",
        SessionTimeoutMs = 10_000,
        RebalanceTimeoutMs = 10_000,
        MemberId = memberId,
        ProtocolType = "consumer",
        Protocols = { new JoinGroupRequest.JoinGroupRequestProtocol { Name = "range", Metadata = CoordinatorFixture.Subscription("t") } },
    };

    private async Task<RunningBroker> StartAsync(int offsetsReplicationFactor = 1)
    {
        var config = BrokerConfig.FromProperties(new Dictionary<string, string>
        {
            ["node.id"] = "1",
            ["log.dirs"] = _dataDir,
            ["listeners"] = "PLAINTEXT://127.0.0.1:9092",
            ["advertised.listeners"] = "PLAINTEXT://127.0.0.1:9092",
            ["group.initial.rebalance.delay.ms"] = "0",
            ["offsets.topic.num.partitions"] = "3",
            ["offsets.topic.replication.factor"] = offsetsReplicationFactor.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        // A meter factory of its own, as each broker host has: a process-wide meter would show this broker's gauges on the
        // /metrics of the exporter tests running in parallel.
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new BrokerMetrics(services.GetRequiredService<IMeterFactory>());
        var server = new BrokerServer(config, metrics, NullLoggerFactory.Instance);
        await server.StartAsync(CancellationToken.None);
        await server.WhenReady.WaitAsync(TimeSpan.FromSeconds(30));
        return new RunningBroker(server, metrics, services);
    }

    private static async Task<IResponseMessage> CallAsync(RunningBroker broker, IRequestMessage request, short apiKey, short version)
    {
        var context = new RequestContext(new RequestHeader(apiKey, version, 1, "test-client"), new ClientSession("c1", "127.0.0.1:1"), "test");
        var response = await broker.Server.Dispatcher.HandleAsync(context, request, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        return response ?? throw new InvalidOperationException("no response");
    }

    private sealed record RunningBroker(BrokerServer Server, BrokerMetrics Metrics, ServiceProvider Services) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Server.StopAsync(CancellationToken.None);
            Metrics.Dispose();
            await Services.DisposeAsync();
        }
    }
}
