using System.Runtime.InteropServices;
using Tributary.Protocol;
using Tributary.Protocol.Messages;
using static Tributary.Protocol.Tests.Primitives.Bytes;

namespace Tributary.Protocol.Tests.Messages;

/// <summary>Exact bytes and field values for cases worked out by hand from the protocol guide.</summary>
public class HandWrittenMessageTests
{
    private static readonly Uuid TopicId = new(0x0123456789ABCDEF, 0xFEDCBA9876543210);

    private static ProduceRequest SmallProduce() => new()
    {
        TransactionalId = null,
        Acks = -1,
        TimeoutMs = 30000,
        TopicData =
        [
            new ProduceRequest.TopicProduceData
            {
                Name = "t",
                PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = new byte[] { 1, 2, 3 } }],
            },
        ],
    };

    [Fact]
    public void Produce_v9_uses_compact_encodings_and_empty_tag_sections()
    {
        byte[] bytes = DefinitionModel.Serialize(SmallProduce(), 9);

        Assert.Equal(Hex("00 FFFF 00007530 02 0274 02 00000000 04010203 00 00 00"), bytes);
    }

    [Fact]
    public void Produce_v8_uses_classic_lengths_and_no_tag_sections()
    {
        byte[] bytes = DefinitionModel.Serialize(SmallProduce(), 8);

        Assert.Equal(Hex("FFFF FFFF 00007530 00000001 000174 00000001 00000000 00000003010203"), bytes);
    }

    [Fact]
    public void Produce_v9_read_exposes_records_as_a_slice_of_the_frame()
    {
        byte[] frame = DefinitionModel.Serialize(SmallProduce(), 9);
        var reader = new KafkaReader(frame);

        var request = ProduceRequest.Read(ref reader, 9);

        Assert.Null(request.TransactionalId);
        Assert.Equal(-1, request.Acks);
        Assert.Equal("t", request.TopicData[0].Name);
        var records = request.TopicData[0].PartitionData[0].Records!.Value;
        Assert.True(MemoryMarshal.TryGetArray(records, out var segment));
        Assert.Same(frame, segment.Array);
        Assert.Equal(new byte[] { 1, 2, 3 }, records.ToArray());
    }

    [Fact]
    public void Metadata_v12_request_carries_topic_ids_and_null_names()
    {
        var request = new MetadataRequest
        {
            Topics = [new MetadataRequest.MetadataRequestTopic { TopicId = TopicId, Name = null }],
            AllowAutoTopicCreation = false,
            IncludeTopicAuthorizedOperations = true,
        };

        byte[] bytes = DefinitionModel.Serialize(request, 12);

        Assert.Equal(Hex("02 0123456789ABCDEFFEDCBA9876543210 00 00 00 01 00"), bytes);
    }

    [Fact]
    public void Metadata_v1_writes_null_topics_as_minus_one_meaning_all_topics()
    {
        var request = new MetadataRequest { Topics = null };

        Assert.Equal(Hex("FFFFFFFF"), DefinitionModel.Serialize(request, 1));
    }

    [Fact]
    public void Metadata_v0_refuses_to_write_null_topics_because_v0_has_no_null()
    {
        var request = new MetadataRequest { Topics = null };

        Assert.Throws<InvalidOperationException>(() => DefinitionModel.Serialize(request, 0));
    }

    [Fact]
    public void Metadata_v12_response_round_trips_brokers_topics_and_partitions()
    {
        var response = new MetadataResponse
        {
            ThrottleTimeMs = 5,
            Brokers = [new MetadataResponse.MetadataResponseBroker { NodeId = 1, Host = "localhost", Port = 9092, Rack = null }],
            ClusterId = "cluster-a",
            ControllerId = 1,
            Topics =
            [
                new MetadataResponse.MetadataResponseTopic
                {
                    ErrorCode = 0,
                    Name = "orders",
                    TopicId = TopicId,
                    Partitions =
                    [
                        new MetadataResponse.MetadataResponsePartition
                        {
                            PartitionIndex = 0, LeaderId = 1, LeaderEpoch = 4, ReplicaNodes = [1, 2, 3], IsrNodes = [1, 2], OfflineReplicas = [3],
                        },
                    ],
                    TopicAuthorizedOperations = 0x0F,
                },
                new MetadataResponse.MetadataResponseTopic { ErrorCode = 100, Name = null, TopicId = Uuid.One },
            ],
        };
        byte[] bytes = DefinitionModel.Serialize(response, 12);
        var reader = new KafkaReader(bytes);

        var decoded = MetadataResponse.Read(ref reader, 12);

        Assert.Equal(5, decoded.ThrottleTimeMs);
        Assert.Equal("localhost", decoded.Brokers.Single().Host);
        Assert.Null(decoded.Brokers.Single().Rack);
        Assert.Equal("cluster-a", decoded.ClusterId);
        Assert.Equal("orders", decoded.Topics[0].Name);
        Assert.Equal(TopicId, decoded.Topics[0].TopicId);
        var partition = decoded.Topics[0].Partitions.Single();
        Assert.Equal(4, partition.LeaderEpoch);
        Assert.Equal([1, 2, 3], partition.ReplicaNodes);
        Assert.Equal([1, 2], partition.IsrNodes);
        Assert.Equal([3], partition.OfflineReplicas);
        Assert.Equal(0x0F, decoded.Topics[0].TopicAuthorizedOperations);
        Assert.Null(decoded.Topics[1].Name);
        Assert.Equal(100, decoded.Topics[1].ErrorCode);
    }

    [Fact]
    public void Fetch_v13_names_topics_by_id_and_v12_by_name()
    {
        var request = new FetchRequest
        {
            MaxWaitMs = 500,
            MinBytes = 1,
            Topics =
            [
                new FetchRequest.FetchTopic
                {
                    Topic = "orders",
                    TopicId = TopicId,
                    Partitions = [new FetchRequest.FetchPartition { Partition = 2, FetchOffset = 42, PartitionMaxBytes = 1 << 20 }],
                },
            ],
        };

        var v13 = RoundTrip(request, 13);
        var v12 = RoundTrip(request, 12);

        Assert.Equal(TopicId, v13.Topics[0].TopicId);
        Assert.Equal(string.Empty, v13.Topics[0].Topic);
        Assert.Equal("orders", v12.Topics[0].Topic);
        Assert.Equal(Uuid.Zero, v12.Topics[0].TopicId);
        Assert.Equal(42, v13.Topics[0].Partitions[0].FetchOffset);
        Assert.Equal(1 << 20, v13.Topics[0].Partitions[0].PartitionMaxBytes);
    }

    [Fact]
    public void Fetch_v15_replica_state_travels_as_a_tagged_struct_only_when_not_default()
    {
        var request = new FetchRequest { MaxWaitMs = 1, MinBytes = 1 };
        int lengthWithoutReplicaState = DefinitionModel.Serialize(request, 15).Length;

        request.ReplicaState = new FetchRequest.ReplicaIdAndEpoch { ReplicaId = 2, ReplicaEpoch = 7 };
        var decoded = RoundTrip(request, 15);

        Assert.Equal(2, decoded.ReplicaState.ReplicaId);
        Assert.Equal(7, decoded.ReplicaState.ReplicaEpoch);
        Assert.True(DefinitionModel.Serialize(request, 15).Length > lengthWithoutReplicaState);
    }

    [Fact]
    public void ApiVersions_v3_response_writes_tagged_fields_only_when_they_differ_from_default()
    {
        var response = new ApiVersionsResponse
        {
            ApiKeys = [new ApiVersionsResponse.ApiVersion { ApiKey = 18, MinVersion = 0, MaxVersion = 4 }],
        };

        Assert.Equal(Hex("0000 02 0012 0000 0004 00 00000000 00"), DefinitionModel.Serialize(response, 3));

        response.FinalizedFeaturesEpoch = 5;
        Assert.Equal(
            Hex("0000 02 0012 0000 0004 00 00000000 01 01 08 0000000000000005"),
            DefinitionModel.Serialize(response, 3));
    }

    [Fact]
    public void ApiVersions_v3_request_skips_unknown_tagged_fields()
    {
        // ClientSoftwareName "a", ClientSoftwareVersion "1", then a tag 7 of two bytes nobody knows yet.
        var reader = new KafkaReader(Hex("0261 0231 01 07 02 ABCD"));

        var request = ApiVersionsRequest.Read(ref reader, 3);

        Assert.Equal("a", request.ClientSoftwareName);
        Assert.Equal("1", request.ClientSoftwareVersion);
        Assert.Equal(0, reader.Remaining);
        Assert.Equal(Hex("0261 0231 00"), DefinitionModel.Serialize(request, 3));
    }

    [Fact]
    public void Known_tagged_field_whose_size_disagrees_with_its_content_is_malformed()
    {
        // FinalizedFeaturesEpoch (tag 1, int64) declared with size 9.
        var reader = new KafkaReader(Hex("0000 01 00000000 01 01 09 000000000000000500"));

        Assert.Throws<MalformedMessageException>(() => ApiVersionsResponse.Read(ref reader, 3));
    }

    [Fact]
    public void Writing_a_null_non_nullable_string_throws_invalid_operation()
    {
        var response = new ProduceResponse { Responses = [new ProduceResponse.TopicProduceResponse { Name = null! }] };

        Assert.Throws<InvalidOperationException>(() => DefinitionModel.Serialize(response, 9));
    }

    [Fact]
    public void Fields_absent_from_a_version_are_skipped_silently_when_writing()
    {
        var response = new MetadataResponse { ThrottleTimeMs = 99, ClusterId = "x", ControllerId = 3 };

        Assert.Equal(Hex("00000000 00000000"), DefinitionModel.Serialize(response, 0));
    }

    [Fact]
    public void Reading_or_writing_outside_the_served_versions_throws_unsupported_version()
    {
        var reader = new KafkaReader(new byte[16]);

        var read = Assert.Throws<UnsupportedVersionException>(() => ApiCatalog.ReadRequest(0, 2, ref reader));
        Assert.Equal(0, read.ApiKey);
        Assert.Equal(2, read.Version);
        Assert.Throws<UnsupportedVersionException>(() => ApiCatalog.ReadResponse(999, 0, ref reader));
        Assert.Throws<UnsupportedVersionException>(() => DefinitionModel.Serialize(new ProduceRequest(), 12));
    }

    [Fact]
    public void ApiCatalog_lists_every_definition_sorted_by_key_with_its_flexible_version()
    {
        var keys = ApiCatalog.All.Select(d => d.ApiKey).ToList();

        Assert.Equal(keys.Order(), keys);
        Assert.Equal(DefinitionModel.Apis.Count, keys.Count);
        Assert.True(ApiCatalog.TryGet((short)ApiKeys.Produce, out var produce));
        Assert.Equal("Produce", produce.Name);
        Assert.True(ApiCatalog.IsFlexible(0, 9));
        Assert.False(ApiCatalog.IsFlexible(0, 8));
        Assert.False(ApiCatalog.TryGet(999, out _));
        Assert.False(ApiCatalog.IsFlexible(999, 100));
    }

    private static FetchRequest RoundTrip(FetchRequest request, short version)
    {
        var reader = new KafkaReader(DefinitionModel.Serialize(request, version));
        return FetchRequest.Read(ref reader, version);
    }
}
