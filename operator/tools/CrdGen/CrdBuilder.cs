using System.Collections;
using System.Reflection;
using System.Text.Json.Serialization;
using k8s.Models;
using Tributary.Operator.Api;
using Tributary.Operator.Api.Schema;

namespace Tributary.Operator.CrdGen;

/// <summary>Turns a CR type of Tributary.Operator.Api into its CustomResourceDefinition (apiextensions.k8s.io/v1).</summary>
public static class CrdBuilder
{
    /// <summary>Every kind the operator serves, in file order.</summary>
    public static IReadOnlyList<Type> Kinds { get; } = [typeof(Broker), typeof(Topic), typeof(ConnectorConfig)];

    private const int MaxDepth = 12;

    public static V1CustomResourceDefinition Build(Type kind)
    {
        var entity = kind.GetCustomAttribute<KubernetesEntityAttribute>()
            ?? throw new ArgumentException($"{kind.Name} has no [KubernetesEntity]", nameof(kind));
        var specType = kind.GetProperty("Spec")!.PropertyType;
        var statusType = kind.GetProperty("Status")!.PropertyType;

        var root = new V1JSONSchemaProps
        {
            Type = "object",
            Description = kind.GetCustomAttribute<DocAttribute>()?.Text,
            Properties = new Dictionary<string, V1JSONSchemaProps>
            {
                ["apiVersion"] = new() { Type = "string" },
                ["kind"] = new() { Type = "string" },
                ["metadata"] = new() { Type = "object" },
                ["spec"] = ForClass(specType, 0, forStatus: false),
                ["status"] = ForClass(statusType, 0, forStatus: true),
            },
        };
        // An absent spec still gets its defaults: the API server applies defaults inside an object only when it exists.
        // Not when the spec has required fields: a default must itself be valid.
        if (root.Properties["spec"].Required is null)
        {
            root.Properties["spec"].DefaultProperty = new Dictionary<string, object>();
        }

        var plural = entity.PluralName;
        return new V1CustomResourceDefinition
        {
            ApiVersion = "apiextensions.k8s.io/v1",
            Kind = "CustomResourceDefinition",
            Metadata = new V1ObjectMeta
            {
                Name = $"{plural}.{entity.Group}",
                Labels = new Dictionary<string, string> { ["app.kubernetes.io/part-of"] = "tributary" },
            },
            Spec = new V1CustomResourceDefinitionSpec
            {
                Group = entity.Group,
                Scope = "Namespaced",
                Names = new V1CustomResourceDefinitionNames
                {
                    Kind = entity.Kind,
                    ListKind = entity.Kind + "List",
                    Plural = plural,
                    Singular = entity.Kind.ToLowerInvariant(),
                    ShortNames = kind.GetCustomAttribute<ShortNamesAttribute>()?.Names.ToList(),
                    Categories = ["tributary"],
                },
                Versions =
                [
                    new V1CustomResourceDefinitionVersion
                    {
                        Name = entity.ApiVersion,
                        Served = true,
                        Storage = true,
                        Schema = new V1CustomResourceValidation { OpenAPIV3Schema = root },
                        Subresources = new V1CustomResourceSubresources { Status = new object() },
                        AdditionalPrinterColumns = kind.GetCustomAttributes<PrinterColumnAttribute>()
                            .Select(c => new V1CustomResourceColumnDefinition
                            {
                                Name = c.Name, Type = c.Type, JsonPath = c.JsonPath, Description = c.Description,
                            })
                            .ToList(),
                    },
                ],
            },
        };
    }

    private static V1JSONSchemaProps ForClass(Type type, int depth, bool forStatus)
    {
        if (depth > MaxDepth)
        {
            throw new InvalidOperationException($"{type.Name}: CR types nest deeper than {MaxDepth} levels");
        }

        var schema = new V1JSONSchemaProps
        {
            Type = "object",
            Description = type.GetCustomAttribute<DocAttribute>()?.Text,
            Properties = new Dictionary<string, V1JSONSchemaProps>(),
        };
        var required = new List<string>();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                     .Where(p => p.GetCustomAttribute<JsonIgnoreAttribute>() is null && p.GetIndexParameters().Length == 0))
        {
            var name = SpecValidator.JsonName(property);
            var field = ForType(property.PropertyType, depth + 1, forStatus);
            field.Description ??= property.GetCustomAttribute<DocAttribute>()?.Text;
            if (property.GetCustomAttribute<QuantityAttribute>() is not null)
            {
                // A string, not int-or-string: the C# type is a string and "10Gi" is what users write.
                field.Pattern = @"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$";
            }

            if (!forStatus)
            {
                if (property.GetCustomAttribute<MinimumAttribute>() is { } min)
                {
                    field.Minimum = min.OperatorOnly ? 0 : min.Value;
                }

                if (property.GetCustomAttribute<MaximumAttribute>() is { } max)
                {
                    field.Maximum = max.Value;
                }

                if (property.GetCustomAttribute<PatternAttribute>() is { } pattern)
                {
                    field.Pattern = pattern.Regex;
                }

                if (property.GetCustomAttribute<MaxLengthAttribute>() is { } maxLength)
                {
                    field.MaxLength = maxLength.Value;
                }

                if (property.GetCustomAttribute<DefaultAttribute>() is { } @default)
                {
                    field.DefaultProperty = @default.Value;
                }
                else if (field.Type == "object" && field.Properties is not null && field.Required is null && Nullable.GetUnderlyingType(property.PropertyType) is null
                         && new NullabilityInfoContext().Create(property).WriteState == NullabilityState.NotNull)
                {
                    // A required-in-C# nested object defaults to {} so its own field defaults apply when it is left out.
                    field.DefaultProperty = new Dictionary<string, object>();
                }

                if (property.GetCustomAttribute<RequiredAttribute>() is not null)
                {
                    required.Add(name);
                    if (property.PropertyType == typeof(string))
                    {
                        field.MinLength = 1;
                    }
                }
            }

            schema.Properties[name] = field;
        }

        schema.Required = required.Count > 0 ? required : null;
        return schema;
    }

    private static V1JSONSchemaProps ForType(Type type, int depth, bool forStatus)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying == typeof(string))
        {
            return new V1JSONSchemaProps { Type = "string" };
        }

        if (underlying == typeof(int) || underlying == typeof(short))
        {
            return new V1JSONSchemaProps { Type = "integer", Format = "int32" };
        }

        if (underlying == typeof(long))
        {
            return new V1JSONSchemaProps { Type = "integer", Format = "int64" };
        }

        if (underlying == typeof(bool))
        {
            return new V1JSONSchemaProps { Type = "boolean" };
        }

        if (underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            var args = underlying.GetGenericArguments();
            if (args[0] != typeof(string))
            {
                throw new InvalidOperationException($"map keys must be strings ({underlying})");
            }

            return new V1JSONSchemaProps { Type = "object", AdditionalProperties = ForType(args[1], depth + 1, forStatus) };
        }

        if (underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(List<>))
        {
            return new V1JSONSchemaProps { Type = "array", Items = ForType(underlying.GetGenericArguments()[0], depth + 1, forStatus) };
        }

        if (underlying.IsClass && !typeof(IEnumerable).IsAssignableFrom(underlying))
        {
            return ForClass(underlying, depth, forStatus);
        }

        throw new InvalidOperationException($"no schema mapping for {underlying}");
    }
}
