using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using OpenTelemetry.Metrics;
using Tributary.Operator.Connect;
using Tributary.Operator.Hosting;
using Tributary.Operator.Kube;
using Tributary.Operator.Model;
using Tributary.Operator.Reconcilers;

// tributary-operator [--kubeconfig PATH] [--http-port 8080] [--lease-namespace NS] [--lease-name NAME] [--workers 4]
// In a pod it uses the service account; elsewhere --kubeconfig or $KUBECONFIG (tests run it that way).
var options = OperatorOptions.Parse(args, Environment.GetEnvironmentVariable);
if (options.Error is not null)
{
    Console.Error.WriteLine(options.Error);
    Console.Error.WriteLine(OperatorOptions.Usage);
    return 2;
}

var config = options.Kubeconfig is { Length: > 0 } path
    ? KubernetesClientConfiguration.BuildConfigFromConfigFile(path)
    : KubernetesClientConfiguration.IsInCluster() ? KubernetesClientConfiguration.InClusterConfig() : KubernetesClientConfiguration.BuildDefaultConfig();

var builder = WebApplication.CreateSlimBuilder();
builder.WebHost.UseUrls(options.HttpUrl);
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' "; o.UseUtcTimestamp = true; });
builder.Logging.SetMinimumLevel(options.LogLevel);
builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(OperatorMetrics.MeterName).AddMeter("System.Runtime").AddPrometheusExporter());
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<OperatorMetrics>();
builder.Services.AddSingleton<IKubernetes>(_ => new Kubernetes(config));
builder.Services.AddSingleton<KubeApi>();
builder.Services.AddSingleton<IClusterAdminFactory>(_ => new ClusterAdminFactory(options.AdminTimeout));
builder.Services.AddSingleton<OperatorState>();
builder.Services.AddSingleton(sp => new BrokerReconciler(sp.GetRequiredService<KubeApi>(), sp.GetRequiredService<IClusterAdminFactory>(),
    sp.GetRequiredService<OperatorMetrics>(), sp.GetRequiredService<ILogger<BrokerReconciler>>(), sp.GetRequiredService<TimeProvider>(),
    () => sp.GetRequiredService<OperatorState>().PdbApi));
builder.Services.AddSingleton<TopicReconciler>();
builder.Services.AddSingleton<IConnectWorkers>(_ => new ConnectWorkers(options.ConnectTimeout));
builder.Services.AddSingleton(sp => new ConnectorConfigReconciler(sp.GetRequiredService<KubeApi>(), sp.GetRequiredService<IConnectWorkers>(), options.ConnectUrl,
    sp.GetRequiredService<ILogger<ConnectorConfigReconciler>>(), sp.GetRequiredService<TimeProvider>()));
builder.Services.AddSingleton(sp => new OperatorController(sp.GetRequiredService<KubeApi>(), sp.GetRequiredService<BrokerReconciler>(),
    sp.GetRequiredService<TopicReconciler>(), sp.GetRequiredService<ConnectorConfigReconciler>(), sp.GetRequiredService<OperatorMetrics>(),
    sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<TimeProvider>(), options.Workers));

var app = builder.Build();
var state = app.Services.GetRequiredService<OperatorState>();
app.MapGet("/healthz", () => Results.Text("ok\n"));
app.MapGet("/readyz", () => state.Ready ? Results.Text("ready\n") : Results.Text("not ready: API server not reached yet\n", statusCode: 503));
app.MapPrometheusScrapingEndpoint("/metrics");

var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Tributary.Operator");
var metrics = app.Services.GetRequiredService<OperatorMetrics>();
var controller = app.Services.GetRequiredService<OperatorController>();
metrics.ObserveLeader(() => state.Leading ? 1 : 0);
metrics.ObserveQueueDepth(() => controller.Queue?.Depth ?? 0);

await app.StartAsync().ConfigureAwait(false);
var stopping = app.Lifetime.ApplicationStopping;
OperatorLog.Starting(logger, options.Identity, config.Host, options.LeaseNamespace, options.LeaseName);

var kube = app.Services.GetRequiredService<KubeApi>();
while (!stopping.IsCancellationRequested)
{
    try
    {
        state.PdbApi = await kube.DiscoverPdbApiAsync(stopping).ConfigureAwait(false);
        OperatorLog.PdbApiDiscovered(logger, state.PdbApi == PdbApi.V1 ? "policy/v1" : "policy/v1beta1");
        state.Ready = true;
        break;
    }
    catch (Exception e) when (!stopping.IsCancellationRequested)
    {
        OperatorLog.LeaderElectionError(logger, $"API discovery failed: {e.Message}");
        await Task.Delay(TimeSpan.FromSeconds(2), stopping).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
    }
}

var leaseLock = new LeaseLock(app.Services.GetRequiredService<IKubernetes>(), options.LeaseNamespace, options.LeaseName, options.Identity);
using var elector = new LeaderElector(new LeaderElectionConfig(leaseLock)
{
    LeaseDuration = options.LeaseDuration,
    RenewDeadline = options.LeaseDuration * 2 / 3,
    RetryPeriod = TimeSpan.FromSeconds(2),
});
CancellationTokenSource? leading = null;
Task? running = null;
elector.OnStartedLeading += () =>
{
    OperatorLog.StartedLeading(logger, options.Identity);
    state.Leading = true;
    leading = CancellationTokenSource.CreateLinkedTokenSource(stopping);
    var token = leading.Token;
    running = Task.Run(() => controller.RunAsync(token), CancellationToken.None);
};
elector.OnStoppedLeading += () =>
{
    OperatorLog.StoppedLeading(logger, options.Identity);
    state.Leading = false;
    leading?.Cancel();
};
elector.OnNewLeader += leader => OperatorLog.NewLeader(logger, leader);
elector.OnError += e => OperatorLog.LeaderElectionError(logger, e.Message);

try
{
    await elector.RunAndTryToHoldLeadershipForeverAsync(stopping).ConfigureAwait(false);
}
catch (OperationCanceledException) when (stopping.IsCancellationRequested)
{
}

leading?.Cancel();
if (running is not null)
{
    await running.ConfigureAwait(false);
}

await app.StopAsync().ConfigureAwait(false);
return 0;
