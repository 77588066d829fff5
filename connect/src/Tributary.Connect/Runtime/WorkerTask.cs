using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Connect.Api.Connectors;
using Tributary.Connect.Plugins;
using Tributary.Connect.Storage;

namespace Tributary.Connect.Runtime;

/// <summary>
/// A task running on this worker: a loop on its own thread, paused and resumed by the target state, stopped by cancellation.
/// A loop that throws reports FAILED with the exception's trace and ends; a restart replaces the whole object.
/// </summary>
public abstract class WorkerTask
{
    private readonly CancellationTokenSource stop = new();
    private readonly object pauseGate = new();
    private TaskCompletionSource resumed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? loop;

    protected WorkerTask(Worker worker, string connector, int id, IReadOnlyDictionary<string, string> taskConfig, TargetState target)
    {
        Worker = worker;
        Connector = connector;
        Id = id;
        TaskConfig = taskConfig;
        Target = target;
        if (target == TargetState.STARTED)
        {
            resumed.TrySetResult();
        }
    }

    protected Worker Worker { get; }
    public string Connector { get; }
    public int Id { get; }
    public IReadOnlyDictionary<string, string> TaskConfig { get; }
    public TargetState Target { get; private set; }
    public bool IsFailed { get; private set; }
    public string TaskId => $"{Connector}-{Id}";
    protected CancellationToken Stopping => stop.Token;
    protected bool IsPaused => Target != TargetState.STARTED;

    public void Start() => loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunAsync()
    {
        try
        {
            await ExecuteAsync(stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e) when (stop.IsCancellationRequested)
        {
            // Failing while being stopped: the replacement (or nothing) owns the status now.
            ConnectLog.Failed(Worker.Logger, e, "task (while stopping)", TaskId);
        }
        catch (Exception e)
        {
            IsFailed = true;
            ConnectLog.Failed(Worker.Logger, e, "task", TaskId);
            Worker.ReportTask(Connector, Id, States.Failed, e);
        }
    }

    protected abstract Task ExecuteAsync(CancellationToken cancellation);

    public void SetTarget(TargetState target)
    {
        lock (pauseGate)
        {
            if (target == Target)
            {
                return;
            }

            Target = target;
            if (target == TargetState.STARTED)
            {
                resumed.TrySetResult();
            }
            else if (resumed.Task.IsCompleted)
            {
                resumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        if (!IsFailed)
        {
            Worker.ReportTask(Connector, Id, target == TargetState.STARTED ? States.Running : States.Paused);
        }
    }

    /// <summary>Waits while the task is paused (reporting PAUSED once).</summary>
    protected async Task WaitWhilePausedAsync(CancellationToken cancellation)
    {
        Task wait;
        lock (pauseGate)
        {
            wait = resumed.Task;
        }

        if (!wait.IsCompleted)
        {
            await OnPausingAsync();
            await wait.WaitAsync(cancellation);
            await OnResumedAsync();
        }
    }

    protected virtual Task OnPausingAsync() => Task.CompletedTask;

    protected virtual Task OnResumedAsync() => Task.CompletedTask;

    public async Task StopAsync(TimeSpan timeout)
    {
        await stop.CancelAsync();
        if (loop is not null)
        {
            try
            {
                await loop.WaitAsync(timeout);
            }
            catch (TimeoutException)
            {
                ConnectLog.Failed(Worker.Logger, new TimeoutException($"Task {TaskId} did not stop within {timeout.TotalMilliseconds} ms"), "task stop", TaskId);
            }
        }

        ConnectLog.Stopped(Worker.Logger, "task", TaskId);
    }

    /// <summary>The connector plugin's task type (the connector class is instantiated, not started, to ask for it).</summary>
    protected static Type TaskTypeOf(Worker worker, IReadOnlyDictionary<string, string> connectorConfig)
    {
        var connector = worker.Plugins.Create<Api.Connectors.Connector>(connectorConfig.GetValueOrDefault(ConnectorConfig.ConnectorClass) ?? "");
        return connector.TaskType;
    }

    protected static IConverter CreateConverter(Worker worker, IReadOnlyDictionary<string, string> connectorConfig, bool isKey)
    {
        var key = isKey ? ConnectorConfig.KeyConverter : ConnectorConfig.ValueConverter;
        string name;
        Dictionary<string, string> settings;
        if (connectorConfig.TryGetValue(key, out var fromConnector) && fromConnector.Trim().Length > 0)
        {
            name = fromConnector;
            settings = ConnectorConfig.Subset(connectorConfig, key + ".");
        }
        else
        {
            name = worker.Config.Get(key, "org.apache.kafka.connect.json.JsonConverter");
            settings = worker.Config.Subset(key + ".");
        }

        var converter = worker.Plugins.Create<IConverter>(name, PluginKind.Converter);
        settings["converter.type"] = isKey ? "key" : "value";
        converter.Configure(settings, isKey);
        return converter;
    }

    /// <summary>Creates <paramref name="topic"/> when missing (the DLQ topic).</summary>
    protected static async Task EnsureTopicAsync(string bootstrap, string topic, short replicationFactor)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        try
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 1, ReplicationFactor = replicationFactor }]);
        }
        catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code is ErrorCode.TopicAlreadyExists or ErrorCode.NoError))
        {
        }
    }
}

/// <summary>A task that could not even be created (bad class, bad config): it stays FAILED until restarted.</summary>
internal sealed class FailedTask(Worker worker, string connector, int id, IReadOnlyDictionary<string, string> config)
    : WorkerTask(worker, connector, id, config, TargetState.STARTED)
{
    protected override Task ExecuteAsync(CancellationToken cancellation) => Task.CompletedTask;
}
