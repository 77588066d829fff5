using Microsoft.Extensions.Logging;
using Tributary.Broker.Metadata;
using Tributary.Broker.Metrics;

namespace Tributary.Broker.Replication;

/// <summary>
/// What every replica of this broker shares: the node id, the one clock, the way to the controller for ISR changes, the
/// follower lag limit and the brokers' registrations as of the latest applied metadata image. Data flows down: the replica
/// manager publishes each image here; partitions only read it.
/// </summary>
public sealed class ReplicaContext
{
    private MetadataImage _image = MetadataImage.Empty;

    /// <param name="isrSender">null on a broker without a controller to ask (a lone broker, some tests): the ISR never changes.</param>
    public ReplicaContext(int localNodeId, TimeProvider time, IAlterPartitionSender? isrSender, long lagTimeMaxMs, ILogger logger,
        ProduceStageMetrics? stages = null)
    {
        LocalNodeId = localNodeId;
        Time = time ?? throw new ArgumentNullException(nameof(time));
        IsrSender = isrSender;
        LagTimeMaxMs = lagTimeMaxMs;
        Logger = logger ?? throw new ArgumentNullException(nameof(logger));
        Stages = stages;
        IsActiveBroker = nodeId => Image.IsActiveBroker(nodeId);
        RegisteredBrokerEpoch = nodeId => Image.Brokers.TryGetValue(nodeId, out var broker) ? broker.Epoch : -1;
    }

    /// <summary>Whether a broker is registered, unfenced and not shutting down in the latest image (one delegate for every ISR check).</summary>
    public Func<int, bool> IsActiveBroker { get; }

    /// <summary>A broker's registration epoch in the latest image, -1 when unregistered (KIP-903; one delegate for every ISR check).</summary>
    public Func<int, long> RegisteredBrokerEpoch { get; }

    public int LocalNodeId { get; }
    public TimeProvider Time { get; }
    public IAlterPartitionSender? IsrSender { get; }

    /// <summary>replica.lag.time.max.ms: an ISR member not caught up for this long is proposed out of the ISR.</summary>
    public long LagTimeMaxMs { get; }
    public ILogger Logger { get; }
    public ProduceStageMetrics? Stages { get; }

    /// <summary>The metadata image the replicas were last brought in line with.</summary>
    public MetadataImage Image
    {
        get => Volatile.Read(ref _image);
        internal set => Volatile.Write(ref _image, value);
    }

    /// <summary>Cancelled when the replica manager shuts down (ISR requests in flight give up).</summary>
    public CancellationToken Stopping { get; internal set; }

    public long NowMs => Time.GetUtcNow().ToUnixTimeMilliseconds();
}
