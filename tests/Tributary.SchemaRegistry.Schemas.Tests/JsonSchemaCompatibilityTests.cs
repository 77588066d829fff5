using static Tributary.SchemaRegistry.Schemas.Tests.Schemas;

namespace Tributary.SchemaRegistry.Schemas.Tests;

/// <summary>
/// JSON Schema compatibility as Confluent applies it: the old schema (original) is diffed against the new one (update);
/// BACKWARD fails on any difference outside Confluent's compatible set; FORWARD diffs the other way round.
/// </summary>
public class JsonSchemaCompatibilityTests
{
    private static IParsedSchema Obj(string properties, string extra = "") =>
        ParseJson($$"""{"type":"object","properties":{{{properties}}}{{extra}}}""");

    private const string Name = "\"name\":{\"type\":\"string\"}";
    private const string Age = "\"age\":{\"type\":\"integer\"}";
    private const string Closed = ",\"additionalProperties\":false";

    [Fact]
    public void Backward_rejects_a_property_added_to_an_open_content_model()
    {
        // Rule: old data under an open model may already carry "age" with any value.
        var errors = Check(CompatibilityLevel.Backward, Obj($"{Name},{Age}"), Obj(Name));

        Assert.Equal(
            "{errorType:\"PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL\", description:\"The new schema has an open content model and has a property or item at path '#/properties/age' which is missing in the old schema\"}",
            errors[0]);
        Assert.StartsWith("{oldSchema: '{\"type\":\"object\"", errors[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void Backward_accepts_an_optional_property_added_to_a_closed_content_model()
    {
        // Rule: OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL is compatible.
        Assert.Empty(Check(CompatibilityLevel.Backward, Obj($"{Name},{Age}", Closed), Obj(Name, Closed)));
    }

    [Fact]
    public void Backward_rejects_a_required_property_without_default_added_to_a_closed_content_model()
    {
        var errors = Check(CompatibilityLevel.Backward,
            Obj($"{Name},{Age}", Closed + ",\"required\":[\"age\"]"), Obj(Name, Closed));

        Assert.Contains("REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Backward_accepts_a_required_property_with_default_added_to_a_closed_content_model()
    {
        Assert.Empty(Check(CompatibilityLevel.Backward,
            Obj($"{Name},\"age\":{{\"type\":\"integer\",\"default\":0}}", Closed + ",\"required\":[\"age\"]"), Obj(Name, Closed)));
    }

    [Fact]
    public void Backward_accepts_a_property_removed_from_an_open_content_model()
    {
        // Rule: PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL; the new open model still accepts it.
        Assert.Empty(Check(CompatibilityLevel.Backward, Obj(Name), Obj($"{Name},{Age}")));
    }

    [Fact]
    public void Backward_rejects_a_property_removed_from_a_closed_content_model()
    {
        var errors = Check(CompatibilityLevel.Backward, Obj(Name, Closed), Obj($"{Name},{Age}", Closed));

        Assert.Contains("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", errors[0], StringComparison.Ordinal);
        Assert.Contains("'#/properties/age'", errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Forward_accepts_a_property_added_to_an_open_content_model()
    {
        // The old schema reads new data: its open model takes the extra property.
        Assert.Empty(Check(CompatibilityLevel.Forward, Obj($"{Name},{Age}"), Obj(Name)));
    }

    [Fact]
    public void A_partially_open_content_model_covers_an_added_property_its_additional_schema_allows()
    {
        // Rule: PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL vs ..._NOT_COVERED_...
        const string strings = ",\"additionalProperties\":{\"type\":\"string\"}";

        Assert.Empty(Check(CompatibilityLevel.Backward, Obj($"{Name},\"nick\":{{\"type\":\"string\"}}", strings), Obj(Name, strings)));
        var errors = Check(CompatibilityLevel.Backward, Obj($"{Name},{Age}", strings), Obj(Name, strings));
        Assert.Contains("PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", string.Join("\n", errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Closing_an_open_content_model_is_incompatible_and_opening_it_is_compatible()
    {
        // Rule: ADDITIONAL_PROPERTIES_REMOVED is incompatible, ADDITIONAL_PROPERTIES_ADDED compatible.
        Assert.Contains("ADDITIONAL_PROPERTIES_REMOVED", Check(CompatibilityLevel.Backward, Obj(Name, Closed), Obj(Name))[0], StringComparison.Ordinal);
        Assert.Empty(Check(CompatibilityLevel.Backward, Obj(Name), Obj(Name, Closed)));
    }

    [Fact]
    public void Changing_a_property_type_is_a_type_change_at_its_path()
    {
        var errors = Check(CompatibilityLevel.Backward, Obj("\"name\":{\"type\":\"integer\"}"), Obj(Name));

        Assert.Equal(
            "{errorType:\"TYPE_CHANGED\", description:\"A type at path '#/properties/name' is different between the new schema and the old schema\"}",
            errors[0]);
    }

    [Fact]
    public void Widening_integer_to_number_is_compatible_and_narrowing_is_not()
    {
        // Rule: TYPE_EXTENDED is compatible, TYPE_NARROWED is not.
        Assert.Empty(Check(CompatibilityLevel.Backward, Obj("\"n\":{\"type\":\"number\"}"), Obj("\"n\":{\"type\":\"integer\"}")));
        Assert.Contains("TYPE_NARROWED", Check(CompatibilityLevel.Backward, Obj("\"n\":{\"type\":\"integer\"}"), Obj("\"n\":{\"type\":\"number\"}"))[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Making_a_property_required_is_incompatible_and_making_it_optional_is_compatible()
    {
        // Rule: REQUIRED_ATTRIBUTE_ADDED vs REQUIRED_ATTRIBUTE_REMOVED.
        Assert.Contains("REQUIRED_ATTRIBUTE_ADDED", Check(CompatibilityLevel.Backward, Obj(Name, ",\"required\":[\"name\"]"), Obj(Name))[0], StringComparison.Ordinal);
        Assert.Empty(Check(CompatibilityLevel.Backward, Obj(Name), Obj(Name, ",\"required\":[\"name\"]")));
    }

    [Fact]
    public void Extending_an_enum_is_compatible_and_narrowing_it_is_not()
    {
        var ab = Obj("\"s\":{\"enum\":[\"a\",\"b\"]}");
        var abc = Obj("\"s\":{\"enum\":[\"a\",\"b\",\"c\"]}");

        Assert.Empty(Check(CompatibilityLevel.Backward, abc, ab));
        Assert.Contains("ENUM_ARRAY_NARROWED", Check(CompatibilityLevel.Backward, ab, abc)[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Tightening_string_and_number_limits_is_incompatible_and_loosening_is_compatible()
    {
        // Rule: MAX_LENGTH_DECREASED, MINIMUM_ADDED incompatible; MAX_LENGTH_INCREASED, MAXIMUM_REMOVED compatible.
        var short10 = Obj("\"s\":{\"type\":\"string\",\"maxLength\":10}");
        var short20 = Obj("\"s\":{\"type\":\"string\",\"maxLength\":20}");
        Assert.Empty(Check(CompatibilityLevel.Backward, short20, short10));
        Assert.Equal(
            "{errorType:\"MAX_LENGTH_DECREASED\", description:\"The value at path '#/properties/s/maxLength' in the new schema is less than its value in the old schema\"}",
            Check(CompatibilityLevel.Backward, short10, short20)[0]);

        var bounded = Obj("\"n\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":9}");
        var unbounded = Obj("\"n\":{\"type\":\"integer\"}");
        Assert.Empty(Check(CompatibilityLevel.Backward, unbounded, bounded));
        Assert.Contains("MINIMUM_ADDED", string.Join("\n", Check(CompatibilityLevel.Backward, bounded, unbounded)), StringComparison.Ordinal);
    }

    [Fact]
    public void Adding_a_oneOf_branch_is_compatible_and_removing_one_is_not()
    {
        // Rule: SUM_TYPE_EXTENDED compatible, SUM_TYPE_NARROWED incompatible; a type widened into a oneOf containing it.
        var two = Obj("\"v\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}");
        var three = Obj("\"v\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"integer\"},{\"type\":\"boolean\"}]}");

        Assert.Empty(Check(CompatibilityLevel.Backward, three, two));
        Assert.Contains("SUM_TYPE_NARROWED", Check(CompatibilityLevel.Backward, two, three)[0], StringComparison.Ordinal);
        Assert.Empty(Check(CompatibilityLevel.Backward, Obj("\"v\":{\"oneOf\":[{\"type\":\"null\"},{\"type\":\"string\"}]}"), Obj("\"v\":{\"type\":\"string\"}")));
    }

    [Fact]
    public void Adding_a_property_dependency_is_incompatible_and_removing_one_is_compatible()
    {
        // Rule: DEPENDENCY_ARRAY_ADDED/EXTENDED incompatible, DEPENDENCY_ARRAY_REMOVED/NARROWED compatible.
        var none = Obj($"{Name},{Age}");
        var ageNeedsName = Obj($"{Name},{Age}", ",\"dependencies\":{\"age\":[\"name\"]}");

        Assert.Equal(
            "{errorType:\"DEPENDENCY_ARRAY_ADDED\", description:\"The keyword at path '#/dependencies/age' in the new schema is not present in the old schema\"}",
            Check(CompatibilityLevel.Backward, ageNeedsName, none)[0]);
        Assert.Empty(Check(CompatibilityLevel.Backward, none, ageNeedsName));
    }

    [Fact]
    public void Array_items_are_compared()
    {
        var errors = Check(CompatibilityLevel.Backward,
            Obj("\"xs\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}"),
            Obj("\"xs\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}"));

        Assert.Contains("'#/properties/xs/items'", errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_local_ref_is_followed()
    {
        var v1 = ParseJson("""{"type":"object","properties":{"a":{"$ref":"#/definitions/A"}},"definitions":{"A":{"type":"string"}}}""");
        var v2 = ParseJson("""{"type":"object","properties":{"a":{"$ref":"#/definitions/A"}},"definitions":{"A":{"type":"boolean"}}}""");

        Assert.Contains("TYPE_CHANGED", Check(CompatibilityLevel.Backward, v2, v1)[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Backward_transitive_checks_all_three_versions()
    {
        // Closed models: v2 adds a required "age" with a default (compatible), v3 drops the default. Against v2 that is
        // only DEFAULT_CHANGED; against v1 it is a required property without default added to a closed model.
        var v1 = Obj(Name, Closed);
        var v2 = Obj($"{Name},\"age\":{{\"type\":\"integer\",\"default\":0}}", Closed + ",\"required\":[\"age\"]");
        var v3 = Obj($"{Name},{Age}", Closed + ",\"required\":[\"age\"]");

        Assert.Empty(Check(CompatibilityLevel.Backward, v3, v1, v2));
        Assert.Contains("REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", Check(CompatibilityLevel.BackwardTransitive, v3, v1, v2)[0], StringComparison.Ordinal);
        Assert.NotEmpty(Check(CompatibilityLevel.FullTransitive, v3, v1, v2));
    }

    [Fact]
    public void Forward_transitive_checks_all_three_versions()
    {
        // v3 drops "age": v2 (required with default) still reads v3's data, v1 (required, no default) cannot.
        var v1 = Obj($"{Name},{Age}", Closed + ",\"required\":[\"age\"]");
        var v2 = Obj($"{Name},\"age\":{{\"type\":\"integer\",\"default\":0}}", Closed + ",\"required\":[\"age\"]");
        var v3 = Obj(Name, Closed);

        Assert.Empty(Check(CompatibilityLevel.Forward, v3, v1, v2));
        Assert.Contains("REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", Check(CompatibilityLevel.ForwardTransitive, v3, v1, v2)[0], StringComparison.Ordinal);
    }
}

/// <summary>Recursive and pathological JSON schemas are compared in bounded time.</summary>
public class JsonSchemaRecursionTests
{
    [Fact]
    public void A_recursive_schema_is_compatible_with_itself_and_a_change_inside_the_recursion_is_found()
    {
        const string list = """{"type":"object","properties":{"value":{"type":"string"},"next":{"anyOf":[{"type":"null"},{"$ref":"#"}]}}}""";
        var v1 = ParseJson(list);
        var v2 = ParseJson(list.Replace("\"value\":{\"type\":\"string\"}", "\"value\":{\"type\":\"integer\"}", StringComparison.Ordinal));

        Assert.Empty(Check(CompatibilityLevel.FullTransitive, ParseJson(list), v1));
        Assert.Contains("TYPE_CHANGED", Check(CompatibilityLevel.Backward, v2, v1)[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_schema_whose_references_branch_exponentially_is_compared_in_bounded_time()
    {
        // Each level refers to the next twice through anyOf: a naive walk would visit 2^30 paths.
        var definitions = string.Join(",", Enumerable.Range(0, 30).Select(i =>
            "\"d" + i + "\":{\"anyOf\":[{\"$ref\":\"#/definitions/d" + (i + 1) + "\"},"
            + "{\"type\":\"object\",\"properties\":{\"x\":{\"$ref\":\"#/definitions/d" + (i + 1) + "\"}}}]}"));
        var text = "{\"$ref\":\"#/definitions/d0\",\"definitions\":{" + definitions + ",\"d30\":{\"type\":\"string\"}}}";
        var schema = ParseJson(text);

        var started = System.Diagnostics.Stopwatch.StartNew();
        var errors = Check(CompatibilityLevel.FullTransitive, ParseJson(text), schema, schema);

        Assert.True(errors.Count == 0 || errors[0].Contains("SCHEMA_TOO_COMPLEX", StringComparison.Ordinal), string.Join("\n", errors));
        Assert.True(started.Elapsed < TimeSpan.FromMinutes(2), $"took {started.Elapsed}");
    }
}
