using Tributary.Broker.Transactions;
using Tributary.Protocol;

namespace Tributary.Broker.Tests.Transactions;

public sealed class TransactionCoordinatorTests
{
    private const string Id = "txn-a";

    [Fact]
    public void InitProducerId_for_a_new_transactional_id_allocates_a_producer_id_with_epoch_0_and_writes_it()
    {
        var fixture = new TransactionFixture();

        var producer = fixture.Init(Id);

        Assert.Equal(ErrorCode.None, producer.Error);
        Assert.True(producer.ProducerId >= 0);
        Assert.Equal(0, producer.ProducerEpoch);
        var written = Assert.Single(fixture.Log.History(Id, fixture.PartitionOf(Id)));
        Assert.Equal((TransactionState.Empty, producer.ProducerId, (short)0), (written!.State, written.ProducerId, written.ProducerEpoch));
    }

    [Fact]
    public void A_second_InitProducerId_bumps_the_epoch_and_fences_the_first_producer()
    {
        var fixture = new TransactionFixture();
        var first = fixture.Init(Id);

        var second = fixture.Init(Id);

        Assert.Equal((first.ProducerId, (short)1), (second.ProducerId, second.ProducerEpoch));
        Assert.Equal(ErrorCode.ProducerFenced, fixture.Add(Id, first, ("t", 0)));
        Assert.Equal(ErrorCode.ProducerFenced, fixture.End(Id, first, commit: true));
        Assert.Equal(ErrorCode.None, fixture.Add(Id, second, ("t", 0)));
    }

    [Fact]
    public void A_timeout_above_transaction_max_timeout_ms_is_refused()
    {
        var fixture = new TransactionFixture(new TransactionCoordinatorOptions { MaxTransactionTimeoutMs = 1000 });

        Assert.Equal(ErrorCode.InvalidTransactionTimeout, fixture.Init(Id, timeoutMs: 1001).Error);
        Assert.Equal(ErrorCode.InvalidTransactionTimeout, fixture.Init(Id, timeoutMs: 0).Error);
        Assert.Empty(fixture.Log.History(Id, fixture.PartitionOf(Id)));
    }

    [Fact]
    public void Commit_writes_prepare_commit_sends_markers_to_every_partition_then_writes_complete_commit()
    {
        var fixture = new TransactionFixture();
        var producer = fixture.Init(Id);
        Assert.Equal(ErrorCode.None, fixture.Add(Id, producer, ("t", 0), ("t", 1)));
        Assert.Equal(ErrorCode.None, fixture.Add(Id, producer, ("u", 3)));

        Assert.Equal(ErrorCode.None, fixture.End(Id, producer, commit: true));
        fixture.Settle();

        var states = fixture.Log.History(Id, fixture.PartitionOf(Id)).Select(r => r!.State).ToList();
        Assert.Equal([TransactionState.Empty, TransactionState.Ongoing, TransactionState.Ongoing, TransactionState.PrepareCommit,
            TransactionState.CompleteCommit], states);
        var marker = Assert.Single(fixture.Markers.Sent);
        Assert.True(marker.Commit);
        Assert.Equal((producer.ProducerId, producer.ProducerEpoch, 1), (marker.ProducerId, marker.ProducerEpoch, marker.CoordinatorEpoch));
        Assert.Equal([new("t", 0), new("t", 1), new("u", 3)], marker.Partitions);
        Assert.Equal("CompleteCommit", fixture.Coordinator.Describe(Id).State);
        Assert.Empty(fixture.Coordinator.Describe(Id).Partitions);
    }

    [Fact]
    public void Abort_sends_abort_markers_and_ends_in_complete_abort()
    {
        var fixture = new TransactionFixture();
        var producer = fixture.Init(Id);
        fixture.Add(Id, producer, ("t", 0));

        Assert.Equal(ErrorCode.None, fixture.End(Id, producer, commit: false));
        fixture.Settle();

        Assert.False(Assert.Single(fixture.Markers.Sent).Commit);
        Assert.Equal("CompleteAbort", fixture.Coordinator.Describe(Id).State);
    }

    [Fact]
    public void EndTxn_for_an_unknown_transactional_id_is_invalid_producer_id_mapping_and_writes_nothing()
    {
        var fixture = new TransactionFixture();

        var error = fixture.End(Id, new InitProducerIdResult(ErrorCode.None, 42, 0), commit: true);

        Assert.Equal(ErrorCode.InvalidProducerIdMapping, error);
        Assert.Empty(fixture.Log.History(Id, fixture.PartitionOf(Id)));
    }

    [Fact]
    public void EndTxn_without_an_open_transaction_is_invalid_txn_state()
    {
        var fixture = new TransactionFixture();
        var producer = fixture.Init(Id);

        Assert.Equal(ErrorCode.InvalidTxnState, fixture.End(Id, producer, commit: true));
        Assert.Single(fixture.Log.History(Id, fixture.PartitionOf(Id)));
    }

    [Fact]
    public void A_retried_EndTxn_after_completion_answers_none_and_the_other_outcome_is_invalid_txn_state()
    {
        var fixture = new TransactionFixture();
        var producer = fixture.Init(Id);
        fixture.Add(Id, producer, ("t", 0));
        fixture.End(Id, producer, commit: true);
        fixture.Settle();

        Assert.Equal(ErrorCode.None, fixture.End(Id, producer, commit: true));
        Assert.Equal(ErrorCode.InvalidTxnState, fixture.End(Id, producer, commit: false));
    }

    [Fact]
    public void While_markers_are_outstanding_new_partitions_and_InitProducerId_answer_concurrent_transactions()
    {
        var fixture = new TransactionFixture();
        var producer = fixture.Init(Id);
        fixture.Add(Id, producer, ("t", 0));
        fixture.Markers.Hold = new TaskCompletionSource<ErrorCode>(TaskCreationOptions.RunContinuationsAsynchronously);
        fixture.End(Id, producer, commit: true);

        Assert.Equal(ErrorCode.ConcurrentTransactions, fixture.Add(Id, producer, ("t", 1)));
        Assert.Equal(ErrorCode.ConcurrentTransactions, fixture.Init(Id).Error);
        Assert.Equal("PrepareCommit", fixture.Coordinator.Describe(Id).State);

        fixture.Markers.Hold.SetResult(ErrorCode.None);
        fixture.Settle();
        Assert.Equal(ErrorCode.None, fixture.Add(Id, producer, ("t", 1)));
    }

    [Fact]
    public void InitProducerId_during_an_open_transaction_fences_and_aborts_it_then_the_retry_gets_a_later_epoch()
    {
        var fixture = new TransactionFixture();
        var zombie = fixture.Init(Id);
        fixture.Add(Id, zombie, ("t", 0));

        var first = fixture.Init(Id);
        fixture.Settle();
        var retry = fixture.Init(Id);

        Assert.Equal(ErrorCode.ConcurrentTransactions, first.Error);
        var marker = Assert.Single(fixture.Markers.Sent);
        Assert.False(marker.Commit);
        Assert.Equal(zombie.ProducerEpoch + 1, marker.ProducerEpoch);
        Assert.Equal(ErrorCode.None, retry.Error);
        Assert.Equal(zombie.ProducerEpoch + 2, retry.ProducerEpoch);
        Assert.Equal(ErrorCode.ProducerFenced, fixture.End(Id, zombie, commit: true));
    }

    [Fact]
    public void A_transaction_open_longer_than_its_timeout_is_aborted_with_a_bumped_epoch()
    {
        var fixture = new TransactionFixture(new TransactionCoordinatorOptions { AbortTimedOutTransactionsIntervalMs = 1000, RetryBackoff = TimeSpan.FromMilliseconds(5) });
        var producer = fixture.Init(Id, timeoutMs: 5000);
        fixture.Add(Id, producer, ("t", 0));

        fixture.Advance(4000);
        fixture.Coordinator.Tick();
        Assert.Equal("Ongoing", fixture.Coordinator.Describe(Id).State);

        fixture.Advance(2000);
        fixture.Coordinator.Tick();
        TransactionCoordinator.TransactionDescription described = default;
        Assert.True(SpinWait.SpinUntil(() => (described = fixture.Coordinator.Describe(Id)).State == "CompleteAbort", TimeSpan.FromSeconds(10)));
        Assert.Equal(producer.ProducerEpoch + 1, described.ProducerEpoch);
        Assert.False(Assert.Single(fixture.Markers.Sent).Commit);
        Assert.Equal(ErrorCode.ProducerFenced, fixture.End(Id, producer, commit: true));
    }

    [Fact]
    public void A_new_coordinator_loads_the_state_and_finishes_a_transaction_left_in_prepare_commit()
    {
        var fixture = new TransactionFixture();
        var producer = fixture.Init(Id);
        fixture.Add(Id, producer, ("t", 0));
        fixture.Markers.Hold = new TaskCompletionSource<ErrorCode>(TaskCreationOptions.RunContinuationsAsynchronously);
        fixture.End(Id, producer, commit: true);
        var partition = fixture.PartitionOf(Id);

        fixture.Log.Resign(partition);
        Assert.Equal(ErrorCode.NotCoordinator, fixture.Coordinator.Describe(Id).Error);
        var successorMarkers = new MarkerSenderTestDouble();
        fixture.Log.Lead(partition, epoch: 2);
        var successor = fixture.NewCoordinator(successorMarkers);
        fixture.Settle(successor);

        var resent = Assert.Single(successorMarkers.Sent);
        Assert.Equal((true, 2, producer.ProducerEpoch), (resent.Commit, resent.CoordinatorEpoch, resent.ProducerEpoch));
        Assert.Equal("CompleteCommit", successor.Describe(Id).State);
        Assert.Equal(TransactionState.CompleteCommit, fixture.Log.History(Id, partition)[^1]!.State);
    }

    [Fact]
    public void A_state_write_the_replicas_refuse_answers_coordinator_not_available_and_changes_nothing()
    {
        var fixture = new TransactionFixture();
        var producer = fixture.Init(Id);
        fixture.Log.FailAppendsWith = ErrorCode.NotEnoughReplicas;

        Assert.Equal(ErrorCode.CoordinatorNotAvailable, fixture.Add(Id, producer, ("t", 0)));
        Assert.Equal("Empty", fixture.Coordinator.Describe(Id).State);

        fixture.Log.FailAppendsWith = ErrorCode.None;
        Assert.Equal(ErrorCode.None, fixture.Add(Id, producer, ("t", 0)));
    }

    [Fact]
    public void Requests_for_ids_of_a_partition_led_elsewhere_answer_not_coordinator()
    {
        var fixture = new TransactionFixture();
        fixture.Log.Resign(fixture.PartitionOf(Id));

        Assert.Equal(ErrorCode.NotCoordinator, fixture.Init(Id).Error);
    }

    [Fact]
    public void KIP_360_a_producer_passing_its_current_id_and_epoch_continues_with_the_next_epoch_and_a_stale_epoch_is_fenced()
    {
        var fixture = new TransactionFixture();
        var first = fixture.Init(Id);
        var second = fixture.Init(Id);

        var recovered = fixture.Init(Id, producerId: second.ProducerId, epoch: second.ProducerEpoch);
        var retried = fixture.Init(Id, producerId: second.ProducerId, epoch: second.ProducerEpoch);
        var stale = fixture.Init(Id, producerId: first.ProducerId, epoch: first.ProducerEpoch);

        Assert.Equal((ErrorCode.None, second.ProducerEpoch + 1), (recovered.Error, (int)recovered.ProducerEpoch));
        Assert.Equal((ErrorCode.None, recovered.ProducerEpoch), (retried.Error, retried.ProducerEpoch));
        Assert.Equal(ErrorCode.ProducerFenced, stale.Error);
    }

    [Fact]
    public void An_exhausted_epoch_moves_the_transactional_id_to_a_new_producer_id()
    {
        var fixture = new TransactionFixture();
        var first = fixture.Init(Id);
        var partition = fixture.PartitionOf(Id);
        // The state of an id whose epoch reached the limit, as a previous coordinator wrote it.
        var exhausted = new TransactionRecord(first.ProducerId, short.MaxValue - 1, -1, -1, 60_000, TransactionState.Empty, [], -1, 0);
        TransactionFixture.Wait(fixture.Log.AppendAsync(partition, new TransactionLogRecord(TransactionStateRecords.EncodeKey(Id),
            TransactionStateRecords.EncodeValue(exhausted)), 0, 1000, CancellationToken.None));
        var successor = fixture.NewCoordinator();

        var rotated = fixture.Init(Id, on: successor);

        Assert.Equal(ErrorCode.None, rotated.Error);
        Assert.NotEqual(first.ProducerId, rotated.ProducerId);
        Assert.Equal(0, rotated.ProducerEpoch);
    }

    [Fact]
    public void Verify_only_reports_per_partition_whether_it_is_in_the_open_transaction_without_writing()
    {
        var fixture = new TransactionFixture();
        var producer = fixture.Init(Id);
        fixture.Add(Id, producer, ("t", 0));
        var written = fixture.Log.History(Id, fixture.PartitionOf(Id)).Count;

        var (error, partitions) = fixture.Coordinator.VerifyPartitions(Id, producer.ProducerId, producer.ProducerEpoch, [new("t", 0), new("t", 1)]);
        var (staleError, _) = fixture.Coordinator.VerifyPartitions(Id, producer.ProducerId, (short)(producer.ProducerEpoch - 1), [new("t", 0)]);

        Assert.Equal(ErrorCode.None, error);
        Assert.Equal(ErrorCode.None, partitions[new("t", 0)]);
        Assert.Equal(ErrorCode.InvalidTxnState, partitions[new("t", 1)]);
        Assert.Equal(ErrorCode.ProducerFenced, staleError);
        Assert.Equal(written, fixture.Log.History(Id, fixture.PartitionOf(Id)).Count);
    }

    [Fact]
    public void ListTransactions_filters_by_state_producer_id_and_duration_and_names_unknown_states()
    {
        var fixture = new TransactionFixture();
        var open = fixture.Init("open");
        fixture.Add("open", open, ("t", 0));
        var idle = fixture.Init("idle");
        fixture.Advance(10_000);

        var (_, unknown, ongoing) = fixture.Coordinator.List(["Ongoing", "Bogus"], [], -1);
        var (_, _, byProducer) = fixture.Coordinator.List([], [idle.ProducerId], -1);
        var (_, _, longRunning) = fixture.Coordinator.List([], [], 5_000);
        var (_, _, tooLong) = fixture.Coordinator.List([], [], 20_000);

        Assert.Equal(["Bogus"], unknown);
        Assert.Equal("open", Assert.Single(ongoing).TransactionalId);
        Assert.Equal(("idle", "Empty"), (Assert.Single(byProducer).TransactionalId, byProducer[0].State));
        Assert.Equal("open", Assert.Single(longRunning).TransactionalId);
        Assert.Empty(tooLong);
    }

    [Fact]
    public void An_id_idle_longer_than_transactional_id_expiration_ms_is_removed_with_a_tombstone()
    {
        var fixture = new TransactionFixture(new TransactionCoordinatorOptions
        {
            TransactionalIdExpirationMs = 60_000,
            RemoveExpiredTransactionalIdsIntervalMs = 1000,
        });
        fixture.Init(Id);

        fixture.Advance(61_000);
        fixture.Coordinator.Tick();

        Assert.True(SpinWait.SpinUntil(() => fixture.Coordinator.Describe(Id).Error == ErrorCode.TransactionalIdNotFound, TimeSpan.FromSeconds(10)));
        Assert.Null(fixture.Log.History(Id, fixture.PartitionOf(Id))[^1]);
        Assert.Equal(ErrorCode.TransactionalIdNotFound, fixture.NewCoordinator().Describe(Id).Error);
    }
}
