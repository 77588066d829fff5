using Google.Protobuf.Reflection;

namespace Tributary.SchemaRegistry.Schemas.Protobuf;

/// <summary>
/// A <c>.proto</c> file parsed and type-checked by protobuf-net.Reflection; its imports are the referenced schemas
/// (a reference's name is the import path) or the well-known <c>google/protobuf/*.proto</c> files the parser ships.
/// </summary>
internal sealed class ProtobufParsedSchema : IParsedSchema, ICompatibilityRules
{
    private const string MainFileName = "tributary-schema.proto";

    private ProtobufParsedSchema(string text, FileDescriptorProto file, FileDescriptorSet set, string canonical,
        IReadOnlyList<SchemaReference> references, IReadOnlyDictionary<string, string> imports)
    {
        Text = text;
        File = file;
        Set = set;
        CanonicalString = canonical;
        References = references;
        Imports = imports;
    }

    public SchemaType Type => SchemaType.Protobuf;

    public string CanonicalString { get; }

    public IReadOnlyList<SchemaReference> References { get; }

    internal string Text { get; }

    internal FileDescriptorProto File { get; }

    /// <summary>The file and everything it imports (for resolving field types).</summary>
    internal FileDescriptorSet Set { get; }

    /// <summary>Import path → text, for this schema and (transitively) its references.</summary>
    internal IReadOnlyDictionary<string, string> Imports { get; }

    public static ProtobufParsedSchema Parse(string text, IReadOnlyList<SchemaReference> references,
        IReadOnlyList<(SchemaReference Reference, IParsedSchema Schema)> resolved)
    {
        if (DecodeSerializedDescriptor(text) is { } descriptor)
        {
            // Confluent's .NET and Python Protobuf serializers register the file as a base64 FileDescriptorProto;
            // the registry keeps it as .proto text like any other.
            text = ProtoPrinter.Print(descriptor, normalized: false);
        }
        CheckNesting(text);
        var imports = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (reference, schema) in resolved)
        {
            var proto = schema as ProtobufParsedSchema
                ?? throw new InvalidSchemaException($"Invalid schema: a PROTOBUF schema can only import PROTOBUF schemas, not {schema.Type}");
            foreach (var (path, importText) in proto.Imports)
            {
                imports.TryAdd(path, importText);
            }
            imports[reference.Name] = proto.Text;
        }
        var set = new FileDescriptorSet { FileSystem = new InMemoryFileSystem(imports) };
        set.AddImportPath("");
        try
        {
            if (!set.Add(MainFileName, true, new StringReader(text)))
            {
                throw new InvalidSchemaException("Invalid schema: the .proto text could not be read");
            }
            set.Process();
        }
        catch (Exception e) when (e is not InvalidSchemaException and not OutOfMemoryException)
        {
            // The parser throws on some inputs instead of reporting them (e.g. a map field named "_").
            throw new InvalidSchemaException($"Invalid schema: the .proto parser failed: {e.Message}");
        }
        var errors = set.GetErrors().Where(e => e.IsError).ToList();
        if (errors.Count > 0)
        {
            var first = errors[0];
            var where = first.File == MainFileName ? "" : $" (in {first.File})";
            throw new InvalidSchemaException($"Invalid schema: line {first.LineNumber}, column {first.ColumnNumber}{where}: {first.Message}");
        }
        var file = set.Files.Single(f => f.Name == MainFileName);
        CheckFieldNumbers(file.MessageTypes, file.Package);
        var canonical = ProtoPrinter.Print(file, normalized: false);
        return new ProtobufParsedSchema(text, file, set, canonical, references, imports);
    }

    public IParsedSchema Normalize() =>
        new ProtobufParsedSchema(Text, File, Set, ProtoPrinter.Print(File, normalized: true), References, Imports);

    public bool IsEquivalentTo(IParsedSchema other) =>
        other is ProtobufParsedSchema proto && proto.CanonicalString == CanonicalString && proto.References.SequenceEqual(References);

    public IReadOnlyList<string> ReadIncompatibilities(IParsedSchema writer, string readerLabel, string writerLabel) =>
        writer is ProtobufParsedSchema original
            ? ProtobufCompatibility.Check(original, this, readerLabel, writerLabel)
            : [CompatibilityChecker.DifferentTypeMessage];

    public override string ToString() => CanonicalString;

    private const int MaxNesting = 64;

    /// <summary>protobuf-net lets some duplicates through (e.g. a oneof member reusing a field's number); protoc does not.</summary>
    private static void CheckFieldNumbers(IEnumerable<DescriptorProto> messages, string? scope)
    {
        foreach (var message in messages)
        {
            var name = string.IsNullOrEmpty(scope) ? message.Name : scope + "." + message.Name;
            var duplicate = message.Fields.GroupBy(f => f.Number).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
            {
                throw new InvalidSchemaException(
                    $"Invalid schema: field number {duplicate.Key} is used by more than one field of {name} ({string.Join(", ", duplicate.Select(f => f.Name))})");
            }
            CheckFieldNumbers(message.NestedTypes, name);
        }
    }

    /// <summary>Bounds block nesting before the recursive parser sees the text (strings and comments skipped).</summary>
    private static void CheckNesting(string text)
    {
        var depth = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is '"' or '\'')
            {
                for (i++; i < text.Length && text[i] != c && text[i] != '\n'; i++)
                {
                    if (text[i] == '\\')
                    {
                        i++;
                    }
                }
            }
            else if (c == '/' && i + 1 < text.Length && text[i + 1] == '/')
            {
                while (i < text.Length && text[i] != '\n')
                {
                    i++;
                }
            }
            else if (c == '/' && i + 1 < text.Length && text[i + 1] == '*')
            {
                var end = text.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? text.Length : end + 1;
            }
            else if (c is '{' or '<' && ++depth > MaxNesting)
            {
                throw new InvalidSchemaException($"Invalid schema: blocks nested deeper than {MaxNesting} levels");
            }
            else if (c is '}' or '>')
            {
                depth = Math.Max(0, depth - 1);
            }
        }
    }

    /// <summary>A base64 serialized FileDescriptorProto, decoded; null when the text is not base64 (so .proto text).</summary>
    private static FileDescriptorProto? DecodeSerializedDescriptor(string text)
    {
        var trimmed = text.Trim();
        if (trimmed.Length == 0 || trimmed.Length % 4 != 0 || !trimmed.All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '='))
        {
            return null;
        }
        var bytes = new byte[trimmed.Length / 4 * 3];
        if (!Convert.TryFromBase64String(trimmed, bytes, out var length))
        {
            return null;
        }
        try
        {
            var descriptor = ProtoBuf.Serializer.Deserialize<FileDescriptorProto>(new ReadOnlyMemory<byte>(bytes, 0, length));
            if (descriptor.MessageTypes.Count == 0 && descriptor.EnumTypes.Count == 0 && descriptor.Services.Count == 0
                && string.IsNullOrEmpty(descriptor.Name))
            {
                throw new InvalidSchemaException("Invalid schema: base64 text that is not a serialized FileDescriptorProto");
            }
            return descriptor;
        }
        catch (Exception e) when (e is ProtoBuf.ProtoException or EndOfStreamException or InvalidOperationException or ArgumentException or OverflowException)
        {
            throw new InvalidSchemaException($"Invalid schema: base64 text that is not a serialized FileDescriptorProto: {e.Message}");
        }
    }

    /// <summary>Serves imports from the referenced schemas' texts; nothing is read from disk.</summary>
    private sealed class InMemoryFileSystem(IReadOnlyDictionary<string, string> files) : IFileSystem
    {
        public bool Exists(string path) => files.ContainsKey(Normalize(path));

        public TextReader OpenText(string path) => new StringReader(files[Normalize(path)]);

        private static string Normalize(string path) => path.Replace('\\', '/').TrimStart('/');
    }
}
