using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Connect.Tests.Harness;
using Tributary.Integration.Tests.Harness;

namespace Tributary.Connect.Tests.PostgreSql;

/// <summary>One broker, one throwaway PostgreSQL cluster and one distributed worker (file and PostgreSQL plugins) shared by a class's tests.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private BrokerProcess? broker;
    private PostgresServer? postgres;
    private ConnectWorkerProcess? worker;

    public BrokerProcess Broker => broker ?? throw new InvalidOperationException("not started");

    public PostgresServer Postgres => postgres ?? throw new InvalidOperationException("not started");

    public ConnectWorkerProcess Worker => worker ?? throw new InvalidOperationException("not started");

    public static string PostgreSqlPluginDirectory => Path.Combine(RepositoryPaths.Root, "connect", "plugins", "Tributary.Connect.PostgreSql", "bin", RepositoryPaths.Configuration, "net10.0");

    /// <summary>Worker settings with both plugin directories on the plugin path.</summary>
    public static Dictionary<string, string> WorkerSettings(string bootstrap, string group)
    {
        var settings = ConnectWorkerProcess.DistributedDefaults(bootstrap, group);
        settings["plugin.path"] = ConnectWorkerProcess.FilePluginDirectory + "," + PostgreSqlPluginDirectory;
        return settings;
    }

    public async Task InitializeAsync()
    {
        var pg = PostgresServer.StartAsync();
        broker = await BrokerProcess.StartAsync(output: null);
        postgres = await pg;
        worker = await ConnectWorkerProcess.StartAsync(null, WorkerSettings(broker.BootstrapServers, "pg"));
    }

    public async Task DisposeAsync()
    {
        if (worker is not null)
        {
            await worker.DisposeAsync();
        }

        if (broker is not null)
        {
            await broker.DisposeAsync();
        }

        if (postgres is not null)
        {
            await postgres.DisposeAsync();
        }
    }

    /// <summary>Creates a topic with one partition and replication factor 1 (and the given configs).</summary>
    public static async Task CreateTopicAsync(string bootstrap, string topic, Dictionary<string, string>? configs = null)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 1, ReplicationFactor = 1, Configs = configs }]);
    }

    /// <summary>JSON converter settings with schemas, for key and value.</summary>
    public static void UseJsonWithSchemas(Dictionary<string, string> config)
    {
        config["key.converter"] = "org.apache.kafka.connect.json.JsonConverter";
        config["key.converter.schemas.enable"] = "true";
        config["value.converter"] = "org.apache.kafka.connect.json.JsonConverter";
        config["value.converter.schemas.enable"] = "true";
    }
}

/// <summary>The PostgreSQL connector test classes share one broker, PostgreSQL cluster and worker.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}
