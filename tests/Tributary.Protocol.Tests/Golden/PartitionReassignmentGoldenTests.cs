using Tributary.Protocol.Messages;

namespace Tributary.Protocol.Tests.Golden;

/// <summary>
/// AlterPartitionReassignments and ListPartitionReassignments (KIP-455) encode as Kafka's message spec prescribes; both
/// exist only as flexible v0 (vectors worked out by hand).
/// </summary>
public class PartitionReassignmentGoldenTests
{
    private const string AlterRequest =
        "0000EA60" +                    // timeout_ms 60000
        "02" +                          // topics: 1, compact
        "02" + "74" +                   //   name "t"
        "03" +                          //   partitions: 2
        "00000000" +                    //     partition_index 0
        "04" +                          //     replicas: 3, compact
        "00000001" + "00000002" + "00000003" +
        "00" +                          //     partition: no tags
        "00000001" +                    //     partition_index 1
        "00" +                          //     replicas null: cancel the ongoing move
        "00" +                          //     partition: no tags
        "00" +                          //   topic: no tags
        "00";                           // no tags

    [Fact]
    public void Write_alter_request_sends_target_replicas_and_null_for_a_cancellation()
    {
        var request = new AlterPartitionReassignmentsRequest
        {
            TimeoutMs = 60_000,
            Topics =
            [
                new AlterPartitionReassignmentsRequest.ReassignableTopic
                {
                    Name = "t",
                    Partitions =
                    [
                        new AlterPartitionReassignmentsRequest.ReassignablePartition { PartitionIndex = 0, Replicas = [1, 2, 3] },
                        new AlterPartitionReassignmentsRequest.ReassignablePartition { PartitionIndex = 1, Replicas = null },
                    ],
                },
            ],
        };

        Assert.Equal(AlterRequest, Convert.ToHexString(GoldenFrames.EncodeBody(request, version: 0)));
    }

    [Fact]
    public void Read_alter_request_tells_a_cancellation_from_a_move()
    {
        var reader = new KafkaReader(Convert.FromHexString(AlterRequest));

        var request = AlterPartitionReassignmentsRequest.Read(ref reader, version: 0);

        Assert.Equal(0, reader.Remaining);
        Assert.Equal(60_000, request.TimeoutMs);
        var topic = Assert.Single(request.Topics);
        Assert.Equal("t", topic.Name);
        Assert.Equal(2, topic.Partitions.Count);
        Assert.Equal(0, topic.Partitions[0].PartitionIndex);
        Assert.Equal([1, 2, 3], topic.Partitions[0].Replicas!);
        Assert.Equal(1, topic.Partitions[1].PartitionIndex);
        Assert.Null(topic.Partitions[1].Replicas);
    }

    private const string AlterResponse =
        "00000000" +                    // throttle_time_ms 0
        "0000" +                        // error_code 0
        "00" +                          // error_message null, compact
        "02" +                          // responses: 1
        "02" + "74" +                   //   name "t"
        "02" +                          //   partitions: 1
        "00000001" +                    //     partition_index 1
        "0055" +                        //     error_code 85 NO_REASSIGNMENT_IN_PROGRESS
        "02" + "78" +                   //     error_message "x"
        "00" +                          //     partition: no tags
        "00" +                          //   topic: no tags
        "00";                           // no tags

    [Fact]
    public void Write_alter_response_reports_errors_per_partition()
    {
        var response = new AlterPartitionReassignmentsResponse
        {
            ThrottleTimeMs = 0,
            ErrorCode = 0,
            ErrorMessage = null,
            Responses =
            [
                new AlterPartitionReassignmentsResponse.ReassignableTopicResponse
                {
                    Name = "t",
                    Partitions =
                    [
                        new AlterPartitionReassignmentsResponse.ReassignablePartitionResponse
                        {
                            PartitionIndex = 1,
                            ErrorCode = (short)ErrorCode.NoReassignmentInProgress,
                            ErrorMessage = "x",
                        },
                    ],
                },
            ],
        };

        Assert.Equal(AlterResponse, Convert.ToHexString(GoldenFrames.EncodeBody(response, version: 0)));
    }

    [Fact]
    public void Read_alter_response_recovers_the_partition_error()
    {
        var reader = new KafkaReader(Convert.FromHexString(AlterResponse));

        var response = AlterPartitionReassignmentsResponse.Read(ref reader, version: 0);

        Assert.Equal(0, reader.Remaining);
        Assert.Null(response.ErrorMessage);
        var partition = Assert.Single(Assert.Single(response.Responses).Partitions);
        Assert.Equal((1, (short)ErrorCode.NoReassignmentInProgress, "x"), (partition.PartitionIndex, partition.ErrorCode, partition.ErrorMessage));
    }

    [Fact]
    public void Write_list_request_names_topics_and_partition_indexes()
    {
        var request = new ListPartitionReassignmentsRequest
        {
            TimeoutMs = 60_000,
            Topics = [new ListPartitionReassignmentsRequest.ListPartitionReassignmentsTopics { Name = "t", PartitionIndexes = [0] }],
        };

        string expected =
            "0000EA60" +                // timeout_ms 60000
            "02" +                      // topics: 1, compact
            "02" + "74" +               //   name "t"
            "02" + "00000000" +         //   partition_indexes: [0]
            "00" +                      //   topic: no tags
            "00";                       // no tags
        Assert.Equal(expected, Convert.ToHexString(GoldenFrames.EncodeBody(request, version: 0)));
    }

    [Fact]
    public void Read_list_request_with_null_topics_asks_for_every_reassignment()
    {
        var reader = new KafkaReader(Convert.FromHexString("0000EA60" + "00" + "00"));

        var request = ListPartitionReassignmentsRequest.Read(ref reader, version: 0);

        Assert.Equal(0, reader.Remaining);
        Assert.Equal(60_000, request.TimeoutMs);
        Assert.Null(request.Topics);
    }

    private const string ListResponse =
        "00000000" +                    // throttle_time_ms 0
        "0000" +                        // error_code 0
        "00" +                          // error_message null
        "02" +                          // topics: 1
        "02" + "74" +                   //   name "t"
        "02" +                          //   partitions: 1
        "00000000" +                    //     partition_index 0
        "05" + "00000001" + "00000002" + "00000003" + "00000004" + // replicas [1,2,3,4]
        "02" + "00000004" +             //     adding_replicas [4]
        "02" + "00000001" +             //     removing_replicas [1]
        "00" +                          //     partition: no tags
        "00" +                          //   topic: no tags
        "00";                           // no tags

    [Fact]
    public void Write_list_response_gives_replicas_being_added_and_removed()
    {
        var response = new ListPartitionReassignmentsResponse
        {
            Topics =
            [
                new ListPartitionReassignmentsResponse.OngoingTopicReassignment
                {
                    Name = "t",
                    Partitions =
                    [
                        new ListPartitionReassignmentsResponse.OngoingPartitionReassignment
                        {
                            PartitionIndex = 0,
                            Replicas = [1, 2, 3, 4],
                            AddingReplicas = [4],
                            RemovingReplicas = [1],
                        },
                    ],
                },
            ],
        };

        Assert.Equal(ListResponse, Convert.ToHexString(GoldenFrames.EncodeBody(response, version: 0)));
    }

    [Fact]
    public void Read_list_response_recovers_the_ongoing_move()
    {
        var reader = new KafkaReader(Convert.FromHexString(ListResponse));

        var response = ListPartitionReassignmentsResponse.Read(ref reader, version: 0);

        Assert.Equal(0, reader.Remaining);
        var topic = Assert.Single(response.Topics);
        Assert.Equal("t", topic.Name);
        var partition = Assert.Single(topic.Partitions);
        Assert.Equal([1, 2, 3, 4], partition.Replicas);
        Assert.Equal([4], partition.AddingReplicas);
        Assert.Equal([1], partition.RemovingReplicas);
    }
}
