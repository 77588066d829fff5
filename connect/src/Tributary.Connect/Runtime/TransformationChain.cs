using Tributary.Connect.Api.Config;
using Tributary.Connect.Api.Connectors;
using Tributary.Connect.Api.Data;
using Tributary.Connect.Plugins;

namespace Tributary.Connect.Runtime;

/// <summary>One configured transform, applied only when its predicate (if any, possibly negated) holds.</summary>
public sealed record TransformStage(string Alias, ITransform Transform, IPredicate? Predicate, bool Negate)
{
    public bool Applies(ConnectRecord record) => Predicate is null || (Predicate.Test(record) ^ Negate);
}

/// <summary>The transforms of a connector in order (<c>transforms=a,b</c>, <c>transforms.a.type</c>, <c>.predicate</c>, <c>.negate</c>).</summary>
public sealed class TransformationChain : IDisposable
{
    private TransformationChain(IReadOnlyList<TransformStage> stages) => Stages = stages;

    public IReadOnlyList<TransformStage> Stages { get; }

    public static TransformationChain Build(PluginRegistry plugins, IReadOnlyDictionary<string, string> props)
    {
        var predicates = new Dictionary<string, IPredicate>(StringComparer.Ordinal);
        foreach (var alias in List(props, ConnectorConfig.Predicates))
        {
            var type = props.GetValueOrDefault("predicates." + alias + ".type") ?? throw new ConfigException($"Missing required configuration \"predicates.{alias}.type\" which has no default value.");
            var p = plugins.Find(type) is { Kind: PluginKind.Predicate } d ? (IPredicate)Activator.CreateInstance(d.Type)! : throw new ConfigException($"Invalid value {type} for configuration predicates.{alias}.type: Class {type} could not be found.");
            p.Configure(ConnectorConfig.Subset(props, "predicates." + alias + "."));
            predicates[alias] = p;
        }

        var stages = new List<TransformStage>();
        foreach (var alias in List(props, ConnectorConfig.Transforms))
        {
            var prefix = "transforms." + alias + ".";
            var type = props.GetValueOrDefault(prefix + "type") ?? throw new ConfigException($"Missing required configuration \"{prefix}type\" which has no default value.");
            var t = plugins.Find(type) is { Kind: PluginKind.Transformation } d ? (ITransform)Activator.CreateInstance(d.Type)! : throw new ConfigException($"Invalid value {type} for configuration {prefix}type: Class {type} could not be found.");
            var sub = ConnectorConfig.Subset(props, prefix);
            sub.Remove("type");
            sub.Remove("predicate");
            sub.Remove("negate");
            t.Configure(sub);
            IPredicate? predicate = null;
            if (props.TryGetValue(prefix + "predicate", out var predicateAlias) && predicateAlias.Trim().Length > 0)
            {
                predicate = predicates.GetValueOrDefault(predicateAlias.Trim()) ?? throw new ConfigException(prefix + "predicate", predicateAlias, "the predicate is not listed in 'predicates'");
            }

            var negate = props.TryGetValue(prefix + "negate", out var n) && (bool)ConfigDef.Parse(prefix + "negate", ConfigType.Boolean, n)!;
            stages.Add(new TransformStage(alias, t, predicate, negate));
        }

        return new TransformationChain(stages);
    }

    private static IEnumerable<string> List(IReadOnlyDictionary<string, string> props, string key) =>
        props.TryGetValue(key, out var raw) && raw.Trim().Length > 0 ? raw.Split(',').Select(a => a.Trim()).Where(a => a.Length > 0) : [];

    public void Dispose()
    {
        foreach (var s in Stages)
        {
            s.Transform.Dispose();
            s.Predicate?.Dispose();
        }
    }
}
