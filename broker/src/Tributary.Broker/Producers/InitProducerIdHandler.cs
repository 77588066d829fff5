using Microsoft.Extensions.Logging;
using Tributary.Broker.Requests;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Producers;

/// <summary>
/// InitProducerId for idempotent producers: a fresh producer id with epoch 0, or (v3+, KIP-360) the caller's id with its epoch
/// bumped. Transactional producers are answered by the transaction coordinator of their transactional id.
/// </summary>
public sealed partial class InitProducerIdHandler(ProducerIdManager producerIds, Transactions.TransactionCoordinator? transactions = null)
{
    /// <summary>KIP-588: InitProducerId answers PRODUCER_FENCED from v4; older clients get INVALID_PRODUCER_EPOCH.</summary>
    private const short FirstProducerFencedVersion = 4;

    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, InitProducerIdRequest request, CancellationToken cancellation)
    {
        var response = new InitProducerIdResponse { ProducerId = -1, ProducerEpoch = -1 };
        if (request.TransactionalId is not null)
        {
            if (transactions is null)
            {
                response.ErrorCode = (short)ErrorCode.CoordinatorNotAvailable;
                return response;
            }

            var version = context.ApiVersion;
            var result = await transactions.InitProducerIdAsync(request.TransactionalId, request.TransactionTimeoutMs,
                version >= 3 ? request.ProducerId : -1, version >= 3 ? request.ProducerEpoch : (short)-1, cancellation).ConfigureAwait(false);
            response.ErrorCode = (short)(result.Error == ErrorCode.ProducerFenced && version < FirstProducerFencedVersion
                ? ErrorCode.InvalidProducerEpoch
                : result.Error);
            response.ProducerId = result.ProducerId;
            response.ProducerEpoch = result.ProducerEpoch;
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

    [LoggerMessage(EventId = 511, EventName = "ProducerEpochBumped", Level = LogLevel.Debug,
        Message = "Producer {ProducerId} continues with epoch {ProducerEpoch}")]
    private static partial void LogEpochBumped(ILogger logger, long producerId, short producerEpoch);
}
