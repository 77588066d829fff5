using Tributary.Raft;

namespace Tributary.Raft.Tests;

public sealed class QuorumVoterTests
{
    [Fact]
    public void Voters_are_parsed_from_kafka_quorum_voters_syntax()
    {
        var voters = QuorumVoter.ParseList("1@localhost:9093, 2@10.0.0.2:9093,3@[::1]:19093");

        Assert.Equal([new QuorumVoter(1, "localhost", 9093), new QuorumVoter(2, "10.0.0.2", 9093), new QuorumVoter(3, "::1", 19093)], voters);
    }

    [Theory]
    [InlineData("")]
    [InlineData("localhost:9093")]
    [InlineData("1@localhost")]
    [InlineData("x@localhost:9093")]
    [InlineData("1@localhost:0")]
    [InlineData("1@a:9093,1@b:9093")]
    public void Malformed_voter_lists_are_rejected(string text)
    {
        Assert.Throws<FormatException>(() => QuorumVoter.ParseList(text));
    }
}
