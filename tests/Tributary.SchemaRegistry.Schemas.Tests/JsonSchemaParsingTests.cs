using static Tributary.SchemaRegistry.Schemas.Tests.Schemas;

namespace Tributary.SchemaRegistry.Schemas.Tests;

/// <summary>JSON Schema documents: meta-schema validation per draft (JsonSchema.Net), $ref to referenced subjects, canonical form.</summary>
public class JsonSchemaParsingTests
{
    [Theory]
    [InlineData("{\"type\":\"object\"", "not JSON")]
    [InlineData("{\"type\":5}", "type")]
    [InlineData("{\"type\":\"strin\"}", "strin")]
    [InlineData("{\"properties\":[]}", "properties")]
    [InlineData("{\"$schema\":\"http://example.com/my-meta\",\"type\":\"string\"}", "unsupported $schema")]
    [InlineData("{\"$ref\":\"missing.json\"}", "missing.json")]
    [InlineData("{\"$ref\":\"#/definitions/nope\"}", "#/definitions/nope")]
    [InlineData("42", "object or a boolean")]
    public void A_malformed_schema_is_rejected_with_a_message_naming_the_problem(string text, string mentioned)
    {
        var error = Assert.Throws<InvalidSchemaException>(() => ParseJson(text));

        Assert.Contains(mentioned, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"$schema\":\"http://json-schema.org/draft-04/schema#\",\"type\":\"number\",\"minimum\":0,\"exclusiveMinimum\":true}")]
    [InlineData("{\"$schema\":\"http://json-schema.org/draft-06/schema#\",\"type\":\"number\",\"exclusiveMinimum\":0}")]
    [InlineData("{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"if\":{\"type\":\"string\"},\"then\":{\"minLength\":1}}")]
    [InlineData("{\"$schema\":\"https://json-schema.org/draft/2019-09/schema\",\"$defs\":{\"a\":{\"type\":\"string\"}},\"$ref\":\"#/$defs/a\"}")]
    [InlineData("{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"array\",\"prefixItems\":[{\"type\":\"string\"}]}")]
    [InlineData("true")]
    public void Every_supported_draft_is_accepted(string text)
    {
        Assert.Equal(SchemaType.Json, ParseJson(text).Type);
    }

    [Fact]
    public void A_draft_four_schema_is_checked_with_draft_four_rules()
    {
        // Draft 4 exclusiveMinimum is a boolean; a string there is invalid.
        Assert.Throws<InvalidSchemaException>(() =>
            ParseJson("{\"$schema\":\"http://json-schema.org/draft-04/schema#\",\"type\":\"number\",\"minimum\":0,\"exclusiveMinimum\":\"yes\"}"));
    }

    [Fact]
    public void Two_versions_with_the_same_id_both_parse()
    {
        ParseJson("""{"$id":"http://example.com/user.json","type":"string"}""");

        Assert.Equal(SchemaType.Json, ParseJson("""{"$id":"http://example.com/user.json","type":"integer"}""").Type);
    }

    [Fact]
    public void A_ref_to_a_referenced_subject_resolves_and_its_content_is_compared()
    {
        const string user = """{"type":"object","properties":{"home":{"$ref":"address.json"}}}""";
        var v1 = Parse(SchemaType.Json, user, ("address.json", "address-value", """{"type":"object","properties":{"city":{"type":"string"}},"additionalProperties":false}"""));
        var v2 = Parse(SchemaType.Json, user, ("address.json", "address-value", """{"type":"object","properties":{"city":{"type":"integer"}},"additionalProperties":false}"""));

        Assert.Contains("'#/properties/home/properties/city'", Check(CompatibilityLevel.Backward, v2, v1)[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_ref_relative_to_the_id_finds_the_referenced_schema_by_its_id()
    {
        var schema = Parse(SchemaType.Json,
            """{"$id":"http://example.com/user.json","type":"object","properties":{"home":{"$ref":"address.json#/definitions/A"}}}""",
            ("address", "address-value", """{"$id":"http://example.com/address.json","definitions":{"A":{"type":"string"}}}"""));

        Assert.Single(schema.References);
    }

    [Fact]
    public void The_canonical_string_is_compact_json_in_the_original_key_order()
    {
        var schema = ParseJson("""
            {
              "type": "object",
              "properties": { "b": { "type": "string" }, "a": { "type": "integer" } }
            }
            """);

        Assert.Equal("""{"type":"object","properties":{"b":{"type":"string"},"a":{"type":"integer"}}}""", schema.CanonicalString);
        Assert.True(schema.IsEquivalentTo(ParseJson("""{"type":"object","properties":{"b":{"type":"string"},"a":{"type":"integer"}}}""")));
    }

    [Fact]
    public void Normalizing_sorts_keys_so_reordered_documents_become_equal()
    {
        var one = ParseJson("""{"type":"object","properties":{"b":{"type":"string"},"a":{"type":"integer"}}}""");
        var two = ParseJson("""{"properties":{"a":{"type":"integer"},"b":{"type":"string"}},"type":"object"}""");

        Assert.False(one.IsEquivalentTo(two));
        Assert.True(one.Normalize().IsEquivalentTo(two.Normalize()));
        Assert.Equal("""{"properties":{"a":{"type":"integer"},"b":{"type":"string"}},"type":"object"}""", one.Normalize().CanonicalString);
    }

    /// <summary>The shape Confluent's .NET JSON serializer registers (NJsonSchema output: draft 4, nullable type arrays, definitions).</summary>
    private const string NJsonSchemaUser = """
        {
          "$schema": "http://json-schema.org/draft-04/schema#",
          "title": "User",
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "Name": { "type": [ "null", "string" ] },
            "FavoriteNumber": { "type": "integer", "format": "int64" },
            "Address": { "oneOf": [ { "type": "null" }, { "$ref": "#/definitions/Address" } ] }
          },
          "definitions": {
            "Address": {
              "type": "object",
              "additionalProperties": false,
              "properties": { "City": { "type": [ "null", "string" ] } }
            }
          }
        }
        """;

    [Fact]
    public void A_draft_four_schema_as_the_dotnet_serializer_writes_it_parses_and_evolves()
    {
        var v1 = ParseJson(NJsonSchemaUser);
        var v2 = ParseJson(NJsonSchemaUser.Replace("\"FavoriteNumber\"", "\"Nick\": { \"type\": [ \"null\", \"string\" ] },\n    \"FavoriteNumber\"", StringComparison.Ordinal));
        var v3 = ParseJson(NJsonSchemaUser.Replace("\"City\": { \"type\": [ \"null\", \"string\" ] }", "\"City\": { \"type\": \"integer\" }", StringComparison.Ordinal));

        // Closed model: an optional property is a compatible addition. A type change behind the $ref leaves the nullable
        // oneOf without a subschema that reads the old one (Confluent reports that at the oneOf).
        Assert.Empty(Check(CompatibilityLevel.Backward, v2, v1));
        Assert.Equal(
            "{errorType:\"COMBINED_TYPE_SUBSCHEMAS_CHANGED\", description:\"A type at path '#/properties/Address' is different between the new schema and the old schema\"}",
            Check(CompatibilityLevel.Backward, v3, v1)[0]);
    }
}
