using System.Text;
using Tributary.Connect.Api.Data;
using Tributary.Connect.Converters;

namespace Tributary.Connect.Tests.Converters;

public class ConverterTests
{
    private static JsonConverter Json(bool schemas)
    {
        var c = new JsonConverter();
        c.Configure(new Dictionary<string, string> { ["schemas.enable"] = schemas ? "true" : "false" }, isKey: false);
        return c;
    }

    [Fact]
    public void Json_with_schemas_writes_the_schema_payload_envelope()
    {
        var schema = SchemaBuilder.Struct().Field("id", Schema.Int32).Field("name", Schema.OptionalString).Build();
        var bytes = Json(true).FromConnectData("t", schema, new Struct(schema).Put("id", 1).Put("name", "a"))!;
        Assert.Equal(
            "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"id\"},{\"type\":\"string\",\"optional\":true,\"field\":\"name\"}],\"optional\":false},\"payload\":{\"id\":1,\"name\":\"a\"}}",
            Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public void Json_with_schemas_reads_back_a_struct()
    {
        var json = "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int64\",\"optional\":false,\"field\":\"id\"},{\"type\":\"bytes\",\"optional\":true,\"field\":\"b\"}],\"optional\":false,\"name\":\"r\"},\"payload\":{\"id\":5,\"b\":\"AQI=\"}}";
        var sv = Json(true).ToConnectData("t", Encoding.UTF8.GetBytes(json));
        var s = Assert.IsType<Struct>(sv.Value);
        Assert.Equal(5L, s.Get("id"));
        Assert.Equal(new byte[] { 1, 2 }, s.Get("b"));
        Assert.Equal("r", sv.Schema!.Name);
    }

    [Fact]
    public void Json_with_schemas_rejects_plain_json_with_kafkas_hint()
    {
        var e = Assert.Throws<DataException>(() => Json(true).ToConnectData("t", Encoding.UTF8.GetBytes("{\"a\":1}")));
        Assert.Contains("schemas.enable=false", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_without_schemas_reads_objects_as_maps_and_integers_as_int64()
    {
        var sv = Json(false).ToConnectData("t", Encoding.UTF8.GetBytes("{\"a\":1,\"b\":[1.5,\"x\"],\"c\":{\"d\":true}}"));
        Assert.Null(sv.Schema);
        var map = Assert.IsType<Dictionary<string, object?>>(sv.Value);
        Assert.Equal(1L, map["a"]);
        Assert.Equal(new List<object?> { 1.5, "x" }, map["b"]);
        Assert.Equal(true, ((Dictionary<string, object?>)map["c"]!)["d"]);
    }

    [Fact]
    public void Json_round_trips_a_null_as_a_tombstone()
    {
        Assert.Null(Json(true).FromConnectData("t", null, null));
        Assert.Equal(SchemaAndValue.Null, Json(true).ToConnectData("t", null));
    }

    [Fact]
    public void Json_rejects_malformed_bytes_with_a_data_exception()
    {
        Assert.Throws<DataException>(() => Json(false).ToConnectData("t", Encoding.UTF8.GetBytes("{not json")));
    }

    [Fact]
    public void Json_rejects_a_missing_required_field()
    {
        var json = "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"id\"}],\"optional\":false},\"payload\":{}}";
        Assert.Throws<DataException>(() => Json(true).ToConnectData("t", Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void String_converter_writes_utf8_and_reads_an_optional_string()
    {
        var c = new StringConverter();
        c.Configure(new Dictionary<string, string>(), false);
        Assert.Equal("héllo"u8.ToArray(), c.FromConnectData("t", Schema.String, "héllo"));
        var sv = c.ToConnectData("t", "héllo"u8.ToArray());
        Assert.Equal("héllo", sv.Value);
        Assert.Equal(Schema.OptionalString, sv.Schema);
    }

    [Fact]
    public void ByteArray_converter_passes_bytes_and_refuses_other_schemas()
    {
        var c = new ByteArrayConverter();
        Assert.Equal(new byte[] { 9 }, c.FromConnectData("t", Schema.Bytes, new byte[] { 9 }));
        Assert.Throws<DataException>(() => c.FromConnectData("t", Schema.String, "x"));
    }
}
