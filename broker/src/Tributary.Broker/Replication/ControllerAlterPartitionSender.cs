using Tributary.Broker.Metadata;

namespace Tributary.Broker.Replication;

/// <summary>
/// Sends ISR changes through the broker's controller gateway as AlterPartition, stamped with this broker's id and its current
/// registration epoch (KIP-903: the controller refuses a change from a previous incarnation).
/// </summary>
public sealed class ControllerAlterPartitionSender(ControllerGateway controller, int nodeId, Func<long> brokerEpoch) : IAlterPartitionSender
{
    public Task<IsrChangeResult> SendAsync(IsrChangeRequest request, CancellationToken cancellationToken) =>
        // Off the caller's thread: the leader proposes while serving a follower's fetch and must not wait for the controller.
        Task.Run(async () =>
        {
            var command = new AlterPartitionCommand(nodeId, brokerEpoch(), request.TopicId, request.Partition, request.LeaderEpoch,
                request.PartitionEpoch, request.NewIsr);
            var reply = await controller.AlterPartitionAsync(command, cancellationToken).ConfigureAwait(false);
            return new IsrChangeResult(reply.Error, reply.Message);
        }, cancellationToken);
}
