using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Tributary.Raft.Tests;

/// <summary>Election and timeout rules on a fake clock: three voters on a <see cref="FakeRaftNetwork"/>, ticked and
/// delivered by the test, so every timing is exact and nothing sleeps.</summary>
public sealed class ElectionTimingTests : IAsyncLifetime
{
    private static readonly TimeSpan ElectionTimeout = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan Heartbeat = TimeSpan.FromMilliseconds(50);

    private readonly string _root = Directory.CreateTempSubdirectory("tributary-raft-timing-").FullName;
    private readonly FakeTimeProvider _clock = new();
    private readonly FakeRaftNetwork _network = new();
    private readonly Dictionary<int, RaftQuorum<string>> _nodes = [];

    public Task InitializeAsync()
    {
        var voters = Enumerable.Range(1, 3).Select(id => new QuorumVoter(id, "127.0.0.1", 1)).ToArray();
        foreach (var voter in voters)
        {
            var options = new RaftQuorumOptions
            {
                NodeId = voter.Id,
                Voters = voters,
                DataDirectory = Path.Combine(_root, "node-" + voter.Id),
                ElectionTimeout = ElectionTimeout,
                HeartbeatInterval = Heartbeat,
                TimeProvider = _clock,
            };
            _nodes[voter.Id] = RaftQuorum<string>.Start(options, StringSerde.Instance, NullLogger.Instance, _network.TransportFor(voter.Id),
                manualTicks: true);
        }

        return Task.CompletedTask;
    }

    [Fact]
    public void No_voter_starts_an_election_before_its_election_timeout()
    {
        Advance(ElectionTimeout - TimeSpan.FromMilliseconds(1), tick: [1, 2, 3]);

        Assert.All(_nodes.Values, n => Assert.Equal(0, n.Epoch));
        Assert.All(_nodes.Values, n => Assert.False(n.IsCandidate || n.IsLeader));
    }

    [Fact]
    public void A_voter_whose_election_timeout_passed_is_elected_with_the_others_votes()
    {
        // Deadlines are random in [timeout, 2 × timeout): after 2 × timeout every one has passed; only voter 1 ticks.
        Advance(ElectionTimeout * 2, tick: [1]);

        Assert.True(_nodes[1].IsLeader);
        Assert.Equal(1, _nodes[1].Epoch);
        Assert.All(_nodes.Values, n => Assert.Equal(new QuorumLeadership(1, 1), n.Leadership));
    }

    [Fact]
    public void Heartbeats_keep_followers_from_starting_elections()
    {
        Advance(ElectionTimeout * 2, tick: [1]);

        for (int i = 0; i < 40; i++) // 2 s of fake time: over six election timeouts
        {
            Advance(Heartbeat, tick: [1, 2, 3]);
        }

        Assert.All(_nodes.Values, n => Assert.Equal(new QuorumLeadership(1, 1), n.Leadership));
    }

    [Fact]
    public void A_leader_cut_off_from_the_majority_resigns_once_an_election_timeout_passes_without_answers()
    {
        Advance(ElectionTimeout * 2, tick: [1]);
        _network.Isolate(1);

        Advance(ElectionTimeout - Heartbeat, tick: [1]);
        Assert.True(_nodes[1].IsLeader);
        Advance(Heartbeat, tick: [1]);

        Assert.False(_nodes[1].IsLeader);
        Assert.Equal(-1, _nodes[1].LeaderId);
    }

    [Fact]
    public void Followers_that_stop_hearing_from_the_leader_elect_a_new_one_in_a_later_epoch()
    {
        Advance(ElectionTimeout * 2, tick: [1]);
        _network.Isolate(1);

        Advance(ElectionTimeout - TimeSpan.FromMilliseconds(1), tick: [2, 3]);
        Assert.Equal(1, _nodes[2].LeaderId);
        Advance(ElectionTimeout + TimeSpan.FromMilliseconds(1), tick: [2]);

        Assert.True(_nodes[2].IsLeader);
        Assert.Equal(new QuorumLeadership(2, 2), _nodes[3].Leadership);
    }

    [Fact]
    public async Task An_append_commits_once_a_majority_has_it_without_any_time_passing()
    {
        Advance(ElectionTimeout * 2, tick: [1]);

        var append = _nodes[1].TryAppendAsync("topic-1", CancellationToken.None);
        Assert.False(append.IsCompleted);
        _network.DeliverAll();

        var result = await append.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(Protocol.ErrorCode.None, result.Error);
        Assert.Equal(1, result.Offset); // offset 0 is the leader's epoch-start entry
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes.Values)
        {
            await node.StopAsync(handOverLeadership: false);
        }

        Directory.Delete(_root, recursive: true);
    }

    /// <summary>Moves the fake clock, ticks the given voters once, then delivers every message that results.</summary>
    private void Advance(TimeSpan by, int[] tick)
    {
        _clock.Advance(by);
        foreach (int id in tick)
        {
            _nodes[id].Tick();
            _network.DeliverAll();
        }
    }
}
