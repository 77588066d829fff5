using static Tributary.SchemaRegistry.Schemas.Tests.Schemas;

namespace Tributary.SchemaRegistry.Schemas.Tests;

/// <summary>
/// The registry stores canonical strings and parses them again later: parsing a canonical (or normalized) string
/// must give back the same string, for every type.
/// </summary>
public class CanonicalFormTests
{
    public static TheoryData<SchemaType, string> Schemas => new()
    {
        { SchemaType.Avro, """{"type":"record","name":"Outer","namespace":"a.b","doc":"d","aliases":["Old"],"fields":[{"name":"inner","type":{"type":"record","name":"Inner","namespace":"c","fields":[{"name":"back","type":["null","a.b.Outer"],"default":null}]}},{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"],"default":"X"},"default":"Y","order":"descending","aliases":["ee"],"x-meta":{"k":[1,2]}},{"name":"f","type":{"type":"fixed","name":"F","size":4}},{"name":"m","type":{"type":"map","values":{"type":"array","items":"c.Inner"}}},{"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},{"name":"s","type":"string","default":"\u00e9\"q"}]}""" },
        { SchemaType.Avro, "\"bytes\"" },
        { SchemaType.Json, """{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"n":{"type":["null","string"],"default":"\u00e9"},"xs":{"type":"array","items":{"$ref":"#/definitions/X"}}},"definitions":{"X":{"enum":[1,"a",null]}},"additionalProperties":false}""" },
        { SchemaType.Protobuf, """
            syntax = "proto2";
            package p.q;
            option java_package = "com.example";
            option go_package = "example/q";
            message M {
              required int32 id = 1 [default = 7];
              optional string name = 2 [default = "x\"y"];
              repeated int32 xs = 3 [packed = true];
              map<string, M> children = 4;
              oneof choice { string a = 5; bytes b = 6; }
              reserved 10, 20 to 30;
              reserved "gone";
              message Nested { optional Kind kind = 1; enum Kind { A = 0; B = 1; } }
              optional Nested nested = 7 [deprecated = true];
              extensions 100 to 199;
            }
            extend M { optional string tag = 100; }
            enum Top { option allow_alias = true; T0 = 0; T1 = 1; TA = 1; }
            service S { rpc Get (M) returns (M); rpc Watch (stream M) returns (stream M); }
            """ },
    };

    [Theory]
    [MemberData(nameof(Schemas))]
    public void Parsing_a_canonical_string_gives_it_back(SchemaType type, string text)
    {
        var canonical = Parse(type, text).CanonicalString;

        Assert.Equal(canonical, Parse(type, canonical).CanonicalString);
    }

    [Theory]
    [MemberData(nameof(Schemas))]
    public void Parsing_a_normalized_string_and_normalizing_again_gives_it_back(SchemaType type, string text)
    {
        var normalized = Parse(type, text).Normalize().CanonicalString;

        Assert.Equal(normalized, Parse(type, normalized).Normalize().CanonicalString);
    }

    [Theory]
    [MemberData(nameof(Schemas))]
    public void A_schema_is_compatible_with_itself_at_every_level(SchemaType type, string text)
    {
        var schema = Parse(type, text);

        foreach (var level in Enum.GetValues<CompatibilityLevel>())
        {
            Assert.Empty(Check(level, Parse(type, schema.CanonicalString), schema, schema));
        }
    }
}
