using System.Buffers;
using System.Buffers.Binary;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Controller.Tests.ActiveController;

public sealed class ControllerRpcCodecTests
{
    private static readonly Uuid TopicId = new(11, 22);

    public static TheoryData<string, ControllerCommand> Commands => new()
    {
        { "create topic, placed by the controller", new CreateTopicCommand(new NewTopic("orders", 3, 2, null, new Dictionary<string, string?>()), false) },
        {
            "create topic with assignments and configs",
            new CreateTopicCommand(new NewTopic("orders", 2, 2, new Dictionary<int, int[]> { [1] = [2, 3], [0] = [1, 2] },
                new Dictionary<string, string?> { ["retention.ms"] = "1000", ["cleanup.policy"] = null }), true)
        },
        { "delete topic", new DeleteTopicCommand("orders") },
        { "create partitions", new CreatePartitionsCommand("orders", 6, null, false) },
        { "create partitions with assignments", new CreatePartitionsCommand("orders", 5, [[1, 2], [2, 3]], true) },
        { "replace configs", new ReplaceTopicConfigsCommand("orders", new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" }, false) },
        { "replace configs with none", new ReplaceTopicConfigsCommand("orders", new Dictionary<string, string>(), true) },
        { "replace broker configs", new ReplaceBrokerConfigsCommand("2", new Dictionary<string, string> { ["log.retention.ms"] = "1000" }, false) },
        { "replace cluster default broker configs", new ReplaceBrokerConfigsCommand("", new Dictionary<string, string>(), true) },
        { "allocate producer ids", new AllocateProducerIdsCommand(3, 42) },
        {
            "register broker",
            new RegisterBrokerCommand(2, new Uuid(5, 6), [new BrokerEndpoint("PLAINTEXT", "h2", 9092, 0), new BrokerEndpoint("SSL", "h2", 9093, 1)], "rack-a")
        },
        { "register broker without rack", new RegisterBrokerCommand(2, new Uuid(5, 6), [], null) },
        { "heartbeat", new BrokerHeartbeatCommand(1, 7, 1234, WantFence: false, WantShutdown: true) },
        { "alter partition", new AlterPartitionCommand(1, 7, TopicId, 3, 4, 9, [1, 2]) },
        { "elect all preferred", new ElectLeadersCommand(ElectionType.Preferred, null) },
        { "elect some unclean", new ElectLeadersCommand(ElectionType.Unclean, [new TopicPartitionRef("a", 0), new TopicPartitionRef("b", 2)]) },
        { "reassign and cancel", new AlterReassignmentsCommand([new ReassignmentTarget("a", 0, [3, 4]), new ReassignmentTarget("a", 1, null)]) },
        { "unregister broker", new UnregisterBrokerCommand(4) },
    };

    public static TheoryData<string, ControllerReply> Replies => new()
    {
        { "plain ok at an offset", new ControllerReply(ErrorCode.None, null, 17) },
        { "plain error with message", new ControllerReply(ErrorCode.TopicAlreadyExists, "Topic 'a' already exists.") },
        { "producer ids", new ProducerIdsReply(ErrorCode.None, 1000, 1000, null, 5) },
        { "register broker", new RegisterBrokerReply(ErrorCode.None, 88, null, 88) },
        { "heartbeat", new BrokerHeartbeatReply(ErrorCode.None, IsCaughtUp: true, IsFenced: false, ShouldShutdown: true) },
        { "alter partition", new AlterPartitionReply(ErrorCode.FencedLeaderEpoch, 2, 5, 8, [2, 3], "stale") },
        {
            "partition outcomes",
            new PartitionOutcomesReply(ErrorCode.None, [new PartitionOutcome("a", 0, ErrorCode.None, null),
                new PartitionOutcome("a", 1, ErrorCode.ElectionNotNeeded, "already preferred")], null, 30)
        },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void Every_command_round_trips(string description, ControllerCommand command)
    {
        var bytes = ControllerRpcCodec.EncodeCommand(command);

        var decoded = ControllerRpcCodec.DecodeCommand(bytes);

        Assert.True(decoded.GetType() == command.GetType(), description);
        Assert.Equal(bytes, ControllerRpcCodec.EncodeCommand(decoded));
    }

    [Theory]
    [MemberData(nameof(Replies))]
    public void Every_reply_round_trips(string description, ControllerReply reply)
    {
        var bytes = ControllerRpcCodec.EncodeReply(reply);

        var decoded = ControllerRpcCodec.DecodeReply(bytes);

        Assert.True(decoded.GetType() == reply.GetType(), description);
        Assert.Equal((reply.Error, reply.Message, reply.Offset), (decoded.Error, decoded.Message, decoded.Offset));
        Assert.Equal(bytes, ControllerRpcCodec.EncodeReply(decoded));
    }

    [Fact]
    public void Create_topic_keeps_assignments_and_null_config_values()
    {
        var command = new CreateTopicCommand(new NewTopic("orders", 2, 3, new Dictionary<int, int[]> { [0] = [1, 2, 3], [1] = [2, 3, 1] },
            new Dictionary<string, string?> { ["retention.ms"] = "1000", ["segment.bytes"] = null }), ValidateOnly: true);

        var decoded = Assert.IsType<CreateTopicCommand>(ControllerRpcCodec.DecodeCommand(ControllerRpcCodec.EncodeCommand(command)));

        Assert.True(decoded.ValidateOnly);
        Assert.Equal(("orders", 2, (short)3), (decoded.Topic.Name, decoded.Topic.Partitions, decoded.Topic.ReplicationFactor));
        Assert.Equal([2, 3, 1], decoded.Topic.Assignments![1]);
        Assert.Equal(2, decoded.Topic.Assignments.Count);
        Assert.Equal("1000", decoded.Topic.Configs["retention.ms"]);
        Assert.True(decoded.Topic.Configs.ContainsKey("segment.bytes"));
        Assert.Null(decoded.Topic.Configs["segment.bytes"]);
    }

    [Fact]
    public void Null_and_empty_lists_stay_distinct()
    {
        var command = new AlterReassignmentsCommand([new ReassignmentTarget("a", 0, null), new ReassignmentTarget("a", 1, [])]);

        var decoded = Assert.IsType<AlterReassignmentsCommand>(ControllerRpcCodec.DecodeCommand(ControllerRpcCodec.EncodeCommand(command)));

        Assert.Null(decoded.Targets[0].Replicas);
        Assert.Empty(decoded.Targets[1].Replicas!);
    }

    [Fact]
    public void Heartbeat_reply_keeps_its_flags()
    {
        var reply = new BrokerHeartbeatReply(ErrorCode.None, IsCaughtUp: false, IsFenced: true, ShouldShutdown: false, null, 3);

        var decoded = Assert.IsType<BrokerHeartbeatReply>(ControllerRpcCodec.DecodeReply(ControllerRpcCodec.EncodeReply(reply)));

        Assert.Equal((false, true, false), (decoded.IsCaughtUp, decoded.IsFenced, decoded.ShouldShutdown));
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void Every_truncation_of_a_command_is_rejected(string description, ControllerCommand command)
    {
        var bytes = ControllerRpcCodec.EncodeCommand(command);

        for (var length = 0; length < bytes.Length; length++)
        {
            var truncated = bytes.AsMemory(0, length);
            var thrown = Record.Exception(() => ControllerRpcCodec.DecodeCommand(truncated));
            Assert.True(thrown is MalformedMessageException, $"{description}: {length} of {bytes.Length} bytes gave {thrown?.GetType().Name ?? "no error"}");
        }
    }

    [Fact]
    public void Trailing_bytes_are_rejected()
    {
        var bytes = ControllerRpcCodec.EncodeCommand(new DeleteTopicCommand("a")).Append((byte)0).ToArray();

        Assert.Throws<MalformedMessageException>(() => ControllerRpcCodec.DecodeCommand(bytes));
    }

    [Fact]
    public void Unknown_type_is_rejected()
    {
        var bytes = ControllerRpcCodec.EncodeCommand(new DeleteTopicCommand("a"));
        BinaryPrimitives.WriteInt16BigEndian(bytes, 999);

        Assert.Throws<MalformedMessageException>(() => ControllerRpcCodec.DecodeCommand(bytes));
    }

    [Fact]
    public void Newer_version_is_rejected()
    {
        var bytes = ControllerRpcCodec.EncodeReply(new ControllerReply(ErrorCode.None));
        BinaryPrimitives.WriteInt16BigEndian(bytes.AsSpan(2), ControllerRpcCodec.CurrentVersion + 1);

        Assert.Throws<MalformedMessageException>(() => ControllerRpcCodec.DecodeReply(bytes));
    }

    [Fact]
    public void A_reply_is_not_decoded_as_a_command_nor_a_command_as_a_reply()
    {
        var reply = ControllerRpcCodec.EncodeReply(new ControllerReply(ErrorCode.None));
        var command = ControllerRpcCodec.EncodeCommand(new UnregisterBrokerCommand(1));

        Assert.Throws<MalformedMessageException>(() => ControllerRpcCodec.DecodeCommand(reply));
        Assert.Throws<MalformedMessageException>(() => ControllerRpcCodec.DecodeReply(command));
    }

    [Fact]
    public void Huge_list_count_is_rejected_before_allocating()
    {
        // AlterPartition whose ISR claims two billion entries.
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(buffer);
        writer.WriteInt16(8);
        writer.WriteInt16(0);
        writer.WriteInt32(1);
        writer.WriteInt64(7);
        writer.WriteUuid(TopicId);
        writer.WriteInt32(0);
        writer.WriteInt32(0);
        writer.WriteInt32(0);
        writer.WriteUnsignedVarInt(2_000_000_000);

        Assert.Throws<MalformedMessageException>(() => ControllerRpcCodec.DecodeCommand(buffer.WrittenMemory));
    }

    [Fact]
    public void Duplicate_config_keys_are_rejected()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(buffer);
        writer.WriteInt16(4);
        writer.WriteInt16(0);
        writer.WriteString("orders", compact: true);
        writer.WriteArrayLength(2, compact: true);
        writer.WriteString("a", compact: true);
        writer.WriteString("1", compact: true);
        writer.WriteString("a", compact: true);
        writer.WriteString("2", compact: true);
        writer.WriteBool(false);
        writer.WriteEmptyTaggedFields();

        Assert.Throws<MalformedMessageException>(() => ControllerRpcCodec.DecodeCommand(buffer.WrittenMemory));
    }
}
