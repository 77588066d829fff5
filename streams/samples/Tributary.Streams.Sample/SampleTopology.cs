using System.Globalization;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.Stream;
using Streamiz.Kafka.Net.Table;
using Tributary.Streams.Windows;

namespace Tributary.Streams.Sample;

/// <summary>
/// The sample application's topology (issue 24's seed example):
/// 1. a CDC-like topic <c>cdc.orders</c> (value <c>op|order|customer|amount</c>, op c/u/d) is mapped to <c>orders</c>,
///    keyed by customer with the amount as value (deletes dropped);
/// 2. a windowed aggregation: the amount per customer per minute (tumbling, 10 s grace) to <c>orders-per-minute</c>,
///    and our session windows (5 min inactivity) counting each customer's orders per visit to <c>customer-sessions</c>;
/// 3. a stream–table join: orders enriched with the customer's name from the <c>customers</c> table to
///    <c>orders-enriched</c>.
/// </summary>
public static class SampleTopology
{
    public const string CdcTopic = "cdc.orders";
    public const string OrdersTopic = "orders";
    public const string CustomersTopic = "customers";
    public const string PerMinuteTopic = "orders-per-minute";
    public const string SessionsTopic = "customer-sessions";
    public const string EnrichedTopic = "orders-enriched";

    public static Topology Build()
    {
        var builder = new StreamBuilder();
        builder.Stream<string, string>(CdcTopic)
            .Filter((_, change, _) => change is not null && !change.StartsWith("d|", StringComparison.Ordinal))
            .Map((_, change, _) =>
            {
                var fields = change.Split('|');
                return KeyValuePair.Create(fields[2], fields[3]);
            })
            .To(OrdersTopic);

        var orders = builder.Stream<string, string>(OrdersTopic);
        orders.GroupByKey()
            .WindowedBy(TumblingWindowOptions.Of(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(10)))
            .Aggregate(() => 0L, (_, amount, sum) => sum + long.Parse(amount, CultureInfo.InvariantCulture),
                InMemoryWindows.As<string, long>("amount-per-minute").WithValueSerdes<Int64SerDes>())
            .ToStream()
            .Map((window, sum, _) => KeyValuePair.Create($"{window.Key}@{window.Window.StartTime:HH:mm}", sum.ToString(CultureInfo.InvariantCulture)))
            .To(PerMinuteTopic);

        orders.CountSessions(new SessionWindowOptions(TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(30)), "visits", new StringSerDes())
            .Map((session, count, _) => KeyValuePair.Create($"{session.Key}@{session.Window}", count?.ToString(CultureInfo.InvariantCulture)))
            .To(SessionsTopic);

        var customers = builder.Table<string, string>(CustomersTopic, InMemory.As<string, string>("customers"));
        orders.LeftJoin(customers, (amount, name) => $"{name ?? "unknown customer"} ordered {amount}")
            .To(EnrichedTopic);
        return builder.Build();
    }
}
