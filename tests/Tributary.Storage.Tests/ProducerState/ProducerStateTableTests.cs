using Tributary.Protocol.Records;

namespace Tributary.Storage.Tests.ProducerState;

public class ProducerStateTableTests
{
    private const long Producer = 4000;

    /// <summary>Checks a batch and, if admitted, records it at <paramref name="offset"/> as the log would.</summary>
    private static ProducerAppendResult Offer(ProducerStateTable table, long offset, short epoch, int baseSequence, int count = 2,
        long producerId = Producer)
    {
        byte[] batch = IdempotentBatches.Create(producerId, epoch, baseSequence, count);
        ProducerAppendResult result = table.Check(batch);
        if (result.Status == ProducerAppendStatus.Appended)
        {
            RecordBatchRewriter.AssignOffsets(batch, offset);
            table.Apply(batch);
        }

        return result;
    }

    [Fact]
    public void An_unknown_producer_may_start_at_any_sequence()
    {
        var table = new ProducerStateTable();

        Assert.Equal(ProducerAppendStatus.Appended, Offer(table, 0, epoch: 0, baseSequence: 42).Status);
        Assert.Equal(43, table.TryGet(Producer, out ProducerStateEntry entry) ? entry.LastSequence : -2);
    }

    [Fact]
    public void A_batch_continuing_the_sequence_is_appended()
    {
        var table = new ProducerStateTable();
        Offer(table, 0, 0, 0);

        Assert.Equal(ProducerAppendStatus.Appended, Offer(table, 2, 0, 2).Status);
    }

    [Fact]
    public void Each_of_the_last_five_batches_is_recognised_as_a_duplicate_with_its_original_offsets()
    {
        var table = new ProducerStateTable();
        for (int i = 0; i < 7; i++)
        {
            Offer(table, offset: 100 + (i * 2), epoch: 0, baseSequence: i * 2);
        }

        // Batches 2..6 are retained; each retry answers with the offsets it got the first time.
        for (int i = 2; i < 7; i++)
        {
            ProducerAppendResult retry = table.Check(IdempotentBatches.Create(Producer, 0, i * 2));
            Assert.Equal(ProducerAppendStatus.Duplicate, retry.Status);
            Assert.Equal(100 + (i * 2), retry.Duplicate.FirstOffset);
            Assert.Equal(101 + (i * 2), retry.Duplicate.LastOffset);
        }
    }

    [Fact]
    public void A_retry_older_than_the_last_five_batches_is_out_of_order()
    {
        var table = new ProducerStateTable();
        for (int i = 0; i < 7; i++)
        {
            Offer(table, i * 2, 0, i * 2);
        }

        Assert.Equal(ProducerAppendStatus.OutOfOrderSequence, table.Check(IdempotentBatches.Create(Producer, 0, 2)).Status);
    }

    [Fact]
    public void A_sequence_gap_is_out_of_order()
    {
        var table = new ProducerStateTable();
        Offer(table, 0, 0, 0);

        ProducerAppendResult result = Offer(table, 2, 0, 3);

        Assert.Equal(ProducerAppendStatus.OutOfOrderSequence, result.Status);
        Assert.Contains("3 (incoming seq. number), 1 (current end sequence number)", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_batch_overlapping_but_not_equal_to_a_retained_batch_is_out_of_order()
    {
        var table = new ProducerStateTable();
        Offer(table, 0, 0, 0, count: 4);

        Assert.Equal(ProducerAppendStatus.OutOfOrderSequence, table.Check(IdempotentBatches.Create(Producer, 0, 0, count: 2)).Status);
    }

    [Fact]
    public void An_older_epoch_is_fenced()
    {
        var table = new ProducerStateTable();
        Offer(table, 0, epoch: 3, baseSequence: 0);

        Assert.Equal(ProducerAppendStatus.InvalidProducerEpoch, Offer(table, 2, epoch: 2, baseSequence: 2).Status);
    }

    [Fact]
    public void A_new_epoch_must_start_at_sequence_zero()
    {
        var table = new ProducerStateTable();
        Offer(table, 0, epoch: 0, baseSequence: 0);

        Assert.Equal(ProducerAppendStatus.OutOfOrderSequence, Offer(table, 2, epoch: 1, baseSequence: 2).Status);
        Assert.Equal(ProducerAppendStatus.Appended, Offer(table, 2, epoch: 1, baseSequence: 0).Status);
    }

    [Fact]
    public void A_new_epoch_forgets_the_batches_of_the_previous_one()
    {
        var table = new ProducerStateTable();
        Offer(table, 0, epoch: 0, baseSequence: 0);
        Offer(table, 2, epoch: 1, baseSequence: 0);

        Assert.True(table.TryGet(Producer, out ProducerStateEntry entry));
        Assert.Equal(1, entry.BatchCount);
        Assert.Equal(2, entry.Batch(0).FirstOffset);
    }

    [Fact]
    public void Sequences_wrap_from_int_max_to_zero()
    {
        var table = new ProducerStateTable();
        Offer(table, 0, 0, int.MaxValue - 1, count: 2);

        Assert.Equal(ProducerAppendStatus.Appended, Offer(table, 2, 0, 0).Status);
        Assert.Equal(1, ProducerStateTable.IncrementSequence(int.MaxValue, 2));
    }

    [Fact]
    public void A_producer_batch_without_a_sequence_is_invalid()
    {
        var table = new ProducerStateTable();

        Assert.Equal(ProducerAppendStatus.InvalidSequence, table.Check(IdempotentBatches.Create(Producer, 0, -1)).Status);
    }

    [Fact]
    public void Batches_without_a_producer_id_are_not_tracked()
    {
        var table = new ProducerStateTable();
        byte[] batch = Batches.Create(3);

        Assert.Equal(ProducerAppendStatus.Appended, table.Check(batch).Status);
        table.Apply(batch);
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void Batches_of_one_append_are_checked_against_each_other()
    {
        var table = new ProducerStateTable();
        byte[] inOrder = [.. IdempotentBatches.Create(Producer, 0, 0), .. IdempotentBatches.Create(Producer + 1, 0, 5), .. IdempotentBatches.Create(Producer, 0, 2)];
        byte[] gap = [.. IdempotentBatches.Create(Producer, 0, 0), .. IdempotentBatches.Create(Producer, 0, 3)];

        Assert.Equal(ProducerAppendStatus.Appended, table.Check(inOrder).Status);
        Assert.Equal(ProducerAppendStatus.OutOfOrderSequence, table.Check(gap).Status);
    }

    [Fact]
    public void Producers_idle_for_the_expiration_time_are_forgotten()
    {
        var table = new ProducerStateTable();
        Offer(table, 0, 0, 0, producerId: 1);
        byte[] recent = IdempotentBatches.Create(2, 0, 0, timestamp: Batches.T0 + 10_000);
        table.Apply(recent);

        int removed = table.RemoveExpired(nowMs: Batches.T0 + 11_000, expirationMs: 5_000);

        Assert.Equal(1, removed);
        Assert.False(table.TryGet(1, out _));
        Assert.True(table.TryGet(2, out _));
    }
}
