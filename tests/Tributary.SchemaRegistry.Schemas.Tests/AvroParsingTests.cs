using static Tributary.SchemaRegistry.Schemas.Tests.Schemas;

namespace Tributary.SchemaRegistry.Schemas.Tests;

/// <summary>Avro parsing (Apache.Avro), canonical string (Avro's Schema.toString form), references, normalization.</summary>
public class AvroParsingTests
{
    [Theory]
    [InlineData("{\"type\":\"record\",\"name\":\"User\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}", "not JSON")]
    [InlineData("{\"type\":\"recrod\",\"name\":\"User\",\"fields\":[]}", "recrod")]
    [InlineData("{\"type\":\"record\",\"name\":\"User\",\"fields\":[{\"name\":\"a\",\"type\":\"Missing\"}]}", "Missing")]
    [InlineData("{\"type\":\"record\",\"name\":\"User\",\"fields\":[{\"name\":\"a\",\"type\":\"int\",\"default\":\"x\"}]}", "default")]
    [InlineData("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"A\"]}", "A")]
    [InlineData("\"notatype\"", "notatype")]
    [InlineData("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"1A\"]}", "1A")]
    [InlineData("{\"type\":\"fixed\",\"name\":\"F\"}", "size")]
    [InlineData("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":[\"int\",\"int\"]}]}", "Duplicate")]
    [InlineData("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"a\",\"type\":\"int\"}]}", "duplicate")]
    public void A_malformed_schema_is_rejected_with_a_message_naming_the_problem(string text, string mentioned)
    {
        var error = Assert.Throws<InvalidSchemaException>(() => ParseAvro(text));

        Assert.Contains(mentioned, error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void An_empty_schema_is_rejected()
    {
        Assert.Throws<InvalidSchemaException>(() => ParseAvro("  "));
    }

    [Fact]
    public void Whitespace_and_attribute_order_do_not_change_the_canonical_string()
    {
        var compact = ParseAvro("""{"type":"record","name":"User","namespace":"example","fields":[{"name":"a","type":"int","default":1}]}""");
        var spread = ParseAvro("""
            {
              "fields": [ { "default": 1, "type": "int", "name": "a" } ],
              "namespace": "example",
              "name": "User",
              "type": "record"
            }
            """);

        Assert.Equal(compact.CanonicalString, spread.CanonicalString);
        Assert.True(compact.IsEquivalentTo(spread));
        Assert.Equal("""{"type":"record","name":"User","namespace":"example","fields":[{"name":"a","type":"int","default":1}]}""", compact.CanonicalString);
    }

    [Fact]
    public void A_primitive_schema_is_canonically_a_json_string()
    {
        Assert.Equal("\"string\"", ParseAvro("""{"type":"string"}""").CanonicalString);
    }

    [Fact]
    public void Different_defaults_make_different_schemas()
    {
        Assert.False(AvroUser("""{"name":"a","type":"int","default":1}""").IsEquivalentTo(AvroUser("""{"name":"a","type":"int","default":2}""")));
    }

    [Fact]
    public void A_named_type_is_written_in_full_once_then_by_name()
    {
        var schema = AvroUser(
            """{"name":"home","type":{"type":"record","name":"Address","fields":[{"name":"city","type":"string"}]}}""",
            """{"name":"work","type":"Address"}""");

        Assert.Contains("""{"name":"work","type":"Address"}""", schema.CanonicalString, StringComparison.Ordinal);
    }

    [Fact]
    public void A_reference_makes_the_referenced_named_type_available_and_is_written_by_name()
    {
        const string address = """{"type":"record","name":"Address","namespace":"example","fields":[{"name":"city","type":"string"}]}""";
        var user = Parse(SchemaType.Avro,
            """{"type":"record","name":"User","namespace":"example","fields":[{"name":"home","type":"Address"}]}""",
            ("example.Address", "address-value", address));

        Assert.Equal("""{"type":"record","name":"User","namespace":"example","fields":[{"name":"home","type":"Address"}]}""", user.CanonicalString);
        Assert.Equal([new SchemaReference("example.Address", "address-value", 1)], user.References);
    }

    [Fact]
    public void Without_its_reference_a_schema_using_a_foreign_type_is_invalid()
    {
        var error = Assert.Throws<InvalidSchemaException>(() =>
            ParseAvro("""{"type":"record","name":"User","namespace":"example","fields":[{"name":"home","type":"Address"}]}"""));

        Assert.Contains("Address", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compatibility_follows_referenced_types()
    {
        const string v1Address = """{"type":"record","name":"Address","namespace":"example","fields":[{"name":"city","type":"string"}]}""";
        const string v2Address = """{"type":"record","name":"Address","namespace":"example","fields":[{"name":"city","type":"string"},{"name":"zip","type":"string"}]}""";
        const string user = """{"type":"record","name":"User","namespace":"example","fields":[{"name":"home","type":"Address"}]}""";

        var errors = Check(CompatibilityLevel.Backward,
            Parse(SchemaType.Avro, user, ("example.Address", "address-value", v2Address)),
            Parse(SchemaType.Avro, user, ("example.Address", "address-value", v1Address)));

        Assert.Contains("'/fields/0/type/fields/1'", errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Normalizing_makes_a_namespace_attribute_and_a_dotted_name_equal()
    {
        var withNamespace = ParseAvro("""{"type":"record","name":"User","namespace":"example","fields":[{"name":"a","type":"int"}]}""");
        var dotted = ParseAvro("""{"type":"record","name":"example.User","fields":[{"name":"a","type":"int"}]}""");

        Assert.Equal(withNamespace.Normalize().CanonicalString, dotted.Normalize().CanonicalString);
        Assert.Equal("""{"type":"record","name":"example.User","fields":[{"name":"a","type":"int"}]}""", dotted.Normalize().CanonicalString);
    }

    [Fact]
    public void Custom_attributes_are_kept_in_the_canonical_string()
    {
        var schema = ParseAvro("""{"type":"record","name":"T","fields":[{"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}}]}""");

        Assert.Contains("""{"type":"long","logicalType":"timestamp-millis"}""", schema.CanonicalString, StringComparison.Ordinal);
    }

    [Fact]
    public void Schemas_of_different_types_are_incompatible()
    {
        var avro = ParseAvro("\"string\"");
        var other = new DifferentTypeDouble();

        Assert.Equal(["Incompatible because of different schema type", $"{{oldSchema: '{other.CanonicalString}'}}"],
            Check(CompatibilityLevel.Backward, avro, other));
    }

    /// <summary>Stands in for a schema of another type (below the layer under test: the checker's type guard).</summary>
    private sealed class DifferentTypeDouble : IParsedSchema
    {
        public SchemaType Type => SchemaType.Json;
        public string CanonicalString => "{}";
        public IReadOnlyList<SchemaReference> References => [];
        public IParsedSchema Normalize() => this;
        public bool IsEquivalentTo(IParsedSchema other) => ReferenceEquals(this, other);
    }
}
