using System.Buffers;
using Tributary.Protocol.Messages;

namespace Tributary.Protocol.Tests.Messages;

/// <summary>AddPartitionsToTxn shares its topic structs between the v0-3 and v4+ layouts; both must carry their topics.</summary>
public class AddPartitionsToTxnTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(3)]
    public void Request_before_v4_round_trips_its_topics(short version)
    {
        var request = new AddPartitionsToTxnRequest
        {
            V3AndBelowTransactionalId = "tx",
            V3AndBelowProducerId = 7,
            V3AndBelowProducerEpoch = 1,
            V3AndBelowTopics = [new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = "orders", Partitions = [0, 2] }],
        };

        var read = RoundTrip(request, version, AddPartitionsToTxnRequest.Read);

        var topic = Assert.Single(read.V3AndBelowTopics);
        Assert.Equal("orders", topic.Name);
        Assert.Equal([0, 2], topic.Partitions);
    }

    [Fact]
    public void Request_v4_round_trips_the_topics_of_each_transaction()
    {
        var request = new AddPartitionsToTxnRequest
        {
            Transactions =
            [
                new AddPartitionsToTxnRequest.AddPartitionsToTxnTransaction
                {
                    TransactionalId = "tx",
                    ProducerId = 7,
                    Topics = [new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = "orders", Partitions = [1] }],
                },
            ],
        };

        var read = RoundTrip(request, 4, AddPartitionsToTxnRequest.Read);

        Assert.Equal("orders", Assert.Single(Assert.Single(read.Transactions).Topics).Name);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void Response_before_v4_round_trips_its_partition_results(short version)
    {
        var response = new AddPartitionsToTxnResponse
        {
            ResultsByTopicV3AndBelow =
            [
                new AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult
                {
                    Name = "orders",
                    ResultsByPartition = [new AddPartitionsToTxnResponse.AddPartitionsToTxnPartitionResult { PartitionIndex = 2, PartitionErrorCode = 3 }],
                },
            ],
        };

        var read = RoundTrip(response, version, AddPartitionsToTxnResponse.Read);

        var partition = Assert.Single(Assert.Single(read.ResultsByTopicV3AndBelow).ResultsByPartition);
        Assert.Equal((2, (short)3), (partition.PartitionIndex, partition.PartitionErrorCode));
    }

    private delegate T Reader<out T>(ref KafkaReader reader, short version);

    private static T RoundTrip<T>(IKafkaMessage message, short version, Reader<T> read)
    {
        var buffer = new ArrayBufferWriter<byte>();
        message.Write(new KafkaWriter(buffer), version);
        var reader = new KafkaReader(buffer.WrittenMemory);
        var result = read(ref reader, version);
        reader.EnsureFullyConsumed("message");
        return result;
    }
}
