using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tributary.Connect;
using Tributary.Connect.Plugins;
using Tributary.Connect.Rest;
using Tributary.Connect.Runtime;
using Tributary.Connect.Storage;

// tributary-connect [distributed|standalone] worker.properties [connector.properties …] [--override key=value …]
var mode = "distributed";
var positional = new List<string>();
var overrides = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--override" && i + 1 < args.Length)
    {
        var kv = args[++i];
        var eq = kv.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            Console.Error.WriteLine($"tributary-connect: --override expects key=value, got '{kv}'");
            return 2;
        }

        overrides[kv[..eq]] = kv[(eq + 1)..];
    }
    else if (positional.Count == 0 && args[i] is "distributed" or "standalone")
    {
        mode = args[i];
    }
    else
    {
        positional.Add(args[i]);
    }
}

if (positional.Count == 0)
{
    Console.Error.WriteLine("usage: tributary-connect [distributed|standalone] worker.properties [connector.properties ...] [--override key=value ...]");
    return 2;
}

WorkerConfig config;
try
{
    var props = WorkerConfig.ReadProperties(positional[0]);
    foreach (var (k, v) in overrides)
    {
        props[k] = v;
    }

    config = new WorkerConfig(props);
    if (mode == "standalone" && config.ZombieFencingEnabled)
    {
        // As in Kafka: exactly-once source needs the config topic (task-count records) and a group leader to fence zombies.
        throw new ArgumentException("exactly.once.source.support is only supported in distributed mode; set it to disabled for a standalone worker");
    }
}
catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
{
    Console.Error.WriteLine("tributary-connect: " + e.Message);
    return 2;
}

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
builder.Logging.SetMinimumLevel(LogLevel.Information);
builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
builder.WebHost.UseKestrel(k => k.Listen(config.ListenHost is "0.0.0.0" or "" ? System.Net.IPAddress.Any : System.Net.IPAddress.Parse(config.ListenHost), config.ListenPort));
builder.Services.AddSingleton(TimeProvider.System);
var app = builder.Build();
var loggers = app.Services.GetRequiredService<ILoggerFactory>();
var logger = loggers.CreateLogger("Tributary.Connect");

var plugins = new PluginRegistry(config.PluginPath, logger);
var distributed = mode == "distributed";
IConfigBackingStore configs = distributed
    ? new KafkaConfigBackingStore(config.BootstrapServers, config.ConfigTopic, config.ConfigReplicationFactor, "connect-" + config.WorkerId)
    : new MemoryConfigBackingStore();
IStatusBackingStore statuses = distributed
    ? new KafkaStatusBackingStore(config.BootstrapServers, config.StatusTopic, config.StatusPartitions, config.StatusReplicationFactor, "connect-" + config.WorkerId)
    : new MemoryStatusBackingStore();
IOffsetBackingStore offsets = distributed
    ? new KafkaOffsetBackingStore(config.BootstrapServers, config.OffsetTopic, config.OffsetPartitions, config.OffsetReplicationFactor, "connect-" + config.WorkerId)
    : new FileOffsetBackingStore(config.OffsetFile.Length > 0 ? config.OffsetFile : "connect.offsets");
var worker = new Worker(config, plugins, statuses, offsets, loggers, TimeProvider.System);
var herder = new Herder(config, plugins, configs, statuses, offsets, worker, distributed, logger);
ConnectRestApi.Map(app, herder, config, logger);

using var startup = new CancellationTokenSource(TimeSpan.FromMinutes(2));
await herder.StartAsync(startup.Token);
foreach (var file in positional.Skip(1))
{
    var connector = WorkerConfig.ReadProperties(file);
    if (!connector.TryGetValue("name", out var name))
    {
        Console.Error.WriteLine($"tributary-connect: {file} has no 'name'");
        return 2;
    }

    await herder.PutConnectorConfigAsync(name, connector, allowReplace: true);
}

await app.StartAsync();
ConnectLog.WorkerStarted(logger, config.WorkerId, mode, config.AdvertisedUrl);
await app.WaitForShutdownAsync();
await herder.DisposeAsync();
return 0;
