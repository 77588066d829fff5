using System.Collections;
using Tributary.Broker.Config;

namespace Tributary.Broker.Tests.Config;

public sealed class BrokerConfigLoaderTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("tributary-config-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Load_uses_kafka_defaults_when_nothing_is_set()
    {
        var config = Load([], []);

        Assert.Equal(1, config.NodeId);
        Assert.Equal("PLAINTEXT://:9092", Assert.Single(config.Listeners).ToString());
        Assert.Equal(["/tmp/kraft-combined-logs"], config.LogDirs);
        Assert.Equal(1, config.NumPartitions);
        Assert.Equal(1, config.DefaultReplicationFactor);
        Assert.Equal(1, config.MinInsyncReplicas);
        Assert.True(config.AutoCreateTopicsEnable);
        Assert.Equal(104_857_600, config.SocketRequestMaxBytes);
        Assert.Equal(1_048_588, config.MessageMaxBytes);
        Assert.Equal(168L * 3_600_000, config.LogRetentionMs);
        Assert.Equal(-1, config.LogRetentionBytes);
        Assert.Equal(1 << 30, config.LogSegmentBytes);
        Assert.Equal(168L * 3_600_000, config.LogRollMs);
        Assert.Equal(["delete"], config.LogCleanupPolicy);
        Assert.Equal(long.MaxValue, config.LogFlushIntervalMessages);
        Assert.Null(config.LogFlushIntervalMs);
        Assert.Equal(86_400_000, config.LogCleanerDeleteRetentionMs);
        Assert.Equal(30_000, config.ReplicaLagTimeMaxMs);
        Assert.False(config.UncleanLeaderElectionEnable);
        Assert.Equal(50, config.OffsetsTopicNumPartitions);
        Assert.Equal(10_080, config.OffsetsRetentionMinutes);
        Assert.Equal(6_000, config.GroupMinSessionTimeoutMs);
        Assert.Equal(1_800_000, config.GroupMaxSessionTimeoutMs);
        Assert.Equal(3_000, config.GroupInitialRebalanceDelayMs);
        Assert.Equal(MessageTimestampType.CreateTime, config.LogMessageTimestampType);
        Assert.Equal("0.0.0.0:9094", $"{Assert.Single(config.HttpListeners).Host}:{config.HttpListeners[0].Port}");
        Assert.True(config.ControlledShutdownEnable);
    }

    [Fact]
    public void Load_reads_key_value_pairs_from_the_config_file()
    {
        var file = WriteProperties("node.id=7\nlog.dirs = /data/a, /data/b\nnum.partitions: 3\n");

        var config = Load(["--config", file], []);

        Assert.Equal(7, config.NodeId);
        Assert.Equal(["/data/a", "/data/b"], config.LogDirs);
        Assert.Equal(3, config.NumPartitions);
        Assert.Equal(BrokerConfigSource.ConfigFile, config.SourceOf("num.partitions"));
    }

    [Fact]
    public void Load_prefers_environment_over_file()
    {
        var file = WriteProperties("num.partitions=3\n");

        var config = Load(["--config", file], new Hashtable { ["TRIBUTARY_NUM_PARTITIONS"] = "5" });

        Assert.Equal(5, config.NumPartitions);
        Assert.Equal(BrokerConfigSource.Environment, config.SourceOf("num.partitions"));
    }

    [Fact]
    public void Load_prefers_override_over_environment_and_file()
    {
        var file = WriteProperties("num.partitions=3\n");

        var config = Load(
            ["--config", file, "--override", "num.partitions=9"],
            new Hashtable { ["TRIBUTARY_NUM_PARTITIONS"] = "5" });

        Assert.Equal(9, config.NumPartitions);
        Assert.Equal(BrokerConfigSource.CommandLine, config.SourceOf("num.partitions"));
    }

    [Fact]
    public void Load_applies_repeated_overrides_in_order()
    {
        var config = Load(["--override=num.partitions=2", "--override", "num.partitions=4", "--override", "node.id=3"], []);

        Assert.Equal(4, config.NumPartitions);
        Assert.Equal(3, config.NodeId);
    }

    [Fact]
    public void Load_maps_environment_variable_names_to_dotted_keys()
    {
        var config = Load([], new Hashtable { ["TRIBUTARY_LOG_DIRS"] = "/srv/tributary", ["PATH"] = "/usr/bin" });

        Assert.Equal(["/srv/tributary"], config.LogDirs);
        Assert.Equal("log.dirs", BrokerConfigLoader.KeyFromEnvironmentVariable("TRIBUTARY_LOG_DIRS"));
        Assert.Equal("TRIBUTARY_LOG_RETENTION_MS", BrokerConfigLoader.EnvironmentVariableFromKey("log.retention.ms"));
    }

    [Fact]
    public void Load_accepts_the_properties_file_as_positional_argument_like_kafka_server_start()
    {
        var file = WriteProperties("node.id=4\n");

        Assert.Equal(4, Load([file], []).NodeId);
    }

    [Fact]
    public void Load_warns_about_unknown_keys_without_failing()
    {
        var file = WriteProperties("node.id=2\nnot.a.kafka.key=1\n");

        var config = BrokerConfigLoader.Load(
            ["--config", file], new Hashtable { ["TRIBUTARY_ALSO_UNKNOWN"] = "x" }, out var warnings);

        Assert.Equal(2, config.NodeId);
        Assert.Equal(2, warnings.Count);
        Assert.Contains(warnings, w => w.Contains("'not.a.kafka.key'", StringComparison.Ordinal) && w.Contains("line 2", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("'also.unknown'", StringComparison.Ordinal) && w.Contains("TRIBUTARY_ALSO_UNKNOWN", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_fails_with_a_message_naming_key_value_and_expectation_when_a_number_is_malformed()
    {
        var error = Assert.Throws<ConfigException>(() => Load(["--override", "num.partitions=three"], []));

        Assert.Equal("Invalid value 'three' for configuration 'num.partitions' (--override): expected an integer >= 1.", error.Message);
    }

    [Fact]
    public void Load_fails_when_a_value_is_out_of_range()
    {
        var error = Assert.Throws<ConfigException>(() => Load([], new Hashtable { ["TRIBUTARY_LOG_CLEANER_MIN_CLEANABLE_RATIO"] = "1.5" }));

        Assert.Contains("'log.cleaner.min.cleanable.ratio'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'1.5'", error.Message, StringComparison.Ordinal);
        Assert.Contains("environment TRIBUTARY_LOG_CLEANER_MIN_CLEANABLE_RATIO", error.Message, StringComparison.Ordinal);
        Assert.Contains("[0, 1]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_names_the_file_line_of_an_invalid_value()
    {
        var file = WriteProperties("# comment\nauto.create.topics.enable=yes\n");

        var error = Assert.Throws<ConfigException>(() => Load(["--config", file], []));

        Assert.Contains("'auto.create.topics.enable'", error.Message, StringComparison.Ordinal);
        Assert.Contains("line 2", error.Message, StringComparison.Ordinal);
        Assert.Contains("true or false", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_fails_when_the_config_file_does_not_exist()
    {
        var missing = Path.Combine(_directory, "missing.properties");

        var error = Assert.Throws<ConfigException>(() => Load(["--config", missing], []));

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_rejects_unknown_command_line_options()
    {
        var error = Assert.Throws<ConfigException>(() => Load(["--verbose"], []));

        Assert.Contains("'--verbose'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_rejects_an_override_without_equals_sign()
    {
        var error = Assert.Throws<ConfigException>(() => Load(["--override", "num.partitions"], []));

        Assert.Contains("key=value", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_rejects_group_session_timeouts_whose_minimum_exceeds_the_maximum()
    {
        var error = Assert.Throws<ConfigException>(() =>
            Load(["--override", "group.min.session.timeout.ms=60000", "--override", "group.max.session.timeout.ms=1000"], []));

        Assert.Contains("'group.min.session.timeout.ms'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_falls_back_to_log_dir_when_log_dirs_is_unset()
    {
        Assert.Equal(["/var/lib/tributary"], Load(["--override", "log.dir=/var/lib/tributary"], []).LogDirs);
    }

    [Fact]
    public void Load_accepts_log4j_spellings_of_the_log_level()
    {
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, Load(["--override", "tributary.log.level=WARN"], []).LogLevel);
    }

    [Fact]
    public void Effective_lists_every_known_key_and_flags_defaults()
    {
        var config = Load(["--override", "num.partitions=6"], []);

        Assert.Equal("6", config.Effective["num.partitions"]);
        Assert.False(config.IsDefault("num.partitions"));
        Assert.Equal("1", config.Effective["default.replication.factor"]);
        Assert.True(config.IsDefault("default.replication.factor"));
        Assert.Null(config.Effective["log.retention.ms"]);
        Assert.Equal(BrokerConfigDefinitions.All.Count, config.Effective.Count);
    }

    [Fact]
    public void IsSensitive_is_true_for_secret_looking_keys_only()
    {
        Assert.True(BrokerConfig.IsSensitive("ssl.keystore.password"));
        Assert.True(BrokerConfig.IsSensitive("listener.name.sasl_ssl.plain.sasl.jaas.config"));
        Assert.False(BrokerConfig.IsSensitive("log.dirs"));
    }

    [Fact]
    public void FromProperties_rejects_unknown_keys_as_typos()
    {
        var error = Assert.Throws<ConfigException>(() => BrokerConfig.FromProperties(new Dictionary<string, string> { ["num.partition"] = "3" }));

        Assert.Contains("'num.partition'", error.Message, StringComparison.Ordinal);
    }

    private static BrokerConfig Load(string[] args, Hashtable environment) => BrokerConfigLoader.Load(args, environment, out _);

    private string WriteProperties(string text)
    {
        var path = Path.Combine(_directory, $"{Guid.NewGuid():N}.properties");
        File.WriteAllText(path, text);
        return path;
    }
}
