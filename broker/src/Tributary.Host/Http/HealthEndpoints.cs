using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Tributary.Broker;

namespace Tributary.Host.Http;

/// <summary>Kubernetes-style probes: <c>/healthz</c> (process alive) and <c>/readyz</c> (broker caught up and serving).</summary>
public static class HealthEndpoints
{
    public const string LivenessPath = "/healthz";
    public const string ReadinessPath = "/readyz";

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        // Liveness must not depend on broker state: a broker replaying a large log is alive, just not ready,
        // and restarting it would only start the replay over.
        endpoints.MapGet(LivenessPath, () => Results.Text("ok\n", "text/plain"));
        endpoints.MapGet(ReadinessPath, (BrokerServer server) => server.IsReady
            ? Results.Text("ready\n", "text/plain")
            : Results.Text($"not ready: {server.NotReadyReason}\n", "text/plain", statusCode: StatusCodes.Status503ServiceUnavailable));
        return endpoints;
    }
}
