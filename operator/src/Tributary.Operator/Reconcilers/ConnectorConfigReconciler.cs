using Microsoft.Extensions.Logging;
using Tributary.Operator.Api;
using Tributary.Operator.Api.Schema;
using Tributary.Operator.Hosting;
using Tributary.Operator.Kube;
using Tributary.Operator.Queue;

namespace Tributary.Operator.Reconcilers;

/// <summary>ConnectorConfig: validated and reported in status. Running connectors lands with Tributary Connect.</summary>
public sealed class ConnectorConfigReconciler(KubeApi kube, ILogger<ConnectorConfigReconciler> logger, TimeProvider time)
{
    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        var connector = await kube.GetAsync<ConnectorConfig>(ConnectorConfig.Plural, key.Namespace, key.Name, cancellationToken).ConfigureAwait(false);
        if (connector is null || connector.Metadata.DeletionTimestamp is not null)
        {
            return ReconcileResult.Done("gone");
        }

        var generation = connector.Metadata.Generation;
        var errors = SpecValidator.Validate(connector.Spec);
        var now = time.GetUtcNow();
        var conditions = errors.Count > 0
            ? Conditions.Invalid(connector.Status?.Conditions, generation, now, "InvalidSpec", string.Join("; ", errors))
            : Conditions.Build(connector.Status?.Conditions, generation, now,
                (false, "ConnectNotAvailable", "the spec is valid; no Connect runtime is managed by this operator yet"),
                (false, "Validated", "nothing to do until Connect is available"),
                (false, "NoError", ""));
        OperatorLog.ConnectorValidated(logger, key.ToString(), errors.Count > 0 ? string.Join("; ", errors) : "valid");
        await kube.PatchStatusAsync(ConnectorConfig.Plural, key.Namespace, key.Name,
            new ConnectorConfigStatus { ObservedGeneration = generation, Conditions = conditions }, cancellationToken).ConfigureAwait(false);
        return ReconcileResult.Done(errors.Count > 0 ? "invalid" : "validated");
    }
}
