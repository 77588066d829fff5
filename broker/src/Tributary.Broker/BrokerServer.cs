using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tributary.Broker.Config;
using Tributary.Broker.Metrics;

namespace Tributary.Broker;

/// <summary>The broker's lifetime: opens the logs, serves requests, shuts down cleanly. (Stub; the lead fills it.)</summary>
public sealed class BrokerServer : IHostedService
{
    public BrokerServer(BrokerConfig config, BrokerMetrics metrics, ILoggerFactory loggerFactory)
    {
        Config = config;
        Metrics = metrics;
        LoggerFactory = loggerFactory;
    }

    public BrokerConfig Config { get; }
    public BrokerMetrics Metrics { get; }
    public ILoggerFactory LoggerFactory { get; }
    public bool IsReady { get; private set; }
    public string NotReadyReason => IsReady ? "" : "starting";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        IsReady = true;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        IsReady = false;
        return Task.CompletedTask;
    }
}
