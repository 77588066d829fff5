using System.Net;
using System.Net.Sockets;
using Tributary.Protocol;
using Tributary.Raft;

namespace Tributary.Raft.Tests;

/// <summary>Three (or N) real voters on 127.0.0.1 with their own data directories, which tests stop and restart.</summary>
internal sealed class TestCluster : IAsyncDisposable
{
    public static readonly TimeSpan ElectionTimeout = TimeSpan.FromMilliseconds(300);
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(15);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "tributary-quorum-" + Guid.NewGuid().ToString("N"));
    private readonly RaftQuorum<string>?[] _nodes;
    private readonly List<RaftQuorum<string>> _observers = [];

    private readonly int _snapshotChunkBytes;

    /// <param name="voters">How many voters.</param>
    /// <param name="snapshotChunkBytes">Snapshot chunk size (small values make tests cross chunk boundaries).</param>
    public TestCluster(int voters = 3, int snapshotChunkBytes = 1024 * 1024)
    {
        _snapshotChunkBytes = snapshotChunkBytes;
        Voters = Enumerable.Range(1, voters).Select(id => new QuorumVoter(id, "127.0.0.1", FreePort())).ToArray();
        _nodes = new RaftQuorum<string>?[voters];
        foreach (var voter in Voters)
        {
            Start(voter.Id);
        }
    }

    public IReadOnlyList<QuorumVoter> Voters { get; }

    /// <summary>The data directory of node <paramref name="id"/> (voter or observer).</summary>
    public string DataDirectory(int id) => Path.Combine(_root, "node-" + id);

    public IEnumerable<RaftQuorum<string>> Running => _nodes.Where(n => n is not null).Select(n => n!);

    public RaftQuorum<string> Node(int id) => _nodes[id - 1] ?? throw new InvalidOperationException($"Voter {id} is stopped");

    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromMilliseconds(50);

    public RaftQuorum<string> Start(int id)
    {
        var node = RaftQuorum<string>.Start(Options(id) with { Listener = new IPEndPoint(IPAddress.Loopback, Voters[id - 1].Port) }, StringSerde.Instance);
        _nodes[id - 1] = node;
        return node;
    }

    /// <summary>Starts an observer (an id outside the voters): no listener, no data on disk.</summary>
    public RaftQuorum<string> StartObserver(int id, int maxControllerMessageBytes = 1024 * 1024)
    {
        var observer = RaftQuorum<string>.Start(Options(id) with { MaxControllerMessageBytes = maxControllerMessageBytes }, StringSerde.Instance);
        _observers.Add(observer);
        return observer;
    }

    public async Task StopObserverAsync(RaftQuorum<string> observer)
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
    public async Task<RaftQuorum<string>> WaitForLeaderAsync()
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
    public async Task<long> AppendAsync(string record)
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
    public static async Task<List<CommittedRecord<string>>> ReadCommittedAsync(RaftQuorum<string> node, int count)
    {
        using var timeout = new CancellationTokenSource(WaitLimit);
        var records = new List<CommittedRecord<string>>();
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
    public static async Task<List<CommittedRecord<string>>> ReadCommittedUntilAsync(RaftQuorum<string> node, string last)
    {
        using var timeout = new CancellationTokenSource(WaitLimit);
        var records = new List<CommittedRecord<string>>();
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
    public static async Task<List<CommittedBatch<string>>> ReadBatchesUntilAsync(RaftQuorum<string> node, long lastOffset)
    {
        using var timeout = new CancellationTokenSource(WaitLimit);
        var batches = new List<CommittedBatch<string>>();
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
    public static void AssertSameBatches(IReadOnlyList<CommittedBatch<string>> expected, IReadOnlyList<CommittedBatch<string>> actual)
    {
        Assert.Equal(expected.Select(b => (b.Offset, b.Epoch)), actual.Select(b => (b.Offset, b.Epoch)));
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(Encodings(expected[i].Records), Encodings(actual[i].Records));
        }
    }

    public static IEnumerable<string> Encodings(IEnumerable<string> records) =>
        records.Select(r => Convert.ToHexString(StringSerde.Instance.Serialize(r)));

    public static string Topic(int i) => "topic-" + i;

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

    private RaftQuorumOptions Options(int id) => new()
    {
        NodeId = id,
        Voters = Voters,
        DataDirectory = DataDirectory(id),
        ElectionTimeout = ElectionTimeout,
        HeartbeatInterval = HeartbeatInterval,
        SnapshotChunkBytes = _snapshotChunkBytes,
    };

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
