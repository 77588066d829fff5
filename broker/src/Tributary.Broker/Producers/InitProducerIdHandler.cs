using Microsoft.Extensions.Logging;
using Tributary.Broker.Requests;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Producers;

/// <summary>
/// InitProducerId for idempotent producers: a fresh producer id with epoch 0, or (v3+, KIP-360) the caller's id with its epoch
/// bumped. Transactional producers are refused until the transaction coordinator exists.
/// </summary>
public sealed partial class InitProducerIdHandler(ProducerIdManager producerIds)
{

    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, InitProducerIdRequest request, CancellationToken cancellation)
    {
        var response = new InitProducerIdResponse { ProducerId = -1, ProducerEpoch = -1 };
        if (request.TransactionalId is not null)
        {
            // No transaction coordinator yet. TRANSACTIONAL_ID_AUTHORIZATION_FAILED is the one answer that both the Java client and
            // librdkafka treat as fatal at once (what a broker says when the principal may not use that transactional id), so
            // initTransactions() fails immediately with a clear exception instead of retrying until its timeout, as it would on
            // COORDINATOR_NOT_AVAILABLE or NOT_COORDINATOR.
            LogTransactionsRefused(producerIds.Logger, context.ClientId ?? "", request.TransactionalId);
            response.ErrorCode = (short)ErrorCode.TransactionalIdAuthorizationFailed;
            return response;
        }

        var hasId = request.ProducerId >= 0;
        var hasEpoch = request.ProducerEpoch >= 0;
        if (hasId != hasEpoch)
        {
            // Kafka: the id and epoch of an existing producer come together or not at all.
            response.ErrorCode = (short)ErrorCode.InvalidRequest;
            return response;
        }

        // KIP-360: a producer that lost track of its sequences passes its id and epoch and continues with the next epoch, which
        // fences its own older in-flight batches (INVALID_PRODUCER_EPOCH) and restarts its sequences at 0. Kafka's coordinator
        // hands idempotent producers a new id instead; both are valid answers for the client. An exhausted epoch takes a new id.
        if (hasId && request.ProducerEpoch < short.MaxValue - 1)
        {
            response.ProducerId = request.ProducerId;
            response.ProducerEpoch = (short)(request.ProducerEpoch + 1);
            LogEpochBumped(producerIds.Logger, response.ProducerId, response.ProducerEpoch);
            return response;
        }

        var (error, producerId) = await producerIds.GenerateAsync(cancellation).ConfigureAwait(false);
        response.ErrorCode = (short)error;
        if (error == ErrorCode.None)
        {
            response.ProducerId = producerId;
            response.ProducerEpoch = 0;
        }

        return response;
    }

    [LoggerMessage(EventId = 510, EventName = "TransactionalInitProducerIdRefused", Level = LogLevel.Warning,
        Message = "Refused InitProducerId of client {ClientId} for transactional id {TransactionalId}: transactions are not supported yet")]
    private static partial void LogTransactionsRefused(ILogger logger, string clientId, string transactionalId);

    [LoggerMessage(EventId = 511, EventName = "ProducerEpochBumped", Level = LogLevel.Debug,
        Message = "Producer {ProducerId} continues with epoch {ProducerEpoch}")]
    private static partial void LogEpochBumped(ILogger logger, long producerId, short producerEpoch);
}
