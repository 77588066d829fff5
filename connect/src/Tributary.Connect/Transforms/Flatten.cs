using Tributary.Connect.Api.Config;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.Transforms;

/// <summary>Kafka's Flatten: nested structs/maps become top-level fields named <c>outer.inner</c> (<c>delimiter</c>).</summary>
public abstract class Flatten(bool onKey) : KeyOrValueTransform(onKey)
{
    private const string Purpose = "flattening";
    private string delimiter = ".";

    public override ConfigDef Config { get; } = new ConfigDef()
        .Define("delimiter", ConfigType.String, ".", Importance.Medium, "Delimiter to insert between field names from the input record when generating field names for the output record");

    public override void Configure(IReadOnlyDictionary<string, string> configs) => delimiter = ParsedConfig.Of(Config, configs).GetString("delimiter")!;

    protected override ConnectRecord ApplySchemaless(ConnectRecord record, object? value)
    {
        if (value is null)
        {
            return record;
        }

        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        FlattenMap(RequireMap(value, Purpose), "", result, 0);
        return NewRecord(record, null, result);
    }

    private void FlattenMap(IDictionary<string, object?> map, string prefix, Dictionary<string, object?> into, int depth)
    {
        if (depth > Schema.MaxNestingDepth)
        {
            throw new DataException("Value nested deeper than " + Schema.MaxNestingDepth);
        }

        foreach (var (k, v) in map)
        {
            var name = prefix.Length == 0 ? k : prefix + delimiter + k;
            if (v is System.Collections.IDictionary nested)
            {
                FlattenMap(RequireMap(nested, Purpose), name, into, depth + 1);
            }
            else
            {
                into[name] = v;
            }
        }
    }

    protected override ConnectRecord ApplyWithSchema(ConnectRecord record, Schema schema, object? value)
    {
        if (schema.Type != SchemaType.Struct)
        {
            throw new DataException($"Only Struct objects supported for [{Purpose}], found: {schema.Type}");
        }

        var builder = SchemaBuilder.CopyOf(schema);
        BuildSchema(schema, "", builder, schema.IsOptional, 0);
        var flatSchema = builder.Build();
        if (value is null)
        {
            return NewRecord(record, flatSchema, null);
        }

        var flat = new Struct(flatSchema);
        FillStruct(RequireStruct(value, Purpose), "", flat);
        return NewRecord(record, flatSchema, flat);
    }

    private void BuildSchema(Schema schema, string prefix, SchemaBuilder into, bool optionalParent, int depth)
    {
        if (depth > Schema.MaxNestingDepth)
        {
            throw new DataException("Schema nested deeper than " + Schema.MaxNestingDepth);
        }

        foreach (var f in schema.Fields)
        {
            var name = prefix.Length == 0 ? f.Name : prefix + delimiter + f.Name;
            if (f.Schema.Type == SchemaType.Struct)
            {
                BuildSchema(f.Schema, name, into, optionalParent || f.Schema.IsOptional, depth + 1);
            }
            else if (f.Schema.Type is SchemaType.Map)
            {
                throw new DataException($"Flatten transformation does not support {f.Schema.Type.ToString().ToUpperInvariant()} for record with schemas (for field {name}).");
            }
            else
            {
                var fieldSchema = f.Schema;
                if (optionalParent && !fieldSchema.IsOptional)
                {
                    var copy = SchemaBuilder.CopyOf(fieldSchema).Optional();
                    copy.DefaultValue(fieldSchema.DefaultValue);
                    fieldSchema = copy.Build();
                }

                into.Field(name, fieldSchema);
            }
        }
    }

    private void FillStruct(Struct s, string prefix, Struct into)
    {
        foreach (var f in s.Schema.Fields)
        {
            var name = prefix.Length == 0 ? f.Name : prefix + delimiter + f.Name;
            var v = s.Get(f);
            if (f.Schema.Type == SchemaType.Struct)
            {
                if (v is Struct nested)
                {
                    FillStruct(nested, name, into);
                }
            }
            else
            {
                into.Put(name, v);
            }
        }
    }

    public sealed class Key() : Flatten(true);

    public sealed class Value() : Flatten(false);
}
