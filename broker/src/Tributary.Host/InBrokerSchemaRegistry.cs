using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tributary.Broker.Config;
using Tributary.SchemaRegistry;
using Tributary.SchemaRegistry.Config;

namespace Tributary.Host;

/// <summary>The schema registry hosted in the broker process (<c>schema.registry.enable=true</c>), as Redpanda does:
/// the same service as <c>tributary-schema-registry</c>, listening on <c>schema.registry.listeners</c> and storing in
/// <c>_schemas</c> through this broker's own advertised listener. Instances in several brokers elect one writer.</summary>
internal sealed partial class InBrokerSchemaRegistry(BrokerConfig config, ILoggerFactory loggerFactory) : BackgroundService
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Tributary.Host.SchemaRegistry");
    private SchemaRegistryServer? _server;

    private sealed class SharedLoggerProvider(ILoggerFactory factory) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => factory.CreateLogger(categoryName);

        public void Dispose()
        {
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var advertised = config.AdvertisedListeners.FirstOrDefault()
            ?? throw new InvalidOperationException("schema.registry.enable needs an advertised broker listener");
        string bootstrap = $"{advertised.Host}:{advertised.Port.ToString(CultureInfo.InvariantCulture)}";
        var properties = new Dictionary<string, string>
        {
            ["listeners"] = config.GetString("schema.registry.listeners") ?? "http://0.0.0.0:8081",
            ["kafkastore.bootstrap.servers"] = bootstrap,
            ["host.name"] = advertised.Host,
        };
        var options = RegistryOptions.FromProperties(properties);

        // The broker may still be joining its cluster (no controller, no topic creation yet): retry until it serves.
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                _server = await SchemaRegistryServer.StartAsync(options, logging => logging.AddProvider(new SharedLoggerProvider(loggerFactory)),
                    cancellationToken: stoppingToken).ConfigureAwait(false);
                LogStarted(_logger, options.Listener);
                return;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogRetrying(_logger, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ContinueWith(_ => { }, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 2131, EventName = "RegistryStarted", Level = LogLevel.Information, Message = "In-broker schema registry serving on {Listener}")]
    private static partial void LogStarted(ILogger logger, string listener);

    [LoggerMessage(EventId = 2132, EventName = "RegistryRetrying", Level = LogLevel.Warning, Message = "In-broker schema registry not started yet, retrying: {Error}")]
    private static partial void LogRetrying(ILogger logger, string error);
}
