using Tributary.Protocol.Messages;

namespace Tributary.Protocol.Tests.Golden;

/// <summary>InitProducerId encodes as Kafka's message spec prescribes: flexible from v2, current producer id and epoch from v3 (KIP-360).</summary>
public class InitProducerIdGoldenTests
{
    private static InitProducerIdRequest Idempotent() => new() { TransactionalId = null, TransactionTimeoutMs = 60_000 };

    [Fact]
    public void Write_v4_request_of_an_idempotent_producer_has_null_id_and_no_current_producer()
    {
        byte[] bytes = GoldenFrames.EncodeBody(Idempotent(), version: 4);

        string expected =
            "00" +                          // transactional_id null, compact
            "0000EA60" +                    // transaction_timeout_ms 60000
            "FFFFFFFFFFFFFFFF" +            // producer_id -1: none yet
            "FFFF" +                        // producer_epoch -1
            "00";                           // no tags
        Assert.Equal(expected, Convert.ToHexString(bytes));
    }

    [Fact]
    public void Write_v0_request_has_int16_null_id_and_timeout_only()
    {
        Assert.Equal("FFFF" + "0000EA60", Convert.ToHexString(GoldenFrames.EncodeBody(Idempotent(), version: 0)));
    }

    [Fact]
    public void Write_v4_response_gives_the_allocated_id_and_epoch()
    {
        var response = new InitProducerIdResponse { ThrottleTimeMs = 0, ErrorCode = 0, ProducerId = 1000, ProducerEpoch = 0 };

        byte[] bytes = GoldenFrames.EncodeBody(response, version: 4);

        Assert.Equal("00000000" + "0000" + "00000000000003E8" + "0000" + "00", Convert.ToHexString(bytes));
    }

    [Fact]
    public void Read_v3_request_recovers_the_current_producer_to_bump()
    {
        string v3 = "0274" + "0000EA60" + "00000000000003E8" + "0002" + "00";
        var reader = new KafkaReader(Convert.FromHexString(v3));

        InitProducerIdRequest request = InitProducerIdRequest.Read(ref reader, version: 3);

        Assert.Equal(0, reader.Remaining);
        Assert.Equal(("t", 60_000, 1000L, (short)2), (request.TransactionalId, request.TransactionTimeoutMs, request.ProducerId, request.ProducerEpoch));
    }
}
