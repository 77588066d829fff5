using Tributary.Protocol;
using Tributary.Raft.Log;
using Tributary.Raft.Transport;
using Wire = Tributary.Raft.Messages;

namespace Tributary.Raft.Tests;

/// <summary>Every quorum message through a whole Kafka frame (size, header, generated body) and back, in every version
/// served (v0 for all of them), plus the bounds the decoder enforces.</summary>
public sealed class QuorumWireTests
{
    private const int MaxEntries = 8;
    private const int MaxPayload = 64;

    public static TheoryData<string> VoterRequests => ["vote", "timeout-now", "append", "heartbeat", "install-snapshot"];

    [Theory]
    [MemberData(nameof(VoterRequests))]
    public void A_voter_request_survives_a_kafka_frame(string name)
    {
        var sent = VoterRequest(name);

        var received = RoundTripRequest(sent, receiverId: 1);

        Assert.Equal(Describe(sent), Describe(received));
    }

    [Fact]
    public void Every_served_api_is_version_0_and_uses_a_kafka_or_private_key()
    {
        Assert.All(Wire.ApiCatalog.All, api => Assert.Equal((0, 0), (api.LowestVersion, api.HighestVersion)));
        Assert.Equal([52, 54, 59, 10100, 10101, 10102, 10103], Wire.ApiCatalog.All.Select(a => (int)a.ApiKey).Order());
    }

    public static TheoryData<string, string> Answers => new()
    {
        { "vote", "granted" },
        { "vote", "refused" },
        { "append", "success" },
        { "append", "mismatch" },
        { "install-snapshot", "progress" },
        { "install-snapshot", "fenced" },
    };

    [Theory]
    [MemberData(nameof(Answers))]
    public void A_voter_answer_travels_back_as_the_response(string requestName, string answerName)
    {
        var request = QuorumWire.ToRequest(VoterRequest(requestName));
        QuorumMessage answer = answerName switch
        {
            "granted" => new VoteResponse(1, 2, 7, Granted: true),
            "refused" => new VoteResponse(1, 2, 8, Granted: false),
            "success" => new AppendResponse(1, 2, 7, Success: true, Index: 42),
            "mismatch" => new AppendResponse(1, 2, 7, Success: false, Index: 3),
            "progress" => new InstallSnapshotResponse(1, 2, 7, LastIndex: 100, NextPosition: 5),
            "fenced" => new AppendResponse(1, 2, 9, Success: false, Index: 0),
            _ => throw new ArgumentOutOfRangeException(nameof(answerName)),
        };

        var received = RoundTripResponse(request, QuorumWire.ToResponse(request, answer), peerId: 1, selfId: 2);

        Assert.Equal(answer, received);
    }

    [Theory]
    [MemberData(nameof(VoterRequests))]
    public void A_request_the_receiver_did_not_answer_yields_no_message(string name)
    {
        var request = QuorumWire.ToRequest(VoterRequest(name));

        var received = RoundTripResponse(request, QuorumWire.ToResponse(request, reply: null), peerId: 1, selfId: 2);

        Assert.Null(received);
    }

    public static TheoryData<string> ClientRequests => ["controller-call", "fetch-committed", "fetch-snapshot"];

    [Theory]
    [MemberData(nameof(ClientRequests))]
    public void A_client_request_survives_a_kafka_frame_with_its_correlation_id(string name)
    {
        ClientFrame sent = name switch
        {
            "controller-call" => new ControllerCallRequest(17, 4, [0, 62, 0, 0, 9, 9]),
            "fetch-committed" => new FetchCommittedRequest(17, 4, 1234, 256, 1 << 20, 500),
            "fetch-snapshot" => new FetchSnapshotRequest(17, 4, 99, 6, 4096, 1 << 20),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };

        byte[] frame = QuorumWire.EncodeRequestFrame(QuorumWire.ToRequest(sent), sent.CorrelationId, "test");
        var (header, body) = QuorumWire.DecodeRequestFrame(frame.AsMemory(4));
        var received = QuorumWire.FromRequest(body, header.CorrelationId);

        Assert.Equal(frame.Length - 4, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(frame));
        Assert.Equal("test", header.ClientId);
        Assert.Equal(Describe(sent), Describe(received));
    }

    public static TheoryData<string> ClientResponses =>
        ["call-ok", "call-not-controller", "call-failed", "fetch-entries", "fetch-snapshot-id", "chunk", "chunk-not-found"];

    [Theory]
    [MemberData(nameof(ClientResponses))]
    public void A_client_response_survives_a_kafka_frame(string name)
    {
        ClientFrame sent = name switch
        {
            "call-ok" => new ControllerCallResponse(5, ControllerCallStatus.Ok, 1, [1, 2, 3]),
            "call-not-controller" => new ControllerCallResponse(5, ControllerCallStatus.NotController, 3, []),
            "call-failed" => new ControllerCallResponse(5, ControllerCallStatus.HandlerFailed, 1, []),
            "fetch-entries" => new FetchCommittedResponse(5, 1, 7, [new QuorumEntry(6, [1]), new QuorumEntry(7, [2, 3])]),
            "fetch-snapshot-id" => new FetchCommittedResponse(5, 1, 7, [], SnapshotLastIndex: 50, SnapshotLastTerm: 6),
            "chunk" => new FetchSnapshotResponse(5, true, 50, 6, 10, 4, [4, 5, 6]),
            "chunk-not-found" => new FetchSnapshotResponse(5, false, 50, 6, 0, 0, []),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        var apiKey = sent switch
        {
            ControllerCallResponse => Wire.ControllerCallRequest.ApiKey,
            FetchCommittedResponse => Wire.FetchCommittedRequest.ApiKey,
            _ => Wire.FetchSnapshotRequest.ApiKey,
        };

        byte[] frame = QuorumWire.EncodeResponseFrame(apiKey, QuorumWire.Version, sent.CorrelationId, QuorumWire.ToResponse(sent));
        var (correlationId, body) = QuorumWire.DecodeResponseFrame(frame.AsMemory(4), apiKey);
        var received = QuorumWire.FromResponse(body, correlationId, MaxEntries, MaxPayload);

        Assert.Equal(Describe(sent), Describe(received));
    }

    [Fact]
    public void An_append_with_more_entries_than_the_bound_is_refused()
    {
        var entries = Enumerable.Range(0, MaxEntries + 1).Select(i => new QuorumEntry(1, [(byte)i])).ToList();
        var request = QuorumWire.ToRequest(new AppendRequest(2, 1, 1, 0, 0, 0, entries));

        Assert.Throws<MalformedMessageException>(() => QuorumWire.FromRequest(request, 1, MaxEntries, MaxPayload));
    }

    [Fact]
    public void An_entry_beyond_the_payload_bound_is_refused()
    {
        var request = QuorumWire.ToRequest(new AppendRequest(2, 1, 1, 0, 0, 0, [new QuorumEntry(1, new byte[MaxPayload + 1])]));

        Assert.Throws<MalformedMessageException>(() => QuorumWire.FromRequest(request, 1, MaxEntries, MaxPayload));
    }

    [Fact]
    public void A_snapshot_chunk_reaching_past_its_total_is_refused()
    {
        var request = QuorumWire.ToRequest(new InstallSnapshotRequest(2, 1, 1, 10, 1, TotalBytes: 4, Position: 2, Chunk: [1, 2, 3]));

        Assert.Throws<MalformedMessageException>(() => QuorumWire.FromRequest(request, 1, MaxEntries, MaxPayload));
    }

    [Fact]
    public void A_vote_for_another_partition_is_refused()
    {
        var request = (Wire.VoteRequest)QuorumWire.ToRequest(VoterRequest("vote"));
        request.Topics[0].Partitions[0].PartitionIndex = 1;

        Assert.Throws<MalformedMessageException>(() => QuorumWire.FromRequest(request, 1, MaxEntries, MaxPayload));
    }

    [Fact]
    public void A_frame_of_an_api_the_quorum_does_not_serve_is_refused()
    {
        // Produce (0) v9 with a correlation id and an empty client id: a Kafka request, but not one for the quorum.
        byte[] frame = [0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0];

        Assert.Throws<MalformedMessageException>(() => QuorumWire.DecodeRequestFrame(frame));
    }

    [Fact]
    public void A_truncated_frame_is_refused()
    {
        byte[] frame = QuorumWire.EncodeRequestFrame(QuorumWire.ToRequest(VoterRequest("append")), 1, "test");

        Assert.Throws<MalformedMessageException>(() => QuorumWire.DecodeRequestFrame(frame.AsMemory(4, frame.Length - 6)));
    }

    [Fact]
    public void ApiVersions_lists_every_quorum_api()
    {
        var response = QuorumWire.ApiVersions(unsupportedVersion: false);

        Assert.Equal(0, response.ErrorCode);
        Assert.Equal([18, 52, 54, 59, 10100, 10101, 10102, 10103], response.ApiKeys.Select(k => (int)k.ApiKey).Order());
    }

    internal static QuorumMessage VoterRequest(string name) => name switch
    {
        "vote" => new VoteRequest(2, 1, 7, LastIndex: 41, LastTerm: 6),
        "timeout-now" => new TimeoutNowRequest(2, 1, 7),
        "append" => new AppendRequest(2, 1, 7, PrevIndex: 40, PrevTerm: 6, LeaderCommit: 39,
            [new QuorumEntry(6, [1, 2, 3]), new QuorumEntry(7, [])]),
        "heartbeat" => new AppendRequest(2, 1, 7, PrevIndex: 42, PrevTerm: 7, LeaderCommit: 42, []),
        "install-snapshot" => new InstallSnapshotRequest(2, 1, 7, LastIndex: 100, LastTerm: 6, TotalBytes: 10, Position: 4, Chunk: [9, 8, 7]),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static QuorumMessage RoundTripRequest(QuorumMessage message, int receiverId)
    {
        byte[] frame = QuorumWire.EncodeRequestFrame(QuorumWire.ToRequest(message), 3, "test");
        var (header, body) = QuorumWire.DecodeRequestFrame(frame.AsMemory(4));
        Assert.Equal(3, header.CorrelationId);
        Assert.True(QuorumWire.IsVoterApi(header.ApiKey));
        return QuorumWire.FromRequest(body, receiverId, MaxEntries, MaxPayload);
    }

    private static QuorumMessage? RoundTripResponse(IRequestMessage request, IResponseMessage response, int peerId, int selfId)
    {
        byte[] frame = QuorumWire.EncodeResponseFrame(request.ApiKeyValue, QuorumWire.Version, 3, response);
        var (correlationId, body) = QuorumWire.DecodeResponseFrame(frame.AsMemory(4), request.ApiKeyValue);
        Assert.Equal(3, correlationId);
        return QuorumWire.FromResponse(body, peerId, selfId);
    }

    /// <summary>Value text of a message, byte arrays and entry lists included (records compare those by reference).</summary>
    private static string Describe(object message) => message switch
    {
        AppendRequest m => $"{m with { Entries = [] }} [{string.Join(";", m.Entries.Select(e => $"{e.Term}:{Convert.ToHexString(e.Payload)}"))}]",
        InstallSnapshotRequest m => $"{m with { Chunk = [] }} {Convert.ToHexString(m.Chunk)}",
        ControllerCallRequest m => $"{m with { Payload = [] }} {Convert.ToHexString(m.Payload)}",
        ControllerCallResponse m => $"{m with { Payload = [] }} {Convert.ToHexString(m.Payload)}",
        FetchCommittedResponse m => $"{m with { Entries = [] }} [{string.Join(";", m.Entries.Select(e => $"{e.Term}:{Convert.ToHexString(e.Payload)}"))}]",
        FetchSnapshotResponse m => $"{m with { Chunk = [] }} {Convert.ToHexString(m.Chunk)}",
        _ => message.ToString() ?? "",
    };
}
