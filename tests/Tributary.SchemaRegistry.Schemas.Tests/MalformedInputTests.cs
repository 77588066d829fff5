namespace Tributary.SchemaRegistry.Schemas.Tests;

/// <summary>
/// Bad input gets a clear error and nothing else: byte-level mutations of valid schemas either parse or fail with
/// <see cref="InvalidSchemaException"/> (the registry's 42201), never with another exception (a 500), and every
/// schema that parses can be checked against the original without throwing.
/// </summary>
public class MalformedInputTests
{
    private const int MutationsPerSchema = 150;

    public static TheoryData<SchemaType, string> Seeds => new()
    {
        { SchemaType.Avro, """{"type":"record","name":"User","namespace":"ex","fields":[{"name":"a","type":["null","string"],"default":null},{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"]}},{"name":"m","type":{"type":"map","values":{"type":"array","items":"long"}}},{"name":"f","type":{"type":"fixed","name":"F","size":2}}]}""" },
        { SchemaType.Json, """{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"a":{"type":["null","string"],"maxLength":3},"b":{"oneOf":[{"type":"integer","minimum":0},{"$ref":"#/definitions/D"}]},"c":{"type":"array","items":{"enum":[1,2]}}},"required":["a"],"additionalProperties":false,"definitions":{"D":{"type":"object","patternProperties":{"^x":{"type":"string"}}}}}""" },
        { SchemaType.Protobuf, "syntax = \"proto3\";\npackage p;\nmessage M {\n  string a = 1;\n  repeated int64 b = 2;\n  map<string, M> c = 3;\n  oneof o { string d = 4; int32 e = 5; }\n  enum K { Z = 0; O = 1; }\n  K k = 6;\n}\n" },
    };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Mutated_schemas_parse_or_fail_with_an_invalid_schema_error(SchemaType type, string seed)
    {
        var original = Schemas.Parse(type, seed);
        var random = new Random(7); // fixed seed: the same mutations every run
        const string alphabet = "{}[]\":,.0123456789abcxyz-_ \n;=<>/\\#$";
        var parsed = 0;
        for (var i = 0; i < MutationsPerSchema; i++)
        {
            var chars = seed.ToCharArray().ToList();
            for (var edits = random.Next(1, 4); edits > 0; edits--)
            {
                var at = random.Next(chars.Count);
                switch (random.Next(3))
                {
                    case 0: chars.RemoveAt(at); break;
                    case 1: chars.Insert(at, alphabet[random.Next(alphabet.Length)]); break;
                    default: chars[at] = alphabet[random.Next(alphabet.Length)]; break;
                }
            }
            var text = new string([.. chars]);
            IParsedSchema mutated;
            try
            {
                mutated = Schemas.Parse(type, text);
            }
            catch (InvalidSchemaException e)
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
                continue;
            }
            catch (Exception e)
            {
                Assert.Fail($"{e.GetType().Name} instead of InvalidSchemaException for:\n{text}\n{e}");
                return;
            }
            parsed++;
            foreach (var level in Enum.GetValues<CompatibilityLevel>())
            {
                CompatibilityChecker.Check(mutated, [original], level);
            }
            Assert.Equal(mutated.CanonicalString, Schemas.Parse(type, mutated.CanonicalString).CanonicalString);
        }
        Assert.True(parsed > 0, "no mutation parsed: the mutations only exercised the error path");
    }
}
