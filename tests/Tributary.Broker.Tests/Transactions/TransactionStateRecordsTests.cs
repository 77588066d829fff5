using Tributary.Broker.Transactions;

namespace Tributary.Broker.Tests.Transactions;

public sealed class TransactionStateRecordsTests
{
    [Fact]
    public void A_record_round_trips_with_its_partitions_sorted()
    {
        var record = new TransactionRecord(7, 3, 5, 2, 60_000, TransactionState.Ongoing, [new("b", 1), new("a", 2), new("a", 0)], 1000, 2000);

        var key = TransactionStateRecords.DecodeKey(TransactionStateRecords.EncodeKey("tx-é"), out _);
        var value = TransactionStateRecords.DecodeValue(TransactionStateRecords.EncodeValue(record), out var error);

        Assert.Equal("tx-é", key);
        Assert.Null(error);
        Assert.Equal(record with { Partitions = [] }, value! with { Partitions = [] });
        Assert.Equal([new("a", 0), new("a", 2), new("b", 1)], value.Partitions);
    }

    [Fact]
    public void A_truncated_or_oversized_value_is_reported_not_guessed()
    {
        var bytes = TransactionStateRecords.EncodeValue(new TransactionRecord(7, 3, -1, -1, 1000, TransactionState.Ongoing, [new("t", 0)], 1, 2));
        var huge = (byte[])bytes.Clone();
        huge[43] = 0x7f; // topic count far beyond the bound

        Assert.Null(TransactionStateRecords.DecodeValue(bytes.AsSpan(0, bytes.Length - 1), out var truncated));
        Assert.Null(TransactionStateRecords.DecodeValue(huge, out var oversized));
        Assert.Null(TransactionStateRecords.DecodeKey([0, 9, 0, 1, 65], out var version));
        Assert.NotNull(truncated);
        Assert.Contains("out of bounds", oversized);
        Assert.Contains("version", version);
    }
}
