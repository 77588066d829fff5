using System.Globalization;
using System.Text;
using Google.Protobuf.Reflection;

namespace Tributary.SchemaRegistry.Schemas.Protobuf;

/// <summary>
/// Prints a parsed <c>.proto</c> file back as text in one fixed layout (Confluent stores a re-printed file as the
/// canonical string): syntax, package, imports, common file options, then messages, enums and services in source
/// order; two-space indentation; field types fully qualified; map fields as <c>map&lt;K, V&gt;</c>. Normalized form
/// also sorts imports and orders fields by number (message order is kept: Confluent's wire format indexes messages).
/// </summary>
internal static class ProtoPrinter
{
    public static string Print(FileDescriptorProto file, bool normalized)
    {
        var sb = new StringBuilder();
        var syntax = string.IsNullOrEmpty(file.Syntax) ? "proto2" : file.Syntax;
        sb.Append("syntax = \"").Append(syntax).Append("\";\n");
        if (!string.IsNullOrEmpty(file.Package))
        {
            sb.Append("package ").Append(file.Package).Append(";\n");
        }
        var imports = normalized ? file.Dependencies.Order(StringComparer.Ordinal).ToList() : file.Dependencies;
        if (imports.Count > 0)
        {
            sb.Append('\n');
            for (var i = 0; i < imports.Count; i++)
            {
                var isPublic = file.PublicDependencies?.Contains(file.Dependencies.IndexOf(imports[i])) == true;
                sb.Append(isPublic ? "import public \"" : "import \"").Append(imports[i]).Append("\";\n");
            }
        }
        PrintFileOptions(sb, file.Options);
        foreach (var message in file.MessageTypes)
        {
            sb.Append('\n');
            PrintMessage(sb, message, syntax, 0, normalized);
        }
        foreach (var e in file.EnumTypes)
        {
            sb.Append('\n');
            PrintEnum(sb, e, 0);
        }
        if (file.Extensions.Count > 0)
        {
            sb.Append('\n');
            PrintExtends(sb, file.Extensions, syntax, "");
        }
        foreach (var service in file.Services)
        {
            sb.Append('\n');
            sb.Append("service ").Append(service.Name).Append(" {\n");
            foreach (var method in service.Methods)
            {
                sb.Append("  rpc ").Append(method.Name).Append(" (")
                    .Append(method.ClientStreaming ? "stream " : "").Append(TypeName(method.InputType)).Append(") returns (")
                    .Append(method.ServerStreaming ? "stream " : "").Append(TypeName(method.OutputType)).Append(");\n");
            }
            sb.Append("}\n");
        }
        return sb.ToString();
    }

    private static void PrintFileOptions(StringBuilder sb, Google.Protobuf.Reflection.FileOptions? options)
    {
        if (options is null)
        {
            return;
        }
        var written = new List<string>();
        void Option(string name, string? value, bool quoted = true)
        {
            if (!string.IsNullOrEmpty(value))
            {
                written.Add($"option {name} = {(quoted ? Quote(value) : value)};\n");
            }
        }
        Option("java_package", options.JavaPackage);
        Option("java_outer_classname", options.JavaOuterClassname);
        Option("java_multiple_files", options.JavaMultipleFiles ? "true" : null, quoted: false);
        Option("go_package", options.GoPackage);
        Option("csharp_namespace", options.CsharpNamespace);
        Option("objc_class_prefix", options.ObjcClassPrefix);
        Option("php_namespace", options.PhpNamespace);
        Option("ruby_package", options.RubyPackage);
        if (written.Count > 0)
        {
            sb.Append('\n');
            foreach (var line in written)
            {
                sb.Append(line);
            }
        }
    }

    private static void PrintMessage(StringBuilder sb, DescriptorProto message, string syntax, int depth, bool normalized)
    {
        var indent = new string(' ', depth * 2);
        var inner = indent + "  ";
        sb.Append(indent).Append("message ").Append(message.Name).Append(" {\n");
        var mapEntries = message.NestedTypes.Where(n => n.Options?.MapEntry == true)
            .ToDictionary(n => n.Name, StringComparer.Ordinal);
        var realOneofs = message.OneofDecls
            .Select((o, i) => (o, i))
            .Where(x => !message.Fields.Where(f => f.ShouldSerializeOneofIndex() && f.OneofIndex == x.i).All(f => f.Proto3Optional))
            .ToList();
        var fields = normalized ? message.Fields.OrderBy(f => f.Number).ToList() : message.Fields;
        var printedOneofs = new HashSet<int>();
        foreach (var field in fields)
        {
            if (field.ShouldSerializeOneofIndex() && !field.Proto3Optional && realOneofs.Any(x => x.i == field.OneofIndex))
            {
                if (printedOneofs.Add(field.OneofIndex))
                {
                    sb.Append(inner).Append("oneof ").Append(message.OneofDecls[field.OneofIndex].Name).Append(" {\n");
                    foreach (var member in fields.Where(f => f.ShouldSerializeOneofIndex() && f.OneofIndex == field.OneofIndex))
                    {
                        PrintField(sb, member, syntax, inner + "  ", mapEntries, inOneof: true);
                    }
                    sb.Append(inner).Append("}\n");
                }
                continue;
            }
            PrintField(sb, field, syntax, inner, mapEntries, inOneof: false);
        }
        foreach (var range in message.ExtensionRanges)
        {
            sb.Append(inner).Append("extensions ").Append(range.Start.ToString(CultureInfo.InvariantCulture));
            if (range.End - 1 > range.Start)
            {
                sb.Append(" to ").Append(range.End - 1 == 536870911 ? "max" : (range.End - 1).ToString(CultureInfo.InvariantCulture));
            }
            sb.Append(";\n");
        }
        PrintExtends(sb, message.Extensions, syntax, inner);
        foreach (var range in message.ReservedRanges)
        {
            sb.Append(inner).Append("reserved ").Append(range.Start.ToString(CultureInfo.InvariantCulture));
            if (range.End - 1 > range.Start)
            {
                sb.Append(" to ").Append(range.End - 1 == 536870911 ? "max" : (range.End - 1).ToString(CultureInfo.InvariantCulture));
            }
            sb.Append(";\n");
        }
        if (message.ReservedNames.Count > 0)
        {
            sb.Append(inner).Append("reserved ").Append(string.Join(", ", message.ReservedNames.Select(Quote))).Append(";\n");
        }
        foreach (var nested in message.NestedTypes.Where(n => n.Options?.MapEntry != true))
        {
            PrintMessage(sb, nested, syntax, depth + 1, normalized);
        }
        foreach (var e in message.EnumTypes)
        {
            PrintEnum(sb, e, depth + 1);
        }
        sb.Append(indent).Append("}\n");
    }

    private static void PrintField(StringBuilder sb, FieldDescriptorProto field, string syntax, string indent,
        Dictionary<string, DescriptorProto> mapEntries, bool inOneof)
    {
        sb.Append(indent);
        var entryName = field.TypeName?[(field.TypeName.LastIndexOf('.') + 1)..];
        if (field.label == FieldDescriptorProto.Label.LabelRepeated && field.type == FieldDescriptorProto.Type.TypeMessage
            && entryName is not null && mapEntries.TryGetValue(entryName, out var entry))
        {
            var key = entry.Fields.First(f => f.Number == 1);
            var value = entry.Fields.First(f => f.Number == 2);
            sb.Append("map<").Append(FieldType(key)).Append(", ").Append(FieldType(value)).Append("> ");
        }
        else
        {
            if (!inOneof)
            {
                var label = field.label switch
                {
                    FieldDescriptorProto.Label.LabelRepeated => "repeated ",
                    FieldDescriptorProto.Label.LabelRequired => "required ",
                    _ when field.Proto3Optional || syntax == "proto2" => "optional ",
                    _ => "",
                };
                sb.Append(label);
            }
            sb.Append(FieldType(field)).Append(' ');
        }
        sb.Append(field.Name).Append(" = ").Append(field.Number.ToString(CultureInfo.InvariantCulture));
        var options = new List<string>();
        if (field.ShouldSerializeDefaultValue())
        {
            options.Add("default = " + (field.type is FieldDescriptorProto.Type.TypeString or FieldDescriptorProto.Type.TypeBytes
                ? Quote(field.DefaultValue) : field.DefaultValue));
        }
        if (field.Options is { } o)
        {
            if (o.ShouldSerializePacked())
            {
                options.Add("packed = " + (o.Packed ? "true" : "false"));
            }
            if (o.Deprecated)
            {
                options.Add("deprecated = true");
            }
        }
        if (options.Count > 0)
        {
            sb.Append(" [").Append(string.Join(", ", options)).Append(']');
        }
        sb.Append(";\n");
    }

    /// <summary>Proto2 extensions, grouped by the message they extend.</summary>
    private static void PrintExtends(StringBuilder sb, List<FieldDescriptorProto> extensions, string syntax, string indent)
    {
        foreach (var group in extensions.GroupBy(f => f.Extendee))
        {
            sb.Append(indent).Append("extend ").Append(TypeName(group.Key)).Append(" {\n");
            foreach (var field in group)
            {
                PrintField(sb, field, syntax, indent + "  ", [], inOneof: false);
            }
            sb.Append(indent).Append("}\n");
        }
    }

    private static void PrintEnum(StringBuilder sb, EnumDescriptorProto e, int depth)
    {
        var indent = new string(' ', depth * 2);
        sb.Append(indent).Append("enum ").Append(e.Name).Append(" {\n");
        if (e.Options?.AllowAlias == true)
        {
            sb.Append(indent).Append("  option allow_alias = true;\n");
        }
        foreach (var value in e.Values)
        {
            sb.Append(indent).Append("  ").Append(value.Name).Append(" = ").Append(value.Number.ToString(CultureInfo.InvariantCulture)).Append(";\n");
        }
        sb.Append(indent).Append("}\n");
    }

    internal static string FieldType(FieldDescriptorProto field) => field.type switch
    {
        FieldDescriptorProto.Type.TypeMessage or FieldDescriptorProto.Type.TypeEnum or FieldDescriptorProto.Type.TypeGroup =>
            TypeName(field.TypeName),
        _ => ScalarName(field.type),
    };

    internal static string ScalarName(FieldDescriptorProto.Type type) => type switch
    {
        FieldDescriptorProto.Type.TypeDouble => "double",
        FieldDescriptorProto.Type.TypeFloat => "float",
        FieldDescriptorProto.Type.TypeInt64 => "int64",
        FieldDescriptorProto.Type.TypeUint64 => "uint64",
        FieldDescriptorProto.Type.TypeInt32 => "int32",
        FieldDescriptorProto.Type.TypeFixed64 => "fixed64",
        FieldDescriptorProto.Type.TypeFixed32 => "fixed32",
        FieldDescriptorProto.Type.TypeBool => "bool",
        FieldDescriptorProto.Type.TypeString => "string",
        FieldDescriptorProto.Type.TypeBytes => "bytes",
        FieldDescriptorProto.Type.TypeUint32 => "uint32",
        FieldDescriptorProto.Type.TypeSfixed32 => "sfixed32",
        FieldDescriptorProto.Type.TypeSfixed64 => "sfixed64",
        FieldDescriptorProto.Type.TypeSint32 => "sint32",
        FieldDescriptorProto.Type.TypeSint64 => "sint64",
        _ => type.ToString(),
    };

    private static string TypeName(string? name) => string.IsNullOrEmpty(name) ? "" : name.TrimStart('.');

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
