using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Broker.Config;
using Tributary.Broker.Metadata;
using Tributary.Controller.Records;
using Tributary.Protocol;

namespace Tributary.Broker.Tests.Metadata;

public sealed class MetadataLoaderTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private readonly InMemoryMetadataLogFake _log = new(nodeId: 1);
    private readonly MetadataLoader _loader;

    public MetadataLoaderTests()
    {
        _loader = new MetadataLoader(_log, NullLogger.Instance);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _loader.DisposeAsync();
        await _log.DisposeAsync();
    }

    [Fact]
    public async Task Applies_batches_committed_before_and_after_start()
    {
        _log.CommitExternally(new TopicRecord("a", new Uuid(1, 1)));
        _loader.Start();
        var last = _log.CommitExternally(new TopicRecord("b", new Uuid(2, 2)));

        await _loader.WaitForOffsetAsync(last, Bounded());

        Assert.Equal(["a", "b"], _loader.Current.Topics.Keys);
        Assert.Equal(last, _loader.Current.Offset);
    }

    [Fact]
    public async Task Publishes_images_in_log_order()
    {
        var offsets = new ConcurrentQueue<long>();
        _loader.ImagePublished += image => offsets.Enqueue(image.Offset);
        _loader.Start();

        long last = -1;
        for (var i = 0; i < 50; i++)
        {
            last = _log.CommitExternally(new ProducerIdsRecord(1, 0, i));
        }

        await _loader.WaitForOffsetAsync(last, Bounded());

        var published = offsets.Where(o => o >= 0).ToArray();
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), published);
        Assert.Equal(49, _loader.Current.NextProducerId);
    }

    [Fact]
    public async Task Wait_for_offset_completes_only_once_the_offset_is_applied()
    {
        _loader.Start();
        var waiting = _loader.WaitForOffsetAsync(1, Bounded());

        _log.CommitExternally(new ClusterIdRecord("c"));
        await Task.Delay(50);
        Assert.False(waiting.IsCompleted);

        _log.CommitExternally(new ProducerIdsRecord(1, 0, 7));
        await waiting;
        Assert.Equal(1, _loader.Current.Offset);
    }

    [Fact]
    public async Task Wait_for_offset_returns_at_once_for_an_applied_offset()
    {
        var offset = _log.CommitExternally(new ClusterIdRecord("c"));
        _loader.Start();
        await _loader.WaitForOffsetAsync(offset, Bounded());

        var again = _loader.WaitForOffsetAsync(offset, CancellationToken.None);

        Assert.True(again.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Wait_for_offset_honours_its_token()
    {
        _loader.Start();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _loader.WaitForOffsetAsync(5, cancel.Token));
    }

    [Fact]
    public async Task A_failing_subscriber_neither_stops_the_loop_nor_other_subscribers()
    {
        var seen = new ConcurrentQueue<long>();
        _loader.ImagePublished += _ => throw new InvalidOperationException("subscriber bug");
        _loader.ImagePublished += image => seen.Enqueue(image.Offset);
        _loader.Start();

        _log.CommitExternally(new ClusterIdRecord("c"));
        var last = _log.CommitExternally(new ProducerIdsRecord(1, 0, 9));
        await _loader.WaitForOffsetAsync(last, Bounded());

        Assert.Equal(9, _loader.Current.NextProducerId);
        Assert.Contains(last, seen);
    }

    [Fact]
    public async Task Controller_id_follows_the_quorum_leader()
    {
        _loader.Start();

        var ready = _log.BecomeLeader(epoch: 1);
        await _loader.WaitForOffsetAsync(ready, Bounded());
        await WaitUntil(() => _loader.ControllerId == 1);

        _log.LoseLeadership(newLeaderId: 3);
        await WaitUntil(() => _loader.ControllerId == 3);
        Assert.Equal(3, _loader.Current.ControllerId);
    }

    [Fact]
    public async Task Controller_change_is_published_as_a_new_image()
    {
        var controllers = new ConcurrentQueue<int>();
        _loader.ImagePublished += image => controllers.Enqueue(image.ControllerId);
        _loader.Start();

        _log.LoseLeadership(newLeaderId: 2);
        await WaitUntil(() => controllers.Contains(2));

        _log.LoseLeadership(newLeaderId: -1);
        await WaitUntil(() => controllers.Contains(-1));
        Assert.Equal(-1, _loader.ControllerId);
    }

    [Fact]
    public async Task Starts_after_the_offset_of_its_initial_image()
    {
        _log.CommitExternally(new TopicRecord("old", new Uuid(1, 1)));
        _log.CommitExternally(new ClusterIdRecord("c"));
        var initial = new MetadataLoader(_log, NullLogger.Instance, new MetadataApplier(NullLogger.Instance)
            .Apply(MetadataImage.Empty, new MetadataBatch(0, 0, [new TopicRecord("kept", new Uuid(3, 3))])));
        await using (initial)
        {
            initial.Start();
            await initial.WaitForOffsetAsync(1, Bounded());

            Assert.Equal(["kept"], initial.Current.Topics.Keys);
            Assert.Equal("c", initial.Current.ClusterId);
        }
    }

    [Fact]
    public async Task Waiters_are_released_when_the_loader_is_disposed()
    {
        _loader.Start();
        var waiting = _loader.WaitForOffsetAsync(100, CancellationToken.None);

        await _loader.DisposeAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Bound));
    }

    private static CancellationToken Bounded() => new CancellationTokenSource(Bound).Token;

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(10);
        }
    }
}

/// <summary>The loader and the quorum adapter over a real (single-voter, then configured) Raft quorum.</summary>
public sealed class QuorumMetadataLogTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);

    private readonly string _directory = Directory.CreateTempSubdirectory("tributary-quorum-log-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Without_voters_a_single_voter_quorum_leads_and_the_loader_sees_its_appends()
    {
        var config = BrokerConfig.FromProperties(new Dictionary<string, string> { ["node.id"] = "5", ["log.dirs"] = _directory });
        using var timeout = new CancellationTokenSource(Bound);
        await using var log = await QuorumMetadataLog.StartAsync(config, NullLoggerFactory.Instance);
        await using var loader = new MetadataLoader(log, NullLogger.Instance);
        loader.Start();

        while (log.LeaderReadyOffset < 0)
        {
            await Task.Delay(10, timeout.Token);
        }

        var epoch = log.Leadership.Epoch;
        var result = await log.TryAppendAsync([new TopicRecord("orders", new Uuid(1, 1)), new ClusterIdRecord("c1")], epoch, timeout.Token);
        await loader.WaitForOffsetAsync(result.Offset, timeout.Token);

        Assert.True(log.IsVoter);
        Assert.Equal((5, ErrorCode.None), (log.Leadership.LeaderId, result.Error));
        Assert.True(loader.Current.Topics.ContainsKey("orders"));
        Assert.Equal("c1", loader.Current.ClusterId);
        Assert.True(Directory.Exists(Path.Combine(_directory, QuorumMetadataLog.QuorumDirectoryName)));
        while (loader.ControllerId != 5)
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    [Fact]
    public async Task Append_in_a_stale_epoch_is_refused()
    {
        var config = BrokerConfig.FromProperties(new Dictionary<string, string> { ["node.id"] = "1", ["log.dirs"] = _directory });
        using var timeout = new CancellationTokenSource(Bound);
        await using var log = await QuorumMetadataLog.StartAsync(config, NullLoggerFactory.Instance);
        while (log.LeaderReadyOffset < 0)
        {
            await Task.Delay(10, timeout.Token);
        }

        var result = await log.TryAppendAsync([new ClusterIdRecord("c1")], log.Leadership.Epoch + 1, timeout.Token);

        Assert.Equal(ErrorCode.NotController, result.Error);
    }

    [Fact]
    public async Task Configured_voters_listener_and_timeouts_become_quorum_options()
    {
        var config = BrokerConfig.FromProperties(new Dictionary<string, string>
        {
            ["node.id"] = "2",
            ["log.dirs"] = _directory,
            ["listeners"] = "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:19093",
            ["listener.security.protocol.map"] = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            ["controller.listener.names"] = "CONTROLLER",
            ["controller.quorum.voters"] = "1@127.0.0.1:19091,2@127.0.0.1:19093,3@127.0.0.1:19095",
            ["controller.quorum.election.timeout.ms"] = "1500",
            ["controller.quorum.heartbeat.interval.ms"] = "300",
        });

        var options = await QuorumMetadataLog.BuildOptionsAsync(config);

        Assert.Equal(2, options.NodeId);
        Assert.Equal([1, 2, 3], options.Voters.Select(v => v.Id));
        Assert.Equal("127.0.0.1:19093", options.Listener?.ToString());
        Assert.Equal(Path.Combine(_directory, QuorumMetadataLog.QuorumDirectoryName), options.DataDirectory);
        Assert.Equal((1500.0, 300.0), (options.ElectionTimeout.TotalMilliseconds, options.HeartbeatInterval.TotalMilliseconds));
    }

    [Fact]
    public async Task A_node_not_among_the_voters_is_an_observer_without_a_listener()
    {
        var config = BrokerConfig.FromProperties(new Dictionary<string, string>
        {
            ["node.id"] = "4",
            ["process.roles"] = "broker",
            ["log.dirs"] = _directory,
            ["controller.quorum.voters"] = "1@127.0.0.1:19091,2@127.0.0.1:19093,3@127.0.0.1:19095",
        });

        var options = await QuorumMetadataLog.BuildOptionsAsync(config);

        Assert.Null(options.Listener);
        Assert.DoesNotContain(options.Voters, v => v.Id == 4);
    }
}

