using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Broker.Producers;
using Tributary.Broker.Requests;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Tests.Producers;

public sealed class InitProducerIdHandlerTests
{
    private long _nextBlock;

    private InitProducerIdHandler CreateHandler() => new(new ProducerIdManager(_ =>
    {
        var block = new ProducerIdBlock(1, _nextBlock, 1000);
        _nextBlock += 1000;
        return Task.FromResult<ProducerIdBlock?>(block);
    }, NullLogger.Instance));

    private static async Task<InitProducerIdResponse> Handle(InitProducerIdHandler handler, RequestContext context, InitProducerIdRequest request) =>
        (InitProducerIdResponse)(await handler.HandleAsync(context, request, CancellationToken.None))!;

    private static RequestContext Context(short version) =>
        new(new RequestHeader(InitProducerIdRequest.ApiKey, version, 1, "test-client"), new ClientSession("c1", "127.0.0.1:1"), "InitProducerId");

    [Fact]
    public async Task An_idempotent_producer_gets_a_new_id_with_epoch_zero()
    {
        InitProducerIdHandler handler = CreateHandler();

        InitProducerIdResponse first = await Handle(handler, Context(4), new InitProducerIdRequest { TransactionTimeoutMs = 60_000 });
        InitProducerIdResponse second = await Handle(handler, Context(4), new InitProducerIdRequest { TransactionTimeoutMs = 60_000 });

        Assert.Equal((short)ErrorCode.None, first.ErrorCode);
        Assert.Equal(0, first.ProducerEpoch);
        Assert.NotEqual(first.ProducerId, second.ProducerId);
    }

    [Fact]
    public async Task A_producer_passing_its_id_and_epoch_continues_with_the_next_epoch()
    {
        InitProducerIdHandler handler = CreateHandler();

        InitProducerIdResponse response = await Handle(handler, Context(3), new InitProducerIdRequest { ProducerId = 4711, ProducerEpoch = 6 });

        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        Assert.Equal(4711, response.ProducerId);
        Assert.Equal(7, response.ProducerEpoch);
    }

    [Fact]
    public async Task A_producer_whose_epoch_is_exhausted_gets_a_new_id()
    {
        InitProducerIdHandler handler = CreateHandler();

        InitProducerIdResponse response = await Handle(handler, Context(4),
            new InitProducerIdRequest { ProducerId = 4711, ProducerEpoch = short.MaxValue - 1 });

        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        Assert.NotEqual(4711, response.ProducerId);
        Assert.Equal(0, response.ProducerEpoch);
    }

    [Fact]
    public async Task An_id_without_an_epoch_is_an_invalid_request()
    {
        InitProducerIdResponse response = await Handle(CreateHandler(), Context(4), new InitProducerIdRequest { ProducerId = 4711 });

        Assert.Equal((short)ErrorCode.InvalidRequest, response.ErrorCode);
    }

    [Fact]
    public async Task A_transactional_producer_without_a_transaction_coordinator_gets_coordinator_not_available()
    {
        InitProducerIdResponse response = await Handle(CreateHandler(), Context(4),
            new InitProducerIdRequest { TransactionalId = "txn-1", TransactionTimeoutMs = 60_000 });

        Assert.Equal((short)ErrorCode.CoordinatorNotAvailable, response.ErrorCode);
        Assert.Equal(-1, response.ProducerId);
        Assert.Equal(-1, response.ProducerEpoch);
    }
}
