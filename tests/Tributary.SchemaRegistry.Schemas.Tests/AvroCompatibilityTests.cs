using static Tributary.SchemaRegistry.Schemas.Tests.Schemas;

namespace Tributary.SchemaRegistry.Schemas.Tests;

/// <summary>
/// Avro schema resolution (Avro spec, "Schema Resolution") as Confluent applies it: BACKWARD = the new schema reads
/// data written with the old one, FORWARD = the old schema reads the new one's data, FULL = both.
/// </summary>
public class AvroCompatibilityTests
{
    private const string Name = """{"name":"name","type":"string"}""";
    private const string AgeWithDefault = """{"name":"age","type":"int","default":0}""";
    private const string AgeWithoutDefault = """{"name":"age","type":"int"}""";

    [Fact]
    public void Backward_accepts_an_added_field_with_a_default()
    {
        // Rule: a reader field missing from the writer is filled from its default.
        Assert.Empty(Check(CompatibilityLevel.Backward, AvroUser(Name, AgeWithDefault), AvroUser(Name)));
    }

    [Fact]
    public void Backward_rejects_an_added_field_without_a_default_naming_field_and_path()
    {
        // Rule: a reader field missing from the writer without a default cannot be filled.
        var errors = Check(CompatibilityLevel.Backward, AvroUser(Name, AgeWithoutDefault), AvroUser(Name));

        Assert.Equal(
            "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'age' at path '/fields/1' in the new schema has no default value and is missing in the old schema', additionalInfo:'age'}",
            errors[0]);
        Assert.StartsWith("{oldSchema: '{\"type\":\"record\",\"name\":\"User\"", errors[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void Backward_accepts_a_removed_field()
    {
        // Rule: writer fields the reader does not have are skipped.
        Assert.Empty(Check(CompatibilityLevel.Backward, AvroUser(Name), AvroUser(Name, AgeWithoutDefault)));
    }

    [Fact]
    public void Forward_rejects_a_removed_field_that_had_no_default()
    {
        // FORWARD: the old schema reads new data, so its field without default must still be written.
        var errors = Check(CompatibilityLevel.Forward, AvroUser(Name), AvroUser(Name, AgeWithoutDefault));

        Assert.Contains("READER_FIELD_MISSING_DEFAULT_VALUE", errors[0], StringComparison.Ordinal);
        Assert.Contains("in the old schema has no default value and is missing in the new schema", errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Forward_accepts_an_added_field_without_a_default()
    {
        Assert.Empty(Check(CompatibilityLevel.Forward, AvroUser(Name, AgeWithoutDefault), AvroUser(Name)));
    }

    [Fact]
    public void Full_accepts_an_added_field_with_a_default_and_rejects_one_without()
    {
        Assert.Empty(Check(CompatibilityLevel.Full, AvroUser(Name, AgeWithDefault), AvroUser(Name)));
        Assert.NotEmpty(Check(CompatibilityLevel.Full, AvroUser(Name, AgeWithoutDefault), AvroUser(Name)));
    }

    [Fact]
    public void Full_rejects_removing_a_field_without_default()
    {
        // Removing is fine for the new reader but the old reader needs the field.
        Assert.NotEmpty(Check(CompatibilityLevel.Full, AvroUser(Name), AvroUser(Name, AgeWithoutDefault)));
    }

    [Fact]
    public void None_accepts_anything()
    {
        Assert.Empty(Check(CompatibilityLevel.None, AvroUser("""{"name":"name","type":"int"}"""), AvroUser(Name)));
    }

    [Fact]
    public void Changing_a_field_type_is_a_type_mismatch_at_the_field_type_path()
    {
        // Rule: string and int do not resolve.
        var errors = Check(CompatibilityLevel.Backward, AvroUser("""{"name":"name","type":"int"}"""), AvroUser(Name));

        Assert.Equal(
            "{errorType:'TYPE_MISMATCH', description:'The type (path '/fields/0/type') of a field in the new schema does not match with the old schema', additionalInfo:'reader type: INT not compatible with writer type: STRING'}",
            errors[0]);
    }

    [Theory]
    [InlineData("long", "int")]
    [InlineData("float", "int")]
    [InlineData("float", "long")]
    [InlineData("double", "int")]
    [InlineData("double", "long")]
    [InlineData("double", "float")]
    [InlineData("string", "bytes")]
    [InlineData("bytes", "string")]
    public void Backward_accepts_a_promotion(string reader, string writer)
    {
        // Rule: int→long/float/double, long→float/double, float→double, string↔bytes.
        Assert.Empty(Check(CompatibilityLevel.Backward,
            AvroUser($$"""{"name":"v","type":"{{reader}}"}"""), AvroUser($$"""{"name":"v","type":"{{writer}}"}""")));
    }

    [Theory]
    [InlineData("int", "long")]
    [InlineData("long", "double")]
    [InlineData("float", "double")]
    [InlineData("int", "boolean")]
    public void Backward_rejects_a_narrowing(string reader, string writer)
    {
        var errors = Check(CompatibilityLevel.Backward,
            AvroUser($$"""{"name":"v","type":"{{reader}}"}"""), AvroUser($$"""{"name":"v","type":"{{writer}}"}"""));

        Assert.Contains("TYPE_MISMATCH", errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Backward_accepts_widening_a_field_into_a_union_containing_it()
    {
        // Rule: a non-union writer resolves against the first reader branch that matches.
        Assert.Empty(Check(CompatibilityLevel.Backward,
            AvroUser("""{"name":"name","type":["null","string"],"default":null}"""), AvroUser(Name)));
    }

    [Fact]
    public void Backward_accepts_adding_a_branch_to_a_union()
    {
        Assert.Empty(Check(CompatibilityLevel.Backward,
            AvroUser("""{"name":"v","type":["null","string","int"]}"""), AvroUser("""{"name":"v","type":["null","string"]}""")));
    }

    [Fact]
    public void Backward_rejects_removing_a_union_branch_the_old_schema_could_write()
    {
        // Rule: every writer branch must be readable.
        var errors = Check(CompatibilityLevel.Backward,
            AvroUser("""{"name":"v","type":["null","string"]}"""), AvroUser("""{"name":"v","type":["null","string","int"]}"""));

        Assert.Equal(
            "{errorType:'MISSING_UNION_BRANCH', description:'The new schema is missing a type inside a union field at path '/fields/0/type/2' in the old schema', additionalInfo:'reader union lacking writer type: INT'}",
            errors[0]);
    }

    [Fact]
    public void Narrowing_a_union_to_one_of_its_types_fails_backward_but_passes_forward()
    {
        var union = AvroUser("""{"name":"v","type":["null","string"]}""");
        var plain = AvroUser("""{"name":"v","type":"string"}""");

        Assert.Contains("TYPE_MISMATCH", Check(CompatibilityLevel.Backward, plain, union)[0], StringComparison.Ordinal);
        Assert.Empty(Check(CompatibilityLevel.Forward, plain, union));
    }

    [Fact]
    public void Renaming_a_field_with_an_alias_for_the_old_name_is_backward_compatible()
    {
        // Rule: a reader field matches a writer field by name or by one of its aliases.
        Assert.Empty(Check(CompatibilityLevel.Backward,
            AvroUser("""{"name":"fullName","type":"string","aliases":["name"]}"""), AvroUser(Name)));
    }

    [Fact]
    public void Renaming_a_field_without_an_alias_is_not_backward_compatible()
    {
        var errors = Check(CompatibilityLevel.Backward, AvroUser("""{"name":"fullName","type":"string"}"""), AvroUser(Name));

        Assert.Contains("READER_FIELD_MISSING_DEFAULT_VALUE", errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Renaming_a_record_requires_an_alias_for_the_old_full_name()
    {
        // Rule: named types match by unqualified name or a reader alias of the writer's full name.
        var old = ParseAvro("""{"type":"record","name":"User","namespace":"example","fields":[{"name":"a","type":"int"}]}""");
        var renamed = ParseAvro("""{"type":"record","name":"Person","namespace":"example","fields":[{"name":"a","type":"int"}]}""");
        var aliased = ParseAvro("""{"type":"record","name":"Person","namespace":"example","aliases":["User"],"fields":[{"name":"a","type":"int"}]}""");

        Assert.Equal(
            "{errorType:'NAME_MISMATCH', description:'The name of the schema has changed (path '/name')', additionalInfo:'expected: example.User'}",
            Check(CompatibilityLevel.Backward, renamed, old)[0]);
        Assert.Empty(Check(CompatibilityLevel.Backward, aliased, old));
    }

    [Fact]
    public void Adding_an_enum_symbol_is_backward_but_not_forward_compatible_unless_the_reader_has_an_enum_default()
    {
        // Rule: writer symbols must exist in the reader, unless the reader enum declares a default (Avro 1.9+).
        var v1 = AvroUser("""{"name":"s","type":{"type":"enum","name":"Suit","symbols":["HEARTS","SPADES"]}}""");
        var v2 = AvroUser("""{"name":"s","type":{"type":"enum","name":"Suit","symbols":["HEARTS","SPADES","CLUBS"]}}""");
        var v1WithDefault = AvroUser("""{"name":"s","type":{"type":"enum","name":"Suit","symbols":["HEARTS","SPADES"],"default":"HEARTS"}}""");

        Assert.Empty(Check(CompatibilityLevel.Backward, v2, v1));
        Assert.Equal(
            "{errorType:'MISSING_ENUM_SYMBOLS', description:'The old schema is missing enum symbols '[CLUBS]' at path '/fields/0/type/symbols' in the new schema', additionalInfo:'[CLUBS]'}",
            Check(CompatibilityLevel.Forward, v2, v1)[0]);
        Assert.Empty(Check(CompatibilityLevel.Forward, v2, v1WithDefault));
    }

    [Fact]
    public void Changing_a_fixed_size_is_a_fixed_size_mismatch()
    {
        var errors = Check(CompatibilityLevel.Backward,
            AvroUser("""{"name":"h","type":{"type":"fixed","name":"Hash","size":32}}"""),
            AvroUser("""{"name":"h","type":{"type":"fixed","name":"Hash","size":16}}"""));

        Assert.Contains("FIXED_SIZE_MISMATCH", errors[0], StringComparison.Ordinal);
        Assert.Contains("'/fields/0/type/size'", errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_nested_record_is_checked_field_by_field_with_the_nested_path()
    {
        var v1 = AvroUser("""{"name":"address","type":{"type":"record","name":"Address","fields":[{"name":"city","type":"string"}]}}""");
        var v2 = AvroUser("""{"name":"address","type":{"type":"record","name":"Address","fields":[{"name":"city","type":"string"},{"name":"zip","type":"string"}]}}""");

        var errors = Check(CompatibilityLevel.Backward, v2, v1);

        Assert.Contains("at path '/fields/0/type/fields/1'", errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Array_items_and_map_values_resolve_with_promotion()
    {
        // Rule: arrays resolve item schemas, maps resolve value schemas.
        Assert.Empty(Check(CompatibilityLevel.Backward,
            AvroUser("""{"name":"xs","type":{"type":"array","items":"long"}}"""),
            AvroUser("""{"name":"xs","type":{"type":"array","items":"int"}}""")));
        var errors = Check(CompatibilityLevel.Backward,
            AvroUser("""{"name":"m","type":{"type":"map","values":"int"}}"""),
            AvroUser("""{"name":"m","type":{"type":"map","values":"string"}}"""));
        Assert.Contains("'/fields/0/type/values'", errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_recursive_record_is_compatible_with_itself()
    {
        var list = ParseAvro("""{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","Node"],"default":null}]}""");

        Assert.Empty(Check(CompatibilityLevel.FullTransitive, list, list));
    }

    [Fact]
    public void Backward_transitive_checks_every_earlier_version_while_backward_checks_only_the_latest()
    {
        // v3 reads v2 (age present) but not v1 (age missing, no default).
        var v1 = AvroUser(Name);
        var v2 = AvroUser(Name, AgeWithDefault);
        var v3 = AvroUser(Name, AgeWithoutDefault);

        Assert.Empty(Check(CompatibilityLevel.Backward, v3, v1, v2));
        var errors = Check(CompatibilityLevel.BackwardTransitive, v3, v1, v2);
        Assert.Contains("READER_FIELD_MISSING_DEFAULT_VALUE", errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Forward_transitive_checks_every_earlier_version()
    {
        // v2 reads v3's data via its default for age; v1 has no default and cannot.
        var v1 = AvroUser(Name, AgeWithoutDefault);
        var v2 = AvroUser(Name, AgeWithDefault);
        var v3 = AvroUser(Name);

        Assert.Empty(Check(CompatibilityLevel.Forward, v3, v1, v2));
        Assert.NotEmpty(Check(CompatibilityLevel.ForwardTransitive, v3, v1, v2));
    }

    [Fact]
    public void Full_transitive_checks_both_directions_against_every_earlier_version()
    {
        var v1 = AvroUser(Name);
        var v2 = AvroUser(Name, AgeWithDefault);
        var v3 = AvroUser(Name, """{"name":"age","type":"long","default":0}""");

        // v3 reads int ages (promotion) but v2 cannot read v3's long ages.
        Assert.Empty(Check(CompatibilityLevel.BackwardTransitive, v3, v1, v2));
        Assert.NotEmpty(Check(CompatibilityLevel.Full, v3, v1, v2));
        Assert.NotEmpty(Check(CompatibilityLevel.FullTransitive, v3, v1, v2));
        Assert.Empty(Check(CompatibilityLevel.FullTransitive, AvroUser(Name, AgeWithDefault, """{"name":"nick","type":["null","string"],"default":null}"""), v1, v2));
    }
}
