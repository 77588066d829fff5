using Tributary.Protocol;
using Tributary.Storage;

namespace Tributary.Broker.Producers;

/// <summary>Maps the log's idempotent-producer verdicts onto the codes a Kafka broker puts in a produce response.</summary>
public static class ProducerAppendErrors
{
    public static ErrorCode ToErrorCode(this ProducerAppendStatus status) => status switch
    {
        // A duplicate is answered as a success carrying the original offsets: the client's retry did land, once.
        ProducerAppendStatus.Appended or ProducerAppendStatus.Duplicate => ErrorCode.None,
        ProducerAppendStatus.OutOfOrderSequence => ErrorCode.OutOfOrderSequenceNumber,
        // Since KIP-588 Kafka answers a produce from an older epoch with INVALID_PRODUCER_EPOCH (PRODUCER_FENCED is the
        // transaction coordinator's code); clients treat it as "this producer instance is stale".
        ProducerAppendStatus.InvalidProducerEpoch => ErrorCode.InvalidProducerEpoch,
        // Kafka's LogValidator rejects a batch with a producer id and a negative base sequence as an invalid record.
        ProducerAppendStatus.InvalidSequence => ErrorCode.InvalidRecord,
        ProducerAppendStatus.InvalidTxnState => ErrorCode.InvalidTxnState,
        ProducerAppendStatus.TransactionCoordinatorFenced => ErrorCode.TransactionCoordinatorFenced,
        _ => ErrorCode.UnknownServerError,
    };
}
