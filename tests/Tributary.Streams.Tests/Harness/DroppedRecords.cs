using System.Diagnostics.Metrics;
using Tributary.Streams.Diagnostics;

namespace Tributary.Streams.Tests.Harness;

/// <summary>Listens to <c>tributary.streams.dropped.records</c> in this process (Streamiz runs in the test process) and
/// sums it per application id.</summary>
public sealed class DroppedRecords : IDisposable
{
    private readonly MeterListener listener = new();
    private readonly Lock gate = new();
    private readonly Dictionary<(string Application, string Reason), long> counts = [];

    public DroppedRecords()
    {
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == StreamsMetrics.MeterName && instrument.Name == StreamsMetrics.DroppedRecordsName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string application = "", reason = "";
            foreach (var tag in tags)
            {
                if (tag.Key == "application")
                {
                    application = tag.Value as string ?? "";
                }
                else if (tag.Key == "reason")
                {
                    reason = tag.Value as string ?? "";
                }
            }

            lock (gate)
            {
                counts[(application, reason)] = counts.GetValueOrDefault((application, reason)) + value;
            }
        });
        listener.Start();
    }

    public long Count(string application, string reason)
    {
        lock (gate)
        {
            return counts.GetValueOrDefault((application, reason));
        }
    }

    public void Dispose() => listener.Dispose();
}
