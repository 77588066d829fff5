using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Metadata.Tests;

public sealed class MetadataApplierTests
{
    private static readonly Uuid TopicId = new(1, 2);
    private static readonly Uuid OtherTopicId = new(3, 4);

    private readonly MetadataApplier _applier = new(NullLogger.Instance);
    private long _nextOffset;

    [Fact]
    public void Each_batch_yields_an_image_at_its_offset_with_the_next_epoch()
    {
        var before = MetadataImage.Empty;

        var after = _applier.Apply(before, new MetadataBatch(7, 3, []));

        Assert.Equal(7, after.Offset);
        Assert.Equal(before.Epoch + 1, after.Epoch);
        Assert.Equal(before.ControllerId, after.ControllerId);
    }

    [Fact]
    public void Register_broker_adds_it_with_its_first_endpoint_epoch_and_fencing()
    {
        var image = Apply(MetadataImage.Empty, Register(1, epoch: 10, fenced: true, rack: "r1"));

        var broker = image.Brokers[1];
        Assert.Equal(("host1", 9092, "r1", 10L, true, false),
            (broker.Host, broker.Port, broker.Rack, broker.Epoch, broker.Fenced, broker.InControlledShutdown));
    }

    [Fact]
    public void Re_registering_replaces_the_broker_and_clears_controlled_shutdown()
    {
        var image = Apply(MetadataImage.Empty, Register(1, epoch: 10, fenced: false),
            new BrokerRegistrationChangeRecord(1, 10, Fenced: null, InControlledShutdown: true));

        image = Apply(image, Register(1, epoch: 20, fenced: true));

        var broker = image.Brokers[1];
        Assert.Equal((20L, true, false), (broker.Epoch, broker.Fenced, broker.InControlledShutdown));
    }

    [Fact]
    public void Fence_and_unfence_with_the_current_epoch_change_the_broker()
    {
        var image = Apply(MetadataImage.Empty, Register(1, epoch: 10, fenced: true));

        image = Apply(image, new UnfenceBrokerRecord(1, 10));
        Assert.False(image.Brokers[1].Fenced);

        image = Apply(image, new FenceBrokerRecord(1, 10));
        Assert.True(image.Brokers[1].Fenced);
    }

    [Fact]
    public void Fence_unfence_and_registration_change_with_a_stale_epoch_are_ignored()
    {
        var image = Apply(MetadataImage.Empty, Register(1, epoch: 10, fenced: true), Register(2, epoch: 11, fenced: false));

        image = Apply(image,
            new UnfenceBrokerRecord(1, 5),
            new FenceBrokerRecord(2, 5),
            new BrokerRegistrationChangeRecord(2, 5, Fenced: true, InControlledShutdown: true));

        Assert.True(image.Brokers[1].Fenced);
        Assert.False(image.Brokers[2].Fenced);
        Assert.False(image.Brokers[2].InControlledShutdown);
    }

    [Fact]
    public void Registration_change_sets_only_the_fields_it_carries()
    {
        var image = Apply(MetadataImage.Empty, Register(1, epoch: 10, fenced: false));

        image = Apply(image, new BrokerRegistrationChangeRecord(1, 10, Fenced: null, InControlledShutdown: true));
        Assert.Equal((false, true), (image.Brokers[1].Fenced, image.Brokers[1].InControlledShutdown));

        image = Apply(image, new BrokerRegistrationChangeRecord(1, 10, Fenced: true, InControlledShutdown: null));
        Assert.Equal((true, true), (image.Brokers[1].Fenced, image.Brokers[1].InControlledShutdown));
    }

    [Fact]
    public void Unregister_removes_the_broker()
    {
        var image = Apply(MetadataImage.Empty, Register(1, epoch: 10, fenced: false), Register(2, epoch: 11, fenced: false));

        image = Apply(image, new UnregisterBrokerRecord(1, 10));

        Assert.Equal([2], image.Brokers.Keys);
    }

    [Fact]
    public void Topic_and_its_partitions_in_one_batch_appear_together()
    {
        var image = Apply(MetadataImage.Empty,
            new TopicRecord("orders", TopicId),
            Partition(0, replicas: [1, 2], leader: 1),
            Partition(1, replicas: [2, 1], leader: 2));

        var topic = image.Topics["orders"];
        Assert.Equal(TopicId, topic.Id);
        Assert.Same(topic, image.TopicsById[TopicId]);
        Assert.Equal([0, 1], topic.Partitions.Select(p => p.Partition));
        Assert.Equal([2, 1], topic.Partitions[1].Replicas.ToArray());
        Assert.Equal(2, topic.Partitions[1].Leader);
        Assert.Empty(topic.Configs);
    }

    [Fact]
    public void Partition_record_for_an_existing_partition_replaces_it()
    {
        var image = Apply(MetadataImage.Empty, new TopicRecord("orders", TopicId), Partition(0, replicas: [1], leader: 1));

        image = Apply(image, new PartitionRecord(TopicId, 0, [1, 2], [1, 2], 2, LeaderEpoch: 5, PartitionEpoch: 6, AddingReplicas: [2]));

        var partition = Assert.Single(image.Topics["orders"].Partitions);
        Assert.Equal((2, 5, 6), (partition.Leader, partition.LeaderEpoch, partition.PartitionEpoch));
        Assert.Equal([2], partition.AddingReplicas.ToArray());
    }

    [Fact]
    public void Partition_record_that_would_leave_a_gap_is_skipped()
    {
        var image = Apply(MetadataImage.Empty, new TopicRecord("orders", TopicId));

        image = Apply(image, Partition(2, replicas: [1], leader: 1));

        Assert.Empty(image.Topics["orders"].Partitions);
    }

    [Fact]
    public void Leader_change_bumps_leader_epoch_and_partition_epoch()
    {
        var image = WithTopic(replicas: [1, 2, 3], leader: 1);

        image = Apply(image, new PartitionChangeRecord(TopicId, 0, Leader: 2, Isr: [2, 3], Replicas: null));

        var partition = image.Topics["orders"].Partitions[0];
        Assert.Equal((2, 1, 1), (partition.Leader, partition.LeaderEpoch, partition.PartitionEpoch));
        Assert.Equal([2, 3], partition.Isr.ToArray());
        Assert.Equal([1, 2, 3], partition.Replicas.ToArray());
    }

    [Fact]
    public void Isr_change_without_a_leader_bumps_only_the_partition_epoch()
    {
        var image = WithTopic(replicas: [1, 2, 3], leader: 1);

        image = Apply(image, new PartitionChangeRecord(TopicId, 0, PartitionChangeRecord.LeaderNoChange, Isr: [1], Replicas: null));

        var partition = image.Topics["orders"].Partitions[0];
        Assert.Equal((1, 0, 1), (partition.Leader, partition.LeaderEpoch, partition.PartitionEpoch));
        Assert.Equal([1], partition.Isr.ToArray());
    }

    [Fact]
    public void Leader_set_to_none_makes_the_partition_offline_in_a_new_leader_epoch()
    {
        var image = WithTopic(replicas: [1], leader: 1);

        image = Apply(image, new PartitionChangeRecord(TopicId, 0, Leader: -1, Isr: null, Replicas: null));

        var partition = image.Topics["orders"].Partitions[0];
        Assert.True(partition.IsOffline);
        Assert.Equal(1, partition.LeaderEpoch);
    }

    [Fact]
    public void Reassignment_lists_are_replaced_and_empty_lists_end_it()
    {
        var image = WithTopic(replicas: [1, 2], leader: 1);

        image = Apply(image, new PartitionChangeRecord(TopicId, 0, PartitionChangeRecord.LeaderNoChange, Isr: null,
            Replicas: [1, 2, 3], AddingReplicas: [3], RemovingReplicas: [1]));
        var reassigning = image.Topics["orders"].Partitions[0];
        Assert.True(reassigning.IsReassigning);
        Assert.Equal([2, 3], reassigning.TargetReplicas.ToArray());

        image = Apply(image, new PartitionChangeRecord(TopicId, 0, PartitionChangeRecord.LeaderNoChange, Isr: [2, 3],
            Replicas: [2, 3], AddingReplicas: [], RemovingReplicas: []));
        var done = image.Topics["orders"].Partitions[0];
        Assert.False(done.IsReassigning);
        Assert.Equal([2, 3], done.Replicas.ToArray());
        Assert.Equal(2, done.PartitionEpoch);
    }

    [Fact]
    public void Topic_config_records_set_and_remove_overrides()
    {
        var image = WithTopic(replicas: [1], leader: 1);

        image = Apply(image, new ConfigRecord(2, "orders", "retention.ms", "1000"), new ConfigRecord(2, "orders", "cleanup.policy", "compact"));
        image = Apply(image, new ConfigRecord(2, "orders", "retention.ms", null));

        Assert.Equal(new Dictionary<string, string> { ["cleanup.policy"] = "compact" }, image.Topics["orders"].Configs);
    }

    [Fact]
    public void Broker_config_records_are_kept_by_resource_name_and_leave_topics_unchanged()
    {
        var image = WithTopic(replicas: [1], leader: 1);

        var after = Apply(image, new ConfigRecord(4, "1", "log.retention.ms", "1000"), new ConfigRecord(4, "", "log.segment.bytes", "2048"));

        Assert.Same(image.Topics["orders"], after.Topics["orders"]);
        Assert.Equal(new Dictionary<string, string> { ["log.retention.ms"] = "1000" }, after.BrokerConfigsOf("1"));
        Assert.Equal(new Dictionary<string, string> { ["log.segment.bytes"] = "2048" }, after.BrokerConfigsOf(""));
        Assert.Empty(after.BrokerConfigsOf("2"));
    }

    [Fact]
    public void A_broker_config_record_without_value_removes_the_key_and_an_emptied_resource()
    {
        var image = Apply(MetadataImage.Empty, new ConfigRecord(4, "", "log.segment.bytes", "2048"));

        image = Apply(image, new ConfigRecord(4, "", "log.segment.bytes", null));

        Assert.Empty(image.BrokerConfigs);
    }

    [Fact]
    public void Remove_topic_deletes_it_by_id()
    {
        var image = WithTopic(replicas: [1], leader: 1);

        image = Apply(image, new RemoveTopicRecord(TopicId));

        Assert.Empty(image.Topics);
        Assert.Empty(image.TopicsById);
    }

    [Fact]
    public void Topic_removed_and_recreated_in_one_batch_has_the_new_id()
    {
        var image = WithTopic(replicas: [1], leader: 1);

        image = Apply(image, new RemoveTopicRecord(TopicId), new TopicRecord("orders", OtherTopicId),
            new PartitionRecord(OtherTopicId, 0, [2], [2], 2, 0, 0));

        Assert.Equal(OtherTopicId, image.Topics["orders"].Id);
        Assert.Equal(2, image.Topics["orders"].Partitions[0].Leader);
        Assert.False(image.TopicsById.ContainsKey(TopicId));
    }

    [Fact]
    public void Producer_ids_record_sets_the_next_producer_id()
    {
        var image = Apply(MetadataImage.Empty, new ProducerIdsRecord(1, 10, NextProducerId: 2000));

        Assert.Equal(2000, image.NextProducerId);
    }

    [Fact]
    public void Cluster_id_is_set_once()
    {
        var image = Apply(MetadataImage.Empty, new ClusterIdRecord("first"));

        image = Apply(image, new ClusterIdRecord("second"));

        Assert.Equal("first", image.ClusterId);
    }

    [Fact]
    public void Records_naming_unknown_topics_or_brokers_are_skipped()
    {
        var image = WithTopic(replicas: [1], leader: 1);

        var after = Apply(image,
            new PartitionRecord(OtherTopicId, 0, [1], [1], 1, 0, 0),
            new PartitionChangeRecord(OtherTopicId, 0, Leader: 2, Isr: null, Replicas: null),
            new PartitionChangeRecord(TopicId, 5, Leader: 2, Isr: null, Replicas: null),
            new RemoveTopicRecord(OtherTopicId),
            new ConfigRecord(2, "missing", "retention.ms", "1"),
            new FenceBrokerRecord(9, 0),
            new UnfenceBrokerRecord(9, 0),
            new BrokerRegistrationChangeRecord(9, 0, true, null),
            new UnregisterBrokerRecord(9, 0),
            new TopicRecord("orders", OtherTopicId));

        Assert.Equal(image.Topics.Keys, after.Topics.Keys);
        Assert.Same(image.Topics["orders"], after.Topics["orders"]);
        Assert.Empty(after.Brokers);
        Assert.Equal(image.Offset + 1, after.Offset);
    }

    [Fact]
    public void The_input_image_is_left_unchanged()
    {
        var image = WithTopic(replicas: [1], leader: 1);

        _ = Apply(image, new PartitionChangeRecord(TopicId, 0, Leader: -1, Isr: [], Replicas: null), new RemoveTopicRecord(TopicId));

        Assert.Equal(1, image.Topics["orders"].Partitions[0].Leader);
    }

    private MetadataImage WithTopic(int[] replicas, int leader) =>
        Apply(MetadataImage.Empty, new TopicRecord("orders", TopicId), Partition(0, replicas, leader));

    private MetadataImage Apply(MetadataImage image, params MetadataRecord[] records) =>
        _applier.Apply(image, new MetadataBatch(_nextOffset++, 1, records));

    private static PartitionRecord Partition(int id, int[] replicas, int leader) =>
        new(TopicId, id, replicas, replicas, leader, LeaderEpoch: 0, PartitionEpoch: 0);

    private static RegisterBrokerRecord Register(int id, long epoch, bool fenced, string? rack = null) =>
        new(id, Uuid.NewRandom(), epoch, [new BrokerEndpoint("PLAINTEXT", $"host{id}", 9092, 0), new BrokerEndpoint("CONTROLLER", "c", 9093, 0)],
            rack, fenced);
}
