using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Tributary.Connect.Api.Data;
using Tributary.Connect.Converters.Registry;

namespace Tributary.Connect.Tests.Converters.Registry;

public class AvroConverterTests
{
    private readonly FakeSchemaRegistryClient registry = new();

    private AvroConverter Converter(bool isKey = false, params (string Key, string Value)[] settings)
    {
        var c = new AvroConverter { RegistryOverride = registry };
        var config = new Dictionary<string, string> { ["schema.registry.url"] = "http://registry.invalid:8081" };
        foreach (var (k, v) in settings)
        {
            config[k] = v;
        }

        c.Configure(config, isKey);
        return c;
    }

    private SchemaAndValue RoundTrip(Schema schema, object? value, string topic = "t")
    {
        var bytes = Converter().FromConnectData(topic, schema, value);
        Assert.NotNull(bytes);
        return Converter().ToConnectData(topic, bytes);
    }

    private JsonNode RegisteredSchemaJson(string subject) => JsonNode.Parse(registry.GetById(registry.Subjects[subject][^1]).Schema)!;

    public static TheoryData<string, Schema, object> Primitives() => new()
    {
        { "int8", Schema.Int8, (sbyte)-7 },
        { "int16", Schema.Int16, (short)-30000 },
        { "int32", Schema.Int32, int.MinValue },
        { "int64", Schema.Int64, long.MaxValue },
        { "float32", Schema.Float32, 1.5f },
        { "float64", Schema.Float64, -2.25e300 },
        { "boolean", Schema.Boolean, true },
        { "string", Schema.String, "héllo wörld" },
        { "bytes", Schema.Bytes, new byte[] { 0, 1, 255 } },
    };

    [Theory]
    [MemberData(nameof(Primitives))]
    public void Every_primitive_type_round_trips_with_its_schema(string name, Schema schema, object value)
    {
        var back = RoundTrip(schema, value);
        Assert.Equal(schema, back.Schema);
        Assert.True(ValueEquality.Equal(value, back.Value), $"{name}: {ValueEquality.Show(value)} came back as {ValueEquality.Show(back.Value)}");
    }

    [Fact]
    public void Int8_and_int16_are_avro_ints_marked_with_connect_type()
    {
        Converter().FromConnectData("small", Schema.Int8, (sbyte)1);
        Assert.Equal("{\"type\":\"int\",\"connect.type\":\"int8\"}", RegisteredSchemaJson("small-value").ToJsonString());
    }

    [Fact]
    public void A_struct_with_nested_structs_arrays_maps_and_logical_types_round_trips()
    {
        var address = SchemaBuilder.Struct().Name("com.example.Address").Field("street", Schema.String).Field("zip", Schema.OptionalInt32).Build();
        var price = SchemaBuilder.Bytes().Name(Logical.Decimal.LogicalName).Version(1).Parameter("scale", "2").Build();
        var schema = SchemaBuilder.Struct().Name("com.example.Order").Version(3).Doc("an order")
            .Field("id", Schema.Int64)
            .Field("note", Schema.OptionalString)
            .Field("address", address)
            .Field("previous", SchemaBuilder.Struct().Name("com.example.Address").Field("street", Schema.String).Field("zip", Schema.OptionalInt32).Optional().Build())
            .Field("tags", SchemaBuilder.Array(Schema.String).Build())
            .Field("counts", SchemaBuilder.Map(Schema.String, Schema.Int32).Build())
            .Field("byCode", SchemaBuilder.Map(Schema.Int32, Schema.OptionalString).Build())
            .Field("price", price)
            .Field("day", Logical.Date.Schema)
            .Field("at", Logical.Time.Schema)
            .Field("created", Logical.Timestamp.Schema)
            .Field("flags", SchemaBuilder.Array(SchemaBuilder.Struct().Field("on", Schema.Boolean).Build()).Optional().Build())
            .Build();
        var value = new Struct(schema)
            .Put("id", 42L)
            .Put("note", null)
            .Put("address", new Struct(address).Put("street", "Main St").Put("zip", 12345))
            .Put("previous", null)
            .Put("tags", new List<object?> { "a", "b" })
            .Put("counts", new Dictionary<object, object?> { ["x"] = 1, ["y"] = 2 })
            .Put("byCode", new Dictionary<object, object?> { [7] = "seven", [8] = null })
            .Put("price", 1234.56m)
            .Put("day", new DateTime(2026, 12, 7, 0, 0, 0, DateTimeKind.Utc))
            .Put("at", DateTime.UnixEpoch.AddMilliseconds(45_296_789))
            .Put("created", new DateTime(2026, 12, 7, 23, 1, 2, 345, DateTimeKind.Utc))
            .Put("flags", new List<object?> { new Struct(schema.Field("flags")!.Schema.ValueSchema!).Put("on", true) });

        var back = RoundTrip(schema, value);

        Assert.Equal(schema, back.Schema);
        Assert.Equal(value, back.Value);
        Assert.Equal("an order", back.Schema!.Doc);
        Assert.Equal("2", back.Schema.Field("price")!.Schema.Parameters["scale"]);
    }

    [Fact]
    public void Optional_fields_are_unions_with_null_defaulting_to_null()
    {
        var schema = SchemaBuilder.Struct().Field("name", Schema.OptionalString).Build();
        Converter().FromConnectData("opt", schema, new Struct(schema).Put("name", "x"));
        var avro = RegisteredSchemaJson("opt-value");
        Assert.Equal("record", avro["type"]!.GetValue<string>());
        Assert.Equal("ConnectDefault", avro["name"]!.GetValue<string>());
        Assert.Equal("io.confluent.connect.avro", avro["namespace"]!.GetValue<string>());
        var field = avro["fields"]![0]!;
        Assert.Equal("[\"null\",\"string\"]", field["type"]!.ToJsonString());
        Assert.True(field.AsObject().ContainsKey("default"));
        Assert.Null(field["default"]);
    }

    [Fact]
    public void Logical_types_carry_avros_logical_type_and_connects_name()
    {
        var schema = SchemaBuilder.Struct()
            .Field("d", SchemaBuilder.Bytes().Name(Logical.Decimal.LogicalName).Version(1).Parameter("scale", "3").Build())
            .Field("day", Logical.Date.Schema).Field("t", Logical.Time.Schema).Field("ts", Logical.Timestamp.Schema).Build();
        Converter().FromConnectData("lt", schema, new Struct(schema).Put("d", 1.5m).Put("day", 1).Put("t", 2).Put("ts", 3L));
        var fields = RegisteredSchemaJson("lt-value")["fields"]!.AsArray();
        Assert.Equal("decimal", fields[0]!["type"]!["logicalType"]!.GetValue<string>());
        Assert.Equal(3, fields[0]!["type"]!["scale"]!.GetValue<int>());
        Assert.Equal(Logical.Decimal.LogicalName, fields[0]!["type"]!["connect.name"]!.GetValue<string>());
        Assert.Equal("date", fields[1]!["type"]!["logicalType"]!.GetValue<string>());
        Assert.Equal("time-millis", fields[2]!["type"]!["logicalType"]!.GetValue<string>());
        Assert.Equal("timestamp-millis", fields[3]!["type"]!["logicalType"]!.GetValue<string>());
    }

    [Fact]
    public void A_field_default_fills_a_null_and_survives_the_round_trip()
    {
        var schema = SchemaBuilder.Struct().Field("n", SchemaBuilder.Int32().DefaultValue(5).Build()).Build();
        var back = RoundTrip(schema, new Struct(schema));
        Assert.Equal(5, ((Struct)back.Value!).Get("n"));
        Assert.Equal(5, back.Schema!.Field("n")!.Schema.DefaultValue);
        Assert.Equal(5, RegisteredSchemaJson("t-value")["fields"]![0]!["default"]!.GetValue<int>());
    }

    [Fact]
    public void Decimal_with_more_digits_than_its_scale_is_refused()
    {
        var schema = SchemaBuilder.Bytes().Name(Logical.Decimal.LogicalName).Version(1).Parameter("scale", "1").Build();
        Assert.Throws<DataException>(() => Converter().FromConnectData("t", schema, 1.25m));
    }

    [Fact]
    public void Negative_decimals_round_trip()
    {
        var schema = SchemaBuilder.Bytes().Name(Logical.Decimal.LogicalName).Version(1).Parameter("scale", "4").Build();
        Assert.Equal(-98765.4321m, RoundTrip(schema, -98765.4321m).Value);
    }

    [Fact]
    public void The_message_is_magic_zero_then_the_big_endian_schema_id_then_avro()
    {
        Converter().FromConnectData("other", Schema.String, "x"); // takes id 1
        var bytes = Converter().FromConnectData("t", Schema.Int64, 1L)!;
        Assert.Equal(0, bytes[0]);
        Assert.Equal(2, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(1)));
        Assert.Equal([0x02], bytes[5..]); // zig-zag 1
    }

    [Fact]
    public void A_null_value_is_a_tombstone_both_ways()
    {
        Assert.Null(Converter().FromConnectData("t", Schema.OptionalString, null));
        Assert.Equal(SchemaAndValue.Null, Converter().ToConnectData("t", null));
        Assert.Empty(registry.Calls);
    }

    [Fact]
    public void Topic_name_strategy_registers_under_topic_dash_key_and_value()
    {
        Converter(isKey: true).FromConnectData("orders", Schema.String, "k");
        Converter().FromConnectData("orders", Schema.Int32, 1);
        Assert.Equal(["orders-key", "orders-value"], registry.Subjects.Keys.Order());
    }

    [Fact]
    public void Record_name_strategies_register_under_the_record_name()
    {
        var schema = SchemaBuilder.Struct().Name("com.example.Thing").Field("a", Schema.Int32).Build();
        Converter(false, ("value.subject.name.strategy", "io.confluent.kafka.serializers.subject.RecordNameStrategy"))
            .FromConnectData("t1", schema, new Struct(schema).Put("a", 1));
        Converter(false, ("value.subject.name.strategy", "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy"))
            .FromConnectData("t1", schema, new Struct(schema).Put("a", 1));
        Assert.Equal(["com.example.Thing", "t1-com.example.Thing"], registry.Subjects.Keys.Order());
    }

    [Fact]
    public void Without_auto_register_an_unknown_schema_fails_with_the_registry_error()
    {
        var e = Assert.Throws<DataException>(() => Converter(false, ("auto.register.schemas", "false")).FromConnectData("t", Schema.String, "x"));
        Assert.Contains("40403", e.Message, StringComparison.Ordinal);
        Assert.Equal(["lookup t-value"], registry.Calls);
    }

    [Fact]
    public void Use_latest_version_writes_with_the_subjects_latest_schema_filling_new_fields_from_defaults()
    {
        var v2 = "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":\"string\",\"default\":\"dflt\"}]}";
        var id = registry.Register("t-value", new RegisteredSchema(v2, "AVRO"), false);
        var schema = SchemaBuilder.Struct().Name("R").Field("a", Schema.Int32).Build();

        var bytes = Converter(false, ("use.latest.version", "true"), ("auto.register.schemas", "false")).FromConnectData("t", schema, new Struct(schema).Put("a", 9))!;

        Assert.Equal(id, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(1)));
        var back = (Struct)Converter().ToConnectData("t", bytes).Value!;
        Assert.Equal(9, back.Get("a"));
        Assert.Equal("dflt", back.Get("b"));
    }

    [Fact]
    public void An_avro_schema_from_elsewhere_reads_enums_fixed_and_general_unions()
    {
        var text = "{\"type\":\"record\",\"name\":\"Ev\",\"namespace\":\"x.y\",\"fields\":["
            + "{\"name\":\"color\",\"type\":{\"type\":\"enum\",\"name\":\"Color\",\"symbols\":[\"RED\",\"GREEN\"]}},"
            + "{\"name\":\"hash\",\"type\":{\"type\":\"fixed\",\"name\":\"H\",\"size\":2}},"
            + "{\"name\":\"either\",\"type\":[\"null\",\"int\",\"string\"]},"
            + "{\"name\":\"again\",\"type\":\"Color\"}]}";
        var id = registry.Register("ext-value", new RegisteredSchema(text, "AVRO"), false);
        byte[] message = [0, 0, 0, 0, (byte)id, 0x02, 0xAB, 0xCD, 0x04, 0x06, 0x61, 0x62, 0x63, 0x00];

        var sv = Converter().ToConnectData("ext", message);

        var s = (Struct)sv.Value!;
        Assert.Equal("x.y.Ev", sv.Schema!.Name);
        Assert.Equal("GREEN", s.Get("color"));
        Assert.Equal(new byte[] { 0xAB, 0xCD }, s.Get("hash"));
        Assert.Equal("abc", ((Struct)s.Get("either")!).Get("string"));
        Assert.Equal("RED", s.Get("again"));

        // …and writes the same bytes back from that Connect data.
        Assert.Equal(message[5..], Converter().FromConnectData("ext", sv.Schema, s)![5..]);
    }

    [Fact]
    public void A_message_without_the_magic_byte_is_refused()
    {
        var e = Assert.Throws<DataException>(() => Converter().ToConnectData("t", [1, 0, 0, 0, 1, 2]));
        Assert.Contains("Unknown magic byte", e.Message, StringComparison.Ordinal);
        Assert.Throws<DataException>(() => Converter().ToConnectData("t", [0, 0, 0]));
    }

    [Fact]
    public void A_truncated_or_oversized_avro_body_is_refused_without_allocating_its_claimed_size()
    {
        var schema = SchemaBuilder.Struct().Field("s", Schema.String).Field("l", SchemaBuilder.Array(Schema.Int64).Build()).Build();
        var good = Converter().FromConnectData("t", schema, new Struct(schema).Put("s", "abc").Put("l", new List<object?> { 1L }))!;
        Assert.Throws<DataException>(() => Converter().ToConnectData("t", good[..^2]));

        // A string claiming 2^62 bytes, and an array claiming a billion items.
        byte[] hugeString = [.. good[..5], 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F];
        Assert.Throws<DataException>(() => Converter().ToConnectData("t", hugeString));
        byte[] hugeArray = [.. good[..5], 0x00, 0x80, 0xA8, 0xD6, 0xB9, 0x07];
        Assert.Throws<DataException>(() => Converter().ToConnectData("t", hugeArray));
        Assert.Throws<DataException>(() => Converter().ToConnectData("t", [.. good, 0x00]));
    }

    [Fact]
    public void An_unknown_schema_id_fails_with_the_registry_error()
    {
        var e = Assert.Throws<DataException>(() => Converter().ToConnectData("t", [0, 0, 0, 0, 99, 0]));
        Assert.Contains("40403", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_required_null_is_refused_with_a_data_exception()
    {
        var schema = SchemaBuilder.Struct().Field("a", Schema.Int32).Field("b", Schema.String).Build();
        var s = new Struct(schema).Put("a", 1);
        Assert.Throws<DataException>(() => Converter().FromConnectData("t", schema, s));
    }

    [Fact]
    public void The_registry_is_asked_once_per_schema_thanks_to_the_caches()
    {
        var c = Converter();
        var schema = SchemaBuilder.Struct().Field("a", Schema.Int32).Build();
        byte[]? last = null;
        for (var i = 0; i < 5; i++)
        {
            last = c.FromConnectData("t", schema, new Struct(schema).Put("a", i));
        }

        for (var i = 0; i < 5; i++)
        {
            c.ToConnectData("t", last);
        }

        Assert.Equal(["register t-value", "get 1"], registry.Calls);
    }
}
