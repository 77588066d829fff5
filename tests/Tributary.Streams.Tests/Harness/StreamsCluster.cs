using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Integration.Tests.Cluster;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Streams.Tests.Harness;

/// <summary>
/// One real 3-broker Tributary cluster (separate broker processes on free loopback ports) shared by every Streamiz test;
/// each test uses its own application id and topics, so tests do not see each other's data.
/// </summary>
public sealed class StreamsCluster : IAsyncLifetime
{
    private readonly Dictionary<string, Task<object>> scenarios = [];
    private readonly Lock scenarioGate = new();
    private ClusterProcess? cluster;

    public ClusterProcess Cluster => cluster ?? throw new InvalidOperationException("The cluster has not started.");

    public string BootstrapServers => Cluster.BootstrapServers;

    /// <summary>Streamiz's logs (Information and up) into the cluster's log, next to the brokers' lines.</summary>
    public ILoggerFactory Loggers { get; private set; } = NullLoggerFactory.Instance;

    public async Task InitializeAsync()
    {
        cluster = await ClusterProcess.StartAsync(null, new ClusterOptions { Brokers = 3 });
        Loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Information).AddProvider(new SinkLoggerProvider(cluster.Log)));
    }

    public async Task DisposeAsync()
    {
        Loggers.Dispose();
        if (cluster is not null)
        {
            await cluster.DisposeAsync();
        }
    }

    /// <summary>
    /// Runs <paramref name="scenario"/> once per cluster and hands every caller its result, so several one-behaviour
    /// tests can assert on the outputs of one application run.
    /// </summary>
    public async Task<T> ScenarioAsync<T>(string name, Func<Task<T>> scenario) where T : class
    {
        Task<object> run;
        lock (scenarioGate)
        {
            if (!scenarios.TryGetValue(name, out var existing))
            {
                existing = Task.Run(async () => (object)await scenario());
                scenarios[name] = existing;
            }

            run = existing;
        }

        return (T)await run;
    }

    /// <summary>Routes broker output to the running test (xunit gives each test its own output helper).</summary>
    public void Attach(ITestOutputHelper output) => Cluster.Log.Attach(output);

    /// <summary>Creates topics with 3 replicas and waits until every broker's metadata names a leader for each partition.</summary>
    public Task CreateTopicsAsync(int partitions, params string[] topics) => CreateTopicsAsync(partitions, new Dictionary<string, string>(), topics);

    /// <summary>Creates topics with 3 replicas and the given topic configs (e.g. min.insync.replicas), as above.</summary>
    public async Task CreateTopicsAsync(int partitions, Dictionary<string, string> configs, params string[] topics)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
        // A loaded machine can leave a CreateTopics without a controller answer (a retriable timeout, as in Kafka):
        // retry (bounded) the topics not created yet; one that exists by then was created by the earlier attempt.
        var pending = topics.ToList();
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                await admin.CreateTopicsAsync(pending.Select(t => new TopicSpecification
                {
                    Name = t,
                    NumPartitions = partitions,
                    ReplicationFactor = 3,
                    Configs = configs,
                }));
                return true;
            }
            catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code is ErrorCode.NoError or ErrorCode.TopicAlreadyExists
                or ErrorCode.RequestTimedOut or ErrorCode.NotController or ErrorCode.Local_TimedOut))
            {
                pending = e.Results.Where(r => r.Error.Code is ErrorCode.RequestTimedOut or ErrorCode.NotController or ErrorCode.Local_TimedOut)
                    .Select(r => r.Topic).ToList();
                return pending.Count == 0;
            }
        }, "topics created", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(200));
        await Eventually.TrueAsync(() =>
        {
            var metadata = admin.GetMetadata(TimeSpan.FromSeconds(5));
            return topics.All(t => metadata.Topics.Any(m => m.Topic == t && m.Error.Code == ErrorCode.NoError
                && m.Partitions.Count == partitions && m.Partitions.All(p => p.Leader >= 0)));
        }, "created topics have leaders", TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100));
    }

    /// <summary>Produces the records in order, one at a time (acks=all, idempotent), so their offsets follow the list.</summary>
    public async Task ProduceAsync(string topic, IEnumerable<InputRecord> records)
    {
        using var producer = new ProducerBuilder<string?, string?>(new ProducerConfig
        {
            BootstrapServers = BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = 0,
        }).Build();
        foreach (var record in records)
        {
            await producer.ProduceAsync(topic, new Message<string?, string?>
            {
                Key = record.Key,
                Value = record.Value,
                Timestamp = new Timestamp(record.TimestampMs, TimestampType.CreateTime),
            });
        }
    }

    /// <summary>
    /// Reads <paramref name="topic"/> from the beginning until <paramref name="expected"/> records arrived (bounded
    /// wait), then keeps reading for <paramref name="settle"/> so that records beyond the expected ones are seen too.
    /// </summary>
    public async Task<IReadOnlyList<OutputRecord<TValue>>> ConsumeAsync<TValue>(string topic, int expected, IDeserializer<TValue> valueDeserializer,
        TimeSpan? settle = null, TimeSpan? limit = null, bool readCommitted = false)
    {
        using var consumer = new ConsumerBuilder<string?, TValue>(new ConsumerConfig
        {
            BootstrapServers = BootstrapServers,
            GroupId = "verify-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
            IsolationLevel = readCommitted ? IsolationLevel.ReadCommitted : IsolationLevel.ReadUncommitted,
        }).SetValueDeserializer(valueDeserializer).Build();
        consumer.Subscribe(topic);
        var records = new List<OutputRecord<TValue>>();
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(90));
        DateTime? settleUntil = null;
        await Task.Yield();
        while (DateTime.UtcNow < deadline && (settleUntil is null || DateTime.UtcNow < settleUntil))
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is { IsPartitionEOF: false, Message: not null })
            {
                records.Add(new OutputRecord<TValue>(result.Message.Key, result.Message.Value, result.Message.Timestamp.UnixTimestampMs,
                    result.Partition.Value, result.Offset.Value));
            }

            if (records.Count >= expected && settleUntil is null)
            {
                settleUntil = DateTime.UtcNow + (settle ?? TimeSpan.FromSeconds(2));
            }
        }

        consumer.Close();
        return records;
    }

    /// <summary>Topic configs as DescribeConfigs returns them (only the entries the broker reports).</summary>
    public async Task<IReadOnlyDictionary<string, ConfigEntryResult>> DescribeTopicConfigAsync(string topic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
        var results = await admin.DescribeConfigsAsync([new ConfigResource { Type = ResourceType.Topic, Name = topic }]);
        return results.Single().Entries;
    }

    /// <summary>Topic names the cluster's metadata lists.</summary>
    public IReadOnlyList<string> ListTopics()
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
        return admin.GetMetadata(TimeSpan.FromSeconds(10)).Topics.Select(t => t.Topic).ToList();
    }

    /// <summary>Partition count of a topic as metadata reports it.</summary>
    public int PartitionCount(string topic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
        return admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Count;
    }
}

/// <summary>A record to produce: string key and value (null value is a tombstone) with an explicit CreateTime.</summary>
public sealed record InputRecord(string? Key, string? Value, long TimestampMs);

/// <summary>A record read back from an output topic.</summary>
public sealed record OutputRecord<TValue>(string? Key, TValue Value, long TimestampMs, int Partition, long Offset);

[CollectionDefinition(Name)]
public sealed class StreamsClusterCollection : ICollectionFixture<StreamsCluster>
{
    public const string Name = "streams cluster";
}

/// <summary>Writes Streamiz's log lines into a <see cref="TestOutputSink"/>.</summary>
internal sealed class SinkLoggerProvider(TestOutputSink sink) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new SinkLogger(sink, categoryName);

    public void Dispose()
    {
    }

    private sealed class SinkLogger(TestOutputSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                var shortCategory = category[(category.LastIndexOf('.') + 1)..];
                sink.WriteLine($"[streamiz {shortCategory}] {logLevel}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
            }
        }
    }
}
