using Tributary.Connect.Api.Config;
using Tributary.Connect.Api.Connectors;
using Tributary.Connect.Plugins;

namespace Tributary.Connect.Runtime;

/// <summary>The keys every connector config has (Kafka's ConnectorConfig / SinkConnectorConfig), with their defaults.</summary>
public static class ConnectorConfig
{
    public const string Name = "name";
    public const string ConnectorClass = "connector.class";
    public const string TasksMax = "tasks.max";
    public const string KeyConverter = "key.converter";
    public const string ValueConverter = "value.converter";
    public const string Transforms = "transforms";
    public const string Predicates = "predicates";
    public const string ErrorsTolerance = "errors.tolerance";
    public const string ErrorsRetryTimeout = "errors.retry.timeout";
    public const string ErrorsRetryDelayMax = "errors.retry.delay.max.ms";
    public const string ErrorsLogEnable = "errors.log.enable";
    public const string ErrorsLogIncludeMessages = "errors.log.include.messages";
    public const string DlqTopic = "errors.deadletterqueue.topic.name";
    public const string DlqReplicationFactor = "errors.deadletterqueue.topic.replication.factor";
    public const string DlqContextHeaders = "errors.deadletterqueue.context.headers.enable";
    public const string ExactlyOnceSupportKey = "exactly.once.support";
    public const string TransactionBoundary = "transaction.boundary";
    public const string TransactionBoundaryIntervalMs = "transaction.boundary.interval.ms";
    public const string OffsetsStorageTopic = "offsets.storage.topic";

    private const string CommonGroup = "Common";
    private const string TransformsGroup = "Transforms";
    private const string PredicatesGroup = "Predicates";
    private const string ErrorGroup = "Error Handling";
    private const string ExactlyOnceGroup = "Exactly Once Support";

    public static ConfigDef Base(bool sink)
    {
        var def = new ConfigDef()
            .Define(Name, ConfigType.String, ConfigDef.NoDefault, Validators.NonEmptyString, Importance.High,
                "Globally unique name to use for this connector.", CommonGroup, 1, "Connector name")
            .Define(ConnectorClass, ConfigType.String, ConfigDef.NoDefault, Importance.High,
                "Name or alias of the class for this connector.", CommonGroup, 2, "Connector class")
            .Define(TasksMax, ConfigType.Int, 1, Validators.AtLeast(1), Importance.High,
                "Maximum number of tasks to use for this connector.", CommonGroup, 3, "Tasks max")
            .Define(KeyConverter, ConfigType.Class, null, Importance.Low,
                "Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka.", CommonGroup, 4, "Key converter class")
            .Define(ValueConverter, ConfigType.Class, null, Importance.Low,
                "Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka.", CommonGroup, 5, "Value converter class")
            .Define(Transforms, ConfigType.List, "", Importance.Low,
                "Aliases for the transformations to be applied to records.", TransformsGroup, 6, "Transforms")
            .Define(Predicates, ConfigType.List, "", Importance.Low,
                "Aliases for the predicates used by transformations.", PredicatesGroup, 7, "Predicates")
            .Define(ErrorsRetryTimeout, ConfigType.Long, 0L, Validators.AtLeast(-1), Importance.Medium,
                "The maximum duration in milliseconds that a failed operation will be reattempted. The default is 0, which means no retries will be attempted. Use -1 for infinite retries.", ErrorGroup, 1, "Retry Timeout for Errors")
            .Define(ErrorsRetryDelayMax, ConfigType.Long, 60000L, Validators.AtLeast(1), Importance.Medium,
                "The maximum duration in milliseconds between consecutive retry attempts.", ErrorGroup, 2, "Maximum Delay Between Retries for Errors")
            .Define(ErrorsTolerance, ConfigType.String, "none", Validators.InIgnoreCase("none", "all"), Importance.Medium,
                "Behavior for tolerating errors during connector operation. 'none' is the default value and signals that any error will result in an immediate connector task failure; 'all' changes the behavior to skip over problematic records.", ErrorGroup, 3, "Error Tolerance")
            .Define(ErrorsLogEnable, ConfigType.Boolean, false, Importance.Medium,
                "If true, write each error and the details of the failed operation and problematic record to the Connect application log.", ErrorGroup, 4, "Log Errors")
            .Define(ErrorsLogIncludeMessages, ConfigType.Boolean, false, Importance.Medium,
                "Whether to include in the log the Connect record that resulted in a failure.", ErrorGroup, 5, "Log Error Details");
        if (!sink)
        {
            // KIP-618's source connector keys.
            def.Define(ExactlyOnceSupportKey, ConfigType.String, "requested", Validators.InIgnoreCase("requested", "required"), Importance.Medium,
                    "Permitted values are requested, required. If set to \"required\", forces a preflight check for the connector to ensure that it can provide exactly-once semantics with the given configuration.", ExactlyOnceGroup, 1, "Exactly once support")
                .Define(TransactionBoundary, ConfigType.String, "poll", Validators.InIgnoreCase("poll", "interval", "connector"), Importance.Medium,
                    "Permitted values are: poll, interval, connector. If set to 'poll', a new producer transaction will be started and committed for every batch of records that each task from this connector provides to Connect. If set to 'connector', relies on connector-defined transaction boundaries. If set to 'interval', commits transactions only after a user-defined time interval has passed.", ExactlyOnceGroup, 2, "Transaction Boundary")
                .Define(TransactionBoundaryIntervalMs, ConfigType.Long, null, Validators.Of((name, v) =>
                {
                    if (v is long n && n < 0)
                    {
                        throw new ConfigException(name, v, "Value must be at least 0");
                    }
                }), Importance.Low,
                    "If 'transaction.boundary' is set to 'interval', determines the interval for producer transaction commits by connector tasks. If unset, defaults to the value of the worker-level 'offset.flush.interval.ms' property.", ExactlyOnceGroup, 3, "Transaction boundary interval")
                .Define(OffsetsStorageTopic, ConfigType.String, null, Importance.Low,
                    "The name of a separate offsets topic to use for this connector. If empty or not specified, the worker's global offsets topic name will be used.", ExactlyOnceGroup, 4, "Offsets topic");
        }

        if (sink)
        {
            def.Define(SinkConnector.TopicsConfig, ConfigType.List, "", Importance.High,
                    "List of topics to consume, separated by commas", CommonGroup, 4, "Topics")
                .Define(SinkConnector.TopicsRegexConfig, ConfigType.String, "", Importance.High,
                    "Regular expression giving topics to consume.", CommonGroup, 4, "Topics regex")
                .Define(DlqTopic, ConfigType.String, "", Importance.Medium,
                    "The name of the topic to be used as the dead letter queue (DLQ) for messages that result in an error when processed by this sink connector, or its transformations or converters.", ErrorGroup, 6, "Dead Letter Queue Topic Name")
                .Define(DlqReplicationFactor, ConfigType.Short, (short)3, Importance.Medium,
                    "Replication factor used to create the dead letter queue topic when it doesn't already exist.", ErrorGroup, 7, "Dead Letter Queue Topic Replication Factor")
                .Define(DlqContextHeaders, ConfigType.Boolean, false, Importance.Medium,
                    "If true, add headers containing error context to the messages written to the dead letter queue.", ErrorGroup, 8, "Enable Error Context Headers");
        }

        return def;
    }

    /// <summary>
    /// Validates a whole connector config the way <c>PUT /connector-plugins/{p}/config/validate</c> reports it: the common keys,
    /// the connector's own keys, and the keys of each transform and predicate (<c>transforms.x.*</c>, <c>predicates.p.*</c>).
    /// </summary>
    public static ValidationResult Validate(PluginRegistry plugins, string connectorClass, IReadOnlyDictionary<string, string> props,
        ExactlyOnceSourceSupport workerSupport = ExactlyOnceSourceSupport.Disabled)
    {
        var descriptor = plugins.Find(connectorClass);
        if (descriptor is null || descriptor.Kind is not (PluginKind.Source or PluginKind.Sink))
        {
            throw new PluginNotFoundException(connectorClass);
        }

        var connector = (Connector)Activator.CreateInstance(descriptor.Type)!;
        var sink = descriptor.Kind == PluginKind.Sink;
        var entries = new List<(ConfigKey Key, ConfigValue Value)>();
        var baseDef = Base(sink);
        var baseValues = baseDef.Validate(props);
        foreach (var v in baseValues)
        {
            entries.Add((baseDef.Keys[v.Name], v));
        }

        if (sink)
        {
            ValidateSinkTopics(props, baseValues);
        }
        else if (connector is SourceConnector source)
        {
            ValidateExactlyOnce(source, props, baseValues, workerSupport);
        }

        ValidateConverter(plugins, props, KeyConverter, baseValues);
        ValidateConverter(plugins, props, ValueConverter, baseValues);

        // Transforms and predicates: their type, then every key their definitions declare, prefixed.
        foreach (var (listKey, prefix, kind) in new[] { (Transforms, "transforms.", PluginKind.Transformation), (Predicates, "predicates.", PluginKind.Predicate) })
        {
            var aliases = props.TryGetValue(listKey, out var raw) && raw.Trim().Length > 0 ? raw.Split(',').Select(a => a.Trim()) : [];
            foreach (var alias in aliases)
            {
                var typeKey = new ConfigKey(prefix + alias + ".type", ConfigType.Class, null, false, null, Importance.High,
                    $"Class for the '{alias}' {(kind == PluginKind.Transformation ? "transformation" : "predicate")}.", kind == PluginKind.Transformation ? TransformsGroup : PredicatesGroup);
                props.TryGetValue(typeKey.Name, out var typeName);
                var typeValue = new ConfigValue(typeKey.Name, typeName);
                entries.Add((typeKey, typeValue));
                if (typeName is null)
                {
                    typeValue.ErrorMessages.Add($"Missing required configuration \"{typeKey.Name}\" which has no default value.");
                    continue;
                }

                var d = plugins.Find(typeName);
                if (d is null || d.Kind != kind)
                {
                    typeValue.ErrorMessages.Add($"Invalid value {typeName} for configuration {typeKey.Name}: Class {typeName} could not be found.");
                    continue;
                }

                var instance = Activator.CreateInstance(d.Type)!;
                var def = instance is ITransform t ? t.Config : ((IPredicate)instance).Config;
                var sub = Subset(props, prefix + alias + ".");
                foreach (var v in def.Validate(sub))
                {
                    var k = def.Keys[v.Name];
                    entries.Add((k with { Name = prefix + alias + "." + k.Name }, new ConfigValue(prefix + alias + "." + v.Name, v.Value) { Visible = v.Visible }));
                    entries[^1].Value.ErrorMessages.AddRange(v.ErrorMessages);
                }

                if (instance is ITransform && props.TryGetValue(prefix + alias + ".predicate", out var predicate)
                    && !(props.TryGetValue(Predicates, out var preds) && preds.Split(',').Select(p => p.Trim()).Contains(predicate)))
                {
                    var pk = new ConfigKey(prefix + alias + ".predicate", ConfigType.String, null, true, null, Importance.Medium, "The alias of a predicate used to determine whether to apply this transformation.", TransformsGroup);
                    var pv = new ConfigValue(pk.Name, predicate);
                    pv.ErrorMessages.Add($"Invalid value {predicate} for configuration {pk.Name}: the predicate is not listed in '{Predicates}'");
                    entries.Add((pk, pv));
                }
            }
        }

        foreach (var v in connector.Validate(props))
        {
            if (connector.Config.Keys.TryGetValue(v.Name, out var key) && !baseDef.Keys.ContainsKey(v.Name))
            {
                entries.Add((key, v));
            }
        }

        var groups = entries.Select(e => e.Key.Group).Where(g => g is not null).Cast<string>().Distinct().ToList();
        return new ValidationResult(descriptor.ClassName, entries.Sum(e => e.Value.ErrorMessages.Count), groups, entries);
    }

    private static void ValidateSinkTopics(IReadOnlyDictionary<string, string> props, List<ConfigValue> values)
    {
        var hasTopics = props.TryGetValue(SinkConnector.TopicsConfig, out var t) && t.Trim().Length > 0;
        var hasRegex = props.TryGetValue(SinkConnector.TopicsRegexConfig, out var r) && r.Trim().Length > 0;
        var topicsValue = values.First(v => v.Name == SinkConnector.TopicsConfig);
        if (hasTopics && hasRegex)
        {
            topicsValue.ErrorMessages.Add("topics and topics.regex are mutually exclusive options, but both are set.");
        }
        else if (!hasTopics && !hasRegex)
        {
            topicsValue.ErrorMessages.Add("Must configure one of topics or topics.regex");
        }

        if (hasTopics && props.TryGetValue(DlqTopic, out var dlq) && t!.Split(',').Select(x => x.Trim()).Contains(dlq.Trim()))
        {
            values.First(v => v.Name == DlqTopic).ErrorMessages.Add($"The DLQ topic '{dlq}' may not be included in the list of topics ('{SinkConnector.TopicsConfig}={t}') consumed by the connector");
        }
    }

    /// <summary>KIP-618's preflight checks: <c>exactly.once.support=required</c> and <c>transaction.boundary=connector</c> need the worker and the connector to agree.</summary>
    private static void ValidateExactlyOnce(SourceConnector connector, IReadOnlyDictionary<string, string> props, List<ConfigValue> values, ExactlyOnceSourceSupport workerSupport)
    {
        var required = string.Equals(props.GetValueOrDefault(ExactlyOnceSupportKey)?.Trim(), "required", StringComparison.OrdinalIgnoreCase);
        var connectorBoundary = string.Equals(props.GetValueOrDefault(TransactionBoundary)?.Trim(), "connector", StringComparison.OrdinalIgnoreCase);
        var support = values.First(v => v.Name == ExactlyOnceSupportKey);
        if (required && workerSupport != ExactlyOnceSourceSupport.Enabled)
        {
            support.ErrorMessages.Add("This worker does not have exactly-once source support enabled.");
        }
        else if (required)
        {
            ExactlyOnceSupport? answer;
            try
            {
                answer = connector.ExactlyOnceSupportFor(props);
            }
            catch (Exception e)
            {
                support.ErrorMessages.Add("An unexpected error occurred during validation: " + e.Message);
                answer = ExactlyOnceSupport.SUPPORTED;
            }

            if (answer is null)
            {
                support.ErrorMessages.Add("The connector does not implement the API required for preflight validation of exactly-once source support. "
                    + "Please consult the documentation for the connector to determine whether it supports exactly-once semantics, and then consider "
                    + "reconfiguring the connector to use the value \"requested\" for this property (which will disable this preflight check and allow the connector to be created).");
            }
            else if (answer == ExactlyOnceSupport.UNSUPPORTED)
            {
                support.ErrorMessages.Add("The connector does not support exactly-once semantics with the provided configuration.");
            }
        }

        if (connectorBoundary && workerSupport == ExactlyOnceSourceSupport.Enabled
            && connector.CanDefineTransactionBoundaries(props) != ConnectorTransactionBoundaries.SUPPORTED)
        {
            values.First(v => v.Name == TransactionBoundary).ErrorMessages.Add(
                "The connector does not support connector-defined transaction boundaries with the given configuration. Please reconfigure it to use a different transaction boundary definition.");
        }
    }

    private static void ValidateConverter(PluginRegistry plugins, IReadOnlyDictionary<string, string> props, string key, List<ConfigValue> values)
    {
        if (props.TryGetValue(key, out var name) && name.Trim().Length > 0 && plugins.Find(name) is not { Kind: PluginKind.Converter })
        {
            values.First(v => v.Name == key).ErrorMessages.Add($"Invalid value {name} for configuration {key}: Class {name} could not be found.");
        }
    }

    public static Dictionary<string, string> Subset(IReadOnlyDictionary<string, string> props, string prefix) =>
        props.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(p => p.Key[prefix.Length..], p => p.Value, StringComparer.Ordinal);
}

/// <summary>The outcome of validating one connector config, per key.</summary>
public sealed record ValidationResult(string Name, int ErrorCount, IReadOnlyList<string> Groups, IReadOnlyList<(ConfigKey Key, ConfigValue Value)> Configs);
