using Tributary.Connect.Api.Data;
using Tributary.Connect.Transforms;
using static Tributary.Connect.Tests.Transforms.TransformTestKit;

namespace Tributary.Connect.Tests.Transforms;

public class FieldTransformTests
{
    private static readonly Schema Person = SchemaBuilder.Struct()
        .Field("id", Schema.Int32).Field("name", Schema.String).Field("ssn", Schema.OptionalString).Build();

    private static Struct PersonValue() => new Struct(Person).Put("id", 42).Put("name", "Jane").Put("ssn", "123-45-6789");

    [Fact]
    public void ExtractField_value_with_schema_replaces_the_struct_with_the_field()
    {
        using var t = Configured<ExtractField.Value>(("field", "id"));
        var r = t.Apply(Source(Person, PersonValue()))!;
        Assert.Equal(42, r.Value);
        Assert.Equal(Schema.Int32, r.ValueSchema);
    }

    [Fact]
    public void ExtractField_schemaless_takes_the_map_entry_and_null_when_missing()
    {
        using var t = Configured<ExtractField.Value>(("field", "id"));
        Assert.Equal(42L, t.Apply(Source(null, Map(("id", 42L), ("name", "Jane"))))!.Value);
        Assert.Null(t.Apply(Source(null, Map(("name", "Jane"))))!.Value);
    }

    [Fact]
    public void ExtractField_with_schema_rejects_an_unknown_field()
    {
        using var t = Configured<ExtractField.Value>(("field", "nope"));
        Assert.Throws<ArgumentException>(() => t.Apply(Source(Person, PersonValue())));
    }

    [Fact]
    public void ExtractField_key_works_on_the_key()
    {
        using var t = Configured<ExtractField.Key>(("field", "id"));
        var r = t.Apply(Source(null, "v", keySchema: null, key: Map(("id", 7L))))!;
        Assert.Equal(7L, r.Key);
        Assert.Equal("v", r.Value);
    }

    [Fact]
    public void HoistField_wraps_a_schemaless_value_into_a_map()
    {
        using var t = Configured<HoistField.Value>(("field", "line"));
        var r = t.Apply(Source(null, "hello"))!;
        Assert.Equal(Map(("line", "hello")), r.Value);
    }

    [Fact]
    public void HoistField_wraps_a_value_with_schema_into_a_struct()
    {
        using var t = Configured<HoistField.Value>(("field", "line"));
        var r = t.Apply(Source(Schema.String, "hello"))!;
        var s = Assert.IsType<Struct>(r.Value);
        Assert.Equal("hello", s.Get("line"));
        Assert.Equal(SchemaType.Struct, r.ValueSchema!.Type);
        Assert.Equal(Schema.String, r.ValueSchema.Field("line")!.Schema);
    }

    [Fact]
    public void ValueToKey_builds_a_key_struct_from_value_fields()
    {
        using var t = Configured<ValueToKey>(("fields", "id,name"));
        var r = t.Apply(Source(Person, PersonValue()))!;
        var key = Assert.IsType<Struct>(r.Key);
        Assert.Equal(42, key.Get("id"));
        Assert.Equal("Jane", key.Get("name"));
        Assert.Equal(["id", "name"], r.KeySchema!.Fields.Select(f => f.Name));
    }

    [Fact]
    public void ValueToKey_schemaless_builds_a_key_map()
    {
        using var t = Configured<ValueToKey>(("fields", "userId"));
        var r = t.Apply(Source(null, Map(("userId", 5L), ("city", "Oslo"))))!;
        Assert.Equal(Map(("userId", 5L)), r.Key);
    }

    [Fact]
    public void ValueToKey_with_schema_rejects_a_missing_field()
    {
        using var t = Configured<ValueToKey>(("fields", "nope"));
        var e = Assert.Throws<DataException>(() => t.Apply(Source(Person, PersonValue())));
        Assert.Contains("nope", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReplaceField_exclude_drops_the_field()
    {
        using var t = Configured<ReplaceField.Value>(("exclude", "ssn"));
        var r = t.Apply(Source(Person, PersonValue()))!;
        Assert.Equal(["id", "name"], r.ValueSchema!.Fields.Select(f => f.Name));
    }

    [Fact]
    public void ReplaceField_include_keeps_only_listed_fields()
    {
        using var t = Configured<ReplaceField.Value>(("include", "name"));
        var r = t.Apply(Source(null, Map(("id", 1L), ("name", "Jane"), ("ssn", "x"))))!;
        Assert.Equal(Map(("name", "Jane")), r.Value);
    }

    [Fact]
    public void ReplaceField_renames_fields_with_old_colon_new()
    {
        using var t = Configured<ReplaceField.Value>(("renames", "id:user_id,name:full_name"));
        var r = t.Apply(Source(Person, PersonValue()))!;
        var s = Assert.IsType<Struct>(r.Value);
        Assert.Equal(42, s.Get("user_id"));
        Assert.Equal("Jane", s.Get("full_name"));
        Assert.Equal("123-45-6789", s.Get("ssn"));
    }

    [Fact]
    public void ReplaceField_exclude_wins_over_include()
    {
        using var t = Configured<ReplaceField.Value>(("include", "id,name"), ("exclude", "name"));
        Assert.Equal(Map(("id", 1L)), t.Apply(Source(null, Map(("id", 1L), ("name", "J"))))!.Value);
    }

    [Fact]
    public void ReplaceField_rejects_a_rename_without_colon()
    {
        var t = new ReplaceField.Value();
        Assert.Throws<Tributary.Connect.Api.Config.ConfigException>(() => t.Configure(new Dictionary<string, string> { ["renames"] = "a-b" }));
    }

    [Fact]
    public void MaskField_replaces_values_with_their_types_empty_value()
    {
        using var t = Configured<MaskField.Value>(("fields", "ssn,id"));
        var r = t.Apply(Source(Person, PersonValue()))!;
        var s = Assert.IsType<Struct>(r.Value);
        Assert.Equal("", s.Get("ssn"));
        Assert.Equal(0, s.Get("id"));
        Assert.Equal("Jane", s.Get("name"));
    }

    [Fact]
    public void MaskField_uses_the_replacement_for_strings_and_numbers()
    {
        using var t = Configured<MaskField.Value>(("fields", "ssn,age"), ("replacement", "99"));
        var r = t.Apply(Source(null, Map(("ssn", "123"), ("age", 31L), ("name", "J"))))!;
        Assert.Equal(Map(("ssn", "99"), ("age", 99L), ("name", "J")), r.Value);
    }

    [Fact]
    public void InsertField_adds_static_topic_partition_offset_and_timestamp_to_a_sink_record()
    {
        using var t = Configured<InsertField.Value>(("static.field", "MessageSource"), ("static.value", "Kafka Connect framework"),
            ("topic.field", "topic!"), ("partition.field", "partition"), ("offset.field", "offset"), ("timestamp.field", "ts"));
        var r = t.Apply(Sink(Person, PersonValue(), timestamp: 1_600_000_000_000))!;
        var s = Assert.IsType<Struct>(r.Value);
        Assert.Equal("Kafka Connect framework", s.Get("MessageSource"));
        Assert.Equal("test", s.Get("topic"));
        Assert.False(r.ValueSchema!.Field("topic")!.Schema.IsOptional);
        Assert.True(r.ValueSchema.Field("partition")!.Schema.IsOptional);
        Assert.Equal(3, s.Get("partition"));
        Assert.Equal(42L, s.Get("offset"));
        Assert.Equal(DateTime.UnixEpoch.AddMilliseconds(1_600_000_000_000), s.Get("ts"));
        Assert.Equal(Logical.Timestamp.LogicalName, r.ValueSchema.Field("ts")!.Schema.Name);
    }

    [Fact]
    public void InsertField_schemaless_adds_map_entries_and_passes_tombstones()
    {
        using var t = Configured<InsertField.Value>(("static.field", "src"), ("static.value", "db1"));
        Assert.Equal(Map(("a", 1L), ("src", "db1")), t.Apply(Source(null, Map(("a", 1L))))!.Value);
        Assert.Null(t.Apply(Source(null, null))!.Value);
    }

    [Fact]
    public void InsertField_offset_on_a_source_record_is_an_error()
    {
        using var t = Configured<InsertField.Value>(("offset.field", "offset"));
        Assert.Throws<DataException>(() => t.Apply(Source(null, Map(("a", 1L)))));
    }
}
