using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Broker.Config;
using Tributary.Broker.Metadata;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Broker.Tests.Metadata;

/// <summary>Contract A of issue 19 as <see cref="QuorumMetadataLog"/> keeps it over a real single-voter Raft quorum on
/// disk: snapshots and controller calls.</summary>
public sealed class QuorumMetadataLogContractTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);

    private readonly string _directory = Directory.CreateTempSubdirectory("tributary-quorum-contract-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task After_a_snapshot_and_a_restart_reading_from_zero_yields_the_snapshot_then_the_tail()
    {
        using var timeout = new CancellationTokenSource(Bound);
        long snapshotOffset;
        long tailOffset;
        await using (var log = await StartLeaderAsync(timeout.Token))
        {
            long epoch = log.Leadership.Epoch;
            await log.TryAppendAsync([new TopicRecord("orders", new Uuid(1, 1))], epoch, timeout.Token);
            snapshotOffset = (await log.TryAppendAsync([new ClusterIdRecord("c1")], epoch, timeout.Token)).Offset;
            await log.WriteSnapshotAsync(snapshotOffset, [new ClusterIdRecord("c1"), new TopicRecord("orders", new Uuid(1, 1))], timeout.Token);
            tailOffset = (await log.TryAppendAsync([new TopicRecord("payments", new Uuid(2, 2))], epoch, timeout.Token)).Offset;
            Assert.Equal(snapshotOffset, log.LatestSnapshotOffset);
        }

        await using var restarted = await StartLeaderAsync(timeout.Token);
        var batches = new List<MetadataBatch>();
        await foreach (var batch in restarted.ReadCommittedAsync(0, timeout.Token))
        {
            batches.Add(batch);
            if (batch.Offset >= tailOffset)
            {
                break;
            }
        }

        Assert.Equal(snapshotOffset, restarted.LatestSnapshotOffset);
        Assert.True(batches[0].IsSnapshot);
        Assert.Equal(snapshotOffset, batches[0].Offset);
        Assert.Equal([new ClusterIdRecord("c1"), new TopicRecord("orders", new Uuid(1, 1))], batches[0].Records);
        Assert.All(batches.Skip(1), b => Assert.False(b.IsSnapshot));
        Assert.Contains(batches, b => b.Records.SequenceEqual([new TopicRecord("payments", new Uuid(2, 2))]));
    }

    [Fact]
    public async Task A_controller_call_reaches_the_handler_with_its_api_key_version_and_body()
    {
        using var timeout = new CancellationTokenSource(Bound);
        await using var log = await StartLeaderAsync(timeout.Token);
        ControllerCall? received = null;
        log.SetControllerRequestHandler((call, _) =>
        {
            received = call;
            return Task.FromResult(new byte[] { 9, 9 });
        });

        byte[] answer = await log.CallControllerAsync(new ControllerCall(62, 3, new byte[] { 1, 2, 3 }), timeout.Token);

        Assert.Equal([9, 9], answer);
        Assert.Equal((short)62, received!.Value.ApiKey);
        Assert.Equal((short)3, received.Value.ApiVersion);
        Assert.Equal([1, 2, 3], received.Value.Body.ToArray());
    }

    private async Task<QuorumMetadataLog> StartLeaderAsync(CancellationToken cancellationToken)
    {
        var config = BrokerConfig.FromProperties(new Dictionary<string, string> { ["node.id"] = "1", ["log.dirs"] = _directory });
        var log = await QuorumMetadataLog.StartAsync(config, NullLoggerFactory.Instance);
        while (log.LeaderReadyOffset < 0)
        {
            await Task.Delay(10, cancellationToken);
        }

        return log;
    }
}
