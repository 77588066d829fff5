using Google.Protobuf.Reflection;
using Label = Google.Protobuf.Reflection.FieldDescriptorProto.Label;
using Type = Google.Protobuf.Reflection.FieldDescriptorProto.Type;

namespace Tributary.SchemaRegistry.Schemas.Protobuf;

/// <summary>
/// Confluent's Protobuf compatibility: the original and updated files are diffed message by message and field by
/// field number; differences outside the compatible set (adding/removing/renaming fields, adding messages, enum and
/// oneof additions…) are incompatibilities. A field number reused with a type of another wire-compatible group
/// (int32/uint32/int64/uint64/bool/enum; sint32/sint64; fixed32/sfixed32; fixed64/sfixed64; string/bytes; float;
/// double), another kind (scalar/message/map) or another message type breaks; a removed or renamed message, a
/// changed package, a field leaving a oneof's set or several fields moved into one oneof break too.
/// </summary>
internal static class ProtobufCompatibility
{
    private static readonly HashSet<string> CompatibleChanges =
    [
        "MESSAGE_ADDED", "MESSAGE_MOVED", "ENUM_ADDED", "ENUM_REMOVED", "ENUM_CONST_ADDED", "ENUM_CONST_CHANGED",
        "ENUM_CONST_REMOVED", "FIELD_ADDED", "FIELD_REMOVED", "FIELD_NAME_CHANGED", "FIELD_STRING_OR_BYTES_LABEL_CHANGED",
        "ONEOF_ADDED", "ONEOF_REMOVED", "ONEOF_FIELD_ADDED",
    ];

    public static IReadOnlyList<string> Check(ProtobufParsedSchema original, ProtobufParsedSchema update, string updateLabel, string originalLabel)
    {
        var ctx = new Context(Types(original.Set), Types(update.Set));
        if ((original.File.Package ?? "") != (update.File.Package ?? ""))
        {
            ctx.Add("PACKAGE_CHANGED", "#/");
        }
        CompareTypes(ctx, "", original.File.MessageTypes, update.File.MessageTypes, original.File.EnumTypes, update.File.EnumTypes,
            original.File.Package ?? "", update.File.Package ?? "");
        return ctx.Differences
            .Where(d => !CompatibleChanges.Contains(d.Type))
            .Select(d => $"{{errorType:'{d.Type}', description:'{Describe(d.Type, d.Path, updateLabel, originalLabel)}'}}")
            .Distinct()
            .ToList();
    }

    private static void CompareTypes(Context ctx, string scope, List<DescriptorProto> originalMessages, List<DescriptorProto> updateMessages,
        List<EnumDescriptorProto> originalEnums, List<EnumDescriptorProto> updateEnums, string originalPackage, string updatePackage)
    {
        var before = originalMessages.Select((m, i) => (m, i)).ToDictionary(x => x.m.Name, StringComparer.Ordinal);
        var after = updateMessages.Select((m, i) => (m, i)).ToDictionary(x => x.m.Name, StringComparer.Ordinal);
        foreach (var name in before.Keys.Union(after.Keys).Order(StringComparer.Ordinal))
        {
            var path = "#/" + scope + name;
            var hadIt = before.TryGetValue(name, out var was);
            var hasIt = after.TryGetValue(name, out var now);
            if (!hasIt)
            {
                if (was.m.Options?.MapEntry != true)
                {
                    ctx.Add("MESSAGE_REMOVED", path);
                }
            }
            else if (!hadIt)
            {
                if (now.m.Options?.MapEntry != true)
                {
                    ctx.Add("MESSAGE_ADDED", path);
                }
            }
            else
            {
                CompareMessage(ctx, scope + name, was.m, now.m, originalPackage, updatePackage);
                if (was.i != now.i)
                {
                    ctx.Add("MESSAGE_MOVED", path);
                }
            }
        }
        var enumsBefore = originalEnums.ToDictionary(e => e.Name, StringComparer.Ordinal);
        var enumsAfter = updateEnums.ToDictionary(e => e.Name, StringComparer.Ordinal);
        foreach (var name in enumsBefore.Keys.Union(enumsAfter.Keys))
        {
            var path = "#/" + scope + name;
            if (!enumsAfter.TryGetValue(name, out var now))
            {
                ctx.Add("ENUM_REMOVED", path);
            }
            else if (!enumsBefore.TryGetValue(name, out var was))
            {
                ctx.Add("ENUM_ADDED", path);
            }
            else
            {
                foreach (var value in was.Values.Where(v => !now.Values.Any(n => n.Number == v.Number)))
                {
                    ctx.Add("ENUM_CONST_REMOVED", path + "/" + value.Number);
                }
                foreach (var value in now.Values.Where(v => !was.Values.Any(n => n.Number == v.Number)))
                {
                    ctx.Add("ENUM_CONST_ADDED", path + "/" + value.Number);
                }
            }
        }
    }

    private static void CompareMessage(Context ctx, string localName, DescriptorProto original, DescriptorProto update,
        string originalPackage, string updatePackage)
    {
        if (!ctx.Enter(original, update))
        {
            return;
        }
        try
        {
            var path = "#/" + localName;
            var originalOneofs = RealOneofs(original);
            var updateOneofs = RealOneofs(update);
            var originalByTag = original.Fields.Where(f => OneofName(original, f, originalOneofs) is null).ToDictionary(f => f.Number);
            var updateByTag = update.Fields.Where(f => OneofName(update, f, updateOneofs) is null).ToDictionary(f => f.Number);
            var originalAll = original.Fields.ToDictionary(f => f.Number);
            var updateAll = update.Fields.ToDictionary(f => f.Number);

            foreach (var (oneof, tags) in updateOneofs)
            {
                var moved = 0;
                var existing = 0;
                foreach (var tag in tags)
                {
                    if (originalByTag.Remove(tag))
                    {
                        moved++;
                    }
                    else if (originalOneofs.Values.Any(t => t.Contains(tag)))
                    {
                        existing++;
                    }
                }
                if (moved > 1)
                {
                    ctx.Add("MULTIPLE_FIELDS_MOVED_TO_ONEOF", path + "/" + oneof);
                }
                else if (moved == 1 && existing > 0)
                {
                    ctx.Add("FIELD_MOVED_TO_EXISTING_ONEOF", path + "/" + oneof);
                }
            }

            foreach (var oneof in originalOneofs.Keys.Union(updateOneofs.Keys).Order(StringComparer.Ordinal))
            {
                var at = path + "/" + oneof;
                if (!updateOneofs.TryGetValue(oneof, out var now))
                {
                    ctx.Add("ONEOF_REMOVED", at);
                }
                else if (!originalOneofs.TryGetValue(oneof, out var was))
                {
                    ctx.Add("ONEOF_ADDED", at);
                }
                else
                {
                    foreach (var tag in was.Union(now).Order())
                    {
                        if (!now.Contains(tag))
                        {
                            ctx.Add("ONEOF_FIELD_REMOVED", at + "/" + tag);
                        }
                        else if (!was.Contains(tag))
                        {
                            ctx.Add("ONEOF_FIELD_ADDED", at + "/" + tag);
                        }
                        else
                        {
                            CompareField(ctx, at + "/" + tag, originalAll[tag], updateAll[tag], originalPackage, updatePackage);
                        }
                    }
                }
            }

            foreach (var tag in originalByTag.Keys.Union(updateByTag.Keys).Order())
            {
                var at = path + "/" + tag;
                var hadIt = originalByTag.TryGetValue(tag, out var was);
                var hasIt = updateByTag.TryGetValue(tag, out var now);
                if (!hasIt)
                {
                    ctx.Add(was!.label == Label.LabelRequired ? "REQUIRED_FIELD_REMOVED" : "FIELD_REMOVED", at);
                }
                else if (!hadIt)
                {
                    ctx.Add(now!.label == Label.LabelRequired ? "REQUIRED_FIELD_ADDED" : "FIELD_ADDED", at);
                }
                else
                {
                    CompareField(ctx, at, was!, now!, originalPackage, updatePackage);
                }
            }

            // Fields whose oneof membership changed (moved in or out, or oneof renamed) are compared by number too.
            foreach (var tag in originalAll.Keys.Intersect(updateAll.Keys).Order())
            {
                var before = OneofName(original, originalAll[tag], originalOneofs);
                var after = OneofName(update, updateAll[tag], updateOneofs);
                if ((before is null && after is null) || (before is not null && before == after))
                {
                    continue;
                }
                CompareField(ctx, path + "/" + tag, originalAll[tag], updateAll[tag], originalPackage, updatePackage);
            }

            CompareTypes(ctx, localName + ".", original.NestedTypes, update.NestedTypes, original.EnumTypes, update.EnumTypes,
                originalPackage, updatePackage);
        }
        finally
        {
            ctx.Leave(original, update);
        }
    }

    private static void CompareField(Context ctx, string path, FieldDescriptorProto original, FieldDescriptorProto update,
        string originalPackage, string updatePackage)
    {
        if (original.Name != update.Name)
        {
            ctx.Add("FIELD_NAME_CHANGED", path);
        }
        var originalMap = ctx.MapEntry(original, isOriginal: true);
        var updateMap = ctx.MapEntry(update, isOriginal: false);
        if ((original.label == Label.LabelRepeated) != (update.label == Label.LabelRepeated) && originalMap is null && updateMap is null)
        {
            ctx.Add(IsNumeric(original) && IsNumeric(update) ? "FIELD_NUMERIC_LABEL_CHANGED" : "FIELD_STRING_OR_BYTES_LABEL_CHANGED", path);
        }
        CompareTypes(ctx, path, original, originalMap, update, updateMap, originalPackage, updatePackage);
    }

    private static void CompareTypes(Context ctx, string path, FieldDescriptorProto original, DescriptorProto? originalMap,
        FieldDescriptorProto update, DescriptorProto? updateMap, string originalPackage, string updatePackage)
    {
        var before = KindOf(original, originalMap);
        var after = KindOf(update, updateMap);
        if (before != after)
        {
            ctx.Add("FIELD_KIND_CHANGED", path);
            return;
        }
        switch (before)
        {
            case "SCALAR":
                if (ScalarGroup(original) != ScalarGroup(update))
                {
                    ctx.Add("FIELD_SCALAR_KIND_CHANGED", path);
                }
                break;
            case "MAP":
                foreach (var number in new[] { 1, 2 })
                {
                    var k1 = originalMap!.Fields.First(f => f.Number == number);
                    var k2 = updateMap!.Fields.First(f => f.Number == number);
                    CompareTypes(ctx, path, k1, ctx.MapEntry(k1, true), k2, ctx.MapEntry(k2, false), originalPackage, updatePackage);
                }
                break;
            case "MESSAGE":
                var originalName = original.TypeName.TrimStart('.');
                var updateName = update.TypeName.TrimStart('.');
                var originalType = ctx.Lookup(originalName, isOriginal: true);
                var updateType = ctx.Lookup(updateName, isOriginal: false);
                var originalLocal = Local(originalName, originalType?.Package ?? originalPackage);
                var updateLocal = Local(updateName, updateType?.Package ?? updatePackage);
                if (originalLocal != updateLocal || originalType?.Message is null || updateType?.Message is null)
                {
                    if (originalLocal != updateLocal)
                    {
                        ctx.Add("FIELD_NAMED_TYPE_CHANGED", path);
                    }
                    return;
                }
                var compatible = ctx.TryCompatible(() =>
                    CompareMessage(ctx, originalLocal, originalType.Value.Message, updateType.Value.Message,
                        originalType.Value.Package, updateType.Value.Package));
                if (!compatible)
                {
                    ctx.Add("FIELD_NAMED_TYPE_CHANGED", path);
                }
                break;
        }
    }

    private static string KindOf(FieldDescriptorProto field, DescriptorProto? mapEntry) =>
        mapEntry is not null ? "MAP"
        : field.type is Type.TypeMessage or Type.TypeGroup ? "MESSAGE"
        : "SCALAR"; // enums count as scalars

    private static bool IsNumeric(FieldDescriptorProto field) =>
        field.type is not (Type.TypeString or Type.TypeBytes or Type.TypeMessage or Type.TypeGroup);

    private static string ScalarGroup(FieldDescriptorProto field) => field.type switch
    {
        Type.TypeEnum or Type.TypeInt32 or Type.TypeInt64 or Type.TypeUint32 or Type.TypeUint64 or Type.TypeBool => "GENERAL_NUMBER",
        Type.TypeSint32 or Type.TypeSint64 => "SIGNED_NUMBER",
        Type.TypeString or Type.TypeBytes => "STRING_OR_BYTES",
        Type.TypeFixed32 or Type.TypeSfixed32 => "FIXED32",
        Type.TypeFixed64 or Type.TypeSfixed64 => "FIXED64",
        Type.TypeFloat => "FLOAT",
        Type.TypeDouble => "DOUBLE",
        _ => field.type.ToString(),
    };

    private static string Local(string fullName, string package) =>
        package.Length > 0 && fullName.StartsWith(package + ".", StringComparison.Ordinal) ? fullName[(package.Length + 1)..] : fullName;

    /// <summary>Oneofs declared in source (proto3 <c>optional</c> fields get synthetic ones, which are not oneofs to users).</summary>
    private static Dictionary<string, HashSet<int>> RealOneofs(DescriptorProto message)
    {
        var result = new Dictionary<string, HashSet<int>>(StringComparer.Ordinal);
        for (var i = 0; i < message.OneofDecls.Count; i++)
        {
            var members = message.Fields.Where(f => f.ShouldSerializeOneofIndex() && f.OneofIndex == i).ToList();
            if (members.Count > 0 && members.All(f => f.Proto3Optional))
            {
                continue;
            }
            result[message.OneofDecls[i].Name] = members.Select(f => f.Number).ToHashSet();
        }
        return result;
    }

    private static string? OneofName(DescriptorProto message, FieldDescriptorProto field, Dictionary<string, HashSet<int>> oneofs) =>
        field.ShouldSerializeOneofIndex() && field.OneofIndex < message.OneofDecls.Count
            && oneofs.ContainsKey(message.OneofDecls[field.OneofIndex].Name)
            ? message.OneofDecls[field.OneofIndex].Name
            : null;

    private static Dictionary<string, (DescriptorProto? Message, string Package)> Types(FileDescriptorSet set)
    {
        var types = new Dictionary<string, (DescriptorProto?, string)>(StringComparer.Ordinal);
        void AddMessages(string prefix, IEnumerable<DescriptorProto> messages, string package)
        {
            foreach (var message in messages)
            {
                var name = prefix + message.Name;
                types.TryAdd(name, (message, package));
                AddMessages(name + ".", message.NestedTypes, package);
                foreach (var e in message.EnumTypes)
                {
                    types.TryAdd(name + "." + e.Name, (null, package));
                }
            }
        }
        foreach (var file in set.Files)
        {
            var package = file.Package ?? "";
            AddMessages(package.Length > 0 ? package + "." : "", file.MessageTypes, package);
        }
        return types;
    }

    private static string Describe(string type, string path, string update, string original) => type switch
    {
        "PACKAGE_CHANGED" => $"The package of the {update} schema does not match the package of the {original} schema",
        "MESSAGE_REMOVED" => $"The {update} schema is missing a message at path '{path}' in the {original} schema",
        "FIELD_KIND_CHANGED" => $"The kind of a field at path '{path}' in the {update} schema does not match its kind in the {original} schema",
        "FIELD_SCALAR_KIND_CHANGED" => $"The type of a scalar field at path '{path}' in the {update} schema does not match its type in the {original} schema",
        "FIELD_NAMED_TYPE_CHANGED" => $"The type of a message field at path '{path}' in the {update} schema does not match its type in the {original} schema",
        "FIELD_NUMERIC_LABEL_CHANGED" => $"The label (repeated or not) of a numeric field at path '{path}' differs between the {update} and the {original} schema",
        "REQUIRED_FIELD_ADDED" => $"The {update} schema has a required field at path '{path}' which is missing in the {original} schema",
        "REQUIRED_FIELD_REMOVED" => $"The {update} schema is missing a required field at path '{path}' in the {original} schema",
        "ONEOF_FIELD_REMOVED" => $"The {update} schema is missing a field of a oneof at path '{path}' in the {original} schema",
        "MULTIPLE_FIELDS_MOVED_TO_ONEOF" => $"Several fields of the {original} schema are moved into the oneof at path '{path}' in the {update} schema",
        "FIELD_MOVED_TO_EXISTING_ONEOF" => $"A field of the {original} schema is moved into an existing oneof at path '{path}' in the {update} schema",
        _ => $"A change at path '{path}' between the {original} and the {update} schema",
    };

    private sealed record Difference(string Type, string Path);

    private sealed class Context(
        Dictionary<string, (DescriptorProto? Message, string Package)> originalTypes,
        Dictionary<string, (DescriptorProto? Message, string Package)> updateTypes)
    {
        private readonly HashSet<(DescriptorProto, DescriptorProto)> _inProgress = [];

        public List<Difference> Differences { get; private set; } = [];

        public void Add(string type, string path) => Differences.Add(new Difference(type, path));

        public (DescriptorProto? Message, string Package)? Lookup(string fullName, bool isOriginal) =>
            (isOriginal ? originalTypes : updateTypes).TryGetValue(fullName, out var found) ? found : null;

        public DescriptorProto? MapEntry(FieldDescriptorProto field, bool isOriginal) =>
            field.type == Type.TypeMessage && field.label == Label.LabelRepeated
            && Lookup(field.TypeName.TrimStart('.'), isOriginal) is { Message: { Options.MapEntry: true } entry }
                ? entry
                : null;

        public bool Enter(DescriptorProto original, DescriptorProto update) => _inProgress.Add((original, update));

        public void Leave(DescriptorProto original, DescriptorProto update) => _inProgress.Remove((original, update));

        /// <summary>Runs a nested comparison, keeps its differences, and says whether they were all compatible.</summary>
        public bool TryCompatible(Action compare)
        {
            var before = Differences.Count;
            compare();
            return Differences.Skip(before).All(d => CompatibleChanges.Contains(d.Type));
        }
    }
}
