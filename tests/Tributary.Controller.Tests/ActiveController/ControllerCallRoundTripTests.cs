using System.Buffers;
using Tributary.Controller.Messages;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Controller.Tests.ActiveController;

/// <summary>Every controller command and reply survives its generated request/response (each API serves one version), and
/// malformed or oversized bodies are refused with <see cref="MalformedMessageException"/>.</summary>
public sealed class ControllerCallRoundTripTests
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
        { "elect some unclean", new ElectLeadersCommand(ElectionType.Unclean, [new TopicPartitionRef("a", 0), new TopicPartitionRef("a", 3), new TopicPartitionRef("b", 2)]) },
        { "reassign and cancel", new AlterReassignmentsCommand([new ReassignmentTarget("a", 0, [3, 4]), new ReassignmentTarget("a", 1, null)]) },
        { "unregister broker", new UnregisterBrokerCommand(4) },
    };

    /// <summary>Each reply with the api key of the call it answers.</summary>
    public static TheoryData<string, short, ControllerReply> Replies => new()
    {
        { "create topics ok at an offset", CreateTopicsRequest.ApiKey, new ControllerReply(ErrorCode.None, null, 17) },
        { "create topics error with message", CreateTopicsRequest.ApiKey, new ControllerReply(ErrorCode.TopicAlreadyExists, "Topic 'a' already exists.") },
        { "delete topics", DeleteTopicsRequest.ApiKey, new ControllerReply(ErrorCode.UnknownTopicOrPartition, "no such topic") },
        { "create partitions", CreatePartitionsRequest.ApiKey, new ControllerReply(ErrorCode.None, null, 40) },
        { "alter configs", AlterConfigsRequest.ApiKey, new ControllerReply(ErrorCode.InvalidConfig, "bad value") },
        { "unregister broker", UnregisterBrokerRequest.ApiKey, new ControllerReply(ErrorCode.None, null, 9) },
        { "producer ids", AllocateProducerIdsRequest.ApiKey, new ProducerIdsReply(ErrorCode.None, 1000, 1000, null, 5) },
        { "producer ids refused", AllocateProducerIdsRequest.ApiKey, new ProducerIdsReply(ErrorCode.StaleBrokerEpoch, -1, 0, "stale") },
        { "register broker", BrokerRegistrationRequest.ApiKey, new RegisterBrokerReply(ErrorCode.None, 88, null, 88) },
        { "heartbeat", BrokerHeartbeatRequest.ApiKey, new BrokerHeartbeatReply(ErrorCode.None, IsCaughtUp: true, IsFenced: false, ShouldShutdown: true) },
        { "alter partition", AlterPartitionRequest.ApiKey, new AlterPartitionReply(ErrorCode.FencedLeaderEpoch, 2, 5, 8, [2, 3], "stale") },
        {
            "election outcomes", ElectLeadersRequest.ApiKey,
            new PartitionOutcomesReply(ErrorCode.None, [new PartitionOutcome("a", 0, ErrorCode.None, null),
                new PartitionOutcome("a", 1, ErrorCode.ElectionNotNeeded, "already preferred"), new PartitionOutcome("b", 0, ErrorCode.None, null)], null, 30)
        },
        {
            "reassignment outcomes", AlterPartitionReassignmentsRequest.ApiKey,
            new PartitionOutcomesReply(ErrorCode.None, [new PartitionOutcome("a", 1, ErrorCode.NoReassignmentInProgress, "not moving")], null, 31)
        },
        { "reassignment refused", AlterPartitionReassignmentsRequest.ApiKey, new PartitionOutcomesReply(ErrorCode.NotController, [], "moved") },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void Every_command_round_trips_through_its_generated_request(string description, ControllerCommand command)
    {
        var call = ControllerCalls.ToCall(command);

        var decoded = ControllerCalls.DecodeCall(call);

        Assert.True(decoded.GetType() == command.GetType(), description);
        Assert.Equal(call, ControllerCalls.ToCall(decoded), CallComparer.Instance);
    }

    [Theory]
    [MemberData(nameof(Replies))]
    public void Every_reply_round_trips_through_its_generated_response(string description, short apiKey, ControllerReply reply)
    {
        var body = ControllerCalls.EncodeReply(apiKey, reply);

        var decoded = ControllerCalls.DecodeReply(apiKey, body);

        Assert.True(decoded.GetType() == reply.GetType(), description);
        Assert.Equal((reply.Error, reply.Message, reply.Offset), (decoded.Error, decoded.Message, decoded.Offset));
        Assert.Equal(body, ControllerCalls.EncodeReply(apiKey, decoded));
    }

    [Theory]
    [InlineData(typeof(CreateTopicCommand), 19, 7)]
    [InlineData(typeof(DeleteTopicCommand), 20, 5)]
    [InlineData(typeof(CreatePartitionsCommand), 37, 3)]
    [InlineData(typeof(ReplaceTopicConfigsCommand), 33, 2)]
    [InlineData(typeof(ReplaceBrokerConfigsCommand), 33, 2)]
    [InlineData(typeof(AllocateProducerIdsCommand), 67, 0)]
    [InlineData(typeof(RegisterBrokerCommand), 62, 0)]
    [InlineData(typeof(BrokerHeartbeatCommand), 63, 0)]
    [InlineData(typeof(AlterPartitionCommand), 56, 2)]
    [InlineData(typeof(ElectLeadersCommand), 43, 2)]
    [InlineData(typeof(AlterReassignmentsCommand), 45, 0)]
    [InlineData(typeof(UnregisterBrokerCommand), 64, 0)]
    public void Each_command_travels_as_kafkas_controller_api(Type commandType, short apiKey, short version)
    {
        var command = Commands.Select(row => (ControllerCommand)row[1]).First(c => c.GetType() == commandType);

        var call = ControllerCalls.ToCall(command);

        Assert.Equal((apiKey, version), (call.ApiKey, call.ApiVersion));
    }

    [Fact]
    public void Create_topic_keeps_assignments_and_null_config_values()
    {
        var command = new CreateTopicCommand(new NewTopic("orders", 2, 3, new Dictionary<int, int[]> { [0] = [1, 2, 3], [1] = [2, 3, 1] },
            new Dictionary<string, string?> { ["retention.ms"] = "1000", ["segment.bytes"] = null }), ValidateOnly: true);

        var decoded = Assert.IsType<CreateTopicCommand>(ControllerCalls.DecodeCall(ControllerCalls.ToCall(command)));

        Assert.True(decoded.ValidateOnly);
        Assert.Equal(("orders", 2, (short)3), (decoded.Topic.Name, decoded.Topic.Partitions, decoded.Topic.ReplicationFactor));
        Assert.Equal([2, 3, 1], decoded.Topic.Assignments![1]);
        Assert.Equal(2, decoded.Topic.Assignments.Count);
        Assert.Equal("1000", decoded.Topic.Configs["retention.ms"]);
        Assert.True(decoded.Topic.Configs.ContainsKey("segment.bytes"));
        Assert.Null(decoded.Topic.Configs["segment.bytes"]);
    }

    [Fact]
    public void Null_and_empty_replica_lists_stay_distinct()
    {
        var command = new AlterReassignmentsCommand([new ReassignmentTarget("a", 0, null), new ReassignmentTarget("a", 1, [])]);

        var decoded = Assert.IsType<AlterReassignmentsCommand>(ControllerCalls.DecodeCall(ControllerCalls.ToCall(command)));

        Assert.Null(decoded.Targets[0].Replicas);
        Assert.Empty(decoded.Targets[1].Replicas!);
    }

    [Fact]
    public void Election_outcomes_keep_every_partition_of_every_topic()
    {
        var reply = new PartitionOutcomesReply(ErrorCode.None, [new PartitionOutcome("a", 0, ErrorCode.None, null),
            new PartitionOutcome("b", 4, ErrorCode.PreferredLeaderNotAvailable, "down"), new PartitionOutcome("a", 2, ErrorCode.None, null)], null, 7);

        var decoded = Assert.IsType<PartitionOutcomesReply>(ControllerCalls.DecodeReply(ElectLeadersRequest.ApiKey,
            ControllerCalls.EncodeReply(ElectLeadersRequest.ApiKey, reply)));

        Assert.Equal(reply.Partitions.OrderBy(p => (p.Topic, p.Partition)), decoded.Partitions.OrderBy(p => (p.Topic, p.Partition)));
    }

    [Fact]
    public void An_error_built_before_the_command_was_known_keeps_its_error_for_a_typed_reply()
    {
        var body = ControllerCalls.EncodeReply(AllocateProducerIdsRequest.ApiKey, new ControllerReply(ErrorCode.NotController, "not me"));

        var reply = Assert.IsType<ProducerIdsReply>(ControllerCalls.DecodeReply(AllocateProducerIdsRequest.ApiKey, body));

        Assert.Equal((ErrorCode.NotController, "not me", 0), (reply.Error, reply.Message, reply.Size));
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void Every_truncation_of_a_request_is_refused(string description, ControllerCommand command)
    {
        var call = ControllerCalls.ToCall(command);

        for (var length = 0; length < call.Body.Length; length++)
        {
            var truncated = call with { Body = call.Body[..length] };
            var thrown = Record.Exception(() => ControllerCalls.DecodeCall(truncated));
            Assert.True(thrown is MalformedMessageException, $"{description}: {length} of {call.Body.Length} bytes gave {thrown?.GetType().Name ?? "no error"}");
        }
    }

    [Fact]
    public void Trailing_bytes_are_refused()
    {
        var call = ControllerCalls.ToCall(new DeleteTopicCommand("a"));

        Assert.Throws<MalformedMessageException>(() => ControllerCalls.DecodeCall(call with { Body = call.Body.ToArray().Append((byte)0).ToArray() }));
    }

    [Fact]
    public void A_version_this_controller_does_not_serve_is_refused()
    {
        var call = ControllerCalls.ToCall(new DeleteTopicCommand("a"));

        Assert.Throws<UnsupportedVersionException>(() => ControllerCalls.DecodeCall(call with { ApiVersion = 6 }));
    }

    [Fact]
    public void A_request_with_two_topics_is_refused_rather_than_half_served()
    {
        var body = Write(new DeleteTopicsRequest { TopicNames = ["a", "b"] }, 5);

        Assert.Throws<MalformedMessageException>(() => ControllerCalls.DecodeCall(new ControllerCall(DeleteTopicsRequest.ApiKey, 5, body)));
    }

    [Fact]
    public void Huge_list_count_is_refused_before_allocating()
    {
        // AlterPartition v2 whose ISR claims two billion entries in a body of a few dozen bytes.
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(buffer);
        writer.WriteInt32(1);
        writer.WriteInt64(7);
        writer.WriteArrayLength(1, compact: true);
        writer.WriteUuid(TopicId);
        writer.WriteArrayLength(1, compact: true);
        writer.WriteInt32(0);
        writer.WriteInt32(0);
        writer.WriteUnsignedVarInt(2_000_000_000);

        var thrown = Assert.Throws<MalformedMessageException>(() =>
            ControllerCalls.DecodeCall(new ControllerCall(AlterPartitionRequest.ApiKey, 2, buffer.WrittenSpan.ToArray())));
        Assert.Contains("exceeds", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_replica_list_longer_than_the_metadata_limit_is_refused()
    {
        var command = new AlterReassignmentsCommand([new ReassignmentTarget("a", 0, [.. Enumerable.Range(0, ControllerCalls.MaxIdListLength + 1)])]);

        var thrown = Assert.Throws<MalformedMessageException>(() => ControllerCalls.DecodeCall(ControllerCalls.ToCall(command)));
        Assert.Contains("exceed the limit", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_config_keys_are_refused()
    {
        var body = Write(new AlterConfigsRequest
        {
            Resources =
            [
                new AlterConfigsRequest.AlterConfigsResource
                {
                    ResourceType = 2,
                    ResourceName = "orders",
                    Configs = [new AlterConfigsRequest.AlterableConfig { Name = "a", Value = "1" }, new AlterConfigsRequest.AlterableConfig { Name = "a", Value = "2" }],
                },
            ],
        }, 2);

        Assert.Throws<MalformedMessageException>(() => ControllerCalls.DecodeCall(new ControllerCall(AlterConfigsRequest.ApiKey, 2, body)));
    }

    [Fact]
    public void Config_resource_the_controller_does_not_own_is_refused()
    {
        var body = Write(new AlterConfigsRequest
        {
            Resources = [new AlterConfigsRequest.AlterConfigsResource { ResourceType = 8, ResourceName = "x" }],
        }, 2);

        Assert.Throws<MalformedMessageException>(() => ControllerCalls.DecodeCall(new ControllerCall(AlterConfigsRequest.ApiKey, 2, body)));
    }

    private static byte[] Write(IKafkaMessage message, short version)
    {
        var buffer = new ArrayBufferWriter<byte>();
        message.Write(new KafkaWriter(buffer), version);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Calls are equal when key, version and body bytes are.</summary>
    private sealed class CallComparer : IEqualityComparer<ControllerCall>
    {
        public static readonly CallComparer Instance = new();

        public bool Equals(ControllerCall x, ControllerCall y) =>
            x.ApiKey == y.ApiKey && x.ApiVersion == y.ApiVersion && x.Body.Span.SequenceEqual(y.Body.Span);

        public int GetHashCode(ControllerCall obj) => obj.ApiKey;
    }
}
