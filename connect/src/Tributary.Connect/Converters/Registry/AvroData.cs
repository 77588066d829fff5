using System.Collections;
using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.Converters.Registry;

/// <summary>
/// Connect schemas and values ↔ Avro, as Confluent's AvroData maps them: structs are records (unnamed ones
/// <c>io.confluent.connect.avro.ConnectDefault</c>), optional schemas are unions with null, int8/int16 are ints marked
/// <c>connect.type</c>, maps with non-string keys are arrays of <c>MapEntry</c> records, Decimal/Date/Time/Timestamp carry
/// Avro's logical types, and <c>connect.name</c>/<c>connect.version</c>/<c>connect.doc</c>/<c>connect.parameters</c> keep
/// what Avro has no place for, so a schema comes back as it went out.
/// </summary>
internal static class AvroData
{
    public const string Namespace = "io.confluent.connect.avro";
    public const string DefaultSchemaName = "ConnectDefault";
    public const string DefaultSchemaFullName = Namespace + "." + DefaultSchemaName;
    public const string MapEntryTypeName = "MapEntry";
    public const string UnionSchemaName = Namespace + ".Union";
    public const string EnumParameter = Namespace + ".Enum";
    public const string FixedSizeParameter = "connect.fixed.size";
    public const string DecimalScaleParameter = "scale";
    public const string DecimalPrecisionParameter = "connect.decimal.precision";
    private const string ConnectName = "connect.name";
    private const string ConnectVersion = "connect.version";
    private const string ConnectDoc = "connect.doc";
    private const string ConnectParameters = "connect.parameters";
    private const string ConnectType = "connect.type";
    private const string ConnectInternalType = "connect.internal.type";
    private const int DefaultDecimalPrecision = 64;

    // ---------------- Connect schema → Avro schema ----------------

    /// <summary>The Avro schema for <paramref name="schema"/> (a fresh tree: named types defined once, reused by reference).</summary>
    public static AvroSchema FromConnectSchema(Schema schema) => new ToAvroContext().Convert(schema, 0);

    private sealed class ToAvroContext
    {
        private readonly Dictionary<string, (Schema Connect, AvroSchema Avro)> namedTypes = new(StringComparer.Ordinal);
        private int defaultNames;
        private int mapEntries;

        public AvroSchema Convert(Schema schema, int depth)
        {
            if (depth > Schema.MaxNestingDepth)
            {
                throw new DataException("Schema nested deeper than " + Schema.MaxNestingDepth);
            }

            var avro = ConvertRequired(schema, depth);
            if (!schema.IsOptional)
            {
                return avro;
            }

            if (avro.Type == AvroType.Union)
            {
                // An optional Connect union: null joins the branches (Avro unions do not nest).
                avro.Branches.Insert(0, AvroSchema.Primitive(AvroType.Null));
                return avro;
            }

            // A default must match the union's first branch: null first unless the schema has a non-null default.
            var union = new AvroSchema(AvroType.Union);
            if (schema.DefaultValue is null)
            {
                union.Branches.Add(AvroSchema.Primitive(AvroType.Null));
                union.Branches.Add(avro);
            }
            else
            {
                union.Branches.Add(avro);
                union.Branches.Add(AvroSchema.Primitive(AvroType.Null));
            }

            return union;
        }

        private AvroSchema ConvertRequired(Schema schema, int depth)
        {
            AvroSchema avro;
            switch (schema.Type)
            {
                case SchemaType.Int8:
                case SchemaType.Int16:
                    avro = new AvroSchema(AvroType.Int);
                    avro.Props[ConnectType] = schema.Type == SchemaType.Int8 ? "int8" : "int16";
                    break;
                case SchemaType.Int32:
                    avro = new AvroSchema(AvroType.Int);
                    if (schema.Name == Logical.Date.LogicalName)
                    {
                        avro.Props["logicalType"] = "date";
                    }
                    else if (schema.Name == Logical.Time.LogicalName)
                    {
                        avro.Props["logicalType"] = "time-millis";
                    }

                    break;
                case SchemaType.Int64:
                    avro = new AvroSchema(AvroType.Long);
                    if (schema.Name == Logical.Timestamp.LogicalName)
                    {
                        avro.Props["logicalType"] = "timestamp-millis";
                    }

                    break;
                case SchemaType.Float32:
                    avro = new AvroSchema(AvroType.Float);
                    break;
                case SchemaType.Float64:
                    avro = new AvroSchema(AvroType.Double);
                    break;
                case SchemaType.Boolean:
                    avro = new AvroSchema(AvroType.Boolean);
                    break;
                case SchemaType.String:
                    if (schema.Parameters.TryGetValue(EnumParameter, out var enumName))
                    {
                        return NamedType(schema, enumName, () =>
                        {
                            var e = new AvroSchema(AvroType.Enum) { FullName = enumName, Doc = schema.Doc };
                            foreach (var (k, v) in schema.Parameters)
                            {
                                if (k.StartsWith(EnumParameter + ".", StringComparison.Ordinal))
                                {
                                    e.Symbols.Add(v);
                                }
                            }

                            return e;
                        });
                    }

                    avro = new AvroSchema(AvroType.String);
                    break;
                case SchemaType.Bytes:
                    if (schema.Name == Logical.Decimal.LogicalName)
                    {
                        avro = new AvroSchema(AvroType.Bytes);
                        avro.Props["logicalType"] = "decimal";
                        avro.Props["precision"] = schema.Parameters.TryGetValue(DecimalPrecisionParameter, out var p)
                            ? int.Parse(p, CultureInfo.InvariantCulture) : DefaultDecimalPrecision;
                        avro.Props["scale"] = DecimalScale(schema);
                    }
                    else if (schema.Parameters.TryGetValue(FixedSizeParameter, out var size) && schema.Name is { } fixedName)
                    {
                        return NamedType(schema, fixedName, () => new AvroSchema(AvroType.Fixed) { FullName = fixedName, Size = int.Parse(size, CultureInfo.InvariantCulture) });
                    }
                    else
                    {
                        avro = new AvroSchema(AvroType.Bytes);
                    }

                    break;
                case SchemaType.Array:
                    avro = new AvroSchema(AvroType.Array) { Items = Convert(schema.ValueSchema!, depth + 1) };
                    break;
                case SchemaType.Map:
                    if (schema.KeySchema!.Type == SchemaType.String && !schema.KeySchema.IsOptional)
                    {
                        avro = new AvroSchema(AvroType.Map) { Values = Convert(schema.ValueSchema!, depth + 1) };
                    }
                    else
                    {
                        mapEntries++;
                        var entry = new AvroSchema(AvroType.Record) { FullName = Namespace + "." + MapEntryTypeName + (mapEntries == 1 ? "" : mapEntries.ToString(CultureInfo.InvariantCulture)) };
                        entry.Fields.Add(new AvroField("key", Convert(schema.KeySchema, depth + 1)));
                        entry.Fields.Add(new AvroField("value", Convert(schema.ValueSchema!, depth + 1)));
                        entry.Props[ConnectInternalType] = MapEntryTypeName;
                        avro = new AvroSchema(AvroType.Array) { Items = entry };
                    }

                    break;
                case SchemaType.Struct:
                    if (schema.Name == UnionSchemaName)
                    {
                        var union = new AvroSchema(AvroType.Union);
                        foreach (var f in schema.Fields)
                        {
                            union.Branches.Add(ConvertRequired(f.Schema, depth + 1));
                        }

                        return union;
                    }

                    var name = schema.Name ?? (++defaultNames == 1 ? DefaultSchemaFullName : DefaultSchemaFullName + defaultNames.ToString(CultureInfo.InvariantCulture));
                    return NamedType(schema, name, () =>
                    {
                        var record = new AvroSchema(AvroType.Record) { FullName = name, Doc = schema.Doc };
                        AddConnectProps(schema, record);
                        return record;
                    }, record =>
                    {
                        foreach (var f in schema.Fields)
                        {
                            if (!AvroSchema.IsValidName(f.Name))
                            {
                                throw new DataException($"Field name {f.Name} of {name} is not a valid Avro name ([A-Za-z_][A-Za-z0-9_]*)");
                            }

                            var fieldSchema = Convert(f.Schema, depth + 1);
                            var hasDefault = f.Schema.DefaultValue is not null || f.Schema.IsOptional;
                            record.Fields.Add(new AvroField(f.Name, fieldSchema)
                            {
                                HasDefault = hasDefault,
                                Default = f.Schema.DefaultValue is { } d ? DefaultToJson(f.Schema, d) : null,
                            });
                        }
                    });
                default:
                    throw new DataException("Unknown Connect schema type " + schema.Type);
            }

            AddConnectProps(schema, avro);
            return avro;
        }

        private AvroSchema NamedType(Schema schema, string fullName, Func<AvroSchema> create, Action<AvroSchema>? fill = null)
        {
            foreach (var part in fullName.Split('.'))
            {
                if (!AvroSchema.IsValidName(part))
                {
                    throw new DataException($"Schema name {fullName} is not a valid Avro name");
                }
            }

            if (namedTypes.TryGetValue(fullName, out var existing))
            {
                return existing.Connect.Equals(schema) || existing.Connect.Equals(SchemaBuilderOf(schema).Optional().Build()) || SchemaBuilderOf(existing.Connect).Optional().Build().Equals(schema)
                    ? existing.Avro
                    : throw new DataException($"Two different Connect schemas are named {fullName}; Avro needs distinct names");
            }

            var avro = create();
            namedTypes[fullName] = (schema, avro);
            fill?.Invoke(avro);
            if (avro.Type != AvroType.Record)
            {
                AddConnectProps(schema, avro);
            }

            return avro;
        }

        private static SchemaBuilder SchemaBuilderOf(Schema s)
        {
            var b = SchemaBuilder.CopyOf(s);
            foreach (var f in s.Fields)
            {
                b.Field(f.Name, f.Schema);
            }

            return b.DefaultValue(s.DefaultValue);
        }
    }

    private static void AddConnectProps(Schema schema, AvroSchema avro)
    {
        if (schema.Name is not null)
        {
            avro.Props[ConnectName] = schema.Name;
        }

        if (schema.Version is { } v)
        {
            avro.Props[ConnectVersion] = v;
        }

        if (schema.Doc is not null && avro.Type != AvroType.Record)
        {
            avro.Props[ConnectDoc] = schema.Doc;
        }

        if (schema.Parameters.Count > 0)
        {
            var p = new JsonObject();
            foreach (var (k, val) in schema.Parameters)
            {
                p[k] = val;
            }

            avro.Props[ConnectParameters] = p;
        }
    }

    private static int DecimalScale(Schema schema) =>
        schema.Parameters.TryGetValue(DecimalScaleParameter, out var s) && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var scale)
            ? scale
            : throw new DataException("Decimal schema without a valid 'scale' parameter");

    private static JsonNode? DefaultToJson(Schema schema, object value) => schema.Type switch
    {
        SchemaType.Int8 or SchemaType.Int16 or SchemaType.Int32 => value is DateTime ? null : JsonValue.Create(System.Convert.ToInt32(value, CultureInfo.InvariantCulture)),
        SchemaType.Int64 => value is DateTime dt ? JsonValue.Create(Logical.Timestamp.ToMillis(dt)) : JsonValue.Create(System.Convert.ToInt64(value, CultureInfo.InvariantCulture)),
        SchemaType.Float32 => JsonValue.Create((float)value),
        SchemaType.Float64 => JsonValue.Create((double)value),
        SchemaType.Boolean => JsonValue.Create((bool)value),
        SchemaType.String => JsonValue.Create((string)value),
        SchemaType.Bytes when value is byte[] b => JsonValue.Create(string.Concat(b.Select(x => (char)x))), // Avro: bytes defaults are ISO-8859-1 strings
        _ => throw new DataException($"Default values of {schema.Type} schemas are not supported by the Avro converter"),
    };

    // ---------------- Avro schema → Connect schema ----------------

    /// <summary>The Connect schema a reader sees for <paramref name="avro"/> (what Confluent's toConnectSchema gives).</summary>
    public static Schema ToConnectSchema(AvroSchema avro) => ToConnect(avro, optional: false, null, 0);

    private static Schema ToConnect(AvroSchema avro, bool optional, JsonNode? fieldDefault, int depth)
    {
        if (depth > Schema.MaxNestingDepth)
        {
            throw new DataException("Avro schema nested deeper than " + Schema.MaxNestingDepth + " (recursive schemas have no Connect form)");
        }

        SchemaBuilder b;
        switch (avro.Type)
        {
            case AvroType.Boolean:
                b = SchemaBuilder.Bool();
                break;
            case AvroType.Int:
                b = avro.StringProp(ConnectType) switch
                {
                    "int8" => SchemaBuilder.Int8(),
                    "int16" => SchemaBuilder.Int16(),
                    _ => avro.LogicalType switch
                    {
                        "date" => SchemaBuilder.Int32().Name(Logical.Date.LogicalName).Version(1),
                        "time-millis" => SchemaBuilder.Int32().Name(Logical.Time.LogicalName).Version(1),
                        _ => SchemaBuilder.Int32(),
                    },
                };
                break;
            case AvroType.Long:
                b = avro.LogicalType == "timestamp-millis" ? Logical.Timestamp.Builder() : SchemaBuilder.Int64();
                break;
            case AvroType.Float:
                b = SchemaBuilder.Float32();
                break;
            case AvroType.Double:
                b = SchemaBuilder.Float64();
                break;
            case AvroType.String:
                b = SchemaBuilder.String();
                break;
            case AvroType.Bytes:
            case AvroType.Fixed:
                if (avro.LogicalType == "decimal")
                {
                    var scale = avro.IntProp("scale") ?? 0;
                    b = SchemaBuilder.Bytes().Name(Logical.Decimal.LogicalName).Version(1).Parameter(DecimalScaleParameter, scale.ToString(CultureInfo.InvariantCulture));
                    if (avro.IntProp("precision") is { } precision && precision != DefaultDecimalPrecision)
                    {
                        b.Parameter(DecimalPrecisionParameter, precision.ToString(CultureInfo.InvariantCulture));
                    }
                }
                else
                {
                    b = SchemaBuilder.Bytes();
                    if (avro.Type == AvroType.Fixed)
                    {
                        b.Name(avro.FullName).Parameter(FixedSizeParameter, avro.Size.ToString(CultureInfo.InvariantCulture));
                    }
                }

                break;
            case AvroType.Enum:
                b = SchemaBuilder.String().Name(avro.FullName).Parameter(EnumParameter, avro.FullName!);
                foreach (var sym in avro.Symbols)
                {
                    b.Parameter(EnumParameter + "." + sym, sym);
                }

                break;
            case AvroType.Array:
                if (IsMapEntry(avro.Items!))
                {
                    var entry = avro.Items!;
                    b = SchemaBuilder.Map(ToConnect(entry.Fields[0].Schema, false, null, depth + 1), ToConnect(entry.Fields[1].Schema, false, null, depth + 1));
                }
                else
                {
                    b = SchemaBuilder.Array(ToConnect(avro.Items!, false, null, depth + 1));
                }

                break;
            case AvroType.Map:
                b = SchemaBuilder.Map(Schema.String, ToConnect(avro.Values!, false, null, depth + 1));
                break;
            case AvroType.Record:
                b = SchemaBuilder.Struct();
                if (avro.StringProp(ConnectName) is null && !avro.FullName!.StartsWith(DefaultSchemaFullName, StringComparison.Ordinal))
                {
                    b.Name(avro.FullName);
                }

                if (avro.Doc is not null)
                {
                    b.Doc(avro.Doc);
                }

                foreach (var f in avro.Fields)
                {
                    // Optionality comes from a union with null in the field's type; the field's Avro default becomes the Connect default.
                    b.Field(f.Name, ToConnect(f.Schema, false, f.HasDefault ? f.Default : null, depth + 1));
                }

                break;
            case AvroType.Union:
                var nonNull = avro.Branches.Where(x => x.Type != AvroType.Null).ToList();
                var hasNull = nonNull.Count < avro.Branches.Count;
                if (nonNull.Count == 1)
                {
                    // A default of null means "no default" in Connect: an optional schema already reads null.
                    return ToConnect(nonNull[0], hasNull || optional, fieldDefault, depth + 1);
                }

                b = SchemaBuilder.Struct().Name(UnionSchemaName);
                foreach (var branch in nonNull)
                {
                    var connect = ToConnect(branch, true, null, depth + 1);
                    b.Field(UnionFieldName(branch), connect);
                }

                if (hasNull)
                {
                    b.Optional();
                }

                break;
            case AvroType.Null:
                throw new DataException("An Avro null schema outside a union has no Connect form");
            default:
                throw new DataException("Unknown Avro type " + avro.Type);
        }

        if (avro.StringProp(ConnectName) is { } cname)
        {
            b.Name(cname);
        }

        if (avro.IntProp(ConnectVersion) is { } version)
        {
            b.Version(version);
        }

        if (avro.StringProp(ConnectDoc) is { } doc)
        {
            b.Doc(doc);
        }

        if (avro.Props[ConnectParameters] is JsonObject parameters)
        {
            foreach (var (k, v) in parameters)
            {
                if (v is JsonValue pv && pv.TryGetValue<string>(out var s))
                {
                    b.Parameter(k, s);
                }
            }
        }

        if (optional)
        {
            b.Optional();
        }

        if (fieldDefault is not null && fieldDefault.GetValueKind() != System.Text.Json.JsonValueKind.Null)
        {
            var withoutDefault = b.Build();
            if (DefaultFromJson(withoutDefault, fieldDefault) is { } dv)
            {
                b.DefaultValue(dv);
            }
        }

        return b.Build();
    }

    private static string UnionFieldName(AvroSchema branch) => branch.IsNamed ? branch.FullName![(branch.FullName!.LastIndexOf('.') + 1)..] : AvroSchema.TypeName(branch.Type);

    private static bool IsMapEntry(AvroSchema s) =>
        s.Type == AvroType.Record && s.Fields.Count == 2 && s.Fields[0].Name == "key" && s.Fields[1].Name == "value"
        && (s.StringProp(ConnectInternalType) == MapEntryTypeName || s.FullName!.StartsWith(Namespace + "." + MapEntryTypeName, StringComparison.Ordinal));

    private static object? DefaultFromJson(Schema schema, JsonNode json)
    {
        try
        {
            return schema.Type switch
            {
                SchemaType.Int8 => (sbyte)json.GetValue<int>(),
                SchemaType.Int16 => (short)json.GetValue<int>(),
                SchemaType.Int32 when schema.Name is null => json.GetValue<int>(),
                SchemaType.Int64 when schema.Name is null => json.GetValue<long>(),
                SchemaType.Int64 when schema.Name == Logical.Timestamp.LogicalName => Logical.Timestamp.FromMillis(json.GetValue<long>()),
                SchemaType.Float32 => json.GetValue<float>(),
                SchemaType.Float64 => json.GetValue<double>(),
                SchemaType.Boolean => json.GetValue<bool>(),
                SchemaType.String => json.GetValue<string>(),
                SchemaType.Bytes when schema.Name is null => json.GetValue<string>().Select(c => (byte)c).ToArray(),
                _ => null, // complex defaults are not carried into Connect (readers get the values written)
            };
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new DataException($"Invalid Avro default {json.ToJsonString()} for {schema.Type}", e);
        }
    }

    // ---------------- Connect value → Avro binary ----------------

    /// <summary>Writes <paramref name="value"/> (of Connect schema <paramref name="schema"/>, null when schemaless) as <paramref name="avro"/>.</summary>
    public static void Write(AvroWriter w, AvroSchema avro, Schema? schema, object? value, int depth = 0)
    {
        if (depth > Schema.MaxNestingDepth)
        {
            throw new DataException("Value nested deeper than " + Schema.MaxNestingDepth);
        }

        if (value is null && schema?.DefaultValue is { } d)
        {
            value = d;
        }

        switch (avro.Type)
        {
            case AvroType.Union:
                WriteUnion(w, avro, schema, value, depth);
                return;
            case AvroType.Null:
                if (value is not null)
                {
                    throw new DataException("Non-null value for an Avro null schema");
                }

                return;
        }

        if (value is null)
        {
            throw new DataException($"Null value for a required {AvroSchema.TypeName(avro.Type)} (the Connect schema is not optional and has no default)");
        }

        try
        {
            switch (avro.Type)
            {
                case AvroType.Boolean:
                    w.WriteBoolean((bool)value);
                    break;
                case AvroType.Int:
                    w.WriteInt(value switch
                    {
                        DateTime date when avro.LogicalType == "date" || schema?.Name == Logical.Date.LogicalName => (int)(date.Date - DateTime.UnixEpoch).TotalDays,
                        DateTime time => (int)time.TimeOfDay.TotalMilliseconds,
                        _ => System.Convert.ToInt32(value, CultureInfo.InvariantCulture),
                    });
                    break;
                case AvroType.Long:
                    w.WriteLong(value is DateTime ts ? Logical.Timestamp.ToMillis(ts) : System.Convert.ToInt64(value, CultureInfo.InvariantCulture));
                    break;
                case AvroType.Float:
                    w.WriteFloat(System.Convert.ToSingle(value, CultureInfo.InvariantCulture));
                    break;
                case AvroType.Double:
                    w.WriteDouble(System.Convert.ToDouble(value, CultureInfo.InvariantCulture));
                    break;
                case AvroType.String:
                    w.WriteString((string)value);
                    break;
                case AvroType.Bytes:
                    w.WriteBytes(value is decimal dec ? DecimalToBytes(dec, avro.IntProp("scale") ?? 0) : (byte[])value);
                    break;
                case AvroType.Fixed:
                    var fixedBytes = value is decimal fdec ? DecimalToBytes(fdec, avro.IntProp("scale") ?? 0, avro.Size) : (byte[])value;
                    if (fixedBytes.Length != avro.Size)
                    {
                        throw new DataException($"Fixed {avro.FullName} takes {avro.Size} bytes, got {fixedBytes.Length}");
                    }

                    w.WriteFixed(fixedBytes);
                    break;
                case AvroType.Enum:
                    var index = avro.Symbols.IndexOf((string)value);
                    w.WriteInt(index >= 0 ? index : throw new DataException($"{value} is not a symbol of enum {avro.FullName}"));
                    break;
                case AvroType.Array:
                    if (IsMapEntry(avro.Items!))
                    {
                        var entries = (IDictionary)value;
                        WriteBlockStart(w, entries.Count);
                        foreach (DictionaryEntry e in entries)
                        {
                            Write(w, avro.Items!.Fields[0].Schema, schema?.KeySchema, e.Key, depth + 1);
                            Write(w, avro.Items!.Fields[1].Schema, schema?.ValueSchema, e.Value, depth + 1);
                        }
                    }
                    else
                    {
                        var list = (IList)value;
                        WriteBlockStart(w, list.Count);
                        foreach (var item in list)
                        {
                            Write(w, avro.Items!, schema?.ValueSchema, item, depth + 1);
                        }
                    }

                    w.WriteLong(0);
                    break;
                case AvroType.Map:
                    var map = (IDictionary)value;
                    WriteBlockStart(w, map.Count);
                    foreach (DictionaryEntry e in map)
                    {
                        w.WriteString(e.Key as string ?? throw new DataException("Avro maps need string keys, got " + e.Key.GetType().Name));
                        Write(w, avro.Values!, schema?.ValueSchema, e.Value, depth + 1);
                    }

                    w.WriteLong(0);
                    break;
                case AvroType.Record:
                    var s = value as Struct ?? throw new DataException($"Avro record {avro.FullName} needs a Struct, got {value.GetType().Name}");
                    foreach (var f in avro.Fields)
                    {
                        if (s.Schema.Field(f.Name) is { } cf)
                        {
                            Write(w, f.Schema, cf.Schema, s.Get(cf), depth + 1);
                        }
                        else if (f.HasDefault)
                        {
                            // The registered schema (use.latest.version) has a field this record lacks: Avro's default fills it.
                            WriteDefault(w, f.Schema, f.Default, depth + 1);
                        }
                        else
                        {
                            throw new DataException($"Record {avro.FullName} needs field {f.Name}, which the Connect struct does not have and which has no default");
                        }
                    }

                    break;
            }
        }
        catch (InvalidCastException e)
        {
            throw new DataException($"A {value.GetType().Name} cannot be written as Avro {AvroSchema.TypeName(avro.Type)}", e);
        }
    }

    private static void WriteBlockStart(AvroWriter w, int count)
    {
        if (count > 0)
        {
            w.WriteLong(count);
        }
    }

    private static void WriteUnion(AvroWriter w, AvroSchema union, Schema? schema, object? value, int depth)
    {
        if (value is null)
        {
            var nullIndex = union.Branches.FindIndex(b => b.Type == AvroType.Null);
            w.WriteInt(nullIndex >= 0 ? nullIndex : throw new DataException("Null value for an Avro union without null"));
            return;
        }

        if (value is Struct { Schema.Name: UnionSchemaName } u)
        {
            foreach (var f in u.Schema.Fields)
            {
                if (u.Get(f) is { } branchValue)
                {
                    var bi = union.Branches.FindIndex(b => UnionFieldName(b) == f.Name);
                    if (bi < 0)
                    {
                        throw new DataException($"Union branch {f.Name} is not in the Avro union");
                    }

                    w.WriteInt(bi);
                    Write(w, union.Branches[bi], f.Schema, branchValue, depth + 1);
                    return;
                }
            }

            throw new DataException("Union struct with no branch set");
        }

        var nonNull = union.Branches.Where(b => b.Type != AvroType.Null).ToList();
        var branch = nonNull.Count == 1 ? nonNull[0] : nonNull.FirstOrDefault(b => Accepts(b, value))
            ?? throw new DataException($"No branch of the Avro union takes a {value.GetType().Name}");
        w.WriteInt(union.Branches.IndexOf(branch));
        Write(w, branch, schema, value, depth + 1);
    }

    private static bool Accepts(AvroSchema s, object value) => s.Type switch
    {
        AvroType.Boolean => value is bool,
        AvroType.Int => value is sbyte or short or int || (value is DateTime && s.LogicalType is "date" or "time-millis"),
        AvroType.Long => value is sbyte or short or int or long || (value is DateTime && s.LogicalType == "timestamp-millis"),
        AvroType.Float => value is float,
        AvroType.Double => value is float or double,
        AvroType.String => value is string,
        AvroType.Enum => value is string str && s.Symbols.Contains(str),
        AvroType.Bytes => value is byte[] || (value is decimal && s.LogicalType == "decimal"),
        AvroType.Fixed => value is byte[] b && b.Length == s.Size,
        AvroType.Array => value is IList,
        AvroType.Map => value is IDictionary,
        AvroType.Record => value is Struct st && (st.Schema.Name is null || st.Schema.Name == s.FullName || s.FullName!.StartsWith(DefaultSchemaFullName, StringComparison.Ordinal)),
        _ => false,
    };

    private static void WriteDefault(AvroWriter w, AvroSchema avro, JsonNode? json, int depth)
    {
        if (avro.Type == AvroType.Union)
        {
            w.WriteInt(0); // a union's default is of its first branch
            WriteDefault(w, avro.Branches[0], json, depth + 1);
            return;
        }

        switch (avro.Type)
        {
            case AvroType.Null:
                return;
            case AvroType.Record:
                var o = json as JsonObject ?? throw new DataException("Record default must be a JSON object");
                foreach (var f in avro.Fields)
                {
                    WriteDefault(w, f.Schema, o.ContainsKey(f.Name) ? o[f.Name] : f.Default, depth + 1);
                }

                return;
            case AvroType.Array:
                var a = json as JsonArray ?? throw new DataException("Array default must be a JSON array");
                WriteBlockStart(w, a.Count);
                foreach (var item in a)
                {
                    WriteDefault(w, avro.Items!, item, depth + 1);
                }

                w.WriteLong(0);
                return;
            case AvroType.Map:
                var m = json as JsonObject ?? throw new DataException("Map default must be a JSON object");
                WriteBlockStart(w, m.Count);
                foreach (var (k, v) in m)
                {
                    w.WriteString(k);
                    WriteDefault(w, avro.Values!, v, depth + 1);
                }

                w.WriteLong(0);
                return;
            case AvroType.Bytes:
                w.WriteBytes(json!.GetValue<string>().Select(c => (byte)c).ToArray());
                return;
            case AvroType.Fixed:
                w.WriteFixed(json!.GetValue<string>().Select(c => (byte)c).ToArray());
                return;
            default:
                object? value = avro.Type switch
                {
                    AvroType.Boolean => json!.GetValue<bool>(),
                    AvroType.Int => json!.GetValue<int>(),
                    AvroType.Long => json!.GetValue<long>(),
                    AvroType.Float => json!.GetValue<float>(),
                    AvroType.Double => json!.GetValue<double>(),
                    _ => json!.GetValue<string>(),
                };
                Write(w, avro, null, value, depth + 1);
                return;
        }
    }

    // ---------------- Avro binary → Connect value ----------------

    /// <summary>Reads one value written with <paramref name="avro"/> as Connect data of <paramref name="schema"/> (from <see cref="ToConnectSchema"/>).</summary>
    public static object? Read(ref AvroReader r, AvroSchema avro, Schema schema, int depth = 0)
    {
        if (depth > Schema.MaxNestingDepth)
        {
            throw new DataException("Avro value nested deeper than " + Schema.MaxNestingDepth);
        }

        switch (avro.Type)
        {
            case AvroType.Null:
                return null;
            case AvroType.Boolean:
                return r.ReadBoolean();
            case AvroType.Int:
                var i = r.ReadInt();
                return schema.Type switch
                {
                    SchemaType.Int8 => checked((sbyte)i),
                    SchemaType.Int16 => checked((short)i),
                    _ when schema.Name == Logical.Date.LogicalName => DateTime.UnixEpoch.AddDays(i),
                    _ when schema.Name == Logical.Time.LogicalName => DateTime.UnixEpoch.AddMilliseconds(i),
                    _ => i,
                };
            case AvroType.Long:
                var l = r.ReadLong();
                return schema.Name == Logical.Timestamp.LogicalName ? Logical.Timestamp.FromMillis(l) : l;
            case AvroType.Float:
                return r.ReadFloat();
            case AvroType.Double:
                return r.ReadDouble();
            case AvroType.String:
                return r.ReadString();
            case AvroType.Bytes:
            case AvroType.Fixed:
                var bytes = avro.Type == AvroType.Bytes ? r.ReadBytes() : r.ReadFixed(avro.Size).ToArray();
                return schema.Name == Logical.Decimal.LogicalName ? DecimalFromBytes(bytes, avro.IntProp("scale") ?? 0) : bytes;
            case AvroType.Enum:
                var index = r.ReadInt();
                return index >= 0 && index < avro.Symbols.Count ? avro.Symbols[index] : throw new DataException($"Invalid Avro data: enum index {index} of {avro.FullName}");
            case AvroType.Array:
                var mapEntries = IsMapEntry(avro.Items!);
                var zeroSize = CanBeEmpty(avro.Items!, 0);
                if (mapEntries)
                {
                    var entries = new Dictionary<object, object?>();
                    for (var n = r.ReadBlockCount(zeroSize); n != 0; n = r.ReadBlockCount(zeroSize))
                    {
                        for (var k = 0; k < n; k++)
                        {
                            var key = Read(ref r, avro.Items!.Fields[0].Schema, schema.KeySchema!, depth + 1) ?? throw new DataException("Invalid Avro data: null map key");
                            entries[key] = Read(ref r, avro.Items!.Fields[1].Schema, schema.ValueSchema!, depth + 1);
                        }
                    }

                    return entries;
                }

                var list = new List<object?>();
                for (var n = r.ReadBlockCount(zeroSize); n != 0; n = r.ReadBlockCount(zeroSize))
                {
                    for (var k = 0; k < n; k++)
                    {
                        list.Add(Read(ref r, avro.Items!, schema.ValueSchema!, depth + 1));
                    }
                }

                return list;
            case AvroType.Map:
                var map = new Dictionary<object, object?>();
                for (var n = r.ReadBlockCount(false); n != 0; n = r.ReadBlockCount(false))
                {
                    for (var k = 0; k < n; k++)
                    {
                        var key = r.ReadString();
                        map[key] = Read(ref r, avro.Values!, schema.ValueSchema!, depth + 1);
                    }
                }

                return map;
            case AvroType.Record:
                var s = new Struct(schema);
                for (var k = 0; k < avro.Fields.Count; k++)
                {
                    s.Put(schema.Fields[k], Read(ref r, avro.Fields[k].Schema, schema.Fields[k].Schema, depth + 1));
                }

                return s;
            case AvroType.Union:
                var bi = r.ReadInt();
                if (bi < 0 || bi >= avro.Branches.Count)
                {
                    throw new DataException($"Invalid Avro data: union branch {bi} of {avro.Branches.Count}");
                }

                var branch = avro.Branches[bi];
                if (branch.Type == AvroType.Null)
                {
                    return null;
                }

                if (schema.Type == SchemaType.Struct && schema.Name == UnionSchemaName)
                {
                    var field = schema.Field(UnionFieldName(branch))!;
                    var u = new Struct(schema);
                    u.Put(field, Read(ref r, branch, field.Schema, depth + 1));
                    return u;
                }

                return Read(ref r, branch, schema, depth + 1);
            default:
                throw new DataException("Unknown Avro type " + avro.Type);
        }
    }

    private static bool CanBeEmpty(AvroSchema s, int depth) => depth < 8 && s.Type switch
    {
        AvroType.Null => true,
        AvroType.Record => s.Fields.All(f => CanBeEmpty(f.Schema, depth + 1)),
        AvroType.Fixed => s.Size == 0,
        _ => false,
    };

    /// <summary>Avro's decimal: the unscaled value as big-endian two's complement (fixed: sign-extended to the size).</summary>
    private static byte[] DecimalToBytes(decimal value, int scale, int? fixedSize = null)
    {
        var scaled = value * Pow10(scale);
        if (decimal.Truncate(scaled) != scaled)
        {
            throw new DataException($"Decimal {value} has more than {scale} digits after the point");
        }

        var bytes = new BigInteger(scaled).ToByteArray(isUnsigned: false, isBigEndian: true);
        if (fixedSize is { } size && bytes.Length < size)
        {
            var padded = new byte[size];
            padded.AsSpan(0, size - bytes.Length).Fill(value < 0 ? (byte)0xFF : (byte)0);
            bytes.CopyTo(padded, size - bytes.Length);
            return padded;
        }

        return bytes;
    }

    private static decimal DecimalFromBytes(byte[] bytes, int scale)
    {
        if (scale is < 0 or > 28)
        {
            throw new DataException($"Decimal scale {scale} is outside .NET decimal's 0-28");
        }

        var unscaled = new BigInteger(bytes, isUnsigned: false, isBigEndian: true);
        try
        {
            return (decimal)unscaled / Pow10(scale);
        }
        catch (OverflowException e)
        {
            throw new DataException("Decimal does not fit .NET decimal (28-29 digits)", e);
        }
    }

    private static decimal Pow10(int scale)
    {
        var p = 1m;
        for (var i = 0; i < scale; i++)
        {
            p *= 10m;
        }

        return p;
    }
}
