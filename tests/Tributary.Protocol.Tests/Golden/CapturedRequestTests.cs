using Tributary.Protocol.Messages;

namespace Tributary.Protocol.Tests.Golden;

/// <summary>Requests recorded from kcat, kafka-python and confluent-kafka-python decode as those clients meant them.</summary>
public class CapturedRequestTests
{
    public static TheoryData<string> CapturedFrames()
    {
        var data = new TheoryData<string>();
        foreach (string name in GoldenFrames.Names())
        {
            data.Add(name);
        }

        return data;
    }

    [Fact]
    public void Golden_directory_holds_a_capture_of_every_client()
    {
        var names = GoldenFrames.Names().ToList();

        Assert.Contains("kcat-ApiVersions-v3", names);
        Assert.Contains("kcat-Metadata-v4", names);
        Assert.Contains("kafka-python-ApiVersions-v0", names);
        Assert.Contains("kafka-python-Metadata-v1", names);
        Assert.Contains("confluent-kafka-python-ApiVersions-v3", names);
        Assert.Contains("kcat-Produce-v7", names);
        Assert.Contains("kafka-python-Produce-v7", names);
    }

    [Theory]
    [MemberData(nameof(CapturedFrames))]
    public void Captured_request_is_read_to_its_last_byte(string name)
    {
        DecodedRequest request = GoldenFrames.Decode(GoldenFrames.Load(name));

        Assert.Equal(0, request.UnreadBytes);
    }

    [Theory]
    [MemberData(nameof(CapturedFrames))]
    public void Captured_request_reencodes_to_identical_bytes(string name)
    {
        byte[] frame = GoldenFrames.Load(name);

        byte[] reencoded = GoldenFrames.Encode(GoldenFrames.Decode(frame));

        Assert.Equal(Convert.ToHexString(frame), Convert.ToHexString(reencoded));
    }

    [Theory]
    [MemberData(nameof(CapturedFrames))]
    public void Captured_request_header_has_the_api_and_version_in_its_file_name(string name)
    {
        DecodedRequest request = GoldenFrames.Decode(GoldenFrames.Load(name));

        string[] parts = name.Split('-');
        Assert.Equal(parts[^2], Enum.GetName((ApiKeys)request.Header.ApiKey));
        Assert.Equal(parts[^1], "v" + request.Header.ApiVersion);
        Assert.Equal(request.Header.ApiKey, request.Body.ApiKeyValue);
    }

    [Fact]
    public void Kcat_api_versions_v3_names_librdkafka_as_client_software()
    {
        DecodedRequest request = GoldenFrames.Decode(GoldenFrames.Load("kcat-ApiVersions-v3"));

        var body = Assert.IsType<ApiVersionsRequest>(request.Body);
        Assert.True(request.Flexible);
        Assert.Equal(1, request.Header.CorrelationId);
        Assert.Equal("rdkafka", request.Header.ClientId);
        Assert.Equal("librdkafka", body.ClientSoftwareName);
        Assert.Equal("2.0.2", body.ClientSoftwareVersion);
    }

    [Fact]
    public void Confluent_python_api_versions_v3_names_the_python_wrapper_and_its_librdkafka()
    {
        DecodedRequest request = GoldenFrames.Decode(GoldenFrames.Load("confluent-kafka-python-ApiVersions-v3"));

        var body = Assert.IsType<ApiVersionsRequest>(request.Body);
        Assert.Equal("rdkafka", request.Header.ClientId);
        Assert.Equal("confluent-kafka-python", body.ClientSoftwareName);
        Assert.Equal("1.7.0-rdkafka-2.0.2", body.ClientSoftwareVersion);
    }

    [Fact]
    public void Kafka_python_api_versions_v0_has_an_empty_body_and_a_non_flexible_header()
    {
        byte[] frame = GoldenFrames.Load("kafka-python-ApiVersions-v0");
        DecodedRequest request = GoldenFrames.Decode(frame);

        Assert.IsType<ApiVersionsRequest>(request.Body);
        Assert.False(request.Flexible);
        Assert.Equal("kafka-python-producer-1", request.Header.ClientId);
        // Header v1 is all there is: 8 fixed bytes plus the int16-prefixed client id.
        Assert.Equal(8 + 2 + "kafka-python-producer-1".Length, frame.Length);
    }

    [Theory]
    [InlineData("kcat-Metadata-v4")]
    [InlineData("confluent-kafka-python-Metadata-v4")]
    public void Librdkafka_metadata_v4_asks_for_the_one_topic_and_allows_auto_creation(string name)
    {
        DecodedRequest request = GoldenFrames.Decode(GoldenFrames.Load(name));

        var body = Assert.IsType<MetadataRequest>(request.Body);
        Assert.Equal("rdkafka", request.Header.ClientId);
        Assert.NotNull(body.Topics);
        var topic = Assert.Single(body.Topics);
        Assert.Equal("golden-topic", topic.Name);
        Assert.True(body.AllowAutoTopicCreation);
    }

    [Fact]
    public void Kafka_python_metadata_v1_asks_for_every_topic_with_a_null_list()
    {
        DecodedRequest request = GoldenFrames.Decode(GoldenFrames.Load("kafka-python-Metadata-v1"));

        var body = Assert.IsType<MetadataRequest>(request.Body);
        Assert.Null(body.Topics);
    }

    [Fact]
    public void Kafka_python_metadata_v0_asks_for_every_topic_with_an_empty_list()
    {
        DecodedRequest request = GoldenFrames.Decode(GoldenFrames.Load("kafka-python-Metadata-v0"));

        var body = Assert.IsType<MetadataRequest>(request.Body);
        Assert.NotNull(body.Topics);
        Assert.Empty(body.Topics);
    }

    [Theory]
    [InlineData("kcat-Produce-v7", -1)]
    [InlineData("kafka-python-Produce-v7", 1)]
    public void Produce_v7_carries_one_v2_record_batch_for_partition_zero(string name, short acks)
    {
        DecodedRequest request = GoldenFrames.Decode(GoldenFrames.Load(name));

        var body = Assert.IsType<ProduceRequest>(request.Body);
        Assert.Null(body.TransactionalId);
        Assert.Equal(acks, body.Acks);
        Assert.Equal(30_000, body.TimeoutMs);
        var topic = Assert.Single(body.TopicData);
        Assert.Equal("golden-topic", topic.Name);
        var partition = Assert.Single(topic.PartitionData);
        Assert.Equal(0, partition.Index);
        Assert.NotNull(partition.Records);
        ReadOnlySpan<byte> batch = partition.Records.Value.Span;
        // One record batch: base offset (8) + batch length (4) covering the rest, then leader epoch (4)
        // and the magic byte, which must be 2 for the record format every supported Produce version uses.
        Assert.Equal(batch.Length - 12, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(batch[8..]));
        Assert.Equal(2, batch[16]);
    }
}
