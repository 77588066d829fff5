using Microsoft.Extensions.Logging;
using Tributary.Connect.Api.Connectors;
using Tributary.Connect.Plugins;
using Tributary.Connect.Storage;

namespace Tributary.Connect.Runtime;

/// <summary>The states /status reports.</summary>
public static class States
{
    public const string Unassigned = "UNASSIGNED";
    public const string Running = "RUNNING";
    public const string Paused = "PAUSED";
    public const string Failed = "FAILED";
    public const string Restarting = "RESTARTING";
    public const string Stopped = "STOPPED";
}

/// <summary>
/// Runs the connectors and tasks assigned to this worker (the herder decides which), and reports their states to the status
/// store. Each task runs on its own long-running loop; stopping one waits up to task.shutdown.graceful.timeout.ms.
/// </summary>
public sealed class Worker : IAsyncDisposable
{
    private readonly object gate = new();
    private readonly Dictionary<string, WorkerConnector> connectors = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Connector, int Task), WorkerTask> tasks = [];

    public Worker(WorkerConfig config, PluginRegistry plugins, IStatusBackingStore status, IOffsetBackingStore offsets, ILoggerFactory loggers, TimeProvider time)
    {
        Config = config;
        Plugins = plugins;
        Status = status;
        Offsets = offsets;
        Loggers = loggers;
        Time = time;
        Logger = loggers.CreateLogger("Tributary.Connect.Worker");
    }

    public WorkerConfig Config { get; }
    public PluginRegistry Plugins { get; }
    public IStatusBackingStore Status { get; }
    public IOffsetBackingStore Offsets { get; }
    public ILoggerFactory Loggers { get; }
    public TimeProvider Time { get; }
    public ILogger Logger { get; }
    public string WorkerId => Config.WorkerId;

    /// <summary>Generation of the group assignment the current states belong to.</summary>
    public int Generation { get; set; }

    /// <summary>Raised when a running connector asks for its task configs to be computed again.</summary>
    public event Action<string>? TaskReconfigurationRequested;

    public IReadOnlyDictionary<string, WorkerConnector> Connectors
    {
        get
        {
            lock (gate)
            {
                return new Dictionary<string, WorkerConnector>(connectors);
            }
        }
    }

    public IReadOnlyDictionary<(string Connector, int Task), WorkerTask> Tasks
    {
        get
        {
            lock (gate)
            {
                return new Dictionary<(string, int), WorkerTask>(tasks);
            }
        }
    }

    internal void ReportConnector(string connector, string state, Exception? error = null) =>
        Status.PutConnector(connector, new StatusEntry(state, error?.ToString(), WorkerId, Generation));

    internal void ReportTask(string connector, int task, string state, Exception? error = null) =>
        Status.PutTask(connector, task, new StatusEntry(state, error?.ToString(), WorkerId, Generation));

    public void StartConnector(string name, IReadOnlyDictionary<string, string> config, TargetState target)
    {
        var wc = new WorkerConnector(this, name, config);
        lock (gate)
        {
            connectors[name] = wc;
        }

        wc.Start(target);
    }

    public void StopConnector(string name)
    {
        WorkerConnector? wc;
        lock (gate)
        {
            connectors.Remove(name, out wc);
        }

        wc?.Stop();
    }

    public void StartTask(string connector, int id, IReadOnlyDictionary<string, string> connectorConfig, IReadOnlyDictionary<string, string> taskConfig, TargetState target)
    {
        WorkerTask task;
        try
        {
            var descriptor = Plugins.Find(connectorConfig.GetValueOrDefault(ConnectorConfig.ConnectorClass) ?? "")
                ?? throw new PluginNotFoundException(connectorConfig.GetValueOrDefault(ConnectorConfig.ConnectorClass) ?? "");
            task = descriptor.Kind == PluginKind.Sink
                ? new WorkerSinkTask(this, connector, id, connectorConfig, taskConfig, target)
                : new WorkerSourceTask(this, connector, id, connectorConfig, taskConfig, target);
        }
        catch (Exception e)
        {
            ConnectLog.Failed(Logger, e, "task", $"{connector}-{id}");
            ReportTask(connector, id, States.Failed, e);
            task = new FailedTask(this, connector, id, taskConfig);
        }

        lock (gate)
        {
            tasks[(connector, id)] = task;
        }

        task.Start();
    }

    public async Task StopTaskAsync(string connector, int id)
    {
        WorkerTask? task;
        lock (gate)
        {
            tasks.Remove((connector, id), out task);
        }

        if (task is not null)
        {
            await task.StopAsync(TimeSpan.FromMilliseconds(Config.TaskShutdownTimeoutMs));
        }
    }

    internal void RaiseTaskReconfiguration(string connector) => TaskReconfigurationRequested?.Invoke(connector);

    public async ValueTask DisposeAsync()
    {
        foreach (var key in Tasks.Keys)
        {
            await StopTaskAsync(key.Connector, key.Task);
        }

        foreach (var name in Connectors.Keys)
        {
            StopConnector(name);
        }
    }
}

/// <summary>One connector instance running on this worker.</summary>
public sealed class WorkerConnector : IConnectorContext
{
    private readonly Worker worker;
    private Connector? instance;
    private bool started;

    public WorkerConnector(Worker worker, string name, IReadOnlyDictionary<string, string> config)
    {
        this.worker = worker;
        Name = name;
        Config = config;
    }

    public string Name { get; }
    public IReadOnlyDictionary<string, string> Config { get; }
    public TargetState Target { get; private set; }
    public bool IsFailed { get; private set; }

    public void Start(TargetState target)
    {
        Target = target;
        if (target == TargetState.STOPPED)
        {
            worker.ReportConnector(Name, States.Stopped);
            return;
        }

        try
        {
            instance = worker.Plugins.Create<Connector>(Config.GetValueOrDefault(ConnectorConfig.ConnectorClass) ?? "");
            instance.Context = this;
            instance.Start(Config);
            started = true;
            IsFailed = false;
            worker.ReportConnector(Name, target == TargetState.PAUSED ? States.Paused : States.Running);
            ConnectLog.Started(worker.Logger, "connector", Name);
        }
        catch (Exception e)
        {
            IsFailed = true;
            ConnectLog.Failed(worker.Logger, e, "connector", Name);
            worker.ReportConnector(Name, States.Failed, e);
        }
    }

    public void SetTarget(TargetState target)
    {
        if (target == Target)
        {
            return;
        }

        if (target == TargetState.STOPPED || Target == TargetState.STOPPED)
        {
            Stop();
            Start(target);
            return;
        }

        Target = target;
        if (!IsFailed)
        {
            worker.ReportConnector(Name, target == TargetState.PAUSED ? States.Paused : States.Running);
        }
    }

    /// <summary>The connector's task configs for its tasks.max, or null when it is not running.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>>? TaskConfigs()
    {
        if (instance is null || !started || IsFailed)
        {
            return null;
        }

        try
        {
            var max = int.TryParse(Config.GetValueOrDefault(ConnectorConfig.TasksMax, "1"), out var m) && m > 0 ? m : 1;
            return instance.TaskConfigs(max).Take(max).ToList();
        }
        catch (Exception e)
        {
            RaiseError(e);
            return null;
        }
    }

    public void Stop()
    {
        if (instance is not null && started)
        {
            try
            {
                instance.Stop();
            }
            catch (Exception e)
            {
                ConnectLog.Failed(worker.Logger, e, "connector stop", Name);
            }

            ConnectLog.Stopped(worker.Logger, "connector", Name);
        }

        started = false;
        instance = null;
    }

    public void RequestTaskReconfiguration() => worker.RaiseTaskReconfiguration(Name);

    public void RaiseError(Exception error)
    {
        IsFailed = true;
        ConnectLog.Failed(worker.Logger, error, "connector", Name);
        worker.ReportConnector(Name, States.Failed, error);
    }
}
