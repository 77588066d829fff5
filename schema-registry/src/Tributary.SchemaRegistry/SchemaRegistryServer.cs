using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tributary.SchemaRegistry.Api;
using Tributary.SchemaRegistry.Config;
using Tributary.SchemaRegistry.Election;
using Tributary.SchemaRegistry.Storage;

namespace Tributary.SchemaRegistry;

/// <summary>One schema registry instance: replays the store, takes part in the writer election and serves Confluent's
/// REST API on its listener. Used by the <c>tributary-schema-registry</c> process and, with
/// <c>schema.registry.enable=true</c>, inside the broker process.</summary>
public sealed partial class SchemaRegistryServer : IAsyncDisposable
{
    private readonly KafkaStore _store;
    private readonly LeaderElector _elector;
    private readonly WebApplication _app;
    private readonly HttpClient _forwardClient;
    private readonly ILogger _logger;

    private SchemaRegistryServer(KafkaStore store, LeaderElector elector, WebApplication app, HttpClient forwardClient, ILogger logger)
    {
        _store = store;
        _elector = elector;
        _app = app;
        _forwardClient = forwardClient;
        _logger = logger;
    }

    /// <summary>The elected writer as this instance sees it (null during an election).</summary>
    public RegistryLeader? Leader => _elector.Leader;

    /// <summary>Starts an instance: replays the topic (bounded by <c>kafkastore.init.timeout.ms</c>), joins the election and
    /// listens. <paramref name="configureLogging"/> lets a host route the registry's logs into its own.</summary>
    public static async Task<SchemaRegistryServer> StartAsync(RegistryOptions options, Action<ILoggingBuilder> configureLogging,
        TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        time ??= TimeProvider.System;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        configureLogging(builder.Logging);
        builder.WebHost.UseUrls(options.Listener);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // The REST layer bounds bodies itself (RestSupport.ReadBodyAsync) and answers oversized ones with a JSON 413.
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBytes * RestSupport.DrainFactor + 1;
            kestrel.AddServerHeader = false;
        });
        var app = builder.Build();
        var loggerFactory = app.Services.GetRequiredService<ILoggerFactory>();
        var logger = loggerFactory.CreateLogger("Tributary.SchemaRegistry");

        var state = new RegistryState();
        var store = new KafkaStore(options, state, loggerFactory.CreateLogger("Tributary.SchemaRegistry.Store"), time);
        var elector = new LeaderElector(options, store, loggerFactory.CreateLogger("Tributary.SchemaRegistry.Election"), time);
        var forwardClient = new HttpClient { Timeout = options.StoreTimeout + TimeSpan.FromSeconds(5) };
        var server = new SchemaRegistryServer(store, elector, app, forwardClient, logger);
        try
        {
            using (var init = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                init.CancelAfter(options.InitTimeout);
                await store.StartAsync(init.Token).ConfigureAwait(false);
            }

            elector.Start();
            var service = new RegistryService(options, state, store);
            var endpoints = new RegistryEndpoints(service, elector, new WriteForwarder(forwardClient), options.MaxRequestBytes);
            app.Use(HandleErrorsAsync(logger));
            endpoints.Map(app);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            LogListening(logger, options.Listener, options.Topic, options.BootstrapServers);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static Func<HttpContext, RequestDelegate, Task> HandleErrorsAsync(ILogger logger) => async (context, next) =>
    {
        if (context.Request.Method is "POST" or "PUT" && !RestSupport.ContentTypeAccepted(context.Request.ContentType))
        {
            await RestSupport.WriteErrorAsync(context, 415, 415, "HTTP 415 Unsupported Media Type").ConfigureAwait(false);
            return;
        }

        if (!RestSupport.AcceptSatisfiable(context.Request.Headers.Accept))
        {
            await RestSupport.WriteErrorAsync(context, 406, 406, "HTTP 406 Not Acceptable").ConfigureAwait(false);
            return;
        }

        try
        {
            await next(context).ConfigureAwait(false);
            if (context.Response.StatusCode is 404 or 405 && !context.Response.HasStarted && context.GetEndpoint() is null)
            {
                int status = context.Response.StatusCode;
                await RestSupport.WriteErrorAsync(context, status, status, status == 404 ? "HTTP 404 Not Found" : "HTTP 405 Method Not Allowed")
                    .ConfigureAwait(false);
            }
        }
        catch (RegistryException e) when (!context.Response.HasStarted)
        {
            await RestSupport.WriteErrorAsync(context, e.Status, e.ErrorCode, e.Message).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (!context.Response.HasStarted)
        {
            await RestSupport.WriteErrorAsync(context, e.StatusCode, e.StatusCode, e.Message).ConfigureAwait(false);
        }
        catch (Exception e) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            LogUnexpected(logger, context.Request.Method, context.Request.Path, e);
            await RestSupport.WriteErrorAsync(context, 500, 50001, $"Error in the backend data store: {e.Message}").ConfigureAwait(false);
        }
    };

    /// <summary>Waits until the host stops (Ctrl-C / SIGTERM when this instance owns the process).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => Microsoft.Extensions.Hosting.HostingAbstractionsHostExtensions.WaitForShutdownAsync(_app, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.StopAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await _elector.DisposeAsync().ConfigureAwait(false);
        await _store.DisposeAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _forwardClient.Dispose();
    }

    [LoggerMessage(EventId = 2101, EventName = "RegistryListening", Level = LogLevel.Information, Message = "Schema registry listening on {Listener} (store {Topic} on {Bootstrap})")]
    private static partial void LogListening(ILogger logger, string listener, string topic, string bootstrap);

    [LoggerMessage(EventId = 2102, EventName = "RegistryUnexpected", Level = LogLevel.Error, Message = "Unexpected error serving {Method} {Path}")]
    private static partial void LogUnexpected(ILogger logger, string method, string path, Exception exception);
}
