namespace Tributary.SchemaRegistry.Schemas.Tests;

/// <summary>How <see cref="SchemaParsers.Parse"/> follows references through the registry's resolver.</summary>
public class ReferenceResolutionTests
{
    private const string Leaf = """{"type":"record","name":"Leaf","namespace":"x","fields":[{"name":"v","type":"int"}]}""";

    [Fact]
    public void A_reference_cycle_is_rejected()
    {
        var self = new SchemaReference("x.Leaf", "leaf", 1);

        var error = Assert.Throws<InvalidSchemaException>(() =>
            SchemaParsers.Parse(SchemaType.Avro, Leaf, [self], _ => (SchemaType.Avro, Leaf, [self])));

        Assert.Contains("circular reference to subject leaf version 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_reference_the_resolver_cannot_find_fails_with_the_resolvers_message()
    {
        var error = Assert.Throws<InvalidSchemaException>(() =>
            SchemaParsers.Parse(SchemaType.Avro, Leaf, [new SchemaReference("y", "missing", 3)],
                r => throw new InvalidSchemaException($"Subject {r.Subject} version {r.Version} not found")));

        Assert.Equal("Subject missing version 3 not found", error.Message);
    }

    [Fact]
    public void A_version_reached_by_many_paths_is_resolved_once()
    {
        // Level i references level i-1 under two names: without memoization that is 2^20 resolutions.
        var calls = 0;
        (SchemaType, string, IReadOnlyList<SchemaReference>) Resolve(SchemaReference r)
        {
            calls++;
            var level = r.Version;
            IReadOnlyList<SchemaReference> below = level == 0 ? [] : [new("a", "s", level - 1), new("b", "s", level - 1)];
            return (SchemaType.Json, "{\"type\":\"string\"}", below);
        }

        SchemaParsers.Parse(SchemaType.Json, "{\"type\":\"string\"}", [new SchemaReference("a", "s", 20)], Resolve);

        Assert.Equal(21, calls);
    }

    [Fact]
    public void An_unresolvable_json_ref_searches_a_deep_reference_graph_once()
    {
        (SchemaType, string, IReadOnlyList<SchemaReference>) Resolve(SchemaReference r)
        {
            IReadOnlyList<SchemaReference> below = r.Version == 0 ? [] : [new("a", "s", r.Version - 1), new("b", "s", r.Version - 1)];
            return (SchemaType.Json, "{\"type\":\"string\"}", below);
        }
        var started = System.Diagnostics.Stopwatch.StartNew();

        var error = Assert.Throws<InvalidSchemaException>(() =>
            SchemaParsers.Parse(SchemaType.Json, "{\"$ref\":\"nowhere.json\"}", [new SchemaReference("a", "s", 24)], Resolve));

        Assert.Contains("nowhere.json", error.Message, StringComparison.Ordinal);
        Assert.True(started.Elapsed < TimeSpan.FromMinutes(1), $"took {started.Elapsed}");
    }

    [Fact]
    public void Avro_types_from_a_deep_reference_graph_are_all_visible_and_each_schema_is_loaded_once()
    {
        // Level i defines record Li with a field of type L(i-1), referenced under two names.
        (SchemaType, string, IReadOnlyList<SchemaReference>) Resolve(SchemaReference r)
        {
            var i = r.Version;
            var field = i == 0 ? "\"int\"" : $"\"x.L{i - 1}\"";
            IReadOnlyList<SchemaReference> below = i == 0 ? [] : [new($"x.L{i - 1}", "s", i - 1), new($"alias{i}", "s", i - 1)];
            return (SchemaType.Avro, $$"""{"type":"record","name":"L{{i}}","namespace":"x","fields":[{"name":"v","type":{{field}}}]}""", below);
        }
        var started = System.Diagnostics.Stopwatch.StartNew();

        var top = SchemaParsers.Parse(SchemaType.Avro, """{"type":"record","name":"Top","namespace":"x","fields":[{"name":"l","type":"x.L24"}]}""",
            [new SchemaReference("x.L24", "s", 24)], Resolve);

        Assert.Equal("""{"type":"record","name":"Top","namespace":"x","fields":[{"name":"l","type":"L24"}]}""", top.CanonicalString);
        Assert.True(started.Elapsed < TimeSpan.FromMinutes(1), $"took {started.Elapsed}");
    }
}
