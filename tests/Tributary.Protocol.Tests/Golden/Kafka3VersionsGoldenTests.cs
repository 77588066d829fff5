using System.Globalization;
using System.Text;
using Tributary.Protocol.Messages;

namespace Tributary.Protocol.Tests.Golden;

/// <summary>
/// The versions Kafka 3.9 serves and Tributary added (ListOffsets v0 and v9, CreateTopics v0–1, DeleteTopics v0,
/// DescribeConfigs v0, DescribeLogDirs v0, FindCoordinator v5–6, InitProducerId v5, Fetch v17, ListGroups v5, OffsetCommit v9,
/// OffsetFetch v9, DescribeQuorum v2): hand-built request bytes, laid out field by field from Kafka's message
/// specs, decode to the right values and re-encode to the same bytes; responses encode to the bytes the spec prescribes.
/// </summary>
public class Kafka3VersionsGoldenTests
{
    /// <summary>A non-flexible string: int16 length, then UTF-8.</summary>
    private static string Str(string s) => s.Length.ToString("X4", CultureInfo.InvariantCulture) + Convert.ToHexString(Encoding.UTF8.GetBytes(s));

    /// <summary>A short compact (flexible) string: unsigned varint length + 1, then UTF-8.</summary>
    private static string CStr(string s) => (s.Length + 1).ToString("X2", CultureInfo.InvariantCulture) + Convert.ToHexString(Encoding.UTF8.GetBytes(s));

    private static T ReadAll<T>(string hex, short version, ReadDelegate<T> read)
    {
        var reader = new KafkaReader(Convert.FromHexString(hex));
        T message = read(ref reader, version);
        Assert.Equal(0, reader.Remaining);
        return message;
    }

    private delegate T ReadDelegate<out T>(ref KafkaReader reader, short version);

    private static string Hex(IKafkaMessage message, short version) => Convert.ToHexString(GoldenFrames.EncodeBody(message, version));

    // ---- ListOffsets v0: MaxNumOffsets in the request, an array of offsets (OldStyleOffsets) in the response.

    private static readonly string ListOffsetsV0Request =
        "FFFFFFFF" +                 // replica_id -1 (a consumer)
        "00000001" + Str("t") +      // topics: 1, name "t"
        "00000001" +                 //   partitions: 1
        "00000002" +                 //     partition_index 2
        "FFFFFFFFFFFFFFFF" +         //     timestamp -1 (latest)
        "00000001";                  //     max_num_offsets 1

    [Fact]
    public void ListOffsets_v0_request_carries_max_num_offsets_after_the_timestamp()
    {
        var request = ReadAll<ListOffsetsRequest>(ListOffsetsV0Request, 0, ListOffsetsRequest.Read);

        var partition = Assert.Single(Assert.Single(request.Topics).Partitions);
        Assert.Equal((-1, 2, -1L, 1), (request.ReplicaId, partition.PartitionIndex, partition.Timestamp, partition.MaxNumOffsets));
        Assert.Equal(ListOffsetsV0Request, Hex(request, 0));
    }

    [Fact]
    public void ListOffsets_v0_response_answers_an_int32_counted_array_of_offsets_and_no_timestamp_or_throttle()
    {
        var response = new ListOffsetsResponse
        {
            ThrottleTimeMs = 100,
            Topics =
            [
                new ListOffsetsResponse.ListOffsetsTopicResponse
                {
                    Name = "t",
                    Partitions = [new ListOffsetsResponse.ListOffsetsPartitionResponse { PartitionIndex = 2, OldStyleOffsets = [42, 0], Offset = 7 }],
                },
            ],
        };

        string expected =
            "00000001" + Str("t") +                           // topics: 1, name "t"
            "00000001" + "00000002" + "0000" +                //   partitions: 1, index 2, error NONE
            "00000002" + "000000000000002A" + "0000000000000000"; //   old_style_offsets [42, 0]
        Assert.Equal(expected, Hex(response, 0));
        Assert.Equal(new long[] { 42, 0 }, ReadAll<ListOffsetsResponse>(expected, 0, ListOffsetsResponse.Read).Topics[0].Partitions[0].OldStyleOffsets);
    }

    [Fact]
    public void ListOffsets_v0_frame_as_sarama_sends_it_decodes_with_a_v1_header()
    {
        string frame =
            "0002" + "0000" + "0000002A" + Str("sarama") + // api key 2, version 0, correlation 42, client id
            ListOffsetsV0Request;

        DecodedRequest decoded = GoldenFrames.Decode(Convert.FromHexString(frame));

        Assert.Equal(((short)2, (short)0, 42, "sarama"), (decoded.Header.ApiKey, decoded.Header.ApiVersion, decoded.Header.CorrelationId, decoded.Header.ClientId));
        Assert.Equal(0, decoded.UnreadBytes);
        Assert.Equal(frame, Convert.ToHexString(GoldenFrames.Encode(decoded)));
    }

    // ---- ListOffsets v9 (KIP-1005): v8's layout; only the timestamp -5 is new.

    [Fact]
    public void ListOffsets_v9_request_and_response_are_laid_out_as_v8()
    {
        string request =
            "FFFFFFFF" + "00" +               // replica_id -1, isolation_level 0
            "02" + "0274" +                   // topics: 1 (compact), name "t"
            "02" + "00000000" + "FFFFFFFF" +  //   partitions: 1, index 0, current_leader_epoch -1
            "FFFFFFFFFFFFFFFB" + "00" +       //     timestamp -5, no tags
            "00" + "00";                      //   topic tags, request tags

        var decoded = ReadAll<ListOffsetsRequest>(request, 9, ListOffsetsRequest.Read);
        Assert.Equal(-5L, decoded.Topics[0].Partitions[0].Timestamp);
        Assert.Equal(request, Hex(decoded, 9));
        Assert.Equal(Hex(decoded, 8), Hex(decoded, 9));

        var response = new ListOffsetsResponse
        {
            Topics =
            [
                new ListOffsetsResponse.ListOffsetsTopicResponse
                {
                    Name = "t",
                    Partitions = [new ListOffsetsResponse.ListOffsetsPartitionResponse { PartitionIndex = 0, Offset = -1, Timestamp = -1, LeaderEpoch = -1 }],
                },
            ],
        };
        string expected =
            "00000000" + "02" + "0274" +                   // throttle_time_ms, topics: 1, name "t"
            "02" + "00000000" + "0000" +                   //   partitions: 1, index 0, error NONE
            "FFFFFFFFFFFFFFFF" + "FFFFFFFFFFFFFFFF" +      //     timestamp -1, offset -1
            "FFFFFFFF" + "00" + "00" + "00";               //     leader_epoch -1, tags; topic tags; response tags
        Assert.Equal(expected, Hex(response, 9));
    }

    // ---- FindCoordinator v5-6 and InitProducerId v5 (KIP-890 error codes, KIP-932 key type): v4's layout.

    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    public void FindCoordinator_v5_and_v6_are_laid_out_as_v4(short version)
    {
        string request = "02" + "02" + "036731" + "00"; // key_type 2 (share), coordinator_keys ["g1"], no tags

        var decoded = ReadAll<FindCoordinatorRequest>(request, version, FindCoordinatorRequest.Read);

        Assert.Equal(((sbyte)2, "g1"), (decoded.KeyType, Assert.Single(decoded.CoordinatorKeys)));
        Assert.Equal(request, Hex(decoded, version));
        var response = new FindCoordinatorResponse
        {
            Coordinators = [new FindCoordinatorResponse.Coordinator { Key = "g1", NodeId = -1, Host = "", Port = -1, ErrorCode = 15 }],
        };
        Assert.Equal(Hex(response, 4), Hex(response, version));
        Assert.Equal("00000000" + "02" + "036731" + "FFFFFFFF" + "01" + "FFFFFFFF" + "000F" + "00" + "00" + "00", Hex(response, version));
    }

    [Fact]
    public void InitProducerId_v5_is_laid_out_as_v4()
    {
        string request = "00" + "0000EA60" + "FFFFFFFFFFFFFFFF" + "FFFF" + "00"; // transactional_id null, 60 s, id -1, epoch -1

        var decoded = ReadAll<InitProducerIdRequest>(request, 5, InitProducerIdRequest.Read);

        Assert.Equal((null, 60000), (decoded.TransactionalId, decoded.TransactionTimeoutMs));
        Assert.Equal(request, Hex(decoded, 5));
        var response = new InitProducerIdResponse { ProducerId = 1000, ProducerEpoch = 0 };
        Assert.Equal("00000000" + "0000" + "00000000000003E8" + "0000" + "00", Hex(response, 5));
        Assert.Equal(Hex(response, 4), Hex(response, 5));
    }

    // ---- Fetch v17 (KIP-853): a follower may add its directory id as tag 0 of each partition; v16 skips that tag.

    private const string FetchV17Request =
        "000001F4" + "00000001" + "7FFFFFFF" + "00" +        // max_wait 500, min_bytes 1, max_bytes, READ_UNCOMMITTED
        "00000000" + "FFFFFFFF" +                            // session_id 0, session_epoch -1
        "02" + "0102030405060708090A0B0C0D0E0F10" +          // topics: 1, topic_id
        "02" + "00000000" + "00000005" +                     //   partitions: 1, index 0, current_leader_epoch 5
        "000000000000000A" + "00000005" +                    //     fetch_offset 10, last_fetched_epoch 5
        "0000000000000000" + "00100000" +                    //     log_start_offset 0, partition_max_bytes 1 MiB
        "01" + "00" + "10" + "1112131415161718191A1B1C1D1E1F20" + // tags: 1, tag 0 (replica_directory_id), 16 bytes
        "00" +                                               //   topic tags
        "01" + "01" +                                        // forgotten_topics_data: 0, rack_id ""
        "01" + "01" + "0D" + "00000002" + "0000000000000007" + "00"; // tags: 1, tag 1 (replica_state: id 2, epoch 7)

    [Fact]
    public void Fetch_v17_request_carries_the_followers_directory_id_as_a_partition_tag()
    {
        var request = ReadAll<FetchRequest>(FetchV17Request, 17, FetchRequest.Read);

        var partition = Assert.Single(Assert.Single(request.Topics).Partitions);
        Assert.Equal(new Uuid(0x1112131415161718, 0x191A1B1C1D1E1F20), partition.ReplicaDirectoryId);
        Assert.Equal((2, 7L, 10L), (request.ReplicaState.ReplicaId, request.ReplicaState.ReplicaEpoch, partition.FetchOffset));
        Assert.Equal(FetchV17Request, Hex(request, 17));
    }

    [Fact]
    public void Fetch_v16_skips_tag_0_of_a_partition_and_never_writes_it()
    {
        var request = ReadAll<FetchRequest>(FetchV17Request, 16, FetchRequest.Read);

        var partition = request.Topics[0].Partitions[0];
        Assert.Equal(default, partition.ReplicaDirectoryId);
        Assert.Equal(10L, partition.FetchOffset);
        partition.ReplicaDirectoryId = request.Topics[0].TopicId;
        Assert.DoesNotContain("1112131415161718191A1B1C1D1E1F20", Hex(request, 16), StringComparison.Ordinal);
    }

    // ---- CreateTopics v0 (no validate_only, no error message) and v1 (both, still no throttle time).

    private static readonly string CreateTopicsTopic =
        "00000001" + Str("t") +                    // topics: 1, name "t"
        "00000003" + "0001" +                      //   num_partitions 3, replication_factor 1
        "00000000" +                               //   assignments: 0
        "00000001" + Str("cleanup.policy") + Str("compact") + //   configs: 1
        "00007530";                                // timeout_ms 30000

    [Fact]
    public void CreateTopics_v0_request_ends_with_the_timeout()
    {
        var request = ReadAll<CreateTopicsRequest>(CreateTopicsTopic, 0, CreateTopicsRequest.Read);

        var topic = Assert.Single(request.Topics);
        Assert.Equal(("t", 3, (short)1, 30000, false), (topic.Name, topic.NumPartitions, topic.ReplicationFactor, request.TimeoutMs, request.ValidateOnly));
        Assert.Equal(("cleanup.policy", "compact"), (topic.Configs[0].Name, topic.Configs[0].Value));
        Assert.Equal(CreateTopicsTopic, Hex(request, 0));
    }

    [Fact]
    public void CreateTopics_v1_request_adds_validate_only()
    {
        var request = ReadAll<CreateTopicsRequest>(CreateTopicsTopic + "01", 1, CreateTopicsRequest.Read);

        Assert.True(request.ValidateOnly);
        Assert.Equal(CreateTopicsTopic + "01", Hex(request, 1));
    }

    private static CreateTopicsResponse TopicExists() => new()
    {
        ThrottleTimeMs = 5,
        Topics = [new CreateTopicsResponse.CreatableTopicResult { Name = "t", ErrorCode = 36, ErrorMessage = "exists" }],
    };

    [Fact]
    public void CreateTopics_v0_response_is_name_and_error_code_only()
    {
        Assert.Equal("00000001" + Str("t") + "0024", Hex(TopicExists(), 0));
    }

    [Fact]
    public void CreateTopics_v1_response_adds_the_error_message_but_no_throttle_time()
    {
        Assert.Equal("00000001" + Str("t") + "0024" + Str("exists"), Hex(TopicExists(), 1));
    }

    // ---- DeleteTopics v0: v1 without the throttle time.

    [Fact]
    public void DeleteTopics_v0_request_is_names_then_timeout()
    {
        string bytes = "00000002" + Str("a") + Str("b") + "00001388";

        var request = ReadAll<DeleteTopicsRequest>(bytes, 0, DeleteTopicsRequest.Read);

        Assert.Equal(new[] { "a", "b" }, request.TopicNames);
        Assert.Equal(5000, request.TimeoutMs);
        Assert.Equal(bytes, Hex(request, 0));
    }

    [Fact]
    public void DeleteTopics_v0_response_has_no_throttle_time()
    {
        var response = new DeleteTopicsResponse
        {
            ThrottleTimeMs = 5,
            Responses = [new DeleteTopicsResponse.DeletableTopicResult { Name = "a", ErrorCode = 3 }],
        };

        Assert.Equal("00000001" + Str("a") + "0003", Hex(response, 0));
    }

    // ---- DescribeConfigs v0: no include_synonyms; configs carry is_default instead of config_source and synonyms.

    [Fact]
    public void DescribeConfigs_v0_request_has_no_include_synonyms()
    {
        string bytes = "00000001" + "02" + Str("t") + "FFFFFFFF"; // resources: 1, TOPIC "t", every key (null)

        var request = ReadAll<DescribeConfigsRequest>(bytes, 0, DescribeConfigsRequest.Read);

        var resource = Assert.Single(request.Resources);
        Assert.Equal(((sbyte)2, "t", true), (resource.ResourceType, resource.ResourceName, resource.ConfigurationKeys is null));
        Assert.Equal(bytes, Hex(request, 0));
    }

    [Fact]
    public void DescribeConfigs_v0_response_writes_is_default_between_read_only_and_is_sensitive()
    {
        var response = new DescribeConfigsResponse
        {
            ThrottleTimeMs = 0,
            Results =
            [
                new DescribeConfigsResponse.DescribeConfigsResult
                {
                    ResourceType = 2,
                    ResourceName = "t",
                    Configs =
                    [
                        new DescribeConfigsResponse.DescribeConfigsResourceResult
                        {
                            Name = "segment.ms", Value = "1000", ReadOnly = false, IsDefault = false, ConfigSource = 1,
                            Synonyms = [new DescribeConfigsResponse.DescribeConfigsSynonym { Name = "segment.ms", Value = "1000", Source = 1 }],
                        },
                        new DescribeConfigsResponse.DescribeConfigsResourceResult
                        {
                            Name = "preallocate", Value = "false", IsDefault = true, ConfigSource = 5,
                        },
                    ],
                },
            ],
        };

        string expected =
            "00000000" +                                    // throttle_time_ms
            "00000001" + "0000" + "FFFF" + "02" + Str("t") + // results: 1, error NONE, message null, TOPIC "t"
            "00000002" +                                    //   configs: 2
            Str("segment.ms") + Str("1000") + "00" + "00" + "00" + // read_only, is_default, is_sensitive
            Str("preallocate") + Str("false") + "00" + "01" + "00";
        Assert.Equal(expected, Hex(response, 0));
        var read = ReadAll<DescribeConfigsResponse>(expected, 0, DescribeConfigsResponse.Read);
        Assert.Equal(new[] { false, true }, read.Results[0].Configs.Select(c => c.IsDefault));
    }

    // ---- DescribeLogDirs v0: the same layout as v1.

    [Fact]
    public void DescribeLogDirs_v0_request_and_response_are_laid_out_as_v1()
    {
        string requestBytes = "00000001" + Str("t") + "00000001" + "00000000";
        var request = ReadAll<DescribeLogDirsRequest>(requestBytes, 0, DescribeLogDirsRequest.Read);
        Assert.Equal(("t", 0), (request.Topics![0].Topic, request.Topics[0].Partitions[0]));
        Assert.Equal(requestBytes, Hex(request, 0));

        var response = new DescribeLogDirsResponse
        {
            Results =
            [
                new DescribeLogDirsResponse.DescribeLogDirsResult
                {
                    LogDir = "/d",
                    Topics =
                    [
                        new DescribeLogDirsResponse.DescribeLogDirsTopic
                        {
                            Name = "t",
                            Partitions = [new DescribeLogDirsResponse.DescribeLogDirsPartition { PartitionIndex = 0, PartitionSize = 512, OffsetLag = 0 }],
                        },
                    ],
                    TotalBytes = 1,
                },
            ],
        };

        string expected =
            "00000000" +                                  // throttle_time_ms
            "00000001" + "0000" + Str("/d") +             // results: 1, error NONE, log_dir
            "00000001" + Str("t") +                       //   topics: 1
            "00000001" + "00000000" + "0000000000000200" + "0000000000000000" + "00"; // partition 0, 512 B, lag 0, not future
        Assert.Equal(expected, Hex(response, 0));
        Assert.Equal(Hex(response, 1), Hex(response, 0));
    }

    // ---- ListGroups v5 (KIP-848): a types filter after the states filter; each listed group carries its type.

    [Fact]
    public void ListGroups_v5_request_carries_a_types_filter_after_the_states_filter()
    {
        string requestBytes = "02" + CStr("Stable") + "02" + CStr("classic") + "00"; // states ["Stable"], types ["classic"], no tags

        var request = ReadAll<ListGroupsRequest>(requestBytes, 5, ListGroupsRequest.Read);

        Assert.Equal(("Stable", "classic"), (Assert.Single(request.StatesFilter), Assert.Single(request.TypesFilter)));
        Assert.Equal(requestBytes, Hex(request, 5));
    }

    [Fact]
    public void ListGroups_v5_response_writes_the_group_type_after_the_state_and_v4_leaves_it_out()
    {
        var response = new ListGroupsResponse
        {
            Groups = [new ListGroupsResponse.ListedGroup { GroupId = "g", ProtocolType = "consumer", GroupState = "Empty", GroupType = "classic" }],
        };

        string v4Group = CStr("g") + CStr("consumer") + CStr("Empty");
        Assert.Equal("00000000" + "0000" + "02" + v4Group + CStr("classic") + "00" + "00", Hex(response, 5));
        Assert.Equal("00000000" + "0000" + "02" + v4Group + "00" + "00", Hex(response, 4));
    }

    // ---- OffsetCommit v9 (KIP-848): the same layout as v8 in both directions.

    [Fact]
    public void OffsetCommit_v9_request_and_response_are_laid_out_as_v8()
    {
        string requestBytes =
            CStr("g") + "00000003" + CStr("m-1") + "00" +      // group "g", generation 3, member "m-1", instance id null
            "02" + CStr("t") +                                  // topics: 1, "t"
            "02" + "00000000" + "000000000000002A" +            //   partitions: 1, index 0, offset 42
            "00000005" + "01" + "00" +                          //     leader_epoch 5, metadata "", no tags
            "00" + "00";                                        //   topic tags, request tags

        var request = ReadAll<OffsetCommitRequest>(requestBytes, 9, OffsetCommitRequest.Read);

        var partition = Assert.Single(Assert.Single(request.Topics).Partitions);
        Assert.Equal(("g", 3, "m-1", (string?)null, 42L, 5), (request.GroupId, request.GenerationIdOrMemberEpoch, request.MemberId,
            request.GroupInstanceId, partition.CommittedOffset, partition.CommittedLeaderEpoch));
        Assert.Equal(requestBytes, Hex(request, 9));
        Assert.Equal(Hex(request, 8), Hex(request, 9));

        var response = new OffsetCommitResponse
        {
            Topics =
            [
                new OffsetCommitResponse.OffsetCommitResponseTopic
                {
                    Name = "t",
                    Partitions = [new OffsetCommitResponse.OffsetCommitResponsePartition { PartitionIndex = 0, ErrorCode = 69 }],
                },
            ],
        };
        Assert.Equal("00000000" + "02" + CStr("t") + "02" + "00000000" + "0045" + "00" + "00" + "00", Hex(response, 9));
        Assert.Equal(Hex(response, 8), Hex(response, 9));
    }

    // ---- OffsetFetch v9 (KIP-848): each group names a member id and epoch before its topics; the response is v8's.

    [Fact]
    public void OffsetFetch_v9_request_carries_member_id_and_epoch_per_group()
    {
        string requestBytes =
            "02" + CStr("g") + CStr("m-1") + "00000007" +      // groups: 1, "g", member "m-1", member_epoch 7
            "02" + CStr("t") + "02" + "00000001" + "00" +      //   topics: 1, "t", partitions [1], topic tags
            "00" +                                              //   group tags
            "01" + "00";                                        // require_stable true, request tags

        var request = ReadAll<OffsetFetchRequest>(requestBytes, 9, OffsetFetchRequest.Read);

        var group = Assert.Single(request.Groups);
        Assert.Equal(("g", "m-1", 7, 1, true), (group.GroupId, group.MemberId, group.MemberEpoch,
            Assert.Single(Assert.Single(group.Topics!).PartitionIndexes), request.RequireStable));
        Assert.Equal(requestBytes, Hex(request, 9));
    }

    [Fact]
    public void OffsetFetch_v9_request_with_a_null_member_id_and_every_partition()
    {
        string requestBytes = "02" + CStr("g") + "00" + "FFFFFFFF" + "00" + "00" + "00" + "00"; // member null, epoch -1, topics null

        var request = ReadAll<OffsetFetchRequest>(requestBytes, 9, OffsetFetchRequest.Read);

        var group = Assert.Single(request.Groups);
        Assert.Equal(((string?)null, -1, true), (group.MemberId, group.MemberEpoch, group.Topics is null));
        Assert.Equal(requestBytes, Hex(request, 9));
        Assert.Equal("02" + CStr("g") + "00" + "00" + "00" + "00", Hex(request, 8));
    }

    [Fact]
    public void OffsetFetch_v9_response_is_laid_out_as_v8()
    {
        var response = new OffsetFetchResponse
        {
            Groups =
            [
                new OffsetFetchResponse.OffsetFetchResponseGroup
                {
                    GroupId = "g",
                    Topics =
                    [
                        new OffsetFetchResponse.OffsetFetchResponseTopics
                        {
                            Name = "t",
                            Partitions = [new OffsetFetchResponse.OffsetFetchResponsePartitions { PartitionIndex = 1, CommittedOffset = 42, CommittedLeaderEpoch = 5, Metadata = "" }],
                        },
                    ],
                },
            ],
        };

        string expected =
            "00000000" + "02" + CStr("g") +                      // throttle, groups: 1, "g"
            "02" + CStr("t") + "02" + "00000001" +               //   topics: 1, "t", partitions: 1, index 1
            "000000000000002A" + "00000005" + "01" + "0000" + "00" + // offset 42, epoch 5, metadata "", NONE, tags
            "00" + "0000" + "00" + "00";                         //   topic tags, group error NONE, group tags, tags
        Assert.Equal(expected, Hex(response, 9));
        Assert.Equal(Hex(response, 8), Hex(response, 9));
    }

    // ---- DescribeQuorum v2 (KIP-853): error messages, replica directory ids and the voters' listeners.

    [Fact]
    public void DescribeQuorum_v2_request_is_laid_out_as_v1()
    {
        string requestBytes = "02" + CStr("__cluster_metadata") + "02" + "00000000" + "00" + "00" + "00";

        var request = ReadAll<DescribeQuorumRequest>(requestBytes, 2, DescribeQuorumRequest.Read);

        Assert.Equal(("__cluster_metadata", 0), (Assert.Single(request.Topics).TopicName, Assert.Single(request.Topics[0].Partitions).PartitionIndex));
        Assert.Equal(requestBytes, Hex(request, 2));
        Assert.Equal(Hex(request, 1), Hex(request, 2));
    }

    [Fact]
    public void DescribeQuorum_v2_response_adds_error_messages_directory_ids_and_nodes()
    {
        var response = new DescribeQuorumResponse
        {
            Topics =
            [
                new DescribeQuorumResponse.TopicData
                {
                    TopicName = "__cluster_metadata",
                    Partitions =
                    [
                        new DescribeQuorumResponse.PartitionData
                        {
                            PartitionIndex = 0, LeaderId = 1, LeaderEpoch = 4, HighWatermark = 100,
                            CurrentVoters = [new DescribeQuorumResponse.ReplicaState { ReplicaId = 1, LogEndOffset = 100, LastFetchTimestamp = -1, LastCaughtUpTimestamp = 16 }],
                        },
                    ],
                },
            ],
            Nodes =
            [
                new DescribeQuorumResponse.Node
                {
                    NodeId = 1,
                    Listeners = [new DescribeQuorumResponse.Listener { Name = "CONTROLLER", Host = "h", Port = 9093 }],
                },
            ],
        };

        string expected =
            "0000" + "00" +                                       // error NONE, error_message null
            "02" + CStr("__cluster_metadata") +                   // topics: 1
            "02" + "00000000" + "0000" + "00" +                   //   partitions: 1, index 0, NONE, error_message null
            "00000001" + "00000004" + "0000000000000064" +        //     leader 1, epoch 4, high watermark 100
            "02" + "00000001" + "00000000000000000000000000000000" + // voters: 1, id 1, directory id zero
            "0000000000000064" + "FFFFFFFFFFFFFFFF" + "0000000000000010" + "00" + // LEO 100, last fetch -1, caught up 16, tags
            "01" + "00" + "00" +                                  //     observers: 0, partition tags, topic tags
            "02" + "00000001" +                                   // nodes: 1, node 1
            "02" + CStr("CONTROLLER") + CStr("h") + "2385" + "00" + //   listeners: 1, name, host, port 9093 (uint16), tags
            "00" + "00";                                          //   node tags, response tags
        Assert.Equal(expected, Hex(response, 2));
    }

    [Fact]
    public void DescribeQuorum_v1_response_leaves_out_every_v2_field()
    {
        var response = new DescribeQuorumResponse
        {
            ErrorMessage = "ignored below v2",
            Nodes = [new DescribeQuorumResponse.Node { NodeId = 1, Listeners = [new DescribeQuorumResponse.Listener { Name = "C", Host = "h", Port = 1 }] }],
        };

        Assert.Equal("0000" + "01" + "00", Hex(response, 1));
    }
}
