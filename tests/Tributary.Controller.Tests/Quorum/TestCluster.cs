using System.Net;
using System.Net.Sockets;
using Tributary.Controller.Quorum;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Controller.Tests.Quorum;

/// <summary>Three (or N) real voters on 127.0.0.1 with their own data directories, which tests stop and restart.</summary>
internal sealed class TestCluster : IAsyncDisposable
{
    public static readonly TimeSpan ElectionTimeout = TimeSpan.FromMilliseconds(300);
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(15);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "tributary-quorum-" + Guid.NewGuid().ToString("N"));
    private readonly MetadataQuorum?[] _nodes;
    private readonly List<MetadataQuorum> _observers = [];

    public TestCluster(int voters = 3)
    {
        Voters = Enumerable.Range(1, voters).Select(id => new QuorumVoter(id, "127.0.0.1", FreePort())).ToArray();
        _nodes = new MetadataQuorum?[voters];
        foreach (var voter in Voters)
        {
            Start(voter.Id);
        }
    }

    public IReadOnlyList<QuorumVoter> Voters { get; }

    public IEnumerable<MetadataQuorum> Running => _nodes.Where(n => n is not null).Select(n => n!);

    public MetadataQuorum Node(int id) => _nodes[id - 1] ?? throw new InvalidOperationException($"Voter {id} is stopped");

    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromMilliseconds(50);

    public MetadataQuorum Start(int id)
    {
        var node = MetadataQuorum.Start(Options(id) with { Listener = new IPEndPoint(IPAddress.Loopback, Voters[id - 1].Port) });
        _nodes[id - 1] = node;
        return node;
    }

    /// <summary>Starts an observer (an id outside the voters): no listener, no data on disk.</summary>
    public MetadataQuorum StartObserver(int id, int maxControllerMessageBytes = 1024 * 1024)
    {
        var observer = MetadataQuorum.Start(Options(id) with { MaxControllerMessageBytes = maxControllerMessageBytes });
        _observers.Add(observer);
        return observer;
    }

    public async Task StopObserverAsync(MetadataQuorum observer)
    {
        _observers.Remove(observer);
        await observer.DisposeAsync();
    }

    /// <summary>Drops the voter without any goodbye, like kill -9: everything it acknowledged is already on disk.</summary>
    public async Task StopAsync(int id)
    {
        var node = _nodes[id - 1];
        _nodes[id - 1] = null;
        if (node is not null)
        {
            await node.StopAsync(handOverLeadership: false);
        }
    }

    /// <summary>Stops the voter as a shutting-down broker does (DisposeAsync): a leader hands over first.</summary>
    public async Task StopGracefullyAsync(int id)
    {
        var node = _nodes[id - 1];
        _nodes[id - 1] = null;
        if (node is not null)
        {
            await node.DisposeAsync();
        }
    }

    /// <summary>Waits until exactly one running voter leads and every running voter agrees on it and its epoch.</summary>
    public async Task<MetadataQuorum> WaitForLeaderAsync()
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (DateTime.UtcNow < deadline)
        {
            var running = Running.ToList();
            var leaders = running.Where(n => n.IsLeader).ToList();
            if (leaders.Count == 1)
            {
                var expected = leaders[0].Leadership;
                if (running.All(n => n.Leadership == expected))
                {
                    return leaders[0];
                }
            }

            await Task.Delay(10);
        }

        throw new TimeoutException("No single agreed leader within " + WaitLimit);
    }

    /// <summary>Appends on whoever leads, retrying NOT_CONTROLLER like a real client; returns the committed offset.</summary>
    public async Task<long> AppendAsync(MetadataRecord record)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (DateTime.UtcNow < deadline)
        {
            var leader = await WaitForLeaderAsync();
            using var timeout = new CancellationTokenSource(WaitLimit);
            var result = await leader.TryAppendAsync(record, timeout.Token);
            if (result.Error == ErrorCode.None)
            {
                return result.Offset;
            }
        }

        throw new TimeoutException("Append not committed within " + WaitLimit);
    }

    /// <summary>The first <paramref name="count"/> committed records a voter hands out, from the start of the log.</summary>
    public static async Task<List<CommittedMetadataRecord>> ReadCommittedAsync(MetadataQuorum node, int count)
    {
        using var timeout = new CancellationTokenSource(WaitLimit);
        var records = new List<CommittedMetadataRecord>();
        await foreach (var record in node.ReadCommittedAsync(0, timeout.Token))
        {
            records.Add(record);
            if (records.Count == count)
            {
                break;
            }
        }

        return records;
    }

    /// <summary>Committed records from the start of the log up to and including the first one matching <paramref name="last"/>.</summary>
    public static async Task<List<CommittedMetadataRecord>> ReadCommittedUntilAsync(MetadataQuorum node, MetadataRecord last)
    {
        using var timeout = new CancellationTokenSource(WaitLimit);
        var records = new List<CommittedMetadataRecord>();
        await foreach (var record in node.ReadCommittedAsync(0, timeout.Token))
        {
            records.Add(record);
            if (record.Record == last)
            {
                break;
            }
        }

        return records;
    }

    /// <summary>Polls until the condition holds, failing after <see cref="WaitLimit"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within " + WaitLimit);
            await Task.Delay(10);
        }
    }

    /// <summary>The committed batches a node hands out from offset 0 up to and including <paramref name="lastOffset"/>.</summary>
    public static async Task<List<CommittedMetadataBatch>> ReadBatchesUntilAsync(MetadataQuorum node, long lastOffset)
    {
        using var timeout = new CancellationTokenSource(WaitLimit);
        var batches = new List<CommittedMetadataBatch>();
        await foreach (var batch in node.ReadCommittedBatchesAsync(0, timeout.Token))
        {
            batches.Add(batch);
            if (batch.Offset >= lastOffset)
            {
                break;
            }
        }

        return batches;
    }

    /// <summary>Records with list members do not compare by value; their encodings do.</summary>
    public static void AssertSameBatches(IReadOnlyList<CommittedMetadataBatch> expected, IReadOnlyList<CommittedMetadataBatch> actual)
    {
        Assert.Equal(expected.Select(b => (b.Offset, b.Epoch)), actual.Select(b => (b.Offset, b.Epoch)));
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(Encodings(expected[i].Records), Encodings(actual[i].Records));
        }
    }

    public static IEnumerable<string> Encodings(IEnumerable<MetadataRecord> records) =>
        records.Select(r => Convert.ToHexString(MetadataRecordSerde.Serialize(r)));

    public static TopicRecord Topic(int i) => new("topic-" + i, new Uuid(0, (ulong)(i + 100)));

    public async ValueTask DisposeAsync()
    {
        foreach (var observer in _observers.ToList())
        {
            await StopObserverAsync(observer);
        }

        for (int id = 1; id <= _nodes.Length; id++)
        {
            await StopAsync(id);
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private MetadataQuorumOptions Options(int id) => new()
    {
        NodeId = id,
        Voters = Voters,
        DataDirectory = Path.Combine(_root, "node-" + id),
        ElectionTimeout = ElectionTimeout,
        HeartbeatInterval = HeartbeatInterval,
    };

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
