using Tributary.Connect.Api.Config;
using Tributary.Connect.Api.Data;
using Tributary.Connect.Transforms;
using static Tributary.Connect.Tests.Transforms.TransformTestKit;

namespace Tributary.Connect.Tests.Transforms;

public class StructureTransformTests
{
    [Fact]
    public void Cast_changes_field_types_with_field_colon_type_pairs()
    {
        var schema = SchemaBuilder.Struct().Field("a", Schema.Int64).Field("b", Schema.String).Field("c", Schema.OptionalBoolean).Build();
        var value = new Struct(schema).Put("a", 42L).Put("b", "3.5").Put("c", true);
        using var t = Configured<Cast.Value>(("spec", "a:int32,b:float64,c:int8"));
        var r = t.Apply(Source(schema, value))!;
        var s = Assert.IsType<Struct>(r.Value);
        Assert.Equal(42, s.Get("a"));
        Assert.Equal(3.5d, s.Get("b"));
        Assert.Equal((sbyte)1, s.Get("c"));
        Assert.Equal(SchemaType.Int32, r.ValueSchema!.Field("a")!.Schema.Type);
        Assert.True(r.ValueSchema.Field("c")!.Schema.IsOptional);
    }

    [Fact]
    public void Cast_of_the_whole_value_uses_a_single_type()
    {
        using var t = Configured<Cast.Value>(("spec", "string"));
        var r = t.Apply(Source(Schema.Int32, 7))!;
        Assert.Equal("7", r.Value);
        Assert.Equal(SchemaType.String, r.ValueSchema!.Type);
    }

    [Fact]
    public void Cast_schemaless_casts_map_entries()
    {
        using var t = Configured<Cast.Value>(("spec", "n:int16,flag:boolean"));
        var r = t.Apply(Source(null, Map(("n", 12L), ("flag", "true"))))!;
        Assert.Equal(Map(("n", (short)12), ("flag", true)), r.Value);
    }

    [Fact]
    public void Cast_rejects_an_unknown_target_type()
    {
        var t = new Cast.Value();
        var e = Assert.Throws<ConfigException>(() => t.Configure(new Dictionary<string, string> { ["spec"] = "a:decimal" }));
        Assert.Contains("Invalid type found in casting spec", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Flatten_schemaless_joins_nested_names_with_the_delimiter()
    {
        // Kafka's documented example: {"content": {"id": 42, "name": {"first": "David", "middle": null, "last": "Wong"}}}
        var nested = Map(("content", Map(("id", 42L), ("name", Map(("first", "David"), ("middle", null), ("last", "Wong"))))));
        using var t = Configured<Flatten.Value>();
        var r = t.Apply(Source(null, nested))!;
        Assert.Equal(Map(("content.id", 42L), ("content.name.first", "David"), ("content.name.middle", null), ("content.name.last", "Wong")), r.Value);
    }

    [Fact]
    public void Flatten_with_schema_flattens_structs_and_honours_the_delimiter()
    {
        var name = SchemaBuilder.Struct().Field("first", Schema.String).Field("last", Schema.String).Optional().Build();
        var schema = SchemaBuilder.Struct().Field("id", Schema.Int32).Field("name", name).Build();
        var value = new Struct(schema).Put("id", 42).Put("name", new Struct(name).Put("first", "David").Put("last", "Wong"));
        using var t = Configured<Flatten.Value>(("delimiter", "_"));
        var r = t.Apply(Source(schema, value))!;
        var s = Assert.IsType<Struct>(r.Value);
        Assert.Equal(["id", "name_first", "name_last"], r.ValueSchema!.Fields.Select(f => f.Name));
        Assert.Equal("David", s.Get("name_first"));
        Assert.True(r.ValueSchema.Field("name_first")!.Schema.IsOptional); // its parent was optional
    }

    [Fact]
    public void RegexRouter_renames_a_fully_matching_topic_with_groups()
    {
        using var t = Configured<RegexRouter>(("regex", "(.*)customers_database-customers(.*)"), ("replacement", "$1customers$2"));
        Assert.Equal("dbserver1.customers_v2", t.Apply(Source(null, "x", topic: "dbserver1.customers_database-customers_v2"))!.Topic);
    }

    [Fact]
    public void RegexRouter_leaves_a_topic_that_does_not_fully_match()
    {
        using var t = Configured<RegexRouter>(("regex", "orders"), ("replacement", "x"));
        Assert.Equal("all-orders", t.Apply(Source(null, "x", topic: "all-orders"))!.Topic);
    }

    [Fact]
    public void TimestampRouter_appends_the_formatted_record_timestamp()
    {
        using var t = Configured<TimestampRouter>(("topic.format", "${topic}-${timestamp}"), ("timestamp.format", "YYYYMM"));
        var ts = (long)(new DateTime(2024, 3, 9, 0, 0, 0, DateTimeKind.Utc) - DateTime.UnixEpoch).TotalMilliseconds;
        Assert.Equal("pageviews-202403", t.Apply(Source(null, "x", topic: "pageviews", timestamp: ts))!.Topic);
    }

    [Fact]
    public void TimestampRouter_default_format_is_topic_dash_yyyyMMdd()
    {
        using var t = Configured<TimestampRouter>();
        var ts = (long)(new DateTime(2024, 3, 9, 13, 0, 0, DateTimeKind.Utc) - DateTime.UnixEpoch).TotalMilliseconds;
        Assert.Equal("logs-20240309", t.Apply(Source(null, "x", topic: "logs", timestamp: ts))!.Topic);
    }

    [Fact]
    public void TimestampRouter_without_a_timestamp_is_an_error()
    {
        using var t = Configured<TimestampRouter>();
        Assert.Throws<DataException>(() => t.Apply(Source(null, "x")));
    }

    [Fact]
    public void Filter_drops_every_record()
    {
        using var t = Configured<Filter>();
        Assert.Null(t.Apply(Source(null, "x")));
    }

    [Fact]
    public void TopicNameMatches_tests_the_whole_topic_name()
    {
        var p = new TopicNameMatches();
        p.Configure(new Dictionary<string, string> { ["pattern"] = "foo.*" });
        Assert.True(p.Test(Source(null, "x", topic: "foo-bar")));
        Assert.False(p.Test(Source(null, "x", topic: "a-foo")));
    }

    [Fact]
    public void TopicNameMatches_rejects_an_invalid_pattern()
    {
        var p = new TopicNameMatches();
        Assert.Throws<ConfigException>(() => p.Configure(new Dictionary<string, string> { ["pattern"] = "(" }));
    }

    [Fact]
    public void HasHeaderKey_is_true_only_when_the_header_is_present()
    {
        var p = new HasHeaderKey();
        p.Configure(new Dictionary<string, string> { ["name"] = "trace" });
        var with = new SourceRecord(null, null, "t", null, null, null, null, "v", null, [new ConnectHeader("trace", [1])]);
        Assert.True(p.Test(with));
        Assert.False(p.Test(Source(null, "v")));
    }

    [Fact]
    public void RecordIsTombstone_is_true_for_a_null_value()
    {
        var p = new RecordIsTombstone();
        Assert.True(p.Test(Source(null, null)));
        Assert.False(p.Test(Source(null, "v")));
    }
}
