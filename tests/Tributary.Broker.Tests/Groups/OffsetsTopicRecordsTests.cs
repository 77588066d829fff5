using Tributary.Broker.Groups;

namespace Tributary.Broker.Tests.Groups;

public class OffsetsTopicRecordsTests
{
    [Theory]
    [InlineData("my-group", 36)]
    [InlineData("console-consumer-1", 24)]
    [InlineData("", 0)]
    public void Group_partition_is_Kafkas_abs_java_hash_modulo_partitions(string groupId, int expected) =>
        Assert.Equal(expected, OffsetsTopicPartitioner.PartitionFor(groupId, 50));

    [Fact]
    public void Group_id_hashing_to_int_min_value_maps_to_partition_zero_like_kafkas_utils_abs()
    {
        Assert.Equal(int.MinValue, OffsetsTopicPartitioner.JavaStringHashCode("polygenelubricants"));
        Assert.Equal(0, OffsetsTopicPartitioner.PartitionFor("polygenelubricants", 50));
    }

    [Fact]
    public void Offset_commit_key_is_version_1_group_topic_partition()
    {
        var key = OffsetsTopicRecords.OffsetCommitKeyBytes("g", "t", 7);

        Assert.Equal(new byte[] { 0, 1, 0, 1, (byte)'g', 0, 1, (byte)'t', 0, 0, 0, 7 }, key);
        Assert.Equal(new OffsetCommitKey("g", "t", 7), OffsetsTopicRecords.ReadKey(key));
    }

    [Fact]
    public void Group_metadata_key_is_version_2_group()
    {
        var key = OffsetsTopicRecords.GroupMetadataKeyBytes("g");

        Assert.Equal(new byte[] { 0, 2, 0, 1, (byte)'g' }, key);
        Assert.Equal(new GroupMetadataKey("g"), OffsetsTopicRecords.ReadKey(key));
    }

    [Fact]
    public void Offset_commit_value_v3_round_trips_with_leader_epoch_and_metadata()
    {
        var value = new CommittedOffset(42, 5, "meta", 1_700_000_000_000);

        var bytes = OffsetsTopicRecords.OffsetCommitValueBytes(value);

        Assert.Equal(new byte[] { 0, 3, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 5 }, bytes[..14]);
        Assert.Equal(value, OffsetsTopicRecords.ReadOffsetCommitValue(bytes));
    }

    [Fact]
    public void Offset_commit_value_v1_with_expire_timestamp_is_read()
    {
        byte[] v1 = [0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 200];

        Assert.Equal(new CommittedOffset(9, -1, "", 100), OffsetsTopicRecords.ReadOffsetCommitValue(v1));
    }

    [Fact]
    public void Group_metadata_value_v3_round_trips_members_with_instance_ids_and_bytes()
    {
        var group = new PersistedGroup("consumer", 4, "range", "m1", 123, [
            new PersistedMember("m1", "inst-1", "client", "/127.0.0.1", 30_000, 10_000, [1, 2], [3]),
            new PersistedMember("m2", null, "client", "/127.0.0.2", 30_000, 10_000, [], []),
        ]);

        var read = OffsetsTopicRecords.ReadGroupMetadataValue(OffsetsTopicRecords.GroupMetadataValueBytes(group));

        Assert.Equal(("consumer", 4, "range", "m1", 123L), (read.ProtocolType, read.Generation, read.Protocol, read.Leader, read.CurrentStateTimestampMs));
        Assert.Equal(2, read.Members.Count);
        Assert.Equal("inst-1", read.Members[0].GroupInstanceId);
        Assert.Equal(new byte[] { 1, 2 }, read.Members[0].Subscription);
        Assert.Equal(new byte[] { 3 }, read.Members[0].Assignment);
        Assert.Null(read.Members[1].GroupInstanceId);
    }

    [Fact]
    public void Keys_of_unknown_versions_are_skipped_not_failed() =>
        Assert.Null(OffsetsTopicRecords.ReadKey(new byte[] { 0, 3, 0, 1, (byte)'g' }));
}
