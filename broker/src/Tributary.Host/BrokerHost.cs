using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tributary.Broker;
using Tributary.Broker.Config;
using Tributary.Broker.Network;
using Tributary.Host.Http;
using Tributary.Host.Listeners;
using Tributary.Host.Telemetry;

namespace Tributary.Host;

/// <summary>One broker process: Kestrel serving the Kafka listeners and the HTTP probe/metrics listener around a <see cref="BrokerServer"/>.</summary>
/// <remarks>
/// Used by Program and usable by in-process tests: with port 0 in <c>listeners</c>/<c>http.listeners</c> the actual ports
/// are in <see cref="KafkaEndPoints"/>/<see cref="HttpEndPoints"/> after <see cref="StartAsync"/>.
/// </remarks>
public sealed class BrokerHost : IAsyncDisposable
{
    /// <summary>How long SIGTERM/Ctrl-C waits for controlled shutdown and log close before the host gives up.</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(30);

    private readonly List<ListenOptions> _kafkaEndpoints;
    private readonly List<ListenOptions> _httpEndpoints;
    private readonly ILogger _logger;

    private BrokerHost(WebApplication app, BrokerConfig config, List<ListenOptions> kafkaEndpoints, List<ListenOptions> httpEndpoints)
    {
        App = app;
        Config = config;
        _kafkaEndpoints = kafkaEndpoints;
        _httpEndpoints = httpEndpoints;
        _logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Tributary.Host");
    }

    public WebApplication App { get; }

    public BrokerConfig Config { get; }

    public BrokerServer Server => App.Services.GetRequiredService<BrokerServer>();

    /// <summary>Bound Kafka endpoints (actual ports once started).</summary>
    public IReadOnlyList<EndPoint> KafkaEndPoints => _kafkaEndpoints.Select(l => l.EndPoint).ToArray();

    /// <summary>Bound HTTP endpoints (actual ports once started).</summary>
    public IReadOnlyList<EndPoint> HttpEndPoints => _httpEndpoints.Select(l => l.EndPoint).ToArray();

    /// <summary>Builds the host; logs <paramref name="configWarnings"/> once logging exists. <paramref name="configureLogging"/> replaces the console setup.</summary>
    public static BrokerHost Create(BrokerConfig config, IReadOnlyList<string>? configWarnings = null, Action<ILoggingBuilder>? configureLogging = null)
    {
        ArgumentNullException.ThrowIfNull(config);

        // The empty builder reads no appsettings.json, ASPNETCORE_* variables or command line: the broker's
        // configuration has exactly the sources BrokerConfigLoader documents.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "tributary-broker" });
        builder.WebHost.UseKestrelCore();
        // The socket transport's default input pipe (1 MiB pause threshold) is kept: a connection handler that leaves
        // a partial Kafka frame unconsumed still receives the rest of a larger frame (checked with a 3 MiB frame
        // against thresholds of 64 KiB and 1 MiB), so frames up to socket.request.max.bytes need no bigger buffer.
        var kafkaEndpoints = new List<ListenOptions>();
        var httpEndpoints = new List<ListenOptions>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // Kestrel's HTTP limits (body size, keep-alive, header timeouts, minimum data rates) only apply to HTTP
            // connections; connection-handler endpoints get the raw transport. The limits that do apply to every
            // connection are the connection count caps, which stay unlimited (null) as Kafka has no such default.
            kestrel.Limits.MaxConcurrentConnections = null;
            kestrel.Limits.MaxConcurrentUpgradedConnections = null;
            foreach (var listener in config.BrokerListeners)
            {
                KestrelListeners.Bind(kestrel, listener, l => l.UseConnectionHandler<KafkaConnectionHandler>(), kafkaEndpoints);
            }

            foreach (var listener in config.HttpListeners)
            {
                KestrelListeners.Bind(kestrel, listener, l => l.Protocols = HttpProtocols.Http1, httpEndpoints);
            }
        });

        builder.Services.AddRoutingCore();
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = ShutdownTimeout);
        ConfigureLogging(builder.Logging, config, configureLogging);

        builder.Services.AddSingleton(config);
        builder.Services.AddBrokerMetrics(config);
        builder.Services.AddSingleton<BrokerServer>();
        builder.Services.AddHostedService(services => services.GetRequiredService<BrokerServer>());
        builder.Services.AddSingleton<KafkaConnectionHandler>();
        if (config.GetBoolean("schema.registry.enable"))
        {
            builder.Services.AddHostedService<InBrokerSchemaRegistry>();
        }

        var app = builder.Build();
        app.MapHealthEndpoints();
        app.MapBrokerMetrics();

        var host = new BrokerHost(app, config, kafkaEndpoints, httpEndpoints);
        foreach (var warning in configWarnings ?? [])
        {
            HostLog.ConfigWarning(host._logger, warning);
        }

        return host;
    }

    /// <summary>Starts the broker and the listeners, then logs where they are bound.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        HostLog.BrokerStarting(_logger, Config.NodeId, Config.ProcessRoles.ToString(),
            string.Join(",", Config.AdvertisedListeners), string.Join(",", Config.LogDirs));
        foreach (var listener in Config.ControllerListeners)
        {
            HostLog.ControllerListenerServedByQuorum(_logger, listener.ToString());
        }

        await App.StartAsync(cancellationToken).ConfigureAwait(false);
        foreach (var endpoint in _kafkaEndpoints)
        {
            HostLog.KafkaListenerBound(_logger, "PLAINTEXT", endpoint.EndPoint.ToString() ?? "?");
        }

        foreach (var endpoint in _httpEndpoints)
        {
            HostLog.HttpListenerBound(_logger, endpoint.EndPoint.ToString() ?? "?");
        }

        App.Lifetime.ApplicationStopping.Register(() => HostLog.Stopping(_logger));
        HostLog.Started(_logger, Config.NodeId);
    }

    public Task StopAsync(CancellationToken cancellationToken = default) => App.StopAsync(cancellationToken);

    /// <summary>Completes when the host stops (SIGTERM, Ctrl-C or <see cref="StopAsync"/>).</summary>
    public async Task WaitForShutdownAsync(CancellationToken cancellationToken = default)
    {
        await App.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        HostLog.Stopped(_logger);
    }

    public ValueTask DisposeAsync() => App.DisposeAsync();

    private static void ConfigureLogging(ILoggingBuilder logging, BrokerConfig config, Action<ILoggingBuilder>? custom)
    {
        logging.SetMinimumLevel(config.LogLevel);
        // ASP.NET Core logs per HTTP request at Information; probes every few seconds would drown the broker's own lines.
        if (config.LogLevel >= LogLevel.Information)
        {
            logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            // Its "Now listening on: http://…" would list Kafka ports as HTTP; StartAsync logs the listeners instead.
            logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        }

        if (custom is not null)
        {
            custom(logging);
            return;
        }

        if (config.LogFormatJson)
        {
            // One JSON object per line with event id and name: what log collectors (Fluent Bit, Vector, Promtail) parse
            // without a custom pattern.
            logging.AddJsonLineConsole();
            return;
        }

        logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.UseUtcTimestamp = true;
            console.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' ";
            console.IncludeScopes = false;
        });
    }
}
