using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Broker.Config;
using Tributary.Broker.Metadata;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Broker.Tests.Metadata;

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

