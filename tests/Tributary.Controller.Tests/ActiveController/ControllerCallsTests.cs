using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Controller.Tests.ActiveController;

public sealed class ControllerCallsTests
{
    [Fact]
    public void Register_broker_travels_as_Kafkas_BrokerRegistration_request_and_decodes_to_the_same_command()
    {
        var incarnation = Uuid.NewRandom();
        var command = new RegisterBrokerCommand(3, incarnation,
            [new BrokerEndpoint("PLAINTEXT", "broker-3.local", 9292, 0), new BrokerEndpoint("CONTROLLER", "broker-3.local", 9293, 1)], "rack-b");

        var call = ControllerCalls.ToCall(command);
        var decoded = Assert.IsType<RegisterBrokerCommand>(ControllerCalls.DecodeCall(call));

        Assert.Equal((62, 0), (call.ApiKey, call.ApiVersion));
        Assert.Equal((3, incarnation, "rack-b"), (decoded.BrokerId, decoded.IncarnationId, decoded.Rack));
        Assert.Equal(command.Endpoints, decoded.Endpoints);
    }

    [Fact]
    public void Heartbeat_travels_as_Kafkas_BrokerHeartbeat_v0_body()
    {
        var call = ControllerCalls.ToCall(new BrokerHeartbeatCommand(7, 0x0102030405060708, 42, WantFence: false, WantShutdown: true));

        // int32 broker id, int64 epoch, int64 metadata offset, bool want-fence, bool want-shutdown, no tagged fields.
        byte[] expected = [0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 42, 0, 1, 0];
        Assert.Equal((63, 0), (call.ApiKey, call.ApiVersion));
        Assert.Equal(expected, call.Body.ToArray());
        Assert.Equal(new BrokerHeartbeatCommand(7, 0x0102030405060708, 42, false, true), ControllerCalls.DecodeCall(call));
    }

    [Fact]
    public void Registration_and_heartbeat_replies_keep_error_message_and_metadata_offset()
    {
        var registered = new RegisterBrokerReply(ErrorCode.None, 55, null, 54);
        var refused = new BrokerHeartbeatReply(ErrorCode.StaleBrokerEpoch, IsCaughtUp: false, IsFenced: true, ShouldShutdown: false, "stale", -1);
        var unfenced = new BrokerHeartbeatReply(ErrorCode.None, IsCaughtUp: true, IsFenced: false, ShouldShutdown: true, null, 99);

        Assert.Equal(registered, ControllerCalls.DecodeReply(62, ControllerCalls.EncodeReply(62, registered)));
        Assert.Equal(refused, ControllerCalls.DecodeReply(63, ControllerCalls.EncodeReply(63, refused)));
        Assert.Equal(unfenced, ControllerCalls.DecodeReply(63, ControllerCalls.EncodeReply(63, unfenced)));
    }

    [Fact]
    public void A_plain_error_reply_to_a_registration_is_sent_as_a_registration_response_with_that_error()
    {
        var body = ControllerCalls.EncodeReply(62, new ControllerReply(ErrorCode.NotController, "not me"));

        var reply = Assert.IsType<RegisterBrokerReply>(ControllerCalls.DecodeReply(62, body));
        Assert.Equal((ErrorCode.NotController, -1L, "not me"), (reply.Error, reply.BrokerEpoch, reply.Message));
    }

    [Fact]
    public void Alter_partition_travels_as_Kafkas_AlterPartition_v2_and_its_reply_names_the_partition()
    {
        var topicId = Uuid.NewRandom();
        var command = new AlterPartitionCommand(2, 40, topicId, 5, LeaderEpoch: 3, PartitionEpoch: 9, NewIsr: [2, 1]);

        var call = ControllerCalls.ToCall(command);
        var decoded = Assert.IsType<AlterPartitionCommand>(ControllerCalls.DecodeCall(call));
        var reply = new AlterPartitionReply(ErrorCode.None, 2, 3, 10, [2, 1], null, 77);
        var answered = Assert.IsType<AlterPartitionReply>(ControllerCalls.DecodeReply(56, ControllerCalls.EncodeReply(56, reply, command)));

        Assert.Equal((56, 2), (call.ApiKey, call.ApiVersion));
        Assert.Equal((2, 40L, topicId, 5, 3, 9), (decoded.BrokerId, decoded.BrokerEpoch, decoded.TopicId, decoded.Partition, decoded.LeaderEpoch, decoded.PartitionEpoch));
        Assert.Equal([2, 1], decoded.NewIsr);
        Assert.Equal((ErrorCode.None, 2, 3, 10, 77L), (answered.Error, answered.Leader, answered.LeaderEpoch, answered.PartitionEpoch, answered.Offset));
        Assert.Equal([2, 1], answered.Isr);
    }

    [Fact]
    public void Alter_partition_refusal_keeps_its_error_and_message()
    {
        var refused = new AlterPartitionReply(ErrorCode.FencedLeaderEpoch, 1, 4, 11, [1], "leader epoch 3 is stale");

        var answered = Assert.IsType<AlterPartitionReply>(ControllerCalls.DecodeReply(56, ControllerCalls.EncodeReply(56, refused)));

        Assert.Equal((ErrorCode.FencedLeaderEpoch, "leader epoch 3 is stale", 4), (answered.Error, answered.Message, answered.LeaderEpoch));
    }

    [Fact]
    public void A_call_with_an_api_key_the_controller_does_not_serve_is_refused()
    {
        Assert.Throws<MalformedMessageException>(() => ControllerCalls.DecodeCall(new ControllerCall(3, 0, new byte[] { 0, 0 })));
    }

    [Fact]
    public void A_truncated_registration_is_refused()
    {
        var call = ControllerCalls.ToCall(new RegisterBrokerCommand(1, Uuid.NewRandom(), [new BrokerEndpoint("P", "h", 1, 0)], null));

        Assert.Throws<MalformedMessageException>(() => ControllerCalls.DecodeCall(call with { Body = call.Body[..10] }));
    }
}
