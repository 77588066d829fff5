using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Tributary.SchemaRegistry.Schemas.Json;

/// <summary>
/// Confluent's JSON Schema compatibility: the original (writer) and updated (reader) schemas are diffed into typed
/// differences, and every difference outside the compatible set is an incompatibility. The content model decides
/// what adding or removing a property means: an open model (no additionalProperties or true, no patternProperties)
/// may already carry any property, a closed one (additionalProperties false) carries only its declared ones, a
/// partially open one (additionalProperties or patternProperties schemas) carries what those schemas allow.
/// </summary>
internal static class JsonSchemaCompatibility
{
    private static readonly HashSet<string> CompatibleChanges =
    [
        "ID_CHANGED", "DESCRIPTION_CHANGED", "TITLE_CHANGED", "DEFAULT_CHANGED", "SCHEMA_REMOVED", "TYPE_EXTENDED",
        "MAX_LENGTH_INCREASED", "MAX_LENGTH_REMOVED", "MIN_LENGTH_DECREASED", "MIN_LENGTH_REMOVED", "PATTERN_REMOVED",
        "MAXIMUM_INCREASED", "MAXIMUM_REMOVED", "MINIMUM_DECREASED", "MINIMUM_REMOVED", "EXCLUSIVE_MAXIMUM_INCREASED",
        "EXCLUSIVE_MAXIMUM_REMOVED", "EXCLUSIVE_MINIMUM_DECREASED", "EXCLUSIVE_MINIMUM_REMOVED", "MULTIPLE_OF_REDUCED",
        "MULTIPLE_OF_REMOVED", "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED", "REQUIRED_ATTRIBUTE_REMOVED",
        "DEPENDENCY_ARRAY_NARROWED", "DEPENDENCY_ARRAY_REMOVED", "DEPENDENCY_SCHEMA_REMOVED", "MAX_PROPERTIES_INCREASED",
        "MAX_PROPERTIES_REMOVED", "MIN_PROPERTIES_DECREASED", "MIN_PROPERTIES_REMOVED", "ADDITIONAL_PROPERTIES_ADDED",
        "ADDITIONAL_PROPERTIES_EXTENDED", "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
        "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL", "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
        "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL", "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
        "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "MAX_ITEMS_INCREASED", "MAX_ITEMS_REMOVED", "MIN_ITEMS_DECREASED", "MIN_ITEMS_REMOVED", "UNIQUE_ITEMS_REMOVED",
        "ADDITIONAL_ITEMS_ADDED", "ADDITIONAL_ITEMS_EXTENDED", "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
        "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL", "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL", "ENUM_ARRAY_EXTENDED", "COMBINED_TYPE_EXTENDED", "PRODUCT_TYPE_NARROWED",
        "SUM_TYPE_EXTENDED", "NOT_TYPE_NARROWED",
    ];

    /// <summary>Why <paramref name="update"/> cannot read what <paramref name="original"/> describes.</summary>
    public static IReadOnlyList<string> Check(JsonSchemaDocument original, JsonSchemaDocument update, string updateLabel, string originalLabel)
    {
        var context = new Context();
        Compare(context, context.ViewOf(original.Root, original), context.ViewOf(update.Root, update), 0);
        return context.Differences
            .Where(d => !CompatibleChanges.Contains(d.Type))
            .Select(d => $"{{errorType:\"{d.Type}\", description:\"{Describe(d.Type, d.Path, updateLabel, originalLabel)}\"}}")
            .Distinct()
            .ToList();
    }

    private static void Compare(Context ctx, View original, View update, int depth)
    {
        if (depth > JsonSchemaDocument.MaxDepth || !ctx.Budget())
        {
            return;
        }
        if (original.Kind != Kind.Combined && update.Kind == Kind.Combined)
        {
            if (update.Subs.Count == 1)
            {
                if (ctx.TryCompatible(c => Compare(c, original, update.Subs[0], depth + 1)))
                {
                    return;
                }
            }
            else if (update.Criterion is "anyOf" or "oneOf")
            {
                foreach (var sub in update.Subs)
                {
                    if (ctx.TryCompatible(c => Compare(c, original, sub, depth + 1)))
                    {
                        ctx.Add("SUM_TYPE_EXTENDED");
                        return;
                    }
                }
            }
        }
        else if (original.Kind == Kind.Combined && update.Kind != Kind.Combined && original.Subs.Count == 1
                 && ctx.TryCompatible(c => Compare(c, original.Subs[0], update, depth + 1)))
        {
            return;
        }

        if (original.Kind != update.Kind)
        {
            if (original.Kind != Kind.False && update.Kind != Kind.Empty)
            {
                ctx.Add("TYPE_CHANGED");
            }
            return;
        }
        if (!ctx.Enter(original, update))
        {
            return; // a recursive schema already being compared on this path
        }
        try
        {
            switch (original.Kind)
            {
                case Kind.String:
                    CompareBound(ctx, original, update, "maxLength");
                    CompareBound(ctx, original, update, "minLength");
                    ComparePattern(ctx, original, update);
                    break;
                case Kind.Number:
                    CompareNumber(ctx, original, update);
                    break;
                case Kind.Enum:
                    CompareEnum(ctx, original, update);
                    break;
                case Kind.Const:
                    if (!JsonNode.DeepEquals(original.Obj!["const"], update.Obj!["const"]))
                    {
                        ctx.Add("ENUM_ARRAY_CHANGED");
                    }
                    break;
                case Kind.Combined:
                    CompareCombined(ctx, original, update, depth);
                    break;
                case Kind.Not:
                    // The negated schemas swap roles: what the update excludes must already have been excluded.
                    if (!ctx.TryCompatible(c => Compare(c, update.Subs[0], original.Subs[0], depth + 1)))
                    {
                        ctx.Add("NOT_TYPE_EXTENDED");
                    }
                    break;
                case Kind.Object:
                    CompareObject(ctx, original, update, depth);
                    break;
                case Kind.Array:
                    CompareArray(ctx, original, update, depth);
                    break;
            }
        }
        finally
        {
            ctx.Leave(original, update);
        }
    }

    private static void CompareNumber(Context ctx, View original, View update)
    {
        if (original.Integer != update.Integer)
        {
            ctx.Add(update.Integer ? "TYPE_NARROWED" : "TYPE_EXTENDED");
        }
        CompareBound(ctx, original, update, "maximum");
        CompareBound(ctx, original, update, "minimum");
        CompareBound(ctx, original, update, "exclusiveMaximum");
        CompareBound(ctx, original, update, "exclusiveMinimum");
        var before = Number(original.Obj, "multipleOf");
        var after = Number(update.Obj, "multipleOf");
        if (before != after)
        {
            ctx.Add(before is null ? "MULTIPLE_OF_ADDED"
                : after is null ? "MULTIPLE_OF_REMOVED"
                : after.Value % before.Value == 0 ? "MULTIPLE_OF_EXPANDED"
                : before.Value % after.Value == 0 ? "MULTIPLE_OF_REDUCED"
                : "MULTIPLE_OF_CHANGED");
        }
    }

    /// <summary>A numeric limit: reported as added, removed, increased or decreased; the compatible set says which direction is safe.</summary>
    private static void CompareBound(Context ctx, View original, View update, string keyword)
    {
        var before = Number(original.Obj, keyword);
        var after = Number(update.Obj, keyword);
        if (before == after)
        {
            return;
        }
        var name = ScreamingCase(keyword);
        using var _ = ctx.Path(keyword);
        ctx.Add(before is null ? name + "_ADDED"
            : after is null ? name + "_REMOVED"
            : after > before ? name + "_INCREASED"
            : name + "_DECREASED");
    }

    private static void ComparePattern(Context ctx, View original, View update)
    {
        var before = JsonSchemaDocument.Str(original.Obj!, "pattern");
        var after = JsonSchemaDocument.Str(update.Obj!, "pattern");
        if (before != after)
        {
            using var _ = ctx.Path("pattern");
            ctx.Add(before is null ? "PATTERN_ADDED" : after is null ? "PATTERN_REMOVED" : "PATTERN_CHANGED");
        }
    }

    private static void CompareEnum(Context ctx, View original, View update)
    {
        var before = (original.Obj!["enum"] as JsonArray ?? []).ToList();
        var after = (update.Obj!["enum"] as JsonArray ?? []).ToList();
        bool Contains(List<JsonNode?> set, JsonNode? value) => set.Any(v => JsonNode.DeepEquals(v, value));
        var afterHasAll = before.All(v => Contains(after, v));
        var beforeHasAll = after.All(v => Contains(before, v));
        if (afterHasAll && beforeHasAll)
        {
            return;
        }
        using var _ = ctx.Path("enum");
        ctx.Add(afterHasAll ? "ENUM_ARRAY_EXTENDED" : beforeHasAll ? "ENUM_ARRAY_NARROWED" : "ENUM_ARRAY_CHANGED");
    }

    private static void CompareCombined(Context ctx, View original, View update, int depth)
    {
        if (original.Criterion != update.Criterion)
        {
            // anyOf accepts whatever allOf/oneOf did; a singleton becomes oneOf (or allOf, both singletons) safely.
            var widened = update.Criterion == "anyOf"
                || (update.Criterion == "oneOf" && original.Subs.Count == 1)
                || (update.Criterion == "allOf" && original.Subs.Count == 1 && update.Subs.Count == 1);
            ctx.Add(widened ? "COMBINED_TYPE_EXTENDED" : "COMBINED_TYPE_CHANGED");
            if (!widened)
            {
                return;
            }
        }
        var product = update.Criterion == "allOf";
        if (original.Subs.Count < update.Subs.Count)
        {
            ctx.Add(product ? "PRODUCT_TYPE_EXTENDED" : "SUM_TYPE_EXTENDED");
        }
        else if (original.Subs.Count > update.Subs.Count)
        {
            ctx.Add(product ? "PRODUCT_TYPE_NARROWED" : "SUM_TYPE_NARROWED");
        }
        // Which update subschema can read which original one; then a maximum matching between the two sides.
        var reads = new bool[original.Subs.Count, update.Subs.Count];
        for (var i = 0; i < original.Subs.Count; i++)
        {
            using var _ = ctx.Path($"{original.Criterion}/{i}");
            for (var j = 0; j < update.Subs.Count; j++)
            {
                var (o, u) = (original.Subs[i], update.Subs[j]);
                reads[i, j] = ctx.Reads(o, u, () => ctx.TryCompatible(c => Compare(c, o, u, depth + 1), keep: false));
            }
        }
        if (MaximumMatching(reads, original.Subs.Count, update.Subs.Count) < Math.Min(original.Subs.Count, update.Subs.Count))
        {
            ctx.Add("COMBINED_TYPE_SUBSCHEMAS_CHANGED");
        }
    }

    /// <summary>Size of a maximum bipartite matching (augmenting paths; subschema lists are short).</summary>
    private static int MaximumMatching(bool[,] edges, int left, int right)
    {
        var matchOfRight = Enumerable.Repeat(-1, right).ToArray();
        bool Augment(int l, bool[] seen)
        {
            for (var r = 0; r < right; r++)
            {
                if (edges[l, r] && !seen[r])
                {
                    seen[r] = true;
                    if (matchOfRight[r] < 0 || Augment(matchOfRight[r], seen))
                    {
                        matchOfRight[r] = l;
                        return true;
                    }
                }
            }
            return false;
        }
        var size = 0;
        for (var l = 0; l < left; l++)
        {
            if (Augment(l, new bool[right]))
            {
                size++;
            }
        }
        return size;
    }

    private static void CompareObject(Context ctx, View original, View update, int depth)
    {
        var before = original.Obj!;
        var after = update.Obj!;
        var beforeProps = Properties(before);
        var afterProps = Properties(after);
        var beforeRequired = Required(before);
        var afterRequired = Required(after);

        using (ctx.Path("required"))
        {
            foreach (var key in beforeProps.Keys.Where(afterProps.ContainsKey))
            {
                using var _ = ctx.Path(key);
                var was = beforeRequired.Contains(key);
                var now = afterRequired.Contains(key);
                if (was && !now)
                {
                    ctx.Add("REQUIRED_ATTRIBUTE_REMOVED");
                }
                else if (!was && now)
                {
                    ctx.Add(HasDefault(afterProps[key]) ? "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED" : "REQUIRED_ATTRIBUTE_ADDED");
                }
            }
        }

        using (ctx.Path("properties"))
        {
            foreach (var key in beforeProps.Keys.Union(afterProps.Keys).Order(StringComparer.Ordinal))
            {
                using var _ = ctx.Path(key);
                var was = beforeProps.GetValueOrDefault(key);
                var now = afterProps.GetValueOrDefault(key);
                if (now is null)
                {
                    if (IsOpen(after))
                    {
                        ctx.Add("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL");
                    }
                    else if (PartialSchema(after, key) is { } covering)
                    {
                        var covered = ctx.TryCompatible(c => Compare(c, ctx.ViewOf(was, original.Document), ctx.ViewOf(covering, update.Document), depth + 1));
                        ctx.Add(covered ? "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" : "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL");
                    }
                    else
                    {
                        ctx.Add(was is JsonValue f && f.GetValueKind() == JsonValueKind.False
                            ? "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL"
                            : "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL");
                    }
                }
                else if (was is null)
                {
                    if (IsOpen(before))
                    {
                        ctx.Add(ctx.ViewOf(now, update.Document).Kind == Kind.Empty
                            ? "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"
                            : "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL");
                    }
                    else
                    {
                        if (PartialSchema(before, key) is { } covering)
                        {
                            var covered = ctx.TryCompatible(c => Compare(c, ctx.ViewOf(covering, original.Document), ctx.ViewOf(now, update.Document), depth + 1));
                            ctx.Add(covered ? "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" : "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL");
                        }
                        ctx.Add(!afterRequired.Contains(key) ? "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"
                            : HasDefault(now) ? "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL"
                            : "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL");
                    }
                }
                else
                {
                    Compare(ctx, ctx.ViewOf(was, original.Document), ctx.ViewOf(now, update.Document), depth + 1);
                }
            }
        }

        using (ctx.Path("dependencies"))
        {
            var beforeArrays = Dependencies(before, arrays: true);
            var afterArrays = Dependencies(after, arrays: true);
            foreach (var key in beforeArrays.Keys.Union(afterArrays.Keys).Order(StringComparer.Ordinal))
            {
                using var _ = ctx.Path(key);
                if (!afterArrays.TryGetValue(key, out var now))
                {
                    ctx.Add("DEPENDENCY_ARRAY_REMOVED");
                }
                else if (!beforeArrays.TryGetValue(key, out var was))
                {
                    ctx.Add("DEPENDENCY_ARRAY_ADDED");
                }
                else
                {
                    var wasSet = Strings(was);
                    var nowSet = Strings(now);
                    if (!wasSet.SetEquals(nowSet))
                    {
                        ctx.Add(nowSet.IsSupersetOf(wasSet) ? "DEPENDENCY_ARRAY_EXTENDED"
                            : wasSet.IsSupersetOf(nowSet) ? "DEPENDENCY_ARRAY_NARROWED"
                            : "DEPENDENCY_ARRAY_CHANGED");
                    }
                }
            }
            var beforeSchemas = Dependencies(before, arrays: false);
            var afterSchemas = Dependencies(after, arrays: false);
            foreach (var key in beforeSchemas.Keys.Union(afterSchemas.Keys).Order(StringComparer.Ordinal))
            {
                using var _ = ctx.Path(key);
                if (!afterSchemas.TryGetValue(key, out var now))
                {
                    ctx.Add("DEPENDENCY_SCHEMA_REMOVED");
                }
                else if (!beforeSchemas.TryGetValue(key, out var was))
                {
                    ctx.Add("DEPENDENCY_SCHEMA_ADDED");
                }
                else
                {
                    Compare(ctx, ctx.ViewOf(was, original.Document), ctx.ViewOf(now, update.Document), depth + 1);
                }
            }
        }

        using (ctx.Path("additionalProperties"))
        {
            var beforePermits = Permits(before["additionalProperties"]);
            var afterPermits = Permits(after["additionalProperties"]);
            var beforeSchema = before["additionalProperties"] as JsonObject;
            var afterSchema = after["additionalProperties"] as JsonObject;
            if (beforePermits != afterPermits)
            {
                ctx.Add(afterPermits ? "ADDITIONAL_PROPERTIES_ADDED" : "ADDITIONAL_PROPERTIES_REMOVED");
            }
            else if (beforeSchema is null && afterSchema is not null)
            {
                ctx.Add("ADDITIONAL_PROPERTIES_NARROWED");
            }
            else if (beforeSchema is not null && afterSchema is null)
            {
                ctx.Add("ADDITIONAL_PROPERTIES_EXTENDED");
            }
            else if (beforeSchema is not null && afterSchema is not null)
            {
                Compare(ctx, ctx.ViewOf(beforeSchema, original.Document), ctx.ViewOf(afterSchema, update.Document), depth + 1);
            }
        }

        CompareCount(ctx, before, after, "maxProperties", "MAX_PROPERTIES");
        CompareCount(ctx, before, after, "minProperties", "MIN_PROPERTIES");
    }

    private static void CompareArray(Context ctx, View original, View update, int depth)
    {
        var before = original.Obj!;
        var after = update.Obj!;
        CompareCount(ctx, before, after, "maxItems", "MAX_ITEMS");
        CompareCount(ctx, before, after, "minItems", "MIN_ITEMS");
        var wasUnique = before["uniqueItems"] is JsonValue u1 && u1.GetValueKind() == JsonValueKind.True;
        var isUnique = after["uniqueItems"] is JsonValue u2 && u2.GetValueKind() == JsonValueKind.True;
        if (wasUnique != isUnique)
        {
            using var _ = ctx.Path("uniqueItems");
            ctx.Add(isUnique ? "UNIQUE_ITEMS_ADDED" : "UNIQUE_ITEMS_REMOVED");
        }

        var (beforeTuple, beforeRest) = Items(before);
        var (afterTuple, afterRest) = Items(after);
        if (beforeTuple is null && afterTuple is null)
        {
            if (beforeRest is not null || afterRest is not null)
            {
                using var _ = ctx.Path("items");
                Compare(ctx, ctx.ViewOf(beforeRest ?? JsonValue.Create(true), original.Document),
                    ctx.ViewOf(afterRest ?? JsonValue.Create(true), update.Document), depth + 1);
            }
            return;
        }
        var beforeItems = beforeTuple ?? [];
        var afterItems = afterTuple ?? [];
        using (ctx.Path("items"))
        {
            for (var i = 0; i < Math.Max(beforeItems.Count, afterItems.Count); i++)
            {
                using var _ = ctx.Path(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                if (i >= afterItems.Count)
                {
                    ctx.Add(Permits(afterRest) && afterRest is not JsonObject ? "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL"
                        : beforeItems[i] is JsonValue f && f.GetValueKind() == JsonValueKind.False ? "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL"
                        : "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL");
                }
                else if (i >= beforeItems.Count)
                {
                    ctx.Add(!(Permits(beforeRest) && beforeRest is not JsonObject) ? "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL"
                        : ctx.ViewOf(afterItems[i], update.Document).Kind == Kind.Empty ? "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"
                        : "ITEM_ADDED_TO_OPEN_CONTENT_MODEL");
                }
                else
                {
                    Compare(ctx, ctx.ViewOf(beforeItems[i], original.Document), ctx.ViewOf(afterItems[i], update.Document), depth + 1);
                }
            }
        }
        using (ctx.Path("additionalItems"))
        {
            var beforePermits = Permits(beforeRest);
            var afterPermits = Permits(afterRest);
            if (beforePermits != afterPermits)
            {
                ctx.Add(afterPermits ? "ADDITIONAL_ITEMS_ADDED" : "ADDITIONAL_ITEMS_REMOVED");
            }
            else if (beforeRest is not JsonObject && afterRest is JsonObject)
            {
                ctx.Add("ADDITIONAL_ITEMS_NARROWED");
            }
            else if (beforeRest is JsonObject && afterRest is not JsonObject)
            {
                ctx.Add("ADDITIONAL_ITEMS_EXTENDED");
            }
            else if (beforeRest is JsonObject b && afterRest is JsonObject a)
            {
                Compare(ctx, ctx.ViewOf(b, original.Document), ctx.ViewOf(a, update.Document), depth + 1);
            }
        }
    }

    /// <summary>Tuple items and the schema of the items after them (2020-12: prefixItems/items; before: items array/additionalItems).</summary>
    private static (List<JsonNode?>? Tuple, JsonNode? After) Items(JsonObject obj)
    {
        if (obj["prefixItems"] is JsonArray prefix)
        {
            return (prefix.ToList(), obj["items"]);
        }
        if (obj["items"] is JsonArray tuple)
        {
            return (tuple.ToList(), obj["additionalItems"]);
        }
        return (null, obj["items"]);
    }

    private static void CompareCount(Context ctx, JsonObject before, JsonObject after, string keyword, string name)
    {
        var was = Number(before, keyword);
        var now = Number(after, keyword);
        if (was == now)
        {
            return;
        }
        using var _ = ctx.Path(keyword);
        ctx.Add(was is null ? name + "_ADDED" : now is null ? name + "_REMOVED" : now > was ? name + "_INCREASED" : name + "_DECREASED");
    }

    /// <summary>Property dependencies: arrays of names (dependencies/dependentRequired) or schemas (dependencies/dependentSchemas).</summary>
    private static Dictionary<string, JsonNode?> Dependencies(JsonObject obj, bool arrays)
    {
        var result = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var keyword in arrays ? new[] { "dependencies", "dependentRequired" } : ["dependencies", "dependentSchemas"])
        {
            if (obj[keyword] is JsonObject map)
            {
                foreach (var (key, value) in map)
                {
                    if ((value is JsonArray) == arrays)
                    {
                        result[key] = value;
                    }
                }
            }
        }
        return result;
    }

    private static HashSet<string> Strings(JsonNode? array) =>
        (array as JsonArray ?? []).Select(v => v is JsonValue s && s.TryGetValue(out string? text) ? text : null)
            .OfType<string>().ToHashSet(StringComparer.Ordinal);

    private static Dictionary<string, JsonNode?> Properties(JsonObject obj) =>
        obj["properties"] is JsonObject props ? props.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal) : [];

    private static HashSet<string> Required(JsonObject obj) =>
        obj["required"] is JsonArray required
            ? required.Select(r => r is JsonValue v && v.TryGetValue(out string? s) ? s : null).OfType<string>().ToHashSet(StringComparer.Ordinal)
            : [];

    private static bool HasDefault(JsonNode? schema) => schema is JsonObject obj && obj.ContainsKey("default");

    private static bool Permits(JsonNode? additional) => !(additional is JsonValue v && v.GetValueKind() == JsonValueKind.False);

    private static bool IsOpen(JsonObject obj) =>
        obj["patternProperties"] is not JsonObject { Count: > 0 }
        && obj["additionalProperties"] is not JsonObject
        && Permits(obj["additionalProperties"]);

    private static JsonNode? PartialSchema(JsonObject obj, string key)
    {
        if (obj["patternProperties"] is JsonObject patterns)
        {
            foreach (var (pattern, schema) in patterns)
            {
                try
                {
                    if (Regex.IsMatch(key, pattern, RegexOptions.None, TimeSpan.FromMilliseconds(100)))
                    {
                        return schema;
                    }
                }
                catch (ArgumentException)
                {
                    // An invalid pattern covers nothing.
                }
                catch (RegexMatchTimeoutException)
                {
                }
            }
        }
        return obj["additionalProperties"] as JsonObject;
    }

    private static decimal? Number(JsonObject? obj, string key) =>
        obj?[key] is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out decimal d) ? d
        : obj?[key] is JsonValue w && w.GetValueKind() == JsonValueKind.Number && w.TryGetValue(out double x) && double.IsFinite(x)
            ? (decimal)Math.Clamp(x, (double)decimal.MinValue, (double)decimal.MaxValue) : null;

    private static string ScreamingCase(string keyword) =>
        string.Concat(keyword.Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + c : char.ToUpperInvariant(c).ToString()));

    private static string Describe(string type, string path, string update, string original)
    {
        static bool In(string type, params string[] types) => types.Contains(type);
        if (In(type, "MAXIMUM_ADDED", "MINIMUM_ADDED", "EXCLUSIVE_MAXIMUM_ADDED", "EXCLUSIVE_MINIMUM_ADDED", "MULTIPLE_OF_ADDED",
                "MAX_LENGTH_ADDED", "MIN_LENGTH_ADDED", "PATTERN_ADDED", "REQUIRED_ATTRIBUTE_ADDED", "MAX_PROPERTIES_ADDED",
                "MIN_PROPERTIES_ADDED", "DEPENDENCY_ARRAY_ADDED", "DEPENDENCY_SCHEMA_ADDED", "MAX_ITEMS_ADDED", "MIN_ITEMS_ADDED",
                "UNIQUE_ITEMS_ADDED", "ADDITIONAL_ITEMS_REMOVED", "ADDITIONAL_PROPERTIES_REMOVED"))
        {
            return $"The keyword at path '{path}' in the {update} schema is not present in the {original} schema";
        }
        if (In(type, "MIN_LENGTH_INCREASED", "MINIMUM_INCREASED", "EXCLUSIVE_MINIMUM_INCREASED", "MIN_PROPERTIES_INCREASED",
                "MULTIPLE_OF_EXPANDED", "MIN_ITEMS_INCREASED"))
        {
            return $"The value at path '{path}' in the {update} schema is more than its value in the {original} schema";
        }
        if (In(type, "MAX_LENGTH_DECREASED", "MAXIMUM_DECREASED", "MAX_ITEMS_DECREASED", "EXCLUSIVE_MAXIMUM_DECREASED", "MAX_PROPERTIES_DECREASED"))
        {
            return $"The value at path '{path}' in the {update} schema is less than its value in the {original} schema";
        }
        if (In(type, "PATTERN_CHANGED", "MULTIPLE_OF_CHANGED", "DEPENDENCY_ARRAY_CHANGED"))
        {
            return $"The value at path '{path}' is different between the {update} and {original} schema";
        }
        if (In(type, "ADDITIONAL_ITEMS_NARROWED", "ENUM_ARRAY_NARROWED", "SUM_TYPE_NARROWED", "ADDITIONAL_PROPERTIES_NARROWED"))
        {
            return $"An array or combined type at path '{path}' has fewer elements in the {update} schema than the {original} schema";
        }
        if (In(type, "DEPENDENCY_ARRAY_EXTENDED", "PRODUCT_TYPE_EXTENDED", "SUM_TYPE_EXTENDED", "NOT_TYPE_EXTENDED"))
        {
            return $"An array or combined type at path '{path}' has more elements in the {update} schema than the {original} schema";
        }
        if (In(type, "TYPE_CHANGED", "TYPE_NARROWED", "COMBINED_TYPE_CHANGED", "COMBINED_TYPE_SUBSCHEMAS_CHANGED", "ENUM_ARRAY_CHANGED"))
        {
            return $"A type at path '{path}' is different between the {update} schema and the {original} schema";
        }
        return type switch
        {
            "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL" or "ITEM_ADDED_TO_OPEN_CONTENT_MODEL" =>
                $"The {update} schema has an open content model and has a property or item at path '{path}' which is missing in the {original} schema",
            "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL" =>
                $"The {update} schema has an unopen content model and has a required property at path '{path}' which is missing in the {original} schema",
            "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL" or "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL" =>
                $"The {update} schema has a closed content model and is missing a property or item present at path '{path}' in the {original} schema",
            "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" =>
                $"A property or item is missing in the {update} schema but present at path '{path}' in the {original} schema and is not covered by its partially open content model",
            "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" =>
                $"The {update} schema has a property or item at path '{path}' which is missing in the {original} schema and is not covered by its partially open content model",
            "SCHEMA_TOO_COMPLEX" => $"The schemas are too complex to compare (more than 50000 comparisons, from path '{path}')",
            _ => $"A change at path '{path}' between the {original} and the {update} schema",
        };
    }

    private enum Kind { Empty, False, Object, Array, String, Number, Boolean, Null, Enum, Const, Combined, Not }

    /// <summary>
    /// What a schema node is, for diffing: a typed schema, an enum/const, a combination, a negation, the empty
    /// schema (true/{}) or false. <c>$ref</c>s are followed; a node mixing a type with combiners is their allOf.
    /// </summary>
    private sealed class View
    {
        private View(Kind kind, JsonObject? obj, JsonSchemaDocument document)
        {
            Kind = kind;
            Obj = obj;
            Document = document;
        }

        public Kind Kind { get; }
        public JsonObject? Obj { get; }
        public JsonSchemaDocument Document { get; }
        public List<View> Subs { get; } = [];
        public string Criterion { get; private init; } = "";
        public bool Integer { get; private init; }

        /// <summary>Views are shared per node, so recursive schemas form a graph instead of an endless tree.</summary>
        public static View Of(JsonNode? node, JsonSchemaDocument document, int hops, Dictionary<JsonNode, View> cache)
        {
            if (node is not null && cache.TryGetValue(node, out var known))
            {
                return known;
            }
            var view = Build(node, document, hops, cache);
            if (node is not null)
            {
                cache.TryAdd(node, view);
            }
            return view;
        }

        private static View Build(JsonNode? node, JsonSchemaDocument document, int hops, Dictionary<JsonNode, View> cache)
        {
            if (node is JsonValue v && v.GetValueKind() == JsonValueKind.False)
            {
                return new View(Kind.False, null, document);
            }
            if (node is not JsonObject obj)
            {
                return new View(Kind.Empty, null, document);
            }
            if (JsonSchemaDocument.Str(obj, "$ref") is { } reference && hops < 32 && document.Resolve(reference) is { } target)
            {
                return Of(target.Node, target.Document, hops + 1, cache);
            }
            var parts = new List<View>();
            // Registered before its subschemas are built, so a cycle back to this node finds it.
            var self = new View(Kind.Combined, obj, document) { Criterion = "allOf" };
            cache[obj] = self;
            if (Typed(obj, document) is { } typed)
            {
                parts.Add(typed);
            }
            foreach (var criterion in new[] { "allOf", "anyOf", "oneOf" })
            {
                if (obj[criterion] is JsonArray subs)
                {
                    var combined = new View(Kind.Combined, obj, document) { Criterion = criterion };
                    combined.Subs.AddRange(subs.Select(s => Of(s, document, hops, cache)));
                    parts.Add(combined);
                }
            }
            if (obj.ContainsKey("enum"))
            {
                parts.Add(new View(Kind.Enum, obj, document));
            }
            if (obj.ContainsKey("const"))
            {
                parts.Add(new View(Kind.Const, obj, document));
            }
            if (obj.ContainsKey("not"))
            {
                var not = new View(Kind.Not, obj, document);
                not.Subs.Add(Of(obj["not"], document, hops, cache));
                parts.Add(not);
            }
            if (parts.Count == 1)
            {
                // A cycle that came back here while building holds "self": make it a singleton allOf of the real view.
                self.Subs.Add(parts[0]);
                cache[obj] = parts[0];
                return parts[0];
            }
            if (parts.Count == 0)
            {
                var empty = new View(Kind.Empty, obj, document);
                cache[obj] = empty;
                return empty;
            }
            self.Subs.AddRange(parts);
            return self;
        }

        private static View? Typed(JsonObject obj, JsonSchemaDocument document)
        {
            var types = obj["type"] switch
            {
                JsonValue t when t.TryGetValue(out string? one) => [one],
                JsonArray many => many.Select(m => m?.GetValue<string>() ?? "").ToList(),
                _ => Inferred(obj),
            };
            if (types.Count == 0)
            {
                return null;
            }
            if (types.Count == 1)
            {
                return Single(types[0], obj, document);
            }
            var any = new View(Kind.Combined, obj, document) { Criterion = "anyOf" };
            any.Subs.AddRange(types.Select(t => Single(t, obj, document)));
            return any;
        }

        private static View Single(string type, JsonObject obj, JsonSchemaDocument document) => type switch
        {
            "object" => new View(Kind.Object, obj, document),
            "array" => new View(Kind.Array, obj, document),
            "string" => new View(Kind.String, obj, document),
            "integer" => new View(Kind.Number, obj, document) { Integer = true },
            "number" => new View(Kind.Number, obj, document),
            "boolean" => new View(Kind.Boolean, obj, document),
            "null" => new View(Kind.Null, obj, document),
            _ => new View(Kind.Empty, obj, document),
        };

        private static List<string> Inferred(JsonObject obj)
        {
            if (obj.ContainsKey("properties") || obj.ContainsKey("additionalProperties") || obj.ContainsKey("required")
                || obj.ContainsKey("patternProperties") || obj.ContainsKey("minProperties") || obj.ContainsKey("maxProperties"))
            {
                return ["object"];
            }
            if (obj.ContainsKey("items") || obj.ContainsKey("prefixItems") || obj.ContainsKey("minItems") || obj.ContainsKey("maxItems")
                || obj.ContainsKey("uniqueItems"))
            {
                return ["array"];
            }
            if (obj.ContainsKey("minLength") || obj.ContainsKey("maxLength") || obj.ContainsKey("pattern"))
            {
                return ["string"];
            }
            if (obj.ContainsKey("minimum") || obj.ContainsKey("maximum") || obj.ContainsKey("multipleOf")
                || obj.ContainsKey("exclusiveMinimum") || obj.ContainsKey("exclusiveMaximum"))
            {
                return ["number"];
            }
            return [];
        }
    }

    private sealed record Difference(string Type, string Path);

    private sealed class Context
    {
        private readonly List<string> _path = ["#"];
        private const int MaxComparisons = 50_000;

        private readonly Dictionary<(View, View), bool> _reads = new(new ViewPairComparer());

        private readonly HashSet<(JsonObject?, JsonObject?)> _inProgress = [];
        private readonly Dictionary<JsonNode, View> _views = new(ReferenceEqualityComparer.Instance);
        private int _comparisons;

        public View ViewOf(JsonNode? node, JsonSchemaDocument document) => View.Of(node, document, 0, _views);

        /// <summary>Whether one subschema reads another, computed once per pair (shared views make this a DAG walk).</summary>
        public bool Reads(View original, View update, Func<bool> compute)
        {
            if (!_reads.TryGetValue((original, update), out var reads))
            {
                reads = compute();
                _reads[(original, update)] = reads;
            }
            return reads;
        }

        /// <summary>Counts a comparison; false once a pathological schema has used up the budget (reported once).</summary>
        public bool Budget()
        {
            if (++_comparisons <= MaxComparisons)
            {
                return true;
            }
            if (_comparisons == MaxComparisons + 1)
            {
                Add("SCHEMA_TOO_COMPLEX");
            }
            return false;
        }

        public List<Difference> Differences { get; private set; } = [];

        public void Add(string type) => Differences.Add(new Difference(type, string.Join('/', _path)));

        public IDisposable Path(string segment)
        {
            _path.Add(segment);
            return new Pop(_path);
        }

        public bool Enter(View original, View update) =>
            original.Obj is null || update.Obj is null || _inProgress.Add((original.Obj, update.Obj));

        public void Leave(View original, View update)
        {
            if (original.Obj is not null && update.Obj is not null)
            {
                _inProgress.Remove((original.Obj, update.Obj));
            }
        }

        /// <summary>Runs a comparison on the side; keeps its differences if it was compatible (and <paramref name="keep"/>).</summary>
        public bool TryCompatible(Action<Context> compare, bool keep = true)
        {
            var saved = Differences;
            Differences = [];
            compare(this);
            var found = Differences;
            Differences = saved;
            var compatible = found.All(d => CompatibleChanges.Contains(d.Type));
            if (compatible && keep)
            {
                Differences.AddRange(found);
            }
            return compatible;
        }

        private sealed class ViewPairComparer : IEqualityComparer<(View, View)>
        {
            public bool Equals((View, View) x, (View, View) y) => ReferenceEquals(x.Item1, y.Item1) && ReferenceEquals(x.Item2, y.Item2);

            public int GetHashCode((View, View) obj) =>
                HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj.Item1),
                    System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj.Item2));
        }

        private sealed class Pop(List<string> path) : IDisposable
        {
            public void Dispose() => path.RemoveAt(path.Count - 1);
        }
    }
}
