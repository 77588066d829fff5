using System.Globalization;
using Tributary.Operator.Api;

namespace Tributary.Operator.Reconcilers;

/// <summary>Builds the Ready / Reconciling / Error conditions, keeping lastTransitionTime when a status did not change.</summary>
public static class Conditions
{
    public static List<Condition> Build(
        IReadOnlyList<Condition>? previous, long? generation, DateTimeOffset now,
        (bool Status, string Reason, string Message) ready,
        (bool Status, string Reason, string Message) reconciling,
        (bool Status, string Reason, string Message) error) =>
    [
        Make(previous, Condition.Ready, generation, now, ready),
        Make(previous, Condition.Reconciling, generation, now, reconciling),
        Make(previous, Condition.Error, generation, now, error),
    ];

    /// <summary>Conditions of an object whose spec cannot be acted on.</summary>
    public static List<Condition> Invalid(IReadOnlyList<Condition>? previous, long? generation, DateTimeOffset now, string reason, string message) =>
        Build(previous, generation, now, (false, reason, message), (false, reason, "waiting for a valid spec"), (true, reason, message));

    public static Condition? Find(IReadOnlyList<Condition>? conditions, string type) => conditions?.FirstOrDefault(c => c.Type == type);

    private static Condition Make(IReadOnlyList<Condition>? previous, string type, long? generation, DateTimeOffset now, (bool Status, string Reason, string Message) value)
    {
        var status = value.Status ? "True" : "False";
        // Never an empty message: it says nothing, and the 1.20 API server of our test environment rejects "" in a custom
        // resource's status as null.
        var message = value.Message.Length == 0 ? value.Reason : value.Message;
        var old = Find(previous, type);
        return new Condition
        {
            Type = type,
            Status = status,
            Reason = value.Reason,
            Message = message.Length > 2048 ? message[..2048] : message,
            ObservedGeneration = generation,
            LastTransitionTime = old is not null && old.Status == status && old.LastTransitionTime is not null
                ? old.LastTransitionTime
                : now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        };
    }
}

/// <summary>What a reconcile asks of the queue.</summary>
public readonly record struct ReconcileResult(TimeSpan? RequeueAfter, string Outcome)
{
    public static ReconcileResult Done(string outcome) => new(null, outcome);

    public static ReconcileResult After(TimeSpan delay, string outcome) => new(delay, outcome);
}
