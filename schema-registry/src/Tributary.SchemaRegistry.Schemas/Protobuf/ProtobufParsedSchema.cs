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
        if (!set.Add(MainFileName, true, new StringReader(text)))
        {
            throw new InvalidSchemaException("Invalid schema: the .proto text could not be read");
        }
        set.Process();
        var errors = set.GetErrors().Where(e => e.IsError).ToList();
        if (errors.Count > 0)
        {
            var first = errors[0];
            var where = first.File == MainFileName ? "" : $" (in {first.File})";
            throw new InvalidSchemaException($"Invalid schema: line {first.LineNumber}, column {first.ColumnNumber}{where}: {first.Message}");
        }
        var file = set.Files.Single(f => f.Name == MainFileName);
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

    /// <summary>Serves imports from the referenced schemas' texts; nothing is read from disk.</summary>
    private sealed class InMemoryFileSystem(IReadOnlyDictionary<string, string> files) : IFileSystem
    {
        public bool Exists(string path) => files.ContainsKey(Normalize(path));

        public TextReader OpenText(string path) => new StringReader(files[Normalize(path)]);

        private static string Normalize(string path) => path.Replace('\\', '/').TrimStart('/');
    }
}
