using Tributary.Operator.Api;
using Tributary.Operator.Model;
using Tributary.Operator.Reconcilers;

namespace Tributary.Operator.Tests.Model;

public class ConditionsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Every_status_has_ready_reconciling_and_error_with_reasons_and_the_generation()
    {
        var conditions = Conditions.Build(null, 4, T0, (true, "ClusterReady", "3/3"), (false, "Settled", ""), (false, "NoError", ""));
        Assert.Equal([Condition.Ready, Condition.Reconciling, Condition.Error], conditions.Select(c => c.Type));
        Assert.All(conditions, c => Assert.Equal(4, c.ObservedGeneration));
        Assert.Equal("True", conditions[0].Status);
        Assert.Equal("2026-01-01T00:00:00Z", conditions[0].LastTransitionTime);
    }

    [Fact]
    public void A_condition_never_has_an_empty_message()
    {
        var conditions = Conditions.Build(null, 1, T0, (true, "ClusterReady", "3/3"), (false, "Settled", ""), (false, "NoError", ""));
        Assert.All(conditions, c => Assert.False(string.IsNullOrEmpty(c.Message)));
    }

    [Fact]
    public void Transition_time_moves_only_when_the_status_changes()
    {
        var first = Conditions.Build(null, 1, T0, (false, "BrokersNotReady", "0/3"), (true, "BrokersNotReady", ""), (false, "NoError", ""));
        var same = Conditions.Build(first, 2, T0.AddMinutes(1), (false, "BrokersNotReady", "1/3"), (true, "BrokersNotReady", ""), (false, "NoError", ""));
        var flipped = Conditions.Build(same, 2, T0.AddMinutes(2), (true, "ClusterReady", "3/3"), (false, "Settled", ""), (false, "NoError", ""));
        Assert.Equal("2026-01-01T00:00:00Z", same[0].LastTransitionTime);
        Assert.Equal("2026-01-01T00:02:00Z", flipped[0].LastTransitionTime);
        Assert.Equal("2026-01-01T00:00:00Z", flipped[2].LastTransitionTime);
    }

    [Fact]
    public void An_invalid_spec_is_an_error_and_not_ready()
    {
        var conditions = Conditions.Invalid(null, 1, T0, "InvalidSpec", "spec.partitions: must be at least 1 (is 0)");
        Assert.Equal("False", Conditions.Find(conditions, Condition.Ready)!.Status);
        var error = Conditions.Find(conditions, Condition.Error)!;
        Assert.Equal("True", error.Status);
        Assert.Equal("InvalidSpec", error.Reason);
    }

    [Fact]
    public void Pod_names_map_back_to_ordinals_of_their_cluster_only()
    {
        var layout = new ClusterLayout("c", "ns");
        Assert.Equal(2, layout.OrdinalOf("c-2"));
        Assert.Null(layout.OrdinalOf("c-x"));
        Assert.Null(layout.OrdinalOf("other-1"));
        Assert.Equal("c-0.c-brokers.ns.svc.cluster.local:9092,c-1.c-brokers.ns.svc.cluster.local:9092", layout.BootstrapServers(2));
    }
}
