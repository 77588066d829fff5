using System.Text;
using System.Text.Json.Nodes;
using Tributary.Connect.Api.Data;
using Tributary.Connect.Converters.Registry;

namespace Tributary.Connect.Tests.Converters.Registry;

public class JsonSchemaConverterTests
{
    private readonly FakeSchemaRegistryClient registry = new();

    private JsonSchemaConverter Converter()
    {
        var c = new JsonSchemaConverter { RegistryOverride = registry };
        c.Configure(new Dictionary<string, string> { ["schema.registry.url"] = "http://registry.invalid:8081" }, isKey: false);
        return c;
    }

    [Fact]
    public void A_struct_of_every_type_round_trips_through_json_schema()
    {
        var price = SchemaBuilder.Bytes().Name(Logical.Decimal.LogicalName).Version(1).Parameter("scale", "2").Build();
        var schema = SchemaBuilder.Struct().Name("com.example.All")
            .Field("i8", Schema.Int8).Field("i16", Schema.Int16).Field("i32", Schema.Int32).Field("i64", Schema.Int64)
            .Field("f32", Schema.Float32).Field("f64", Schema.Float64).Field("b", Schema.Boolean).Field("s", Schema.OptionalString)
            .Field("bytes", Schema.Bytes)
            .Field("list", SchemaBuilder.Array(Schema.Int32).Build())
            .Field("map", SchemaBuilder.Map(Schema.String, Schema.OptionalInt64).Build())
            .Field("intKeys", SchemaBuilder.Map(Schema.Int32, Schema.String).Build())
            .Field("inner", SchemaBuilder.Struct().Field("x", Schema.String).Optional().Build())
            .Field("price", price).Field("day", Logical.Date.Schema).Field("t", Logical.Time.Schema).Field("ts", Logical.Timestamp.Schema)
            .Build();
        var value = new Struct(schema).Put("i8", (sbyte)1).Put("i16", (short)2).Put("i32", 3).Put("i64", 4L).Put("f32", 1.5f).Put("f64", 2.5)
            .Put("b", true).Put("s", null).Put("bytes", new byte[] { 1, 2, 3 }).Put("list", new List<object?> { 1, 2 })
            .Put("map", new Dictionary<object, object?> { ["a"] = 1L, ["n"] = null }).Put("intKeys", new Dictionary<object, object?> { [5] = "five" })
            .Put("inner", new Struct(schema.Field("inner")!.Schema).Put("x", "y")).Put("price", 10.25m)
            .Put("day", new DateTime(2026, 12, 7, 0, 0, 0, DateTimeKind.Utc)).Put("t", DateTime.UnixEpoch.AddMilliseconds(1234))
            .Put("ts", new DateTime(2026, 12, 7, 1, 2, 3, 4, DateTimeKind.Utc));

        var bytes = Converter().FromConnectData("t", schema, value)!;
        var back = Converter().ToConnectData("t", bytes);

        Assert.Equal(schema, back.Schema);
        Assert.Equal(value, back.Value);
        Assert.Equal(0, bytes[0]);
        var payload = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 5, bytes.Length - 5))!;
        Assert.Equal("AQID", payload["bytes"]!.GetValue<string>());
        Assert.Equal(10.25m, payload["price"]!.GetValue<decimal>());
    }

    [Fact]
    public void Optional_fields_are_one_of_null_and_structs_are_titled_objects_in_the_registered_schema()
    {
        var schema = SchemaBuilder.Struct().Name("Thing").Field("a", Schema.OptionalString).Build();
        Converter().FromConnectData("js", schema, new Struct(schema).Put("a", "x"));
        var registered = JsonNode.Parse(registry.GetById(registry.Subjects["js-value"][0]).Schema)!;
        Assert.Equal("JSON", registry.GetById(1).SchemaType);
        Assert.Equal("object", registered["type"]!.GetValue<string>());
        Assert.Equal("Thing", registered["title"]!.GetValue<string>());
        Assert.Equal("null", registered["properties"]!["a"]!["oneOf"]![0]!["type"]!.GetValue<string>());
        Assert.Equal(0, registered["properties"]!["a"]!["connect.index"]!.GetValue<int>());
    }

    [Fact]
    public void A_schema_written_elsewhere_with_type_lists_formats_and_refs_is_read()
    {
        var text = """
            {"title":"Order","type":"object","properties":{
              "Id":{"type":["null","string"]},
              "Quantity":{"type":"integer","format":"int32"},
              "Ship":{"oneOf":[{"type":"null"},{"$ref":"#/definitions/Address"}]}},
             "definitions":{"Address":{"type":"object","properties":{"City":{"type":"string"}}}}}
            """;
        var id = registry.Register("ext-value", new RegisteredSchema(text, "JSON"), false);
        byte[] message = [0, 0, 0, 0, (byte)id, .. """{"Id":"o-1","Quantity":3,"Ship":{"City":"Porto"}}"""u8];

        var sv = Converter().ToConnectData("ext", message);

        var s = (Struct)sv.Value!;
        Assert.Equal("Order", sv.Schema!.Name);
        Assert.True(sv.Schema.Field("Id")!.Schema.IsOptional);
        Assert.Equal("o-1", s.Get("Id"));
        Assert.Equal(3, s.Get("Quantity"));
        Assert.Equal("Porto", ((Struct)s.Get("Ship")!).Get("City"));
    }

    [Fact]
    public void Bad_json_after_the_header_is_refused_with_a_data_exception()
    {
        var schema = SchemaBuilder.Struct().Field("a", Schema.Int32).Build();
        var good = Converter().FromConnectData("t", schema, new Struct(schema).Put("a", 1))!;
        Assert.Throws<DataException>(() => Converter().ToConnectData("t", [.. good[..5], .. "{\"a\":"u8]));
        Assert.Throws<DataException>(() => Converter().ToConnectData("t", [.. good[..5], .. "{\"a\":\"x\"}"u8]));
    }
}
