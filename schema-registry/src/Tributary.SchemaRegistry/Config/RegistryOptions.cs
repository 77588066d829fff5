using System.Globalization;
using Tributary.SchemaRegistry.Schemas;
using Tributary.SchemaRegistry.Storage;

namespace Tributary.SchemaRegistry.Config;

/// <summary>Thrown for a configuration the registry cannot start with; the message names the key.</summary>
public sealed class RegistryConfigException(string message) : Exception(message);

/// <summary>Registry settings, read from Confluent's property names (<c>schema-registry.properties</c>).</summary>
public sealed record RegistryOptions
{
    /// <summary>Where the REST API listens (<c>listeners</c>, first entry); Confluent's default port 8081.</summary>
    public string Listener { get; init; } = "http://0.0.0.0:8081";

    /// <summary><c>host.name</c>: how other instances reach this one (the writer's URL in the group assignment).</summary>
    public string HostName { get; init; } = "127.0.0.1";

    public required string BootstrapServers { get; init; }
    public string Topic { get; init; } = "_schemas";
    public int ReplicationFactor { get; init; } = 3;
    public CompatibilityLevel DefaultCompatibility { get; init; } = CompatibilityLevel.Backward;
    public RegistryMode DefaultMode { get; init; } = RegistryMode.ReadWrite;

    /// <summary><c>leader.eligibility</c>: false keeps this instance a reader that forwards writes.</summary>
    public bool LeaderEligibility { get; init; } = true;

    /// <summary><c>schema.registry.group.id</c>: the group the instances elect their writer in.</summary>
    public string GroupId { get; init; } = "schema-registry";

    /// <summary><c>kafkastore.timeout.ms</c>: how long a write may take until it is replayed.</summary>
    public TimeSpan StoreTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary><c>kafkastore.init.timeout.ms</c>: start-up replay bound.</summary>
    public TimeSpan InitTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary><c>request.max.bytes</c> (Tributary's own key): request bodies above it get 413.</summary>
    public long MaxRequestBytes { get; init; } = 1024 * 1024;

    /// <summary><c>mode.mutability</c>: whether <c>PUT /mode</c> is allowed.</summary>
    public bool ModeMutability { get; init; } = true;

    /// <summary>Group session timeout (<c>kafkagroup.session.timeout.ms</c>... Confluent's <c>leader.election.session.timeout.ms</c> is not a key; we use Kafka's).</summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The port of <see cref="Listener"/>.</summary>
    public int Port => new Uri(Listener.Replace("0.0.0.0", "localhost", StringComparison.Ordinal)).Port;

    /// <summary>Scheme of <see cref="Listener"/> (http).</summary>
    public string Scheme => new Uri(Listener.Replace("0.0.0.0", "localhost", StringComparison.Ordinal)).Scheme;

    /// <summary>The URL other instances forward writes to.</summary>
    public string AdvertisedUrl => $"{Scheme}://{HostName}:{Port}";

    /// <summary>Keys this registry understands (anything else is reported as unknown).</summary>
    public static readonly IReadOnlySet<string> KnownKeys = new HashSet<string>(StringComparer.Ordinal)
    {
        "listeners", "host.name", "kafkastore.bootstrap.servers", "kafkastore.topic", "kafkastore.topic.replication.factor",
        "schema.compatibility.level", "leader.eligibility", "master.eligibility", "schema.registry.group.id", "kafkastore.timeout.ms",
        "kafkastore.init.timeout.ms", "request.max.bytes", "mode.mutability", "kafkagroup.session.timeout.ms", "kafkagroup.heartbeat.interval.ms",
        "debug",
    };

    /// <summary>Builds options from properties; invalid values throw <see cref="RegistryConfigException"/> naming the key.</summary>
    public static RegistryOptions FromProperties(IReadOnlyDictionary<string, string> properties, Action<string>? warnUnknown = null)
    {
        foreach (string key in properties.Keys.Where(k => !KnownKeys.Contains(k)))
        {
            warnUnknown?.Invoke(key);
        }

        string Get(string key, string fallback) => properties.TryGetValue(key, out var v) && v.Length > 0 ? v.Trim() : fallback;

        int Int(string key, int fallback, int min, int max)
        {
            string raw = Get(key, fallback.ToString(CultureInfo.InvariantCulture));
            if (!int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
            {
                throw new RegistryConfigException($"{key}={raw} is not an integer in [{min}, {max}]");
            }

            return value;
        }

        bool Bool(string key, bool fallback)
        {
            string raw = Get(key, fallback ? "true" : "false");
            return bool.TryParse(raw, out bool value) ? value : throw new RegistryConfigException($"{key}={raw} is not true or false");
        }

        if (!properties.TryGetValue("kafkastore.bootstrap.servers", out var bootstrap) || string.IsNullOrWhiteSpace(bootstrap))
        {
            throw new RegistryConfigException("kafkastore.bootstrap.servers is required (host:port of the Tributary brokers)");
        }

        try
        {
            Tributary.Clients.KafkaCluster.ParseServers(bootstrap);
        }
        catch (ArgumentException e)
        {
            throw new RegistryConfigException($"kafkastore.bootstrap.servers: {e.Message}");
        }

        string listener = Get("listeners", "http://0.0.0.0:8081").Split(',')[0].Trim();
        if (!Uri.TryCreate(listener.Replace("0.0.0.0", "localhost", StringComparison.Ordinal), UriKind.Absolute, out var uri) || uri.Scheme != "http")
        {
            throw new RegistryConfigException($"listeners={listener} is not an http://host:port URL");
        }

        string level = Get("schema.compatibility.level", "backward");
        if (!SchemaTypeNames.TryParse(level, out CompatibilityLevel compatibility))
        {
            throw new RegistryConfigException($"schema.compatibility.level={level} is not one of none, backward, backward_transitive, forward, forward_transitive, full, full_transitive");
        }

        string host = Get("host.name", uri.Host is "localhost" or "0.0.0.0" ? "127.0.0.1" : uri.Host);
        return new RegistryOptions
        {
            Listener = listener,
            HostName = host,
            BootstrapServers = bootstrap,
            Topic = Get("kafkastore.topic", "_schemas"),
            ReplicationFactor = Int("kafkastore.topic.replication.factor", 3, 1, short.MaxValue),
            DefaultCompatibility = compatibility,
            LeaderEligibility = Bool("leader.eligibility", Bool("master.eligibility", true)),
            GroupId = Get("schema.registry.group.id", "schema-registry"),
            StoreTimeout = TimeSpan.FromMilliseconds(Int("kafkastore.timeout.ms", 10_000, 1, int.MaxValue)),
            InitTimeout = TimeSpan.FromMilliseconds(Int("kafkastore.init.timeout.ms", 60_000, 1, int.MaxValue)),
            MaxRequestBytes = Int("request.max.bytes", 1024 * 1024, 1024, int.MaxValue),
            ModeMutability = Bool("mode.mutability", true),
            SessionTimeout = TimeSpan.FromMilliseconds(Int("kafkagroup.session.timeout.ms", 10_000, 1000, 300_000)),
            HeartbeatInterval = TimeSpan.FromMilliseconds(Int("kafkagroup.heartbeat.interval.ms", 1_000, 100, 60_000)),
        };
    }

    /// <summary>Reads a Java-style properties file (key=value or key: value, # and ! comments).</summary>
    public static Dictionary<string, string> ReadPropertiesFile(string path)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string raw in File.ReadAllLines(path))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or '!')
            {
                continue;
            }

            int separator = line.IndexOfAny(['=', ':']);
            if (separator <= 0)
            {
                throw new RegistryConfigException($"{path}: line '{line}' is not key=value");
            }

            result[line[..separator].Trim()] = line[(separator + 1)..].Trim();
        }

        return result;
    }
}
