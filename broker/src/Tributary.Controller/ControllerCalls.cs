using System.Buffers;
using Tributary.Controller.Messages;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Controller;

/// <summary>Controller commands as controller-listener requests and their replies as response bodies: Kafka's own APIs
/// where one exists and is generated here (BrokerRegistration 62, BrokerHeartbeat 63, AlterPartition 56 v2, from
/// <c>Definitions/*.kmsg</c>),
/// <see cref="ControllerRpcCodec"/>'s envelope (api key 10000) for the rest.</summary>
public static class ControllerCalls
{
    /// <summary>Version of the generated requests this build sends (AlterPartition: <see cref="AlterPartitionVersion"/>).</summary>
    private const short Version = 0;

    /// <summary>AlterPartition with topic ids and a plain ISR list.</summary>
    private const short AlterPartitionVersion = 2;

    public static ControllerCall ToCall(ControllerCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return command switch
        {
            RegisterBrokerCommand c => new ControllerCall(BrokerRegistrationRequest.ApiKey, Version, Write(new BrokerRegistrationRequest
            {
                BrokerId = c.BrokerId,
                IncarnationId = c.IncarnationId,
                Listeners = [.. c.Endpoints.Select(e => new BrokerRegistrationRequest.Listener
                {
                    Name = e.Name,
                    Host = e.Host,
                    Port = e.Port is >= 0 and <= ushort.MaxValue
                        ? (ushort)e.Port
                        : throw new ArgumentException($"Endpoint {e.Name} has port {e.Port}, outside 0-65535", nameof(command)),
                    SecurityProtocol = e.SecurityProtocol,
                })],
                Rack = c.Rack,
            })),
            BrokerHeartbeatCommand c => new ControllerCall(BrokerHeartbeatRequest.ApiKey, Version, Write(new BrokerHeartbeatRequest
            {
                BrokerId = c.BrokerId,
                BrokerEpoch = c.BrokerEpoch,
                CurrentMetadataOffset = c.MetadataOffset,
                WantFence = c.WantFence,
                WantShutDown = c.WantShutdown,
            })),
            AlterPartitionCommand c => new ControllerCall(AlterPartitionRequest.ApiKey, AlterPartitionVersion, Write(new AlterPartitionRequest
            {
                BrokerId = c.BrokerId,
                BrokerEpoch = c.BrokerEpoch,
                Topics =
                [
                    new AlterPartitionRequest.TopicData
                    {
                        TopicId = c.TopicId,
                        Partitions =
                        [
                            new AlterPartitionRequest.PartitionData
                            {
                                PartitionIndex = c.Partition,
                                LeaderEpoch = c.LeaderEpoch,
                                NewIsr = [.. c.NewIsr],
                                PartitionEpoch = c.PartitionEpoch,
                            },
                        ],
                    },
                ],
            }, AlterPartitionVersion)),
            _ => new ControllerCall(ControllerRpcCodec.EnvelopeApiKey, ControllerRpcCodec.CurrentVersion, ControllerRpcCodec.EncodeCommand(command)),
        };
    }

    /// <summary>The command a controller call carries.</summary>
    /// <exception cref="MalformedMessageException">Undecodable, or an api key this controller does not serve.</exception>
    /// <exception cref="UnsupportedVersionException">A version of a generated request we do not read.</exception>
    public static ControllerCommand DecodeCall(ControllerCall call)
    {
        var reader = new KafkaReader(call.Body);
        switch (call.ApiKey)
        {
            case BrokerRegistrationRequest.ApiKey:
                var registration = BrokerRegistrationRequest.Read(ref reader, call.ApiVersion);
                return new RegisterBrokerCommand(registration.BrokerId, registration.IncarnationId,
                    [.. registration.Listeners.Select(l => new BrokerEndpoint(l.Name, l.Host, l.Port, l.SecurityProtocol))], registration.Rack);
            case BrokerHeartbeatRequest.ApiKey:
                var heartbeat = BrokerHeartbeatRequest.Read(ref reader, call.ApiVersion);
                return new BrokerHeartbeatCommand(heartbeat.BrokerId, heartbeat.BrokerEpoch, heartbeat.CurrentMetadataOffset,
                    heartbeat.WantFence, heartbeat.WantShutDown);
            case AlterPartitionRequest.ApiKey:
                var alter = AlterPartitionRequest.Read(ref reader, call.ApiVersion);
                if (alter.Topics is not [{ Partitions: [var partition] } topic])
                {
                    // Leaders ask for one partition at a time; a batch would need per-partition answers we do not give.
                    throw new MalformedMessageException("AlterPartition must name exactly one partition of one topic");
                }

                return new AlterPartitionCommand(alter.BrokerId, alter.BrokerEpoch, topic.TopicId, partition.PartitionIndex,
                    partition.LeaderEpoch, partition.PartitionEpoch, partition.NewIsr);
            case ControllerRpcCodec.EnvelopeApiKey when call.ApiVersion is >= 0 and <= ControllerRpcCodec.CurrentVersion:
                return ControllerRpcCodec.DecodeCommand(call.Body);
            default:
                throw new MalformedMessageException($"Controller call with api key {call.ApiKey} v{call.ApiVersion} is not served here");
        }
    }

    /// <summary>The response body answering a call with <paramref name="apiKey"/>; a reply of another type than the API
    /// expects (an error built before the command was known) keeps its error and message. <paramref name="command"/>
    /// names the partition an AlterPartition response is about.</summary>
    public static byte[] EncodeReply(short apiKey, ControllerReply reply, ControllerCommand? command = null)
    {
        ArgumentNullException.ThrowIfNull(reply);
        switch (apiKey)
        {
            case AlterPartitionRequest.ApiKey:
                var altered = reply as AlterPartitionReply ?? ControllerReplies.Error<AlterPartitionReply>(reply.Error, reply.Message);
                var asked = command as AlterPartitionCommand;
                return Write(new AlterPartitionResponse
                {
                    ErrorCode = (short)altered.Error,
                    Topics =
                    [
                        new AlterPartitionResponse.TopicData
                        {
                            TopicId = asked?.TopicId ?? Uuid.Zero,
                            Partitions =
                            [
                                new AlterPartitionResponse.PartitionData
                                {
                                    PartitionIndex = asked?.Partition ?? -1,
                                    ErrorCode = (short)altered.Error,
                                    LeaderId = altered.Leader,
                                    LeaderEpoch = altered.LeaderEpoch,
                                    Isr = [.. altered.Isr],
                                    PartitionEpoch = altered.PartitionEpoch,
                                },
                            ],
                        },
                    ],
                    ErrorMessage = altered.Message,
                    MetadataOffset = altered.Offset,
                }, AlterPartitionVersion);
            case BrokerRegistrationRequest.ApiKey:
                var registered = reply as RegisterBrokerReply ?? ControllerReplies.Error<RegisterBrokerReply>(reply.Error, reply.Message);
                return Write(new BrokerRegistrationResponse
                {
                    ErrorCode = (short)registered.Error,
                    BrokerEpoch = registered.BrokerEpoch,
                    ErrorMessage = registered.Message,
                    MetadataOffset = registered.Offset,
                });
            case BrokerHeartbeatRequest.ApiKey:
                var heartbeat = reply as BrokerHeartbeatReply ?? ControllerReplies.Error<BrokerHeartbeatReply>(reply.Error, reply.Message);
                return Write(new BrokerHeartbeatResponse
                {
                    ErrorCode = (short)heartbeat.Error,
                    IsCaughtUp = heartbeat.IsCaughtUp,
                    IsFenced = heartbeat.IsFenced,
                    ShouldShutDown = heartbeat.ShouldShutdown,
                    ErrorMessage = heartbeat.Message,
                    MetadataOffset = heartbeat.Offset,
                });
            default:
                return ControllerRpcCodec.EncodeReply(reply);
        }
    }

    /// <summary>The reply a response body to a call with <paramref name="apiKey"/> carries.</summary>
    /// <exception cref="MalformedMessageException">The body is not a valid response.</exception>
    public static ControllerReply DecodeReply(short apiKey, ReadOnlyMemory<byte> body)
    {
        var reader = new KafkaReader(body);
        switch (apiKey)
        {
            case AlterPartitionRequest.ApiKey:
                var altered = AlterPartitionResponse.Read(ref reader, AlterPartitionVersion);
                if (altered.Topics is not [{ Partitions: [var partition] }])
                {
                    throw new MalformedMessageException("AlterPartition response must describe exactly one partition");
                }

                return new AlterPartitionReply((ErrorCode)altered.ErrorCode, partition.LeaderId, partition.LeaderEpoch, partition.PartitionEpoch,
                    partition.Isr, altered.ErrorMessage, altered.MetadataOffset);
            case BrokerRegistrationRequest.ApiKey:
                var registered = BrokerRegistrationResponse.Read(ref reader, Version);
                return new RegisterBrokerReply((ErrorCode)registered.ErrorCode, registered.BrokerEpoch, registered.ErrorMessage, registered.MetadataOffset);
            case BrokerHeartbeatRequest.ApiKey:
                var heartbeat = BrokerHeartbeatResponse.Read(ref reader, Version);
                return new BrokerHeartbeatReply((ErrorCode)heartbeat.ErrorCode, heartbeat.IsCaughtUp, heartbeat.IsFenced, heartbeat.ShouldShutDown,
                    heartbeat.ErrorMessage, heartbeat.MetadataOffset);
            default:
                return ControllerRpcCodec.DecodeReply(body);
        }
    }

    private static byte[] Write(IKafkaMessage message, short version = Version)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        message.Write(new KafkaWriter(buffer), version);
        return buffer.WrittenSpan.ToArray();
    }
}
