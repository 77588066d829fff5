using Tributary.Broker.Metadata;
using Tributary.Broker.Replication;

namespace Tributary.Broker;

/// <summary>The transaction coordinator's part of the broker's start and stop.</summary>
public sealed partial class BrokerServer
{
    private Transactions.TransactionCoordinator? _transactions;
    private Transactions.TransactionStateTopic? _transactionStateTopic;
    private Transactions.WriteTxnMarkersSender? _transactionMarkers;

    /// <summary>The transaction coordinator serves the transactional ids of the <c>__transaction_state</c> partitions this broker leads.</summary>
    private Transactions.TransactionCoordinator StartTransactionCoordinator(ControllerGateway controller, ReplicaManager replicas,
        Producers.ProducerIdManager producerIds)
    {
        var logger = LoggerFactory.CreateLogger("Tributary.Transactions");
        var stateTopic = new Transactions.TransactionStateTopic(Config, controller, replicas, logger);
        _transactionStateTopic = stateTopic;
        var options = Transactions.TransactionCoordinatorOptions.From(Config);
        var markers = new Transactions.WriteTxnMarkersSender(Config.NodeId, () => controller.Current, Config.SocketRequestMaxBytes,
            TimeSpan.FromSeconds(30), options.RetryBackoff, TimeProvider.System, logger);
        _transactionMarkers = markers;
        var coordinator = new Transactions.TransactionCoordinator(options, stateTopic, markers, producerIds, TimeProvider.System, logger);
        coordinator.Start();
        _transactions = coordinator;
        return coordinator;
    }

    private async Task StopTransactionCoordinatorAsync()
    {
        _transactions?.Dispose();
        _transactionStateTopic?.Dispose();
        if (_transactionMarkers is not null)
        {
            await _transactionMarkers.DisposeAsync().ConfigureAwait(false);
        }
    }
}
