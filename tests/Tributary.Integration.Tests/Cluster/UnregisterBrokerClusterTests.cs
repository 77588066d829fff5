using Tributary.Protocol.Messages;
using Xunit.Abstractions;
using WireError = Tributary.Protocol.ErrorCode;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>
/// UnregisterBroker (KIP-856) against real broker processes: after a broker's replicas moved away and it stopped, any
/// broker forwards the request to the active controller, which removes the registration; the broker then no longer
/// counts as registered (fenced-broker gauge) and DescribeCluster does not list it. Raw frames, because no client we
/// ship implements UnregisterBroker.
/// </summary>
public sealed class UnregisterBrokerClusterTests(ITestOutputHelper output)
{
    private const string FencedBrokers = "kafka_controller_kafkacontroller_fencedbrokercount";

    private static readonly TimeSpan StateTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_stopped_broker_without_replicas_is_unregistered_and_no_longer_listed_and_a_second_attempt_is_refused()
    {
        await using var cluster = await ClusterProcess.StartAsync(output, new ClusterOptions { Brokers = 4, Voters = 3 });
        var clients = new ClusterClients(cluster);
        var topic = ClusterSteps.UniqueTopic("unregister");
        await ClusterSteps.CreatePlacedTopicAsync(clients, topic, [4, 1]);
        var asked = cluster.Broker(1);

        var hostingRefused = await Unregister(asked, 4);
        var alter = await RawKafkaExchange.SendAsync<AlterPartitionReassignmentsResponse>(asked, Reassign(topic, [1, 2]), version: 0);
        await Eventually.ValueAsync(
            () => RawKafkaExchange.SendAsync<ListPartitionReassignmentsResponse>(asked, ListReassignments(topic), version: 0),
            r => r.Topics.Count == 0,
            StateTimeout);
        await cluster.Broker(4).StopAsync();
        var fencedBefore = await Eventually.ValueAsync(() => ClusterSteps.SumOverLiveBrokersAsync(cluster, FencedBrokers), n => n == 1, StateTimeout);

        var unregistered = await Unregister(asked, 4);
        var listed = await DescribeClusterAsync(asked);
        var fencedAfter = await Eventually.ValueAsync(() => ClusterSteps.SumOverLiveBrokersAsync(cluster, FencedBrokers), n => n == 0, StateTimeout);
        var again = await Unregister(cluster.Broker(2), 4);
        output.WriteLine($"refused while hosting: {hostingRefused.ErrorCode} {hostingRefused.ErrorMessage}; fenced {fencedBefore} -> {fencedAfter}; " +
                         $"listed [{string.Join(',', listed.Brokers.Select(b => b.BrokerId))}]; again: {again.ErrorCode} {again.ErrorMessage}");

        Assert.Equal((short)WireError.InvalidRequest, hostingRefused.ErrorCode);
        Assert.Equal((short)WireError.None, alter.ErrorCode);
        Assert.Equal(1, fencedBefore);
        Assert.Equal((short)WireError.None, unregistered.ErrorCode);
        Assert.Null(unregistered.ErrorMessage);
        Assert.Equal(new[] { 1, 2, 3 }, listed.Brokers.Select(b => b.BrokerId).Order());
        Assert.Equal(0, fencedAfter);
        Assert.Equal((short)WireError.BrokerIdNotRegistered, again.ErrorCode);
        Assert.Contains("4", again.ErrorMessage);
    }

    private static Task<UnregisterBrokerResponse> Unregister(ClusterBroker broker, int brokerId) =>
        RawKafkaExchange.SendAsync<UnregisterBrokerResponse>(broker, new UnregisterBrokerRequest { BrokerId = brokerId }, version: 0);

    private static Task<DescribeClusterResponse> DescribeClusterAsync(ClusterBroker broker) =>
        RawKafkaExchange.SendAsync<DescribeClusterResponse>(broker, new DescribeClusterRequest(), version: 0);

    private static AlterPartitionReassignmentsRequest Reassign(string topic, List<int> replicas) => new()
    {
        TimeoutMs = 15_000,
        Topics =
        [
            new AlterPartitionReassignmentsRequest.ReassignableTopic
            {
                Name = topic,
                Partitions = [new AlterPartitionReassignmentsRequest.ReassignablePartition { PartitionIndex = 0, Replicas = replicas }],
            },
        ],
    };

    private static ListPartitionReassignmentsRequest ListReassignments(string topic) => new()
    {
        TimeoutMs = 15_000,
        Topics = [new ListPartitionReassignmentsRequest.ListPartitionReassignmentsTopics { Name = topic, PartitionIndexes = [0] }],
    };
}
