namespace Tributary.Broker.Transactions;

/// <summary>
/// Kafka's transaction states (KIP-98; PrepareEpochFence from KIP-360). The numeric values are what
/// <see cref="TransactionStateRecords"/> writes to <c>__transaction_state</c>; never renumber them.
/// </summary>
public enum TransactionState : sbyte
{
    /// <summary>A producer id/epoch but no transaction in progress.</summary>
    Empty = 0,

    /// <summary>Partitions (or a group) were added; the transaction is open.</summary>
    Ongoing = 1,

    /// <summary>EndTxn(commit) was written; markers are being sent.</summary>
    PrepareCommit = 2,

    /// <summary>EndTxn(abort), a timeout or a fencing InitProducerId was written; markers are being sent.</summary>
    PrepareAbort = 3,

    /// <summary>Every partition has its COMMIT marker.</summary>
    CompleteCommit = 4,

    /// <summary>Every partition has its ABORT marker.</summary>
    CompleteAbort = 5,

    /// <summary>The transactional id expired and is being removed (a tombstone follows).</summary>
    Dead = 6,

    /// <summary>The epoch is being bumped to fence a producer before its open transaction is aborted (in memory only; the write is PrepareAbort).</summary>
    PrepareEpochFence = 7,
}

/// <summary>Names and transitions of <see cref="TransactionState"/>.</summary>
public static class TransactionStates
{
    /// <summary>The state's name as Kafka's DescribeTransactions and ListTransactions report it.</summary>
    public static string Name(TransactionState state) => state switch
    {
        TransactionState.Empty => "Empty",
        TransactionState.Ongoing => "Ongoing",
        TransactionState.PrepareCommit => "PrepareCommit",
        TransactionState.PrepareAbort => "PrepareAbort",
        TransactionState.CompleteCommit => "CompleteCommit",
        TransactionState.CompleteAbort => "CompleteAbort",
        TransactionState.Dead => "Dead",
        TransactionState.PrepareEpochFence => "PrepareEpochFence",
        _ => "Unknown",
    };

    /// <summary>The state with this Kafka name (case-sensitive, as Kafka's ListTransactions filter), if any.</summary>
    public static TransactionState? Parse(string name)
    {
        foreach (var state in Enum.GetValues<TransactionState>())
        {
            if (Name(state) == name)
            {
                return state;
            }
        }

        return null;
    }

    /// <summary>Whether the transaction has no markers left to write and a new one may begin.</summary>
    public static bool IsIdle(TransactionState state) =>
        state is TransactionState.Empty or TransactionState.CompleteCommit or TransactionState.CompleteAbort;

    /// <summary>Kafka's valid previous states of each state (TransactionState.validPreviousStates).</summary>
    public static bool IsValidTransition(TransactionState from, TransactionState to) => to switch
    {
        TransactionState.Empty => from is TransactionState.Empty or TransactionState.CompleteCommit or TransactionState.CompleteAbort,
        TransactionState.Ongoing => from is TransactionState.Ongoing or TransactionState.Empty or TransactionState.CompleteCommit or TransactionState.CompleteAbort,
        TransactionState.PrepareCommit => from is TransactionState.Ongoing,
        TransactionState.PrepareAbort => from is TransactionState.Ongoing or TransactionState.PrepareEpochFence,
        TransactionState.CompleteCommit => from is TransactionState.PrepareCommit,
        TransactionState.CompleteAbort => from is TransactionState.PrepareAbort,
        TransactionState.Dead => from is TransactionState.Empty or TransactionState.CompleteCommit or TransactionState.CompleteAbort,
        TransactionState.PrepareEpochFence => from is TransactionState.Ongoing,
        _ => false,
    };
}
