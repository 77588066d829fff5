using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Metadata.Tests.Records;

public sealed class MetadataRecordSerdeTests
{
    private static readonly Uuid TopicId = new(0x1234_5678_9abc_def0, 0x0fed_cba9_8765_4321);

    [Fact]
    public void RegisterBroker_round_trips_with_endpoints_and_rack()
    {
        var record = new RegisterBrokerRecord(3, new Uuid(7, 8), 42,
            [new BrokerEndpoint("PLAINTEXT", "broker-3", 9092, 0), new BrokerEndpoint("SASL_SSL", "broker-3.example", 9094, 3)],
            "rack-a", Fenced: true);

        var copy = Assert.IsType<RegisterBrokerRecord>(RoundTrip(record));

        Assert.Equal((record.BrokerId, record.IncarnationId, record.BrokerEpoch, record.Rack, record.Fenced),
            (copy.BrokerId, copy.IncarnationId, copy.BrokerEpoch, copy.Rack, copy.Fenced));
        Assert.Equal(record.Endpoints, copy.Endpoints);
    }

    [Fact]
    public void RegisterBroker_round_trips_without_rack()
    {
        var copy = Assert.IsType<RegisterBrokerRecord>(RoundTrip(new RegisterBrokerRecord(1, new Uuid(1, 2), 0, [], null, false)));

        Assert.Null(copy.Rack);
        Assert.Empty(copy.Endpoints);
    }

    [Fact]
    public void Topic_round_trips()
    {
        Assert.Equal(new TopicRecord("orders", TopicId), RoundTrip(new TopicRecord("orders", TopicId)));
    }

    [Fact]
    public void Partition_round_trips_with_assignment_and_epochs()
    {
        var record = new PartitionRecord(TopicId, 5, [1, 2, 3], [1, 3], Leader: 3, LeaderEpoch: 7, PartitionEpoch: 11);

        var copy = Assert.IsType<PartitionRecord>(RoundTrip(record));

        Assert.Equal((record.TopicId, record.PartitionId, record.Leader, record.LeaderEpoch, record.PartitionEpoch),
            (copy.TopicId, copy.PartitionId, copy.Leader, copy.LeaderEpoch, copy.PartitionEpoch));
        Assert.Equal(record.Replicas, copy.Replicas);
        Assert.Equal(record.Isr, copy.Isr);
    }

    [Fact]
    public void PartitionChange_keeps_unchanged_fields_null_and_the_no_change_leader()
    {
        var record = new PartitionChangeRecord(TopicId, 0, PartitionChangeRecord.LeaderNoChange, Isr: [2], Replicas: null);

        var copy = Assert.IsType<PartitionChangeRecord>(RoundTrip(record));

        Assert.Equal(PartitionChangeRecord.LeaderNoChange, copy.Leader);
        Assert.Equal([2], copy.Isr!);
        Assert.Null(copy.Replicas);
    }

    [Fact]
    public void Config_round_trips_a_set_and_a_removal()
    {
        var set = new ConfigRecord(2, "orders", "retention.ms", "60000");
        var removal = new ConfigRecord(4, "1", "log.retention.hours", null);

        Assert.Equal(set, RoundTrip(set));
        Assert.Equal(removal, RoundTrip(removal));
    }

    [Fact]
    public void RemoveTopic_ProducerIds_and_fencing_round_trip()
    {
        MetadataRecord[] records =
        [
            new RemoveTopicRecord(TopicId),
            new ProducerIdsRecord(2, 17, 5000),
            new FenceBrokerRecord(2, 17),
            new UnfenceBrokerRecord(2, 18),
        ];

        Assert.Equal(records, records.Select(RoundTrip));
    }

    [Fact]
    public void Partition_round_trips_a_reassignment_in_progress()
    {
        var record = new PartitionRecord(TopicId, 2, [1, 2, 3, 4], [1, 2, 3], Leader: 1, LeaderEpoch: 3, PartitionEpoch: 9,
            AddingReplicas: [4], RemovingReplicas: [3]);

        var copy = Assert.IsType<PartitionRecord>(RoundTrip(record));

        Assert.Equal((record.TopicId, record.PartitionId, record.Leader, record.LeaderEpoch, record.PartitionEpoch),
            (copy.TopicId, copy.PartitionId, copy.Leader, copy.LeaderEpoch, copy.PartitionEpoch));
        Assert.True(record.Replicas.SequenceEqual(copy.Replicas));
        Assert.True(record.Isr.SequenceEqual(copy.Isr));
        Assert.True(record.AddingReplicas!.SequenceEqual(copy.AddingReplicas!));
        Assert.True(record.RemovingReplicas!.SequenceEqual(copy.RemovingReplicas!));
    }

    [Fact]
    public void Partition_without_a_reassignment_reads_back_empty_adding_and_removing_lists()
    {
        var copy = Assert.IsType<PartitionRecord>(RoundTrip(new PartitionRecord(TopicId, 0, [1], [1], 1, 0, 0)));

        Assert.Empty(copy.AddingReplicas!);
        Assert.Empty(copy.RemovingReplicas!);
    }

    [Fact]
    public void PartitionChange_round_trips_every_field_of_a_reassignment()
    {
        var record = new PartitionChangeRecord(TopicId, 4, Leader: 2, Isr: [2, 4], Replicas: [2, 4, 5], AddingReplicas: [5], RemovingReplicas: [1]);

        var copy = Assert.IsType<PartitionChangeRecord>(RoundTrip(record));

        Assert.Equal((record.TopicId, record.PartitionId, record.Leader), (copy.TopicId, copy.PartitionId, copy.Leader));
        Assert.True(record.Isr!.SequenceEqual(copy.Isr!));
        Assert.True(record.Replicas!.SequenceEqual(copy.Replicas!));
        Assert.True(record.AddingReplicas!.SequenceEqual(copy.AddingReplicas!));
        Assert.True(record.RemovingReplicas!.SequenceEqual(copy.RemovingReplicas!));
    }

    [Fact]
    public void PartitionChange_keeps_absent_and_emptied_reassignment_lists_apart()
    {
        var unchanged = Assert.IsType<PartitionChangeRecord>(RoundTrip(new PartitionChangeRecord(TopicId, 0, 1, null, null)));
        var ended = Assert.IsType<PartitionChangeRecord>(RoundTrip(new PartitionChangeRecord(TopicId, 0, 1, null, null, [], [])));

        Assert.Null(unchanged.AddingReplicas);
        Assert.Null(unchanged.RemovingReplicas);
        Assert.Empty(ended.AddingReplicas!);
        Assert.Empty(ended.RemovingReplicas!);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void BrokerRegistrationChange_round_trips_each_tri_state(bool? fenced, bool? inControlledShutdown)
    {
        var record = new BrokerRegistrationChangeRecord(5, 77, fenced, inControlledShutdown);

        Assert.Equal(record, RoundTrip(record));
    }

    [Fact]
    public void BrokerRegistrationChange_with_a_flag_other_than_minus_one_zero_or_one_is_rejected()
    {
        byte[] bytes = MetadataRecordSerde.Serialize(new BrokerRegistrationChangeRecord(5, 77, true, null));
        bytes[4 + 4 + 8] = 2; // Fenced: after type, version, int32 broker id and int64 broker epoch

        Assert.Throws<MalformedMessageException>(() => MetadataRecordSerde.Deserialize(bytes));
    }

    [Fact]
    public void ClusterId_and_UnregisterBroker_round_trip()
    {
        MetadataRecord[] records = [new ClusterIdRecord("q1Sh-9_lT3iQ0aR3d9mXbA"), new UnregisterBrokerRecord(4, 12)];

        Assert.Equal(records, records.Select(RoundTrip));
    }

    [Fact]
    public void A_record_from_a_newer_version_is_rejected()
    {
        byte[] bytes = MetadataRecordSerde.Serialize(new FenceBrokerRecord(1, 1));
        bytes[3] = 1; // version field: int16 after the int16 type

        Assert.Throws<MalformedMessageException>(() => MetadataRecordSerde.Deserialize(bytes));
    }

    [Fact]
    public void A_truncated_record_is_rejected()
    {
        byte[] bytes = MetadataRecordSerde.Serialize(new TopicRecord("orders", TopicId));

        Assert.Throws<MalformedMessageException>(() => MetadataRecordSerde.Deserialize(bytes.AsMemory(0, bytes.Length - 3)));
    }

    [Fact]
    public void An_unknown_record_type_is_rejected()
    {
        byte[] bytes = MetadataRecordSerde.Serialize(new FenceBrokerRecord(1, 1));
        bytes[1] = 99;

        Assert.Throws<MalformedMessageException>(() => MetadataRecordSerde.Deserialize(bytes));
    }

    private static MetadataRecord RoundTrip(MetadataRecord record) =>
        MetadataRecordSerde.Deserialize(MetadataRecordSerde.Serialize(record));
}
