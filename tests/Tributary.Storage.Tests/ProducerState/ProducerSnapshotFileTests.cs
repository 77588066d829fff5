namespace Tributary.Storage.Tests.ProducerState;

public class ProducerSnapshotFileTests
{
    private static ProducerStateTable TableWithBatches(int producers, int batchesEach)
    {
        var table = new ProducerStateTable();
        long offset = 0;
        for (int p = 0; p < producers; p++)
        {
            for (int b = 0; b < batchesEach; b++)
            {
                byte[] batch = IdempotentBatches.Create(1000 + p, (short)p, b * 2);
                Tributary.Protocol.Records.RecordBatchRewriter.AssignOffsets(batch, offset);
                table.Apply(batch);
                offset += 2;
            }
        }

        return table;
    }

    [Fact]
    public void A_snapshot_round_trips_every_producer_with_all_its_retained_batches()
    {
        using var dir = new TempDirectory();
        ProducerStateTable table = TableWithBatches(producers: 3, batchesEach: 7);
        string path = IdempotentBatches.SnapshotFile(dir.Path, 42);

        ProducerSnapshotFile.Write(path, table, durable: true);
        var loaded = new ProducerStateTable();
        string? error = ProducerSnapshotFile.TryRead(path, loaded);

        Assert.Null(error);
        Assert.Equal(
            table.Entries.Select(e => e.ToView()).OrderBy(v => v.ProducerId).Select(Describe),
            loaded.Entries.Select(e => e.ToView()).OrderBy(v => v.ProducerId).Select(Describe));
        Assert.True(loaded.TryGet(1001, out ProducerStateEntry entry));
        Assert.Equal(5, entry.BatchCount);
        Assert.Equal(1, entry.Epoch);
    }

    [Fact]
    public void A_snapshot_with_a_flipped_byte_is_refused()
    {
        using var dir = new TempDirectory();
        string path = IdempotentBatches.SnapshotFile(dir.Path, 7);
        ProducerSnapshotFile.Write(path, TableWithBatches(2, 2), durable: false);
        byte[] bytes = File.ReadAllBytes(path);
        bytes[^3] ^= 0x40;
        File.WriteAllBytes(path, bytes);

        var loaded = new ProducerStateTable();

        Assert.Equal("CRC mismatch", ProducerSnapshotFile.TryRead(path, loaded));
        Assert.Equal(0, loaded.Count);
    }

    [Fact]
    public void A_truncated_snapshot_is_refused()
    {
        using var dir = new TempDirectory();
        string path = IdempotentBatches.SnapshotFile(dir.Path, 7);
        ProducerSnapshotFile.Write(path, TableWithBatches(2, 2), durable: false);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..5]);

        Assert.NotNull(ProducerSnapshotFile.TryRead(path, new ProducerStateTable()));
    }

    private static string Describe(ProducerStateView view) =>
        $"{view.ProducerId}/{view.ProducerEpoch}/{view.LastTimestamp}:" + string.Join(",", view.Batches);
}
