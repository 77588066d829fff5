using Microsoft.Extensions.Logging;
using Tributary.Broker.Metrics;

namespace Tributary.Broker.Replication.Fetcher;

/// <summary>
/// Keeps this broker's follower partitions fetching from their leaders (Kafka's ReplicaFetcherManager): one
/// <see cref="LeaderFetcher"/> per leader broker, started with its first partition and stopped with its last.
/// </summary>
/// <remarks>
/// Metadata drives it: the replica manager calls <see cref="SetLeader"/> when this broker becomes (or stays) a follower of a
/// partition and <see cref="Remove"/> when it stops following it (became leader, left the replica set, topic deleted). After
/// either returns, no fetch result for the partition's previous assignment is applied.
/// </remarks>
public sealed class ReplicaFetcherManager : IAsyncDisposable
{
    private readonly int _localBrokerId;
    private readonly Func<long> _brokerEpoch;
    private readonly FetcherOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ProduceStageMetrics? _stages;
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Topic, int Partition), PartitionFetchState> _assignments = [];
    private readonly Dictionary<int, LeaderFetcher> _fetchers = [];
    private readonly List<Task> _stopping = [];
    private long _nextGeneration;
    private long _requestsOfStoppedFetchers;
    private bool _disposed;

    /// <param name="brokerEpoch">this broker's epoch from its registration, sent in every fetch so a leader can fence a restarted
    /// follower's stale fetches (KIP-903).</param>
    /// <param name="stages">Where the fetchers record the follower's stages of the produce path; null: nowhere.</param>
    public ReplicaFetcherManager(int localBrokerId, Func<long> brokerEpoch, FetcherOptions options, ILoggerFactory loggerFactory,
        TimeProvider? time = null, ProduceStageMetrics? stages = null)
    {
        _stages = stages;
        ArgumentNullException.ThrowIfNull(brokerEpoch);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _localBrokerId = localBrokerId;
        _brokerEpoch = brokerEpoch;
        _options = options;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<ReplicaFetcherManager>();
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Every partition being fetched, with the leader it is fetched from.</summary>
    public IReadOnlyCollection<(string Topic, int Partition, int LeaderId)> Assigned
    {
        get
        {
            lock (_lock)
            {
                return [.. _assignments.Values.Select(s => (s.Replica.Topic, s.Replica.Partition, s.LeaderId))];
            }
        }
    }

    /// <summary>Fetch requests sent by all fetchers since start (a request-rate metric; shows the long poll at work).</summary>
    public long FetchRequestsSent
    {
        get
        {
            lock (_lock)
            {
                return _requestsOfStoppedFetchers + _fetchers.Values.Sum(f => f.RequestsSent);
            }
        }
    }

    /// <summary>Fetch progress of every followed partition.</summary>
    public IReadOnlyList<FollowerFetchStatus> Statuses
    {
        get
        {
            var statuses = new List<FollowerFetchStatus>();
            lock (_lock)
            {
                foreach (var fetcher in _fetchers.Values)
                {
                    fetcher.CollectStatuses(statuses);
                }
            }

            return statuses;
        }
    }

    /// <summary>Fetch progress of one followed partition; false when it is not being fetched.</summary>
    public bool TryGetStatus(string topic, int partition, out FollowerFetchStatus status)
    {
        lock (_lock)
        {
            if (_assignments.TryGetValue((topic, partition), out var state) && _fetchers.TryGetValue(state.LeaderId, out var fetcher))
            {
                return fetcher.TryGetStatus((topic, partition), out status);
            }
        }

        status = default;
        return false;
    }

    /// <summary>
    /// Fetches the partition from <paramref name="leaderId"/> at <paramref name="host"/>:<paramref name="port"/>, moving it from
    /// the fetcher of a previous leader. Repeating the same assignment is a no-op (a changed leader epoch only ends a backoff,
    /// since the epoch is read from the replica at each fetch).
    /// </summary>
    public void SetLeader(IFollowerReplica replica, int leaderId, string host, int port)
    {
        ArgumentNullException.ThrowIfNull(replica);
        ArgumentException.ThrowIfNullOrEmpty(host);
        if (leaderId == _localBrokerId)
        {
            throw new ArgumentException($"Broker {leaderId} cannot fetch {replica.Topic}-{replica.Partition} from itself.", nameof(leaderId));
        }

        var key = (replica.Topic, replica.Partition);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_assignments.TryGetValue(key, out var existing))
            {
                if (existing.LeaderId == leaderId && ReferenceEquals(existing.Replica, replica))
                {
                    _fetchers[leaderId].UpdateEndpoint(host, port);
                    return;
                }

                RemoveLocked(key, existing);
            }

            if (!_fetchers.TryGetValue(leaderId, out var fetcher))
            {
                fetcher = new LeaderFetcher(leaderId, host, port, _localBrokerId, _brokerEpoch, _options,
                    _loggerFactory.CreateLogger<LeaderFetcher>(), _time, _stages);
                _fetchers[leaderId] = fetcher;
                fetcher.Start();
            }
            else
            {
                fetcher.UpdateEndpoint(host, port);
            }

            var state = new PartitionFetchState(replica, leaderId, ++_nextGeneration);
            _assignments[key] = state;
            fetcher.Add(state);
            FetcherLog.PartitionAssigned(_logger, replica.Topic, replica.Partition, leaderId, replica.LeaderEpoch, replica.LogEndOffset);
        }
    }

    /// <summary>Stops fetching the partition; waits for a fetch result being applied to it to finish. No-op when not fetched.</summary>
    public void Remove(string topic, int partition)
    {
        lock (_lock)
        {
            if (_assignments.TryGetValue((topic, partition), out var existing))
            {
                RemoveLocked((topic, partition), existing);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task[] stopping;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _assignments.Clear();
            foreach (var fetcher in _fetchers.Values)
            {
                _stopping.Add(fetcher.StopAsync());
            }

            _fetchers.Clear();
            stopping = [.. _stopping];
        }

        await Task.WhenAll(stopping).ConfigureAwait(false);
    }

    private void RemoveLocked((string Topic, int Partition) key, PartitionFetchState existing)
    {
        _assignments.Remove(key);
        if (!_fetchers.TryGetValue(existing.LeaderId, out var fetcher))
        {
            return;
        }

        fetcher.Remove(key);
        FetcherLog.PartitionRemoved(_logger, key.Topic, key.Partition, existing.LeaderId);
        if (fetcher.Count == 0)
        {
            // Like Kafka's shutdownIdleFetcherThreads: no partitions, no connection to that leader.
            _fetchers.Remove(existing.LeaderId);
            _requestsOfStoppedFetchers += fetcher.RequestsSent;
            _stopping.RemoveAll(t => t.IsCompleted);
            _stopping.Add(fetcher.StopAsync());
        }
    }
}
