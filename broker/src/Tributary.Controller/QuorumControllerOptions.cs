namespace Tributary.Controller;

/// <summary>Settings of the active controller, taken from the broker config by whoever builds it.</summary>
public sealed record QuorumControllerOptions
{
    /// <summary>Written as the cluster id when the metadata log has none yet; null: a random id.</summary>
    public string? ClusterId { get; init; }

    /// <summary>broker.session.timeout.ms: a broker that has not heartbeated for this long is fenced.</summary>
    public TimeSpan BrokerSessionTimeout { get; init; } = TimeSpan.FromMilliseconds(9000);

    /// <summary>unclean.leader.election.enable, the cluster default; a topic's own override of the same key wins.</summary>
    public bool UncleanLeaderElectionEnable { get; init; }

    /// <summary>auto.leader.rebalance.enable: periodically move leadership back to preferred replicas.</summary>
    public bool AutoLeaderRebalanceEnable { get; init; } = true;

    /// <summary>leader.imbalance.check.interval.seconds.</summary>
    public TimeSpan LeaderImbalanceCheckInterval { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>leader.imbalance.per.broker.percentage: share of a broker's preferred partitions led elsewhere before
    /// its leadership is moved back.</summary>
    public int LeaderImbalancePerBrokerPercentage { get; init; } = 10;

    /// <summary>A topic's effective min.insync.replicas from its overrides (the broker default when it has none); only
    /// used to warn about topics whose replication factor can never satisfy it.</summary>
    public Func<IReadOnlyDictionary<string, string>, int> MinInsyncReplicasFor { get; init; } = static _ => 1;

    /// <summary>Returns why a topic config (key, value) is invalid, or null (TopicConfigCatalog.Validate).</summary>
    public Func<string, string?, string?> ValidateTopicConfig { get; init; } = static (_, _) => null;

    /// <summary>For a topic config Kafka 4.0 removed (and we accept for 3.x tools): what setting it does here, else null
    /// (RemovedTopicConfigs); the controller warns when a topic gets one.</summary>
    public Func<string, string?> RemovedTopicConfigEffect { get; init; } = static _ => null;

    /// <summary>How often session expiry, reassignment completion, offline-partition elections and rebalancing are
    /// checked; <see cref="Timeout.InfiniteTimeSpan"/> disables the timer (ticks then run only via
    /// <see cref="QuorumController.RunTickAsync"/> and leadership changes).</summary>
    public TimeSpan TickInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long the controller waits for its own loader to apply what it just committed (or, on activation,
    /// what was committed before it) before it gives up being active.</summary>
    public TimeSpan ApplyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Producer ids handed to a broker per AllocateProducerIds (KRaft's block size).</summary>
    public int ProducerIdBlockSize { get; init; } = 1000;

    /// <summary>Seed for placement's random start broker (Kafka randomizes it per topic); null: unseeded.</summary>
    public int? PlacementSeed { get; init; }

    /// <summary>Most partition replicas one broker may hold; more are refused with POLICY_VIOLATION (max.broker.partitions,
    /// and on a node that is also a broker its open-file limit).</summary>
    public int MaxPartitionsPerBroker { get; init; } = int.MaxValue;

    /// <summary>Where <see cref="MaxPartitionsPerBroker"/> comes from, for the refusal message.</summary>
    public string MaxPartitionsPerBrokerReason { get; init; } = "max.broker.partitions";
}
