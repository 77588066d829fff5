using System.Collections.ObjectModel;

namespace Tributary.Connect.Api.Data;

/// <summary>Connect's schema types (the names JsonConverter writes in its envelope are the lower-case forms).</summary>
public enum SchemaType
{
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    Array,
    Map,
    Struct,
}

/// <summary>One field of a struct schema.</summary>
public sealed record Field(string Name, int Index, Schema Schema);

/// <summary>An immutable Connect schema: a type, optionality, an optional name (logical types), and children.</summary>
public sealed class Schema
{
    public const int MaxNestingDepth = 64;

    private readonly Dictionary<string, Field>? fieldsByName;

    internal Schema(SchemaType type, bool optional, object? defaultValue, string? name, int? version, string? doc,
        IReadOnlyDictionary<string, string>? parameters, IReadOnlyList<Field>? fields, Schema? keySchema, Schema? valueSchema)
    {
        Type = type;
        IsOptional = optional;
        DefaultValue = defaultValue;
        Name = name;
        Version = version;
        Doc = doc;
        Parameters = parameters ?? ReadOnlyDictionary<string, string>.Empty;
        Fields = fields ?? [];
        KeySchema = keySchema;
        ValueSchema = valueSchema;
        if (type == SchemaType.Struct)
        {
            fieldsByName = new Dictionary<string, Field>(StringComparer.Ordinal);
            foreach (var f in Fields)
            {
                fieldsByName[f.Name] = f;
            }
        }
    }

    public SchemaType Type { get; }
    public bool IsOptional { get; }
    public object? DefaultValue { get; }
    public string? Name { get; }
    public int? Version { get; }
    public string? Doc { get; }
    public IReadOnlyDictionary<string, string> Parameters { get; }
    public IReadOnlyList<Field> Fields { get; }
    public Schema? KeySchema { get; }
    public Schema? ValueSchema { get; }

    public static readonly Schema Int8 = SchemaBuilder.Int8().Build();
    public static readonly Schema Int16 = SchemaBuilder.Int16().Build();
    public static readonly Schema Int32 = SchemaBuilder.Int32().Build();
    public static readonly Schema Int64 = SchemaBuilder.Int64().Build();
    public static readonly Schema Float32 = SchemaBuilder.Float32().Build();
    public static readonly Schema Float64 = SchemaBuilder.Float64().Build();
    public static readonly Schema Boolean = SchemaBuilder.Bool().Build();
    public static readonly Schema String = SchemaBuilder.String().Build();
    public static readonly Schema Bytes = SchemaBuilder.Bytes().Build();
    public static readonly Schema OptionalInt8 = SchemaBuilder.Int8().Optional().Build();
    public static readonly Schema OptionalInt16 = SchemaBuilder.Int16().Optional().Build();
    public static readonly Schema OptionalInt32 = SchemaBuilder.Int32().Optional().Build();
    public static readonly Schema OptionalInt64 = SchemaBuilder.Int64().Optional().Build();
    public static readonly Schema OptionalFloat32 = SchemaBuilder.Float32().Optional().Build();
    public static readonly Schema OptionalFloat64 = SchemaBuilder.Float64().Optional().Build();
    public static readonly Schema OptionalBoolean = SchemaBuilder.Bool().Optional().Build();
    public static readonly Schema OptionalString = SchemaBuilder.String().Optional().Build();
    public static readonly Schema OptionalBytes = SchemaBuilder.Bytes().Optional().Build();

    /// <summary>The field named <paramref name="name"/>, or null (struct schemas only).</summary>
    public Field? Field(string name)
    {
        if (fieldsByName is null)
        {
            throw new DataException($"Cannot look up fields on non-struct type {Type}");
        }

        return fieldsByName.GetValueOrDefault(name);
    }

    public bool IsPrimitive => Type is not (SchemaType.Array or SchemaType.Map or SchemaType.Struct);

    public override bool Equals(object? obj) => obj is Schema other && SchemaEquality.Equal(this, other);

    public override int GetHashCode() => HashCode.Combine(Type, IsOptional, Name, Fields.Count);

    public override string ToString() => Name is null ? $"Schema{{{Type.ToString().ToUpperInvariant()}}}" : $"Schema{{{Name}:{Type.ToString().ToUpperInvariant()}}}";

    /// <summary>Checks that <paramref name="value"/> is a valid value of <paramref name="schema"/> (CLR types as Connect maps them).</summary>
    public static void Validate(Schema schema, object? value, string? fieldName = null)
    {
        if (value is null)
        {
            if (!schema.IsOptional && schema.DefaultValue is null)
            {
                throw new DataException(fieldName is null
                    ? "Invalid value: null used for required schema"
                    : $"Invalid value: null used for required field: \"{fieldName}\", schema type: {schema.Type.ToString().ToUpperInvariant()}");
            }

            return;
        }

        var ok = schema.Type switch
        {
            SchemaType.Int8 => value is sbyte,
            SchemaType.Int16 => value is short,
            SchemaType.Int32 => value is int || (schema.Name is Logical.Date.LogicalName or Logical.Time.LogicalName && value is DateTime),
            SchemaType.Int64 => value is long || (schema.Name == Logical.Timestamp.LogicalName && value is DateTime),
            SchemaType.Float32 => value is float,
            SchemaType.Float64 => value is double,
            SchemaType.Boolean => value is bool,
            SchemaType.String => value is string,
            SchemaType.Bytes => value is byte[] || (schema.Name == Logical.Decimal.LogicalName && value is decimal),
            SchemaType.Array => value is System.Collections.IList,
            SchemaType.Map => value is System.Collections.IDictionary,
            SchemaType.Struct => value is Struct s && s.Schema.Equals(schema),
            _ => false,
        };
        if (!ok)
        {
            throw new DataException($"Invalid Java object for schema \"{schema.Name ?? schema.Type.ToString().ToUpperInvariant()}\" with type {schema.Type.ToString().ToUpperInvariant()}: {value.GetType().Name}"
                + (fieldName is null ? "" : $" for field: \"{fieldName}\""));
        }
    }
}

internal static class SchemaEquality
{
    public static bool Equal(Schema a, Schema b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a.Type != b.Type || a.IsOptional != b.IsOptional || a.Name != b.Name || a.Version != b.Version
            || !Equals(a.DefaultValue, b.DefaultValue) || a.Fields.Count != b.Fields.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Fields.Count; i++)
        {
            if (a.Fields[i].Name != b.Fields[i].Name || !Equal(a.Fields[i].Schema, b.Fields[i].Schema))
            {
                return false;
            }
        }

        return NullableEqual(a.KeySchema, b.KeySchema) && NullableEqual(a.ValueSchema, b.ValueSchema);
    }

    private static bool NullableEqual(Schema? a, Schema? b) => a is null ? b is null : b is not null && Equal(a, b);
}

/// <summary>Builds a <see cref="Schema"/>.</summary>
public sealed class SchemaBuilder
{
    private readonly SchemaType type;
    private readonly List<Field> fields = [];
    private readonly Dictionary<string, string> parameters = new(StringComparer.Ordinal);
    private bool optional;
    private object? defaultValue;
    private string? name;
    private int? version;
    private string? doc;
    private Schema? keySchema;
    private Schema? valueSchema;

    public SchemaBuilder(SchemaType type) => this.type = type;

    public static SchemaBuilder Int8() => new(SchemaType.Int8);
    public static SchemaBuilder Int16() => new(SchemaType.Int16);
    public static SchemaBuilder Int32() => new(SchemaType.Int32);
    public static SchemaBuilder Int64() => new(SchemaType.Int64);
    public static SchemaBuilder Float32() => new(SchemaType.Float32);
    public static SchemaBuilder Float64() => new(SchemaType.Float64);
    public static SchemaBuilder Bool() => new(SchemaType.Boolean);
    public static SchemaBuilder String() => new(SchemaType.String);
    public static SchemaBuilder Bytes() => new(SchemaType.Bytes);
    public static SchemaBuilder Struct() => new(SchemaType.Struct);
    public static SchemaBuilder Array(Schema items) => new(SchemaType.Array) { valueSchema = items };
    public static SchemaBuilder Map(Schema keys, Schema values) => new(SchemaType.Map) { keySchema = keys, valueSchema = values };

    /// <summary>A builder starting as a copy of <paramref name="schema"/>'s type, name, version, doc and optionality (no fields).</summary>
    public static SchemaBuilder CopyOf(Schema schema)
    {
        var b = new SchemaBuilder(schema.Type) { name = schema.Name, version = schema.Version, doc = schema.Doc, optional = schema.IsOptional, keySchema = schema.KeySchema, valueSchema = schema.ValueSchema };
        foreach (var p in schema.Parameters)
        {
            b.parameters[p.Key] = p.Value;
        }

        return b;
    }

    public SchemaType Type => type;

    public SchemaBuilder Optional()
    {
        optional = true;
        return this;
    }

    public SchemaBuilder Required()
    {
        optional = false;
        return this;
    }

    public SchemaBuilder Name(string? value)
    {
        name = value;
        return this;
    }

    public SchemaBuilder Version(int? value)
    {
        version = value;
        return this;
    }

    public SchemaBuilder Doc(string? value)
    {
        doc = value;
        return this;
    }

    public SchemaBuilder DefaultValue(object? value)
    {
        defaultValue = value;
        return this;
    }

    public SchemaBuilder Parameter(string key, string value)
    {
        parameters[key] = value;
        return this;
    }

    public SchemaBuilder Field(string fieldName, Schema schema)
    {
        if (type != SchemaType.Struct)
        {
            throw new SchemaBuilderException("Cannot create fields on type " + type);
        }

        if (fields.Exists(f => f.Name == fieldName))
        {
            throw new SchemaBuilderException("Cannot create field because of field name duplication " + fieldName);
        }

        fields.Add(new Field(fieldName, fields.Count, schema));
        return this;
    }

    public IReadOnlyList<Field> Fields => fields;

    public Schema Build() => new(type, optional, defaultValue, name, version, doc,
        parameters.Count == 0 ? null : new Dictionary<string, string>(parameters), type == SchemaType.Struct ? fields.ToArray() : null, keySchema, valueSchema);
}

/// <summary>A schema could not be built as asked.</summary>
public sealed class SchemaBuilderException(string message) : DataException(message);

/// <summary>Data does not match its schema, or cannot be converted (Kafka's DataException).</summary>
public class DataException : Exception
{
    public DataException(string message) : base(message)
    {
    }

    public DataException(string message, Exception inner) : base(message, inner)
    {
    }
}

/// <summary>A schema together with a value of it (the value may be schemaless: null schema).</summary>
public readonly record struct SchemaAndValue(Schema? Schema, object? Value)
{
    public static readonly SchemaAndValue Null = new(null, null);
}
