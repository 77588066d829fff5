using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.Stream;

namespace Tributary.Streams.Tests.Harness;

/// <summary>
/// One Streamiz application instance (a <see cref="KafkaStream"/>, unchanged) against the shared cluster: its own
/// state directory, string serdes by default, and a bounded wait until it reports RUNNING.
/// </summary>
public sealed class StreamsApp : IAsyncDisposable
{
    private readonly KafkaStream stream;
    private KafkaStream.State state = KafkaStream.State.CREATED;

    private StreamsApp(KafkaStream stream, string stateDirectory)
    {
        this.stream = stream;
        StateDirectory = stateDirectory;
        stream.StateChanged += (_, now) => state = now;
        stream.OnRestoreEndEvent += (_, store, total) => RestoredRecords.AddOrUpdate(store, total, (_, sum) => sum + total);
    }

    /// <summary>Records restored from changelogs per store, as Streamiz reports at the end of each restoration.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, long> RestoredRecords { get; } = new();

    public string StateDirectory { get; }

    public KafkaStream.State State => state;

    public KafkaStream Stream => stream;

    /// <summary>The configuration every test starts from: earliest offsets, commits every 100 ms, one thread, no caching.</summary>
    public static StreamConfig<StringSerDes, StringSerDes> Config(StreamsCluster cluster, string applicationId, string? stateDirectory = null) => new()
    {
        ApplicationId = applicationId,
        BootstrapServers = cluster.BootstrapServers,
        AutoOffsetReset = Confluent.Kafka.AutoOffsetReset.Earliest,
        CommitIntervalMs = 100,
        StateDir = stateDirectory ?? Path.Combine(Path.GetTempPath(), "tributary-streams-" + Guid.NewGuid().ToString("N")),
        NumStreamThreads = 1,
        DefaultCacheEnabled = false,
        SessionTimeoutMs = 10_000,
        HeartbeatIntervalMs = 1_000,
    };

    /// <summary>Builds the topology, starts it and waits (bounded) until the instance is RUNNING.</summary>
    public static Task<StreamsApp> StartAsync(StreamsCluster cluster, StreamBuilder builder, IStreamConfig config, TimeSpan? limit = null) =>
        StartAsync(cluster, builder.Build(), config, limit);

    /// <summary>Starts a built topology and waits (bounded) until the instance is RUNNING.</summary>
    public static async Task<StreamsApp> StartAsync(StreamsCluster cluster, Topology topology, IStreamConfig config, TimeSpan? limit = null)
    {
        // Streamiz keeps the logger factory of the last configuration in a static field, so every instance shares the
        // cluster's one factory; disposing a per-instance factory would break the next StreamBuilder.
        config.Logger = cluster.Loggers;
        var app = new StreamsApp(new KafkaStream(topology, config), config.StateDir);
        try
        {
            await app.stream.StartAsync();
            await Eventually.TrueAsync(() => app.state == KafkaStream.State.RUNNING, $"{config.ApplicationId} RUNNING",
                limit ?? TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(50));
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    /// <summary>Closes the instance (commits, leaves the group) but keeps its state directory.</summary>
    public void Close() => stream.Dispose();

    public ValueTask DisposeAsync()
    {
        stream.Dispose();
        return ValueTask.CompletedTask;
    }
}
