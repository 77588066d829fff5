using System.Diagnostics.Metrics;

namespace Tributary.Broker.Metrics;

/// <summary>Stages of the produce path whose time <see cref="ProduceStageMetrics"/> records.</summary>
public enum ProduceStage
{
    /// <summary>The leader's append: validation done, from taking the partition's leader lock to the log having the batch.</summary>
    Append,

    /// <summary>A parked follower fetch of the partition woken after an append: from the append to the wake-up.</summary>
    FollowerWakeup,

    /// <summary>acks=all: from the append to the high watermark passing the batch (the followers fetched it and came back).</summary>
    Replicate,

    /// <summary>acks=all: from the high watermark passing the request's last batch to the produce response being ready.</summary>
    Respond,

    /// <summary>On a follower: building one fetch request (the round over its followed partitions and the request itself).</summary>
    FollowerFetchBuild,

    /// <summary>On a follower: from sending a fetch to its response read and parsed (the leader's long poll included).</summary>
    FollowerFetchWait,

    /// <summary>On a follower: applying a fetch response that carried records (append, high watermark, log start).</summary>
    FollowerAppend,

    /// <summary>On the leader: from reading records for a follower to that follower's next fetch of the partition from past them
    /// (the response's way out, the follower's parse and append, its next request's way in).</summary>
    FollowerRoundTrip,

    /// <summary>On the leader: from a follower fetch arriving at a partition to the high watermark having moved for it (acks=all
    /// waiters completed).</summary>
    HighWatermarkAdvance,
}

/// <summary>
/// Per-stage latency histograms of the produce path (<c>tributary_produce_stage_seconds{stage}</c>), so the time an acks=all
/// produce spends can be split into leader append, follower wake-up, replication to the ISR and response.
/// </summary>
public sealed class ProduceStageMetrics
{
    public const string Name = "tributary_produce_stage_seconds";

    // 20 µs to 10 s: the interesting part of acks=all is sub-millisecond to a few milliseconds.
    private static readonly double[] BucketsSeconds =
        [0.00002, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

    private static readonly KeyValuePair<string, object?>[] StageTags =
    [
        new("stage", "append"), new("stage", "follower_wakeup"), new("stage", "replicate"), new("stage", "respond"),
        new("stage", "follower_fetch_build"), new("stage", "follower_fetch_wait"), new("stage", "follower_append"),
        new("stage", "follower_round_trip"), new("stage", "hw_advance"),
    ];

    private readonly Histogram<double> _stages;

    public ProduceStageMetrics(Meter meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        _stages = meter.CreateHistogram(Name, unit: null,
            description: "Time spent in each stage of the produce path (append, follower_wakeup, replicate, respond; on followers "
                + "follower_fetch_build, follower_fetch_wait, follower_append; on leaders follower_round_trip, hw_advance), in seconds.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = BucketsSeconds });
    }

    /// <summary>Records one stage from two <see cref="TimeProvider.GetTimestamp"/> readings of <paramref name="time"/>.</summary>
    public void Record(ProduceStage stage, TimeProvider time, long startTimestamp, long endTimestamp)
    {
        if (endTimestamp >= startTimestamp)
        {
            _stages.Record(time.GetElapsedTime(startTimestamp, endTimestamp).TotalSeconds, StageTags[(int)stage]);
        }
    }
}
