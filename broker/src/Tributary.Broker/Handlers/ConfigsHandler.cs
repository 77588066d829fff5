using System.Globalization;
using Tributary.Broker.Config;
using Tributary.Broker.Metadata;
using Tributary.Broker.Requests;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Handlers;

/// <summary>Describes and changes topic configs and dynamic broker configs (KIP-226).</summary>
public sealed class ConfigsHandler(BrokerContext broker)
{
    /// <summary>Kafka's ConfigResource.Type codes.</summary>
    private const sbyte TopicResource = 2;
    private const sbyte BrokerResource = 4;

    private enum AlterOp : sbyte
    {
        Set = 0,
        Delete = 1,
        Append = 2,
        Subtract = 3,
    }

    public DescribeConfigsResponse Handle(RequestContext context, DescribeConfigsRequest request)
    {
        var response = new DescribeConfigsResponse();
        foreach (var resource in request.Resources)
        {
            var result = new DescribeConfigsResponse.DescribeConfigsResult
            {
                ResourceType = resource.ResourceType,
                ResourceName = resource.ResourceName,
            };
            response.Results.Add(result);
            IReadOnlyList<ConfigEntry> entries;
            switch (resource.ResourceType)
            {
                case TopicResource:
                    if (!broker.Image.Topics.TryGetValue(resource.ResourceName, out var topic))
                    {
                        result.ErrorCode = (short)ErrorCode.UnknownTopicOrPartition;
                        result.ErrorMessage = $"Topic {resource.ResourceName} does not exist.";
                        continue;
                    }

                    entries = broker.DescribeTopicConfigs(topic);
                    break;
                case BrokerResource:
                    // As Kafka: "" describes the cluster-wide dynamic defaults, this broker's id all of its configs; another
                    // broker's configs are described by that broker (clients send the request there).
                    if (resource.ResourceName.Length == 0)
                    {
                        entries = broker.DescribeClusterDefaultBrokerConfigs();
                        break;
                    }

                    if (!IsThisBroker(resource.ResourceName))
                    {
                        result.ErrorCode = (short)ErrorCode.InvalidRequest;
                        result.ErrorMessage = $"Unexpected broker id, expected {broker.NodeId} or empty string, but received {resource.ResourceName}";
                        continue;
                    }

                    entries = broker.DescribeBrokerConfigs();
                    break;
                default:
                    result.ErrorCode = (short)ErrorCode.InvalidRequest;
                    result.ErrorMessage = $"Unsupported resource type {resource.ResourceType}.";
                    continue;
            }

            var wanted = resource.ConfigurationKeys is null ? null : new HashSet<string>(resource.ConfigurationKeys, StringComparer.Ordinal);
            foreach (var entry in entries)
            {
                if (wanted is not null && !wanted.Contains(entry.Name))
                {
                    continue;
                }

                var config = new DescribeConfigsResponse.DescribeConfigsResourceResult
                {
                    Name = entry.Name,
                    Value = entry.IsSensitive ? null : entry.Value,
                    ReadOnly = entry.ReadOnly,
                    ConfigSource = entry.Source,
                    // v0 has no ConfigSource; Kafka's clients read IsDefault as "the built-in default" (source 5).
                    IsDefault = entry.Source == 5,
                    IsSensitive = entry.IsSensitive,
                    ConfigType = entry.Type,
                    Documentation = request.IncludeDocumentation ? entry.Documentation : null,
                };
                if (request.IncludeSynonyms)
                {
                    foreach (var synonym in entry.Synonyms)
                    {
                        config.Synonyms.Add(new DescribeConfigsResponse.DescribeConfigsSynonym
                        {
                            Name = synonym.Name,
                            Value = entry.IsSensitive ? null : synonym.Value,
                            Source = synonym.Source,
                        });
                    }
                }

                result.Configs.Add(config);
            }
        }

        return response;
    }

    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, AlterConfigsRequest request, CancellationToken cancellation)
    {
        var response = new AlterConfigsResponse();
        foreach (var resource in request.Resources)
        {
            var configs = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var c in resource.Configs)
            {
                configs[c.Name] = c.Value;
            }

            var outcome = resource.ResourceType switch
            {
                TopicResource => await broker.Controller.ReplaceTopicConfigsAsync(resource.ResourceName,
                    configs.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!, StringComparer.Ordinal),
                    request.ValidateOnly, cancellation).ConfigureAwait(false),
                BrokerResource => await AlterBrokerConfigsAsync(resource.ResourceName, _ => ReplaceAll(configs), request.ValidateOnly, cancellation)
                    .ConfigureAwait(false),
                _ => new(ErrorCode.InvalidRequest, $"Unsupported resource type {resource.ResourceType}."),
            };
            response.Responses.Add(new AlterConfigsResponse.AlterConfigsResourceResponse
            {
                ResourceType = resource.ResourceType,
                ResourceName = resource.ResourceName,
                ErrorCode = (short)outcome.Error,
                ErrorMessage = outcome.Message,
            });
        }

        return response;
    }

    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, IncrementalAlterConfigsRequest request, CancellationToken cancellation)
    {
        var response = new IncrementalAlterConfigsResponse();
        foreach (var resource in request.Resources)
        {
            var outcome = resource.ResourceType switch
            {
                TopicResource => await AlterTopicIncrementallyAsync(resource.ResourceName, resource.Configs, request.ValidateOnly, cancellation)
                    .ConfigureAwait(false),
                BrokerResource => await AlterBrokerConfigsAsync(resource.ResourceName, current => ApplyIncrementalToBroker(current, resource.Configs),
                    request.ValidateOnly, cancellation).ConfigureAwait(false),
                _ => new(ErrorCode.InvalidRequest, $"Unsupported resource type {resource.ResourceType}."),
            };
            response.Responses.Add(new IncrementalAlterConfigsResponse.AlterConfigsResourceResponse
            {
                ResourceType = resource.ResourceType,
                ResourceName = resource.ResourceName,
                ErrorCode = (short)outcome.Error,
                ErrorMessage = outcome.Message,
            });
        }

        return response;
    }

    /// <summary>Computes the topic's next overrides from this broker's image and asks the controller to set them.</summary>
    private async Task<ControllerResult> AlterTopicIncrementallyAsync(string topic, IEnumerable<IncrementalAlterConfigsRequest.AlterableConfig> changes,
        bool validateOnly, CancellationToken cancellation)
    {
        if (!broker.Image.Topics.TryGetValue(topic, out var current))
        {
            return new(ErrorCode.UnknownTopicOrPartition, $"Topic {topic} does not exist.");
        }

        Dictionary<string, string> next;
        try
        {
            next = ApplyIncremental(current.Configs, changes);
        }
        catch (ArgumentException e)
        {
            return new(ErrorCode.InvalidConfig, e.Message);
        }

        return await broker.Controller.ReplaceTopicConfigsAsync(topic, next, validateOnly, cancellation).ConfigureAwait(false);
    }

    /// <summary>KIP-339 semantics; an invalid operation throws ArgumentException, reported as INVALID_CONFIG.</summary>
    private Dictionary<string, string> ApplyIncremental(IReadOnlyDictionary<string, string> current,
        IEnumerable<IncrementalAlterConfigsRequest.AlterableConfig> changes)
    {
        var next = new Dictionary<string, string>(current, StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var change in changes)
        {
            if (!seen.Add(change.Name))
            {
                throw new ArgumentException($"Error due to duplicate config keys: {change.Name}");
            }

            switch ((AlterOp)change.ConfigOperation)
            {
                case AlterOp.Set:
                    next[change.Name] = change.Value ?? throw new ArgumentException($"Null value not supported for: {change.Name}");
                    break;
                case AlterOp.Delete:
                    next.Remove(change.Name);
                    break;
                case AlterOp.Append:
                case AlterOp.Subtract:
                    if (!broker.IsListTopicConfig(change.Name))
                    {
                        throw new ArgumentException($"Config value append/subtract is not allowed for config key: {change.Name}");
                    }

                    var effective = next.TryGetValue(change.Name, out var explicitValue)
                        ? explicitValue
                        : broker.DefaultTopicConfigValue(change.Name) ?? "";
                    next[change.Name] = ConfigValues.AppendOrSubtract(effective, change.Value, (AlterOp)change.ConfigOperation == AlterOp.Append);
                    break;
                default:
                    throw new ArgumentException($"Unknown config operation {change.ConfigOperation} for {change.Name}");
            }
        }

        return next;
    }

    /// <summary>
    /// Dynamic broker configs (KIP-226): the resource is the cluster-wide default ("") or this broker's id (Kafka's clients
    /// send a broker's alteration to that broker). The next complete set is computed from this broker's image and validated
    /// here as Kafka's ConfigAdminManager does — a key that cannot change live, an invalid value or combination fails the
    /// whole resource with INVALID_REQUEST — then the controller stores it in the metadata log; every broker applies it as the
    /// metadata arrives. validate_only stops after the checks.
    /// </summary>
    private async Task<ControllerResult> AlterBrokerConfigsAsync(string resourceName,
        Func<IReadOnlyDictionary<string, string>, Dictionary<string, string>> next, bool validateOnly, CancellationToken cancellation)
    {
        if (resourceName.Length > 0 && !IsThisBroker(resourceName))
        {
            return int.TryParse(resourceName, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
                ? new(ErrorCode.InvalidRequest, $"Unexpected broker id, expected {broker.NodeId}, but received {resourceName}")
                : new(ErrorCode.InvalidRequest, $"Node id must be an integer, but it is: {resourceName}");
        }

        Dictionary<string, string> configs;
        try
        {
            configs = next(broker.Image.BrokerConfigsOf(resourceName));
        }
        catch (InvalidOperationException e)
        {
            return new(ErrorCode.InvalidRequest, e.Message);
        }
        catch (ArgumentException e)
        {
            return new(ErrorCode.InvalidConfig, e.Message);
        }

        if (broker.SyncDynamicConfig().Validate(configs, perBroker: resourceName.Length > 0) is { } error)
        {
            return new(ErrorCode.InvalidRequest, error);
        }

        return await broker.Controller.ReplaceBrokerConfigsAsync(resourceName, configs, validateOnly, cancellation).ConfigureAwait(false);
    }

    /// <summary>Legacy AlterConfigs replaces the resource's whole set; a null value is refused (Kafka: INVALID_REQUEST).</summary>
    private static Dictionary<string, string> ReplaceAll(IReadOnlyDictionary<string, string?> configs)
    {
        var nulls = configs.Where(kv => kv.Value is null).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();
        if (nulls.Count > 0)
        {
            throw new InvalidOperationException($"Null value not supported for : {string.Join(", ", nulls)}");
        }

        return configs.ToDictionary(kv => kv.Key, kv => kv.Value!, StringComparer.Ordinal);
    }

    /// <summary>KIP-339 on a broker resource: duplicate keys and null values are INVALID_REQUEST (thrown as
    /// InvalidOperationException), append/subtract on a non-list key INVALID_CONFIG (ArgumentException), as in Kafka.</summary>
    private Dictionary<string, string> ApplyIncrementalToBroker(IReadOnlyDictionary<string, string> current,
        IEnumerable<IncrementalAlterConfigsRequest.AlterableConfig> changes)
    {
        var list = changes.ToList();
        if (list.GroupBy(c => c.Name, StringComparer.Ordinal).Any(g => g.Count() > 1))
        {
            throw new InvalidOperationException("Error due to duplicate config keys");
        }

        var nulls = list.Where(c => (AlterOp)c.ConfigOperation != AlterOp.Delete && c.Value is null).Select(c => c.Name).ToList();
        if (nulls.Count > 0)
        {
            throw new InvalidOperationException($"Null value not supported for : {string.Join(", ", nulls)}");
        }

        var next = new Dictionary<string, string>(current, StringComparer.Ordinal);
        foreach (var change in list)
        {
            switch ((AlterOp)change.ConfigOperation)
            {
                case AlterOp.Set:
                    next[change.Name] = change.Value!;
                    break;
                case AlterOp.Delete:
                    next.Remove(change.Name);
                    break;
                case AlterOp.Append:
                case AlterOp.Subtract:
                    if (!BrokerConfigDefinitions.TryGet(change.Name, out var definition))
                    {
                        throw new ArgumentException($"Unknown config name: {change.Name}");
                    }

                    if (definition.Type != ConfigValueType.List)
                    {
                        var verb = (AlterOp)change.ConfigOperation == AlterOp.Append ? "append" : "subtract";
                        throw new ArgumentException($"Config value {verb} is not allowed for config key: {change.Name}");
                    }

                    var effective = next.TryGetValue(change.Name, out var explicitValue) ? explicitValue : broker.Config.GetString(change.Name) ?? "";
                    next[change.Name] = ConfigValues.AppendOrSubtract(effective, change.Value, (AlterOp)change.ConfigOperation == AlterOp.Append);
                    break;
                default:
                    throw new InvalidOperationException($"Unknown operations type {change.ConfigOperation}");
            }
        }

        return next;
    }

    private bool IsThisBroker(string resourceName) =>
        resourceName.Length == 0 ||
        (int.TryParse(resourceName, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) && id == broker.NodeId);

}

/// <summary>One config as DescribeConfigs reports it.</summary>
public sealed record ConfigEntry(string Name, string? Value, bool ReadOnly, sbyte Source, bool IsSensitive, sbyte Type,
    string? Documentation, IReadOnlyList<ConfigEntrySynonym> Synonyms);

/// <summary>Where a config's value may come from, in precedence order (KIP-226).</summary>
public sealed record ConfigEntrySynonym(string Name, string? Value, sbyte Source);
