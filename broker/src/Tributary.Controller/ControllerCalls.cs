using System.Buffers;
using Tributary.Controller.Messages;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Controller;

/// <summary>Controller commands as controller-listener requests and their replies as response bodies, all generated
/// from <c>Definitions/*.kmsg</c>: Kafka's own controller APIs with the semantics of our commands (BrokerRegistration 62,
/// BrokerHeartbeat 63, AlterPartition 56 v2, UnregisterBroker 64, AllocateProducerIds 67, and the admin requests Kafka's
/// brokers forward to the controller: CreateTopics 19 v7, DeleteTopics 20 v5, CreatePartitions 37 v3, AlterConfigs 33 v2
/// (its replace-all form matches our config replacement), ElectLeaders 43 v2, AlterPartitionReassignments 45 v0), with
/// Tributary's tagged fields from tag 100 up (error message, metadata offset of the write). Each request carries one
/// command (one topic, one config resource); the decoder refuses any other shape.</summary>
/// <remarks>Bounds: the generated readers refuse a count larger than the bytes left in the body (bounded itself by
/// the quorum's controller-message limit) before allocating; on top of that the lists this decoder turns into a command
/// are held to the limits the metadata records and the controller use (<see cref="MaxIdListLength"/>,
/// <see cref="MaxItemCount"/>).</remarks>
public static class ControllerCalls
{
    /// <summary>Version of the generated requests this build sends (AlterPartition: <see cref="AlterPartitionVersion"/>).</summary>
    private const short Version = 0;

    /// <summary>AlterPartition with topic ids and a plain ISR list.</summary>
    private const short AlterPartitionVersion = 2;

    private const short CreateTopicsVersion = 7;
    private const short DeleteTopicsVersion = 5;
    private const short CreatePartitionsVersion = 3;
    private const short AlterConfigsVersion = 2;
    private const short ElectLeadersVersion = 2;

    /// <summary>AlterConfigs resource types (Kafka's ConfigResource.Type).</summary>
    private const sbyte TopicResource = 2;
    private const sbyte BrokerResource = 4;

    /// <summary>Upper bound on replica/ISR/broker-id lists and on endpoints, as for metadata records.</summary>
    public const int MaxIdListLength = MetadataRecordSerde.MaxListLength;

    /// <summary>Upper bound on per-partition and per-config lists (partitions of a topic, election targets, configs).</summary>
    public const int MaxItemCount = 1_000_000;

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
            CreateTopicCommand c => new ControllerCall(CreateTopicsRequest.ApiKey, CreateTopicsVersion, Write(new CreateTopicsRequest
            {
                Topics =
                [
                    new CreateTopicsRequest.CreatableTopic
                    {
                        Name = c.Topic.Name,
                        NumPartitions = c.Topic.Partitions,
                        ReplicationFactor = c.Topic.ReplicationFactor,
                        Assignments = [.. (c.Topic.Assignments ?? new Dictionary<int, int[]>()).OrderBy(a => a.Key)
                            .Select(a => new CreateTopicsRequest.CreatableReplicaAssignment { PartitionIndex = a.Key, BrokerIds = [.. a.Value] })],
                        Configs = [.. c.Topic.Configs.OrderBy(p => p.Key, StringComparer.Ordinal)
                            .Select(p => new CreateTopicsRequest.CreatableTopicConfig { Name = p.Key, Value = p.Value })],
                    },
                ],
                ValidateOnly = c.ValidateOnly,
            }, CreateTopicsVersion)),
            DeleteTopicCommand c => new ControllerCall(DeleteTopicsRequest.ApiKey, DeleteTopicsVersion,
                Write(new DeleteTopicsRequest { TopicNames = [c.Name] }, DeleteTopicsVersion)),
            CreatePartitionsCommand c => new ControllerCall(CreatePartitionsRequest.ApiKey, CreatePartitionsVersion, Write(new CreatePartitionsRequest
            {
                Topics =
                [
                    new CreatePartitionsRequest.CreatePartitionsTopic
                    {
                        Name = c.Name,
                        Count = c.NewTotal,
                        Assignments = c.Assignments is null
                            ? null
                            : [.. c.Assignments.Select(replicas => new CreatePartitionsRequest.CreatePartitionsAssignment { BrokerIds = [.. replicas] })],
                    },
                ],
                ValidateOnly = c.ValidateOnly,
            }, CreatePartitionsVersion)),
            ReplaceTopicConfigsCommand c => AlterConfigsCall(TopicResource, c.Name, c.Overrides, c.ValidateOnly),
            ReplaceBrokerConfigsCommand c => AlterConfigsCall(BrokerResource, c.ResourceName, c.Configs, c.ValidateOnly),
            AllocateProducerIdsCommand c => new ControllerCall(AllocateProducerIdsRequest.ApiKey, Version,
                Write(new AllocateProducerIdsRequest { BrokerId = c.BrokerId, BrokerEpoch = c.BrokerEpoch })),
            ElectLeadersCommand c => new ControllerCall(ElectLeadersRequest.ApiKey, ElectLeadersVersion, Write(new ElectLeadersRequest
            {
                ElectionType = (sbyte)c.Type,
                TopicPartitions = c.Partitions is null
                    ? null
                    : [.. c.Partitions.GroupBy(p => p.Topic, StringComparer.Ordinal)
                        .Select(g => new ElectLeadersRequest.ElectionTopic { Topic = g.Key, Partitions = [.. g.Select(p => p.Partition)] })],
            }, ElectLeadersVersion)),
            AlterReassignmentsCommand c => new ControllerCall(AlterPartitionReassignmentsRequest.ApiKey, Version, Write(new AlterPartitionReassignmentsRequest
            {
                Topics = [.. c.Targets.GroupBy(t => t.Topic, StringComparer.Ordinal).Select(g => new AlterPartitionReassignmentsRequest.ReassignableTopic
                {
                    Name = g.Key,
                    Partitions = [.. g.Select(t => new AlterPartitionReassignmentsRequest.ReassignablePartition
                    {
                        PartitionIndex = t.Partition,
                        Replicas = t.Replicas is null ? null : [.. t.Replicas],
                    })],
                })],
            })),
            UnregisterBrokerCommand c => new ControllerCall(UnregisterBrokerRequest.ApiKey, Version, Write(new UnregisterBrokerRequest { BrokerId = c.BrokerId })),
            _ => throw new ArgumentException($"No controller call for command {command.GetType().Name}", nameof(command)),
        };
    }

    /// <summary>The command a controller call carries.</summary>
    /// <exception cref="MalformedMessageException">Undecodable, or an api key this controller does not serve.</exception>
    /// <exception cref="UnsupportedVersionException">A version of a generated request we do not read.</exception>
    public static ControllerCommand DecodeCall(ControllerCall call)
    {
        var reader = new KafkaReader(call.Body);
        var command = ReadCommand(ref reader, call);
        reader.EnsureFullyConsumed($"Controller call with api key {call.ApiKey}");
        return command;
    }

    private static ControllerCommand ReadCommand(ref KafkaReader reader, ControllerCall call)
    {
        switch (call.ApiKey)
        {
            case BrokerRegistrationRequest.ApiKey:
                var registration = BrokerRegistrationRequest.Read(ref reader, call.ApiVersion);
                return new RegisterBrokerCommand(registration.BrokerId, registration.IncarnationId,
                    [.. Bounded(registration.Listeners, MaxIdListLength, "endpoints").Select(l => new BrokerEndpoint(l.Name, l.Host, l.Port, l.SecurityProtocol))], registration.Rack);
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
                    partition.LeaderEpoch, partition.PartitionEpoch, Ids(partition.NewIsr));
            case CreateTopicsRequest.ApiKey:
                return ReadCreateTopic(CreateTopicsRequest.Read(ref reader, call.ApiVersion));
            case DeleteTopicsRequest.ApiKey:
                var delete = DeleteTopicsRequest.Read(ref reader, call.ApiVersion);
                return delete.TopicNames is [var name]
                    ? new DeleteTopicCommand(name)
                    : throw new MalformedMessageException("DeleteTopics must name exactly one topic");
            case CreatePartitionsRequest.ApiKey:
                var grow = CreatePartitionsRequest.Read(ref reader, call.ApiVersion);
                if (grow.Topics is not [var growing])
                {
                    throw new MalformedMessageException("CreatePartitions must name exactly one topic");
                }

                var assignments = growing.Assignments is null ? null : Bounded(growing.Assignments, MaxItemCount, "assignments");
                return new CreatePartitionsCommand(growing.Name, growing.Count,
                    assignments?.Select(a => Ids(a.BrokerIds)).ToList(), grow.ValidateOnly);
            case AlterConfigsRequest.ApiKey:
                return ReadAlterConfigs(AlterConfigsRequest.Read(ref reader, call.ApiVersion));
            case AllocateProducerIdsRequest.ApiKey:
                var allocate = AllocateProducerIdsRequest.Read(ref reader, call.ApiVersion);
                return new AllocateProducerIdsCommand(allocate.BrokerId, allocate.BrokerEpoch);
            case ElectLeadersRequest.ApiKey:
                var elect = ElectLeadersRequest.Read(ref reader, call.ApiVersion);
                if (elect.ElectionType is not ((sbyte)ElectionType.Preferred or (sbyte)ElectionType.Unclean))
                {
                    throw new MalformedMessageException($"Unknown election type {elect.ElectionType}");
                }

                var targets = elect.TopicPartitions?.SelectMany(t => t.Partitions.Select(p => new TopicPartitionRef(t.Topic, p))).ToList();
                return new ElectLeadersCommand((ElectionType)elect.ElectionType, targets is null ? null : Bounded(targets, MaxItemCount, "partitions"));
            case AlterPartitionReassignmentsRequest.ApiKey:
                var reassign = AlterPartitionReassignmentsRequest.Read(ref reader, call.ApiVersion);
                var moves = reassign.Topics.SelectMany(t => t.Partitions.Select(p =>
                    new ReassignmentTarget(t.Name, p.PartitionIndex, p.Replicas is null ? null : Ids(p.Replicas)))).ToList();
                return new AlterReassignmentsCommand(Bounded(moves, MaxItemCount, "targets"));
            case UnregisterBrokerRequest.ApiKey:
                return new UnregisterBrokerCommand(UnregisterBrokerRequest.Read(ref reader, call.ApiVersion).BrokerId);
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
            case CreateTopicsRequest.ApiKey:
                return Write(new CreateTopicsResponse
                {
                    Topics =
                    [
                        new CreateTopicsResponse.CreatableTopicResult
                        {
                            Name = (command as CreateTopicCommand)?.Topic.Name ?? "",
                            ErrorCode = (short)reply.Error,
                            ErrorMessage = reply.Message,
                        },
                    ],
                    MetadataOffset = reply.Offset,
                }, CreateTopicsVersion);
            case DeleteTopicsRequest.ApiKey:
                return Write(new DeleteTopicsResponse
                {
                    Responses =
                    [
                        new DeleteTopicsResponse.DeletableTopicResult
                        {
                            Name = (command as DeleteTopicCommand)?.Name ?? "", ErrorCode = (short)reply.Error, ErrorMessage = reply.Message,
                        },
                    ],
                    MetadataOffset = reply.Offset,
                }, DeleteTopicsVersion);
            case CreatePartitionsRequest.ApiKey:
                return Write(new CreatePartitionsResponse
                {
                    Results =
                    [
                        new CreatePartitionsResponse.CreatePartitionsTopicResult
                        {
                            Name = (command as CreatePartitionsCommand)?.Name ?? "", ErrorCode = (short)reply.Error, ErrorMessage = reply.Message,
                        },
                    ],
                    MetadataOffset = reply.Offset,
                }, CreatePartitionsVersion);
            case AlterConfigsRequest.ApiKey:
                var (resourceType, resourceName) = command switch
                {
                    ReplaceTopicConfigsCommand c => (TopicResource, c.Name),
                    ReplaceBrokerConfigsCommand c => (BrokerResource, c.ResourceName),
                    _ => ((sbyte)0, ""),
                };
                return Write(new AlterConfigsResponse
                {
                    Responses =
                    [
                        new AlterConfigsResponse.AlterConfigsResourceResponse
                        {
                            ErrorCode = (short)reply.Error, ErrorMessage = reply.Message, ResourceType = resourceType, ResourceName = resourceName,
                        },
                    ],
                    MetadataOffset = reply.Offset,
                }, AlterConfigsVersion);
            case AllocateProducerIdsRequest.ApiKey:
                var ids = reply as ProducerIdsReply ?? ControllerReplies.Error<ProducerIdsReply>(reply.Error, reply.Message);
                return Write(new AllocateProducerIdsResponse
                {
                    ErrorCode = (short)ids.Error,
                    ProducerIdStart = ids.FirstProducerId,
                    ProducerIdLen = ids.Size,
                    ErrorMessage = ids.Message,
                    MetadataOffset = ids.Offset,
                });
            case ElectLeadersRequest.ApiKey:
                var elected = reply as PartitionOutcomesReply ?? ControllerReplies.Error<PartitionOutcomesReply>(reply.Error, reply.Message);
                return Write(new ElectLeadersResponse
                {
                    ErrorCode = (short)elected.Error,
                    ReplicaElectionResults = [.. elected.Partitions.GroupBy(p => p.Topic, StringComparer.Ordinal).Select(g => new ElectLeadersResponse.ReplicaElectionResult
                    {
                        Topic = g.Key,
                        PartitionResult = [.. g.Select(p => new ElectLeadersResponse.PartitionResult
                        {
                            PartitionId = p.Partition, ErrorCode = (short)p.Error, ErrorMessage = p.Message,
                        })],
                    })],
                    ErrorMessage = elected.Message,
                    MetadataOffset = elected.Offset,
                }, ElectLeadersVersion);
            case AlterPartitionReassignmentsRequest.ApiKey:
                var moved = reply as PartitionOutcomesReply ?? ControllerReplies.Error<PartitionOutcomesReply>(reply.Error, reply.Message);
                return Write(new AlterPartitionReassignmentsResponse
                {
                    ErrorCode = (short)moved.Error,
                    ErrorMessage = moved.Message,
                    Responses = [.. moved.Partitions.GroupBy(p => p.Topic, StringComparer.Ordinal).Select(g => new AlterPartitionReassignmentsResponse.ReassignableTopicResponse
                    {
                        Name = g.Key,
                        Partitions = [.. g.Select(p => new AlterPartitionReassignmentsResponse.ReassignablePartitionResponse
                        {
                            PartitionIndex = p.Partition, ErrorCode = (short)p.Error, ErrorMessage = p.Message,
                        })],
                    })],
                    MetadataOffset = moved.Offset,
                });
            case UnregisterBrokerRequest.ApiKey:
                return Write(new UnregisterBrokerResponse { ErrorCode = (short)reply.Error, ErrorMessage = reply.Message, MetadataOffset = reply.Offset });
            default:
                throw new ArgumentException($"No controller response for api key {apiKey}", nameof(apiKey));
        }
    }

    /// <summary>The reply a response body to a call with <paramref name="apiKey"/> carries.</summary>
    /// <exception cref="MalformedMessageException">The body is not a valid response.</exception>
    public static ControllerReply DecodeReply(short apiKey, ReadOnlyMemory<byte> body)
    {
        var reader = new KafkaReader(body);
        var reply = ReadReply(ref reader, apiKey);
        reader.EnsureFullyConsumed($"Controller response to api key {apiKey}");
        return reply;
    }

    private static ControllerReply ReadReply(ref KafkaReader reader, short apiKey)
    {
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
            case CreateTopicsRequest.ApiKey:
                var created = CreateTopicsResponse.Read(ref reader, CreateTopicsVersion);
                return created.Topics is [var topic]
                    ? new ControllerReply((ErrorCode)topic.ErrorCode, topic.ErrorMessage, created.MetadataOffset)
                    : throw new MalformedMessageException("CreateTopics response must describe exactly one topic");
            case DeleteTopicsRequest.ApiKey:
                var deleted = DeleteTopicsResponse.Read(ref reader, DeleteTopicsVersion);
                return deleted.Responses is [var gone]
                    ? new ControllerReply((ErrorCode)gone.ErrorCode, gone.ErrorMessage, deleted.MetadataOffset)
                    : throw new MalformedMessageException("DeleteTopics response must describe exactly one topic");
            case CreatePartitionsRequest.ApiKey:
                var grown = CreatePartitionsResponse.Read(ref reader, CreatePartitionsVersion);
                return grown.Results is [var result]
                    ? new ControllerReply((ErrorCode)result.ErrorCode, result.ErrorMessage, grown.MetadataOffset)
                    : throw new MalformedMessageException("CreatePartitions response must describe exactly one topic");
            case AlterConfigsRequest.ApiKey:
                var configured = AlterConfigsResponse.Read(ref reader, AlterConfigsVersion);
                return configured.Responses is [var resource]
                    ? new ControllerReply((ErrorCode)resource.ErrorCode, resource.ErrorMessage, configured.MetadataOffset)
                    : throw new MalformedMessageException("AlterConfigs response must describe exactly one resource");
            case AllocateProducerIdsRequest.ApiKey:
                var ids = AllocateProducerIdsResponse.Read(ref reader, Version);
                return new ProducerIdsReply((ErrorCode)ids.ErrorCode, ids.ProducerIdStart, ids.ProducerIdLen, ids.ErrorMessage, ids.MetadataOffset);
            case ElectLeadersRequest.ApiKey:
                var elected = ElectLeadersResponse.Read(ref reader, ElectLeadersVersion);
                var outcomes = elected.ReplicaElectionResults.SelectMany(t => t.PartitionResult.Select(p =>
                    new PartitionOutcome(t.Topic, p.PartitionId, (ErrorCode)p.ErrorCode, p.ErrorMessage))).ToList();
                return new PartitionOutcomesReply((ErrorCode)elected.ErrorCode, Bounded(outcomes, MaxItemCount, "partition outcomes"),
                    elected.ErrorMessage, elected.MetadataOffset);
            case AlterPartitionReassignmentsRequest.ApiKey:
                var moved = AlterPartitionReassignmentsResponse.Read(ref reader, Version);
                var results = moved.Responses.SelectMany(t => t.Partitions.Select(p =>
                    new PartitionOutcome(t.Name, p.PartitionIndex, (ErrorCode)p.ErrorCode, p.ErrorMessage))).ToList();
                return new PartitionOutcomesReply((ErrorCode)moved.ErrorCode, Bounded(results, MaxItemCount, "partition outcomes"),
                    moved.ErrorMessage, moved.MetadataOffset);
            case UnregisterBrokerRequest.ApiKey:
                var unregistered = UnregisterBrokerResponse.Read(ref reader, Version);
                return new ControllerReply((ErrorCode)unregistered.ErrorCode, unregistered.ErrorMessage, unregistered.MetadataOffset);
            default:
                throw new MalformedMessageException($"No controller response for api key {apiKey}");
        }
    }

    private static ControllerCall AlterConfigsCall(sbyte resourceType, string resourceName, IReadOnlyDictionary<string, string> configs,
        bool validateOnly) =>
        new(AlterConfigsRequest.ApiKey, AlterConfigsVersion, Write(new AlterConfigsRequest
        {
            Resources =
            [
                new AlterConfigsRequest.AlterConfigsResource
                {
                    ResourceType = resourceType,
                    ResourceName = resourceName,
                    Configs = [.. configs.OrderBy(p => p.Key, StringComparer.Ordinal)
                        .Select(p => new AlterConfigsRequest.AlterableConfig { Name = p.Key, Value = p.Value })],
                },
            ],
            ValidateOnly = validateOnly,
        }, AlterConfigsVersion));

    private static CreateTopicCommand ReadCreateTopic(CreateTopicsRequest request)
    {
        if (request.Topics is not [var topic])
        {
            throw new MalformedMessageException("CreateTopics must name exactly one topic");
        }

        Dictionary<int, int[]>? assignments = null;
        if (Bounded(topic.Assignments, MaxItemCount, "assignments").Count > 0)
        {
            assignments = new Dictionary<int, int[]>(topic.Assignments.Count);
            foreach (var assignment in topic.Assignments)
            {
                if (!assignments.TryAdd(assignment.PartitionIndex, Ids(assignment.BrokerIds)))
                {
                    throw new MalformedMessageException($"Assignment for partition {assignment.PartitionIndex} listed twice");
                }
            }
        }

        var configs = new Dictionary<string, string?>(Bounded(topic.Configs, MaxItemCount, "configs").Count, StringComparer.Ordinal);
        foreach (var config in topic.Configs)
        {
            if (!configs.TryAdd(config.Name, config.Value))
            {
                throw new MalformedMessageException($"Config {config.Name} listed twice");
            }
        }

        return new CreateTopicCommand(new NewTopic(topic.Name, topic.NumPartitions, topic.ReplicationFactor, assignments, configs), request.ValidateOnly);
    }

    private static ControllerCommand ReadAlterConfigs(AlterConfigsRequest request)
    {
        if (request.Resources is not [var resource])
        {
            throw new MalformedMessageException("AlterConfigs must name exactly one resource");
        }

        var configs = new Dictionary<string, string>(Bounded(resource.Configs, MaxItemCount, "configs").Count, StringComparer.Ordinal);
        foreach (var config in resource.Configs)
        {
            if (!configs.TryAdd(config.Name, config.Value ?? throw new MalformedMessageException($"Config {config.Name} has no value")))
            {
                throw new MalformedMessageException($"Config {config.Name} listed twice");
            }
        }

        return resource.ResourceType switch
        {
            TopicResource => new ReplaceTopicConfigsCommand(resource.ResourceName, configs, request.ValidateOnly),
            BrokerResource => new ReplaceBrokerConfigsCommand(resource.ResourceName, configs, request.ValidateOnly),
            _ => throw new MalformedMessageException($"AlterConfigs resource type {resource.ResourceType} is not served by the controller"),
        };
    }

    private static int[] Ids(List<int> ids) => [.. Bounded(ids, MaxIdListLength, "ids")];

    /// <summary><paramref name="items"/> when it holds at most <paramref name="max"/> entries.</summary>
    private static T Bounded<T>(T items, int max, string what)
        where T : System.Collections.ICollection =>
        items.Count <= max ? items : throw new MalformedMessageException($"{items.Count} {what} exceed the limit of {max}");

    private static byte[] Write(IKafkaMessage message, short version = Version)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        message.Write(new KafkaWriter(buffer), version);
        return buffer.WrittenSpan.ToArray();
    }
}
