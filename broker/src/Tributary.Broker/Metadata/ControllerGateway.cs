using Microsoft.Extensions.Logging;
using Tributary.Broker.Producers;
using Tributary.Protocol;

namespace Tributary.Broker.Metadata;

/// <summary>
/// How request handlers change cluster metadata and read it: every change goes to the active controller (on this node
/// or another, through the quorum's controller channel); the answer comes once the change is committed and this
/// broker's own image includes it, so a client reads its own write from the broker it asked.
/// </summary>
public sealed partial class ControllerGateway
{
    private readonly Func<ControllerCommand, CancellationToken, Task<ControllerReply>> _send;
    private readonly Func<MetadataImage> _current;
    private readonly ILogger _logger;

    /// <param name="send">Sends a command to the active controller (retrying leader changes) and returns its reply.</param>
    /// <param name="current">This broker's latest applied metadata image.</param>
    public ControllerGateway(Func<ControllerCommand, CancellationToken, Task<ControllerReply>> send, Func<MetadataImage> current, ILogger logger)
    {
        _send = send;
        _current = current;
        _logger = logger;
    }

    public MetadataImage Current => _current();

    public async Task<(ControllerResult Result, TopicImage? Topic)> CreateTopicAsync(NewTopic topic, bool validateOnly, CancellationToken cancellation)
    {
        var reply = await _send(new CreateTopicCommand(topic, validateOnly), cancellation).ConfigureAwait(false);
        if (!reply.IsOk)
        {
            return (ToResult(reply), null);
        }

        if (validateOnly)
        {
            return (ControllerResult.Ok, null);
        }

        if (Current.Topics.TryGetValue(topic.Name, out var created))
        {
            return (ControllerResult.Ok, created);
        }

        // Committed, but deleted again before we could read it back.
        return (new ControllerResult(ErrorCode.UnknownTopicOrPartition, $"Topic '{topic.Name}' was deleted right after it was created."), null);
    }

    public async Task<ControllerResult> DeleteTopicAsync(string name, CancellationToken cancellation) =>
        ToResult(await _send(new DeleteTopicCommand(name), cancellation).ConfigureAwait(false));

    public async Task<ControllerResult> CreatePartitionsAsync(string name, int newTotal, IReadOnlyList<int[]>? assignments, bool validateOnly,
        CancellationToken cancellation) =>
        ToResult(await _send(new CreatePartitionsCommand(name, newTotal, assignments, validateOnly), cancellation).ConfigureAwait(false));

    /// <summary>Sets a topic's config overrides to exactly <paramref name="overrides"/>.</summary>
    public async Task<ControllerResult> ReplaceTopicConfigsAsync(string name, IReadOnlyDictionary<string, string> overrides, bool validateOnly,
        CancellationToken cancellation) =>
        ToResult(await _send(new ReplaceTopicConfigsCommand(name, overrides, validateOnly), cancellation).ConfigureAwait(false));

    /// <summary>Sets the dynamic configs of a broker resource ("" = cluster default) to exactly <paramref name="configs"/>.</summary>
    public async Task<ControllerResult> ReplaceBrokerConfigsAsync(string resourceName, IReadOnlyDictionary<string, string> configs, bool validateOnly,
        CancellationToken cancellation) =>
        ToResult(await _send(new ReplaceBrokerConfigsCommand(resourceName, configs, validateOnly), cancellation).ConfigureAwait(false));

    /// <summary>A block of producer ids for this broker, or null when the controller can't be reached.</summary>
    public async Task<ProducerIdBlock?> AllocateProducerIdBlockAsync(int brokerId, long brokerEpoch, CancellationToken cancellation)
    {
        var reply = await _send(new AllocateProducerIdsCommand(brokerId, brokerEpoch), cancellation).ConfigureAwait(false);
        if (reply is ProducerIdsReply { IsOk: true } ids)
        {
            return new ProducerIdBlock(brokerId, ids.FirstProducerId, ids.Size);
        }

        LogProducerIdsUnavailable(_logger, reply.Error, reply.Message ?? "");
        return null;
    }

    public async Task<AlterPartitionReply> AlterPartitionAsync(AlterPartitionCommand command, CancellationToken cancellation)
    {
        return Typed<AlterPartitionReply>(await _send(command, cancellation).ConfigureAwait(false));
    }

    public async Task<PartitionOutcomesReply> ElectLeadersAsync(ElectionType type, IReadOnlyList<TopicPartitionRef>? partitions,
        CancellationToken cancellation)
    {
        return Typed<PartitionOutcomesReply>(await _send(new ElectLeadersCommand(type, partitions), cancellation).ConfigureAwait(false));
    }

    public async Task<PartitionOutcomesReply> AlterReassignmentsAsync(IReadOnlyList<ReassignmentTarget> targets, CancellationToken cancellation)
    {
        return Typed<PartitionOutcomesReply>(await _send(new AlterReassignmentsCommand(targets), cancellation).ConfigureAwait(false));
    }

    /// <summary>Removes a broker's registration (UnregisterBroker, KIP-856).</summary>
    public async Task<ControllerResult> UnregisterBrokerAsync(int brokerId, CancellationToken cancellation) =>
        ToResult(await _send(new UnregisterBrokerCommand(brokerId), cancellation).ConfigureAwait(false));

    public Task<ControllerReply> SendAsync(ControllerCommand command, CancellationToken cancellation) => _send(command, cancellation);

    private static ControllerResult ToResult(ControllerReply reply) => new(reply.Error, reply.Message);

    /// <summary>The reply as the type the command expects; a plain error reply becomes that type carrying its error.</summary>
    private static TReply Typed<TReply>(ControllerReply reply) where TReply : ControllerReply =>
        reply as TReply ?? ControllerClient.ErrorReply<TReply>(reply.Error, reply.Message);

    [LoggerMessage(EventId = 114, EventName = "ProducerIdsUnavailable", Level = LogLevel.Warning, Message = "No producer id block from the controller: {Error} {Reason}")]
    private static partial void LogProducerIdsUnavailable(ILogger logger, ErrorCode error, string reason);
}
