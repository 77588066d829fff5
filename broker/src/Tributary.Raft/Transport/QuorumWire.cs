using System.Buffers;
using System.Buffers.Binary;
using Tributary.Protocol;
using Tributary.Raft.Log;
using Wire = Tributary.Raft.Messages;

namespace Tributary.Raft.Transport;

/// <summary>The quorum's messages on Kafka's wire: each Raft message and client frame as the generated message of its
/// api key (<c>Definitions/*.kmsg</c>), framed as Kafka frames (int32 size, request header v1/v2 or response header
/// v0/v1, body). Voter messages are requests whose Raft answer travels back as the Kafka response on the same
/// correlation id; client frames (controller calls, observer fetches) are plain request/response pairs.</summary>
/// <remarks>Kafka's own APIs where our semantics fit — Vote (52), EndQuorumEpoch (54, our TimeoutNow), FetchSnapshot
/// (59) — address one topic, <see cref="MetadataTopic"/>, partition 0. Raft terms are int64 here but Kafka epochs are
/// int32 on the wire: a term beyond int32 cannot be sent (it would take 2^31 elections).</remarks>
internal static class QuorumWire
{
    /// <summary>The one topic Kafka's quorum APIs address (KRaft's metadata partition).</summary>
    public const string MetadataTopic = "__cluster_metadata";

    /// <summary>Every quorum API is served in version 0 only.</summary>
    public const short Version = 0;

    /// <summary>ApiVersions (18), answered on the quorum listener with the quorum APIs.</summary>
    public const short ApiVersionsKey = 18;

    /// <summary>Whether <paramref name="apiKey"/> carries a voter-to-voter Raft message (as opposed to a client call).</summary>
    public static bool IsVoterApi(short apiKey) => apiKey is Wire.VoteRequest.ApiKey or Wire.EndQuorumEpochRequest.ApiKey
        or Wire.AppendEntriesRequest.ApiKey or Wire.InstallSnapshotRequest.ApiKey;

    /// <summary>The Kafka request that carries a voter message; only requests travel as requests (answers go back as
    /// the response to the request they answer).</summary>
    public static IRequestMessage ToRequest(QuorumMessage message) => message switch
    {
        VoteRequest m => new Wire.VoteRequest
        {
            Topics =
            [
                new Wire.VoteRequest.TopicData
                {
                    TopicName = MetadataTopic,
                    Partitions =
                    [
                        new Wire.VoteRequest.PartitionData
                        {
                            PartitionIndex = 0,
                            CandidateEpoch = Epoch32(m.Term),
                            CandidateId = m.From,
                            LastOffsetEpoch = Epoch32(m.LastTerm),
                            LastOffset = m.LastIndex,
                        },
                    ],
                },
            ],
        },
        TimeoutNowRequest m => new Wire.EndQuorumEpochRequest
        {
            Topics =
            [
                new Wire.EndQuorumEpochRequest.TopicData
                {
                    TopicName = MetadataTopic,
                    Partitions =
                    [
                        new Wire.EndQuorumEpochRequest.PartitionData
                        {
                            PartitionIndex = 0, LeaderId = m.From, LeaderEpoch = Epoch32(m.Term), PreferredSuccessors = [m.To],
                        },
                    ],
                },
            ],
        },
        AppendRequest m => new Wire.AppendEntriesRequest
        {
            LeaderId = m.From,
            LeaderEpoch = m.Term,
            PrevIndex = m.PrevIndex,
            PrevEpoch = m.PrevTerm,
            LeaderCommit = m.LeaderCommit,
            Entries = m.Entries.Select(e => new Wire.AppendEntriesRequest.Entry { Epoch = e.Term, Payload = e.Payload }).ToList(),
        },
        InstallSnapshotRequest m => new Wire.InstallSnapshotRequest
        {
            LeaderId = m.From,
            LeaderEpoch = m.Term,
            LastIndex = m.LastIndex,
            LastEpoch = m.LastTerm,
            TotalBytes = m.TotalBytes,
            Position = m.Position,
            Chunk = m.Chunk,
        },
        _ => throw new ArgumentException($"{message.GetType().Name} is not sent as a request", nameof(message)),
    };

    /// <summary>The Raft message a voter request carries, addressed to <paramref name="receiverId"/>.</summary>
    /// <exception cref="MalformedMessageException">Not a voter request, not about the metadata partition, or beyond the bounds.</exception>
    public static QuorumMessage FromRequest(IRequestMessage request, int receiverId, int maxEntries, int maxPayloadBytes)
    {
        switch (request)
        {
            case Wire.VoteRequest r:
                {
                    var p = SinglePartition(r.Topics, t => t.TopicName, t => t.Partitions, "Vote");
                    CheckPartition(p.PartitionIndex, "Vote");
                    return new VoteRequest(p.CandidateId, receiverId, p.CandidateEpoch, p.LastOffset, p.LastOffsetEpoch);
                }

            case Wire.EndQuorumEpochRequest r:
                {
                    var p = SinglePartition(r.Topics, t => t.TopicName, t => t.Partitions, "EndQuorumEpoch");
                    CheckPartition(p.PartitionIndex, "EndQuorumEpoch");
                    if (!p.PreferredSuccessors.Contains(receiverId))
                    {
                        throw new MalformedMessageException($"EndQuorumEpoch from {p.LeaderId} does not name voter {receiverId} as successor");
                    }

                    return new TimeoutNowRequest(p.LeaderId, receiverId, p.LeaderEpoch);
                }

            case Wire.AppendEntriesRequest r:
                if (r.Entries.Count > maxEntries)
                {
                    throw new MalformedMessageException($"Append request with {r.Entries.Count} entries (at most {maxEntries})");
                }

                var entries = new QuorumEntry[r.Entries.Count];
                for (int i = 0; i < entries.Length; i++)
                {
                    byte[] payload = r.Entries[i].Payload;
                    if (payload.Length > maxPayloadBytes)
                    {
                        throw new MalformedMessageException($"Quorum entry of {payload.Length} bytes (at most {maxPayloadBytes})");
                    }

                    entries[i] = new QuorumEntry(r.Entries[i].Epoch, payload);
                }

                return new AppendRequest(r.LeaderId, receiverId, r.LeaderEpoch, r.PrevIndex, r.PrevEpoch, r.LeaderCommit, entries);
            case Wire.InstallSnapshotRequest r:
                CheckChunk(r.TotalBytes, r.Position, r.Chunk.Length, maxPayloadBytes);
                return new InstallSnapshotRequest(r.LeaderId, receiverId, r.LeaderEpoch, r.LastIndex, r.LastEpoch, r.TotalBytes, r.Position, r.Chunk);
            default:
                throw new MalformedMessageException($"{request.GetType().Name} is not a voter request");
        }
    }

    /// <summary>The Kafka response to a voter request: the receiver's Raft answer, or an error code when it gave none.</summary>
    public static IResponseMessage ToResponse(IRequestMessage request, QuorumMessage? reply)
    {
        const short noAnswer = (short)ErrorCode.UnknownServerError;
        switch (request)
        {
            case Wire.VoteRequest:
                if (reply is not VoteResponse vote)
                {
                    return new Wire.VoteResponse { ErrorCode = noAnswer };
                }

                return new Wire.VoteResponse
                {
                    Topics =
                    [
                        new Wire.VoteResponse.TopicData
                        {
                            TopicName = MetadataTopic,
                            Partitions =
                            [
                                new Wire.VoteResponse.PartitionData
                                {
                                    PartitionIndex = 0, LeaderId = -1, LeaderEpoch = Epoch32(vote.Term), VoteGranted = vote.Granted,
                                },
                            ],
                        },
                    ],
                };
            case Wire.EndQuorumEpochRequest r:
                return new Wire.EndQuorumEpochResponse
                {
                    Topics =
                    [
                        new Wire.EndQuorumEpochResponse.TopicData
                        {
                            TopicName = MetadataTopic,
                            Partitions =
                            [
                                new Wire.EndQuorumEpochResponse.PartitionData
                                {
                                    PartitionIndex = 0,
                                    LeaderId = r.Topics.FirstOrDefault()?.Partitions.FirstOrDefault()?.LeaderId ?? -1,
                                    LeaderEpoch = r.Topics.FirstOrDefault()?.Partitions.FirstOrDefault()?.LeaderEpoch ?? -1,
                                },
                            ],
                        },
                    ],
                };
            case Wire.AppendEntriesRequest:
                return reply is AppendResponse append
                    ? new Wire.AppendEntriesResponse { Epoch = append.Term, Success = append.Success, Index = append.Index }
                    : new Wire.AppendEntriesResponse { ErrorCode = noAnswer };
            case Wire.InstallSnapshotRequest:
                return reply switch
                {
                    InstallSnapshotResponse s => new Wire.InstallSnapshotResponse { Epoch = s.Term, LastIndex = s.LastIndex, NextPosition = s.NextPosition },
                    // A follower in a newer epoch refuses the chunk with a failed append answer carrying its epoch.
                    AppendResponse { Success: false } a => new Wire.InstallSnapshotResponse
                    {
                        ErrorCode = (short)ErrorCode.FencedLeaderEpoch, Epoch = a.Term,
                    },
                    _ => new Wire.InstallSnapshotResponse { ErrorCode = noAnswer },
                };
            default:
                throw new ArgumentException($"{request.GetType().Name} is not a voter request", nameof(request));
        }
    }

    /// <summary>The Raft answer a voter's response carries (from <paramref name="peerId"/> to <paramref name="selfId"/>);
    /// null when it carries none.</summary>
    /// <exception cref="MalformedMessageException">Not a voter response, or not about the metadata partition.</exception>
    public static QuorumMessage? FromResponse(IResponseMessage response, int peerId, int selfId)
    {
        switch (response)
        {
            case Wire.VoteResponse r:
                {
                    if (r.ErrorCode != 0)
                    {
                        return null;
                    }

                    var p = SinglePartition(r.Topics, t => t.TopicName, t => t.Partitions, "Vote response");
                    CheckPartition(p.PartitionIndex, "Vote response");
                    return p.ErrorCode != 0 ? null : new VoteResponse(peerId, selfId, p.LeaderEpoch, p.VoteGranted);
                }

            case Wire.EndQuorumEpochResponse:
                return null;
            case Wire.AppendEntriesResponse r:
                return r.ErrorCode != 0 ? null : new AppendResponse(peerId, selfId, r.Epoch, r.Success, r.Index);
            case Wire.InstallSnapshotResponse r:
                return r.ErrorCode switch
                {
                    0 => new InstallSnapshotResponse(peerId, selfId, r.Epoch, r.LastIndex, r.NextPosition),
                    (short)ErrorCode.FencedLeaderEpoch => new AppendResponse(peerId, selfId, r.Epoch, Success: false, Index: 0),
                    _ => null,
                };
            default:
                throw new MalformedMessageException($"{response.GetType().Name} is not a voter response");
        }
    }

    /// <summary>The Kafka request that carries a client frame (the correlation id goes into the request header).</summary>
    public static IRequestMessage ToRequest(ClientFrame frame) => frame switch
    {
        ControllerCallRequest f => new Wire.ControllerCallRequest { ReplicaId = f.CallerId, Payload = f.Payload },
        FetchCommittedRequest f => new Wire.FetchCommittedRequest
        {
            ReplicaId = f.CallerId, FromOffset = f.FromOffset, MaxEntries = f.MaxEntries, MaxBytes = f.MaxBytes, MaxWaitMs = f.MaxWaitMs,
        },
        FetchSnapshotRequest f => new Wire.FetchSnapshotRequest
        {
            ReplicaId = f.CallerId,
            MaxBytes = f.MaxBytes,
            Topics =
            [
                new Wire.FetchSnapshotRequest.TopicSnapshot
                {
                    Name = MetadataTopic,
                    Partitions =
                    [
                        new Wire.FetchSnapshotRequest.PartitionSnapshot
                        {
                            Partition = 0,
                            CurrentLeaderEpoch = -1,
                            SnapshotId = new Wire.FetchSnapshotRequest.SnapshotId { EndOffset = f.LastIndex, Epoch = Epoch32(f.LastTerm) },
                            Position = f.Position,
                        },
                    ],
                },
            ],
        },
        _ => throw new ArgumentException($"{frame.GetType().Name} is not a client request", nameof(frame)),
    };

    /// <summary>The client frame a client request carries.</summary>
    /// <exception cref="MalformedMessageException">Not a client request, or not about the metadata partition.</exception>
    public static ClientFrame FromRequest(IRequestMessage request, int correlationId)
    {
        switch (request)
        {
            case Wire.ControllerCallRequest r:
                return new ControllerCallRequest(correlationId, r.ReplicaId, r.Payload);
            case Wire.FetchCommittedRequest r:
                return new FetchCommittedRequest(correlationId, r.ReplicaId, r.FromOffset, r.MaxEntries, r.MaxBytes, r.MaxWaitMs);
            case Wire.FetchSnapshotRequest r:
                {
                    var p = SinglePartition(r.Topics, t => t.Name, t => t.Partitions, "FetchSnapshot");
                    CheckPartition(p.Partition, "FetchSnapshot");
                    if (p.Position is < 0 or > int.MaxValue)
                    {
                        throw new MalformedMessageException($"FetchSnapshot at position {p.Position}");
                    }

                    return new FetchSnapshotRequest(correlationId, r.ReplicaId, p.SnapshotId.EndOffset, p.SnapshotId.Epoch, (int)p.Position, r.MaxBytes);
                }

            default:
                throw new MalformedMessageException($"{request.GetType().Name} is not a client request");
        }
    }

    /// <summary>The Kafka response that carries a client frame's answer.</summary>
    public static IResponseMessage ToResponse(ClientFrame frame) => frame switch
    {
        ControllerCallResponse f => new Wire.ControllerCallResponse
        {
            ErrorCode = f.Status switch
            {
                ControllerCallStatus.Ok => 0,
                ControllerCallStatus.NotController => (short)ErrorCode.NotController,
                _ => (short)ErrorCode.UnknownServerError,
            },
            LeaderId = f.LeaderId,
            Payload = f.Payload,
        },
        FetchCommittedResponse f => new Wire.FetchCommittedResponse
        {
            LeaderId = f.LeaderId,
            LeaderEpoch = f.Epoch,
            Entries = f.Entries.Select(e => new Wire.FetchCommittedResponse.Entry { Epoch = e.Term, Payload = e.Payload }).ToList(),
            SnapshotLastIndex = f.SnapshotLastIndex,
            SnapshotLastEpoch = f.SnapshotLastTerm,
        },
        FetchSnapshotResponse f => new Wire.FetchSnapshotResponse
        {
            Topics =
            [
                new Wire.FetchSnapshotResponse.TopicSnapshot
                {
                    Name = MetadataTopic,
                    Partitions =
                    [
                        new Wire.FetchSnapshotResponse.PartitionSnapshot
                        {
                            Index = 0,
                            ErrorCode = f.Found ? (short)0 : (short)ErrorCode.SnapshotNotFound,
                            SnapshotId = new Wire.FetchSnapshotResponse.SnapshotId { EndOffset = f.LastIndex, Epoch = Epoch32(f.LastTerm) },
                            Size = f.TotalBytes,
                            Position = f.Position,
                            UnalignedRecords = f.Chunk,
                        },
                    ],
                },
            ],
        },
        _ => throw new ArgumentException($"{frame.GetType().Name} is not a client response", nameof(frame)),
    };

    /// <summary>The client frame a client response carries.</summary>
    /// <exception cref="MalformedMessageException">Not a client response, or beyond the bounds.</exception>
    public static ClientFrame FromResponse(IResponseMessage response, int correlationId, int maxEntries, int maxPayloadBytes)
    {
        switch (response)
        {
            case Wire.ControllerCallResponse r:
                var status = r.ErrorCode switch
                {
                    0 => ControllerCallStatus.Ok,
                    (short)ErrorCode.NotController => ControllerCallStatus.NotController,
                    _ => ControllerCallStatus.HandlerFailed,
                };
                return new ControllerCallResponse(correlationId, status, r.LeaderId, r.Payload);
            case Wire.FetchCommittedResponse r:
                if (r.Entries.Count > maxEntries)
                {
                    throw new MalformedMessageException($"Fetch response with {r.Entries.Count} entries (at most {maxEntries})");
                }

                var entries = new QuorumEntry[r.Entries.Count];
                for (int i = 0; i < entries.Length; i++)
                {
                    byte[] payload = r.Entries[i].Payload;
                    if (payload.Length > maxPayloadBytes)
                    {
                        throw new MalformedMessageException($"Quorum entry of {payload.Length} bytes (at most {maxPayloadBytes})");
                    }

                    entries[i] = new QuorumEntry(r.Entries[i].Epoch, payload);
                }

                return new FetchCommittedResponse(correlationId, r.LeaderId, r.LeaderEpoch, entries, r.SnapshotLastIndex, r.SnapshotLastEpoch);
            case Wire.FetchSnapshotResponse r:
                {
                    var p = SinglePartition(r.Topics, t => t.Name, t => t.Partitions, "FetchSnapshot response");
                    CheckPartition(p.Index, "FetchSnapshot response");
                    if (p.ErrorCode == (short)ErrorCode.SnapshotNotFound)
                    {
                        return new FetchSnapshotResponse(correlationId, false, p.SnapshotId.EndOffset, p.SnapshotId.Epoch, 0, 0, []);
                    }

                    if (p.ErrorCode != 0 || p.Size is < 0 or > int.MaxValue || p.Position is < 0 or > int.MaxValue)
                    {
                        throw new MalformedMessageException($"FetchSnapshot response with error {p.ErrorCode}, size {p.Size}, position {p.Position}");
                    }

                    CheckChunk((int)p.Size, (int)p.Position, p.UnalignedRecords.Length, maxPayloadBytes);
                    return new FetchSnapshotResponse(correlationId, true, p.SnapshotId.EndOffset, p.SnapshotId.Epoch, (int)p.Size, (int)p.Position,
                        p.UnalignedRecords);
                }

            default:
                throw new MalformedMessageException($"{response.GetType().Name} is not a client response");
        }
    }

    /// <summary>A whole request frame: size prefix, request header (v2 for flexible versions, else v1), body.</summary>
    public static byte[] EncodeRequestFrame(IRequestMessage request, int correlationId, string clientId)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        var writer = new KafkaWriter(buffer);
        writer.WriteInt32(0); // size, patched below
        short apiKey = request.ApiKeyValue;
        new RequestHeader(apiKey, Version, correlationId, clientId).Write(writer, Wire.ApiCatalog.IsFlexible(apiKey, Version));
        request.Write(writer, Version);
        return Patched(buffer);
    }

    /// <summary>A whole response frame: size prefix, response header (v1 for flexible versions, v0 for ApiVersions), body.</summary>
    public static byte[] EncodeResponseFrame(short apiKey, short version, int correlationId, IResponseMessage response)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        var writer = new KafkaWriter(buffer);
        writer.WriteInt32(0); // size, patched below
        bool flexibleHeader = apiKey != ApiVersionsKey && Wire.ApiCatalog.IsFlexible(apiKey, version);
        new ResponseHeader(correlationId).Write(writer, flexibleHeader);
        response.Write(writer, version);
        return Patched(buffer);
    }

    /// <summary>Reads a request frame (without its size prefix): header and body of a quorum API in a served version,
    /// or ApiVersions (its body read by the client APIs' catalog).</summary>
    /// <exception cref="MalformedMessageException">Unknown api key, unserved version, truncated or trailing bytes.</exception>
    public static (RequestHeader Header, IRequestMessage Body) DecodeRequestFrame(ReadOnlyMemory<byte> frame)
    {
        short apiKey = RequestHeader.PeekApiKey(frame.Span);
        short version = RequestHeader.PeekApiVersion(frame.Span);
        var reader = new KafkaReader(frame);
        if (apiKey == ApiVersionsKey)
        {
            if (!Tributary.Protocol.Messages.ApiCatalog.IsSupported(apiKey, version))
            {
                // KIP-511: answered in v0 with UNSUPPORTED_VERSION; the body is not read.
                return (new RequestHeader(apiKey, version, RequestHeader.PeekCorrelationId(frame.Span), null), new Tributary.Protocol.Messages.ApiVersionsRequest());
            }

            var apiVersionsHeader = RequestHeader.Read(ref reader, HeaderVersions.RequestHeaderIsFlexible(apiKey, version));
            var apiVersions = Tributary.Protocol.Messages.ApiCatalog.ReadRequest(apiKey, version, ref reader);
            reader.EnsureFullyConsumed("ApiVersions request");
            return (apiVersionsHeader, apiVersions);
        }

        if (!Wire.ApiCatalog.TryGet(apiKey, out var api))
        {
            throw new MalformedMessageException($"Api key {apiKey} is not served on the quorum listener");
        }

        if (!api.IsSupported(version))
        {
            throw new MalformedMessageException($"{api.Name} version {version} is not served (range {api.LowestVersion}-{api.HighestVersion})");
        }

        var header = RequestHeader.Read(ref reader, api.IsFlexible(version));
        var body = Wire.ApiCatalog.ReadRequest(apiKey, version, ref reader);
        reader.EnsureFullyConsumed($"{api.Name} request");
        return (header, body);
    }

    /// <summary>Reads a response frame (without its size prefix) to a request of <paramref name="apiKey"/> in version 0.</summary>
    /// <exception cref="MalformedMessageException">Truncated, trailing bytes, or an api key that is not a quorum API.</exception>
    public static (int CorrelationId, IResponseMessage Body) DecodeResponseFrame(ReadOnlyMemory<byte> frame, short apiKey)
    {
        if (!Wire.ApiCatalog.TryGet(apiKey, out var api))
        {
            throw new MalformedMessageException($"Api key {apiKey} is not a quorum API");
        }

        var reader = new KafkaReader(frame);
        var header = ResponseHeader.Read(ref reader, api.IsFlexible(Version));
        var body = Wire.ApiCatalog.ReadResponse(apiKey, Version, ref reader);
        reader.EnsureFullyConsumed($"{api.Name} response");
        return (header.CorrelationId, body);
    }

    /// <summary>The correlation id of a response frame (without its size prefix), read before its api is known.</summary>
    public static int PeekResponseCorrelationId(ReadOnlySpan<byte> frame) => frame.Length >= 4
        ? BinaryPrimitives.ReadInt32BigEndian(frame)
        : throw new MalformedMessageException($"Response frame of {frame.Length} bytes has no correlation id");

    /// <summary>ApiVersions on the quorum listener: the quorum APIs and ApiVersions itself (UNSUPPORTED_VERSION, in v0,
    /// for a version we do not serve).</summary>
    public static Tributary.Protocol.Messages.ApiVersionsResponse ApiVersions(bool unsupportedVersion)
    {
        var response = new Tributary.Protocol.Messages.ApiVersionsResponse
        {
            ErrorCode = unsupportedVersion ? (short)ErrorCode.UnsupportedVersion : (short)0,
        };
        response.ApiKeys.Add(new Tributary.Protocol.Messages.ApiVersionsResponse.ApiVersion
        {
            ApiKey = ApiVersionsKey,
            MinVersion = Tributary.Protocol.Messages.ApiVersionsRequest.LowestVersion,
            MaxVersion = Tributary.Protocol.Messages.ApiVersionsRequest.HighestVersion,
        });
        foreach (var api in Wire.ApiCatalog.All)
        {
            response.ApiKeys.Add(new Tributary.Protocol.Messages.ApiVersionsResponse.ApiVersion
            {
                ApiKey = api.ApiKey, MinVersion = api.LowestVersion, MaxVersion = api.HighestVersion,
            });
        }

        return response;
    }

    private static byte[] Patched(ArrayBufferWriter<byte> buffer)
    {
        byte[] bytes = buffer.WrittenSpan.ToArray();
        BinaryPrimitives.WriteInt32BigEndian(bytes, bytes.Length - 4);
        return bytes;
    }

    private static int Epoch32(long term) => term is >= -1 and <= int.MaxValue
        ? (int)term
        : throw new InvalidOperationException($"Epoch {term} does not fit Kafka's int32 epoch field");

    private static TPartition SinglePartition<TTopic, TPartition>(List<TTopic> topics, Func<TTopic, string> name,
        Func<TTopic, List<TPartition>> partitions, string what)
    {
        if (topics.Count != 1 || name(topics[0]) != MetadataTopic || partitions(topics[0]).Count != 1)
        {
            throw new MalformedMessageException($"{what} must address exactly {MetadataTopic} partition 0");
        }

        return partitions(topics[0])[0];
    }

    private static void CheckPartition(int partition, string what)
    {
        if (partition != 0)
        {
            throw new MalformedMessageException($"{what} for {MetadataTopic} partition {partition} (only 0 exists)");
        }
    }

    private static void CheckChunk(int total, int position, int length, int maxPayloadBytes)
    {
        if (total < 0 || position < 0 || length > maxPayloadBytes || (long)position + length > total)
        {
            throw new MalformedMessageException($"Snapshot chunk of {length} bytes at {position} of {total} (chunks at most {maxPayloadBytes})");
        }
    }
}
