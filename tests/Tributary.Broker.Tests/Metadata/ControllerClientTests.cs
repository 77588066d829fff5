using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Broker.Metadata;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Broker.Tests.Metadata;

public sealed class ControllerClientTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private readonly InMemoryMetadataLogTestDouble _log = new(nodeId: 1);
    private readonly MetadataLoader _loader;

    public ControllerClientTests()
    {
        _loader = new MetadataLoader(_log, NullLogger.Instance);
    }

    public Task InitializeAsync()
    {
        _loader.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _loader.DisposeAsync();
        await _log.DisposeAsync();
    }

    [Fact]
    public async Task Active_local_controller_gets_the_command_without_encoding()
    {
        var client = Client(TimeSpan.FromSeconds(5));
        ControllerCommand? received = null;
        client.SetLocal(new LocalControllerTestDouble(isActive: true, command =>
        {
            received = command;
            return new ProducerIdsReply(ErrorCode.None, 5000, 1000);
        }));
        var command = new AllocateProducerIdsCommand(1, 3);

        var reply = await client.SendAsync<ProducerIdsReply>(command, Bounded());

        Assert.Same(command, received);
        Assert.Equal((ErrorCode.None, 5000L, 1000), (reply.Error, reply.FirstProducerId, reply.Size));
        Assert.Equal(0, _log.ControllerCalls);
    }

    [Fact]
    public async Task Inactive_local_controller_is_bypassed_for_the_remote_one()
    {
        var client = Client(TimeSpan.FromSeconds(5));
        client.SetLocal(new LocalControllerTestDouble(isActive: false, _ => throw new InvalidOperationException("must not be called")));
        _log.LoseLeadership(newLeaderId: 2);
        _log.SetRemoteController(Answer(command => new RegisterBrokerReply(ErrorCode.None, 77)));

        var reply = await client.SendAsync<RegisterBrokerReply>(new RegisterBrokerCommand(1, Uuid.NewRandom(), [], null), Bounded());

        Assert.Equal(77, reply.BrokerEpoch);
        Assert.Equal(1, _log.ControllerCalls);
    }

    [Fact]
    public async Task Remote_command_is_encoded_sent_and_its_reply_decoded()
    {
        var client = Client(TimeSpan.FromSeconds(5));
        ControllerCommand? received = null;
        _log.BecomeLeader(epoch: 1);
        _log.SetControllerRequestHandler(Answer(command =>
        {
            received = command;
            return new ControllerReply(ErrorCode.InvalidConfig, "bad value");
        }));

        var reply = await client.SendAsync<ControllerReply>(new DeleteTopicCommand("orders"), Bounded());

        Assert.Equal((ErrorCode.InvalidConfig, "bad value"), (reply.Error, reply.Message));
        Assert.Equal("orders", Assert.IsType<DeleteTopicCommand>(received).Name);
    }

    [Fact]
    public async Task Retries_until_a_controller_appears()
    {
        var client = Client(TimeSpan.FromSeconds(10));
        _log.SetControllerRequestHandler(Answer(_ => new ControllerReply(ErrorCode.None)));

        var sending = client.SendAsync<ControllerReply>(new DeleteTopicCommand("orders"), Bounded());
        await WaitUntil(() => _log.ControllerCalls >= 2);
        Assert.False(sending.IsCompleted);
        _log.BecomeLeader(epoch: 1);

        var reply = await sending;
        Assert.Equal(ErrorCode.None, reply.Error);
    }

    [Fact]
    public async Task Not_controller_reply_is_retried()
    {
        var client = Client(TimeSpan.FromSeconds(10));
        _log.BecomeLeader(epoch: 1);
        var answers = 0;
        _log.SetControllerRequestHandler(Answer(_ => Interlocked.Increment(ref answers) < 3
            ? new ControllerReply(ErrorCode.NotController)
            : new ControllerReply(ErrorCode.None)));

        var reply = await client.SendAsync<ControllerReply>(new DeleteTopicCommand("orders"), Bounded());

        Assert.Equal(ErrorCode.None, reply.Error);
        Assert.Equal(3, answers);
    }

    [Fact]
    public async Task Without_a_controller_the_reply_is_request_timed_out_of_the_requested_type()
    {
        var client = Client(TimeSpan.FromMilliseconds(300));

        var reply = await client.SendAsync<BrokerHeartbeatReply>(new BrokerHeartbeatCommand(1, 1, 0, false, false), Bounded());

        Assert.Equal(ErrorCode.RequestTimedOut, reply.Error);
        Assert.True(_log.ControllerCalls >= 2, $"{_log.ControllerCalls} attempts");
    }

    [Fact]
    public async Task A_controller_slower_than_the_timeout_yields_request_timed_out()
    {
        var client = Client(TimeSpan.FromMilliseconds(200));
        _log.BecomeLeader(epoch: 1);
        _log.SetControllerRequestHandler(async (_, token) =>
        {
            await Task.Delay(System.Threading.Timeout.InfiniteTimeSpan, token);
            return [];
        });

        var reply = await client.SendAsync<AlterPartitionReply>(new AlterPartitionCommand(1, 1, Uuid.NewRandom(), 0, 0, 0, [1]), Bounded());

        Assert.Equal(ErrorCode.RequestTimedOut, reply.Error);
    }

    [Fact]
    public async Task Caller_cancellation_is_not_turned_into_a_reply()
    {
        var client = Client(TimeSpan.FromSeconds(10));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.SendAsync<ControllerReply>(new DeleteTopicCommand("a"), cancel.Token));
    }

    [Fact]
    public async Task Plain_error_reply_becomes_an_error_of_the_requested_type()
    {
        var client = Client(TimeSpan.FromSeconds(5));
        _log.BecomeLeader(epoch: 1);
        _log.SetControllerRequestHandler(Answer(_ => new ControllerReply(ErrorCode.InvalidRequest, "unknown command")));

        var reply = await client.SendAsync<PartitionOutcomesReply>(new ElectLeadersCommand(ElectionType.Preferred, null), Bounded());

        Assert.Equal((ErrorCode.InvalidRequest, "unknown command"), (reply.Error, reply.Message));
        Assert.Empty(reply.Partitions);
    }

    [Fact]
    public async Task Own_write_is_visible_in_the_loader_image_when_the_reply_arrives()
    {
        var client = Client(TimeSpan.FromSeconds(10));
        _log.BecomeLeader(epoch: 1);
        _log.SetControllerRequestHandler(async (request, token) =>
        {
            var result = await _log.TryAppendAsync([new TopicRecord("orders", new Uuid(9, 9))], 1, token);
            return ControllerCalls.EncodeReply(request.ApiKey, new ControllerReply(result.Error, null, result.Offset));
        });

        var reply = await client.SendAsync<ControllerReply>(
            new CreateTopicCommand(new NewTopic("orders", 1, 1, null, new Dictionary<string, string?>()), false), Bounded());

        Assert.True(reply.IsOk);
        Assert.True(_loader.Current.Topics.ContainsKey("orders"));
    }

    [Fact]
    public async Task Waits_for_its_own_offset_before_answering()
    {
        var client = Client(TimeSpan.FromSeconds(10));
        _log.BecomeLeader(epoch: 1);

        // The controller answers with an offset the log has not reached yet; the client must hold the answer until then.
        var target = _log.LastOffset + 2;
        _log.SetControllerRequestHandler(Answer(_ => new ControllerReply(ErrorCode.None, null, target)));

        var sending = client.SendAsync<ControllerReply>(new DeleteTopicCommand("a"), Bounded());
        await Task.Delay(100);
        Assert.False(sending.IsCompleted);

        _log.CommitExternally(new ClusterIdRecord("c"));
        _log.CommitExternally(new ProducerIdsRecord(1, 0, 10));
        var reply = await sending.WaitAsync(Bound);

        Assert.Equal(target, reply.Offset);
        Assert.True(_loader.Current.Offset >= target);
    }

    [Fact]
    public async Task An_offset_never_applied_in_time_still_returns_the_committed_reply()
    {
        var client = Client(TimeSpan.FromMilliseconds(300));
        _log.BecomeLeader(epoch: 1);
        _log.SetControllerRequestHandler(Answer(_ => new ControllerReply(ErrorCode.None, null, 1000)));

        var reply = await client.SendAsync<ControllerReply>(new DeleteTopicCommand("a"), Bounded());

        Assert.Equal((ErrorCode.None, 1000L), (reply.Error, reply.Offset));
    }

    [Fact]
    public void Error_reply_factory_covers_every_reply_type()
    {
        Assert.Equal(ErrorCode.RequestTimedOut, ControllerClient.ErrorReply<ControllerReply>(ErrorCode.RequestTimedOut, null).Error);
        Assert.Equal(-1, ControllerClient.ErrorReply<ProducerIdsReply>(ErrorCode.RequestTimedOut, null).FirstProducerId);
        Assert.Equal(-1, ControllerClient.ErrorReply<RegisterBrokerReply>(ErrorCode.RequestTimedOut, null).BrokerEpoch);
        Assert.False(ControllerClient.ErrorReply<BrokerHeartbeatReply>(ErrorCode.RequestTimedOut, null).ShouldShutdown);
        Assert.Empty(ControllerClient.ErrorReply<AlterPartitionReply>(ErrorCode.RequestTimedOut, null).Isr);
        Assert.Empty(ControllerClient.ErrorReply<PartitionOutcomesReply>(ErrorCode.RequestTimedOut, "m").Partitions);
    }

    private ControllerClient Client(TimeSpan timeout) => new(_log, _loader, timeout, NullLogger.Instance);

    private static Func<ControllerCall, CancellationToken, Task<byte[]>> Answer(Func<ControllerCommand, ControllerReply> handler) =>
        (call, _) =>
        {
            var command = ControllerCalls.DecodeCall(call);
            return Task.FromResult(ControllerCalls.EncodeReply(call.ApiKey, handler(command), command));
        };

    private static CancellationToken Bounded() => new CancellationTokenSource(Bound).Token;

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(10);
        }
    }
}

/// <summary>The broker's own controller as <see cref="ControllerClient"/> sees it: active or not, answering with a given function.</summary>
internal sealed class LocalControllerTestDouble(bool isActive, Func<ControllerCommand, ControllerReply> answer) : IControllerCommandHandler
{
    public bool IsActive => isActive;

    public Task<ControllerReply> HandleAsync(ControllerCommand command, CancellationToken cancellationToken) => Task.FromResult(answer(command));
}
