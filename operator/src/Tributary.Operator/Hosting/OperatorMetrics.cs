using System.Diagnostics.Metrics;

namespace Tributary.Operator.Hosting;

/// <summary>The operator's own metrics (exported at /metrics).</summary>
public sealed class OperatorMetrics : IDisposable
{
    public const string MeterName = "Tributary.Operator";

    private readonly Meter _meter = new(MeterName);

    public OperatorMetrics()
    {
        Reconciles = _meter.CreateCounter<long>("tributary_operator_reconciles", description: "Reconciles by kind and result (ok, error, requeue)");
        ReconcileSeconds = _meter.CreateHistogram<double>("tributary_operator_reconcile_duration", unit: "s", description: "Reconcile duration");
        PodRestarts = _meter.CreateCounter<long>("tributary_operator_pod_restarts", description: "Pods the roller restarted");
        WatchRestarts = _meter.CreateCounter<long>("tributary_operator_watch_restarts", description: "Watches re-opened, by resource and cause (gone, error, closed)");
    }

    public Counter<long> Reconciles { get; }

    public Histogram<double> ReconcileSeconds { get; }

    public Counter<long> PodRestarts { get; }

    public Counter<long> WatchRestarts { get; }

    /// <summary>1 while this replica holds the lease.</summary>
    public void ObserveLeader(Func<int> isLeader) => _meter.CreateObservableGauge("tributary_operator_leader", isLeader, description: "1 while this replica is the leader");

    public void ObserveQueueDepth(Func<int> depth) => _meter.CreateObservableGauge("tributary_operator_queue_depth", depth, description: "Keys waiting in the work queue");

    public void Dispose() => _meter.Dispose();
}
