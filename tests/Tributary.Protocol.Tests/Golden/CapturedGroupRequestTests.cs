using System.Text;
using Tributary.Protocol.Messages;

namespace Tributary.Protocol.Tests.Golden;

/// <summary>How librdkafka (confluent-kafka-python) and kafka-python consumers find their coordinator and join a group, as captured.</summary>
public class CapturedGroupRequestTests
{
    [Theory]
    [InlineData("confluent-kafka-python-FindCoordinator-v2")]
    [InlineData("kafka-python-FindCoordinator-v0")]
    public void Consumer_asks_for_the_coordinator_of_its_group(string name)
    {
        DecodedRequest request = GoldenFrames.Decode(GoldenFrames.Load(name));

        var body = Assert.IsType<FindCoordinatorRequest>(request.Body);
        Assert.Equal("golden-group", body.Key);
        Assert.Equal(0, body.KeyType);
    }

    [Fact]
    public void Librdkafka_join_group_v5_is_a_first_join_of_a_dynamic_member_with_two_assignors()
    {
        DecodedRequest request = GoldenFrames.Decode(GoldenFrames.Load("confluent-kafka-python-JoinGroup-v5"));

        var body = Assert.IsType<JoinGroupRequest>(request.Body);
        Assert.False(request.Flexible);
        Assert.Equal("rdkafka", request.Header.ClientId);
        Assert.Equal(("golden-group", 45_000, 300_000), (body.GroupId, body.SessionTimeoutMs, body.RebalanceTimeoutMs));
        Assert.Equal("", body.MemberId);
        Assert.Null(body.GroupInstanceId);
        Assert.Equal("consumer", body.ProtocolType);
        Assert.Equal(["range", "roundrobin"], body.Protocols.Select(p => p.Name));
        Assert.All(body.Protocols, p => Assert.Contains("golden-topic", Encoding.UTF8.GetString(p.Metadata), StringComparison.Ordinal));
    }

    [Fact]
    public void Kafka_python_join_group_v2_is_a_first_join_with_two_assignors()
    {
        DecodedRequest request = GoldenFrames.Decode(GoldenFrames.Load("kafka-python-JoinGroup-v2"));

        var body = Assert.IsType<JoinGroupRequest>(request.Body);
        Assert.Equal(("golden-group", 10_000, 300_000, ""), (body.GroupId, body.SessionTimeoutMs, body.RebalanceTimeoutMs, body.MemberId));
        Assert.Equal("consumer", body.ProtocolType);
        Assert.Equal(["range", "roundrobin"], body.Protocols.Select(p => p.Name));
    }
}
