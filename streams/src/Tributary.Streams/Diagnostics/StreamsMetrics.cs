using System.Diagnostics.Metrics;

namespace Tributary.Streams.Diagnostics;

/// <summary>
/// Metrics of the Streams library, on the <c>Tributary.Streams</c> meter (OpenTelemetry or a <see cref="MeterListener"/>
/// reads them). <c>tributary.streams.dropped.records</c> counts records a windowed aggregation skipped, as Kafka
/// Streams' task-level <c>dropped-records</c> sensor does: late records (their window closed past the grace period) and
/// records without a key; tags name the application, task, store and reason.
/// </summary>
public static class StreamsMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Tributary.Streams";

    /// <summary>The dropped-records counter's name.</summary>
    public const string DroppedRecordsName = "tributary.streams.dropped.records";

    private static readonly Meter Meter = new(MeterName);

    internal static readonly Counter<long> DroppedRecords = Meter.CreateCounter<long>(DroppedRecordsName, "{record}",
        "Records a windowed aggregation skipped: late (window closed) or without a key.");
}
