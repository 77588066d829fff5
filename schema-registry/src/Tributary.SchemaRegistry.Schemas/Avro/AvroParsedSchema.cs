namespace Tributary.SchemaRegistry.Schemas.Avro;

/// <summary>An Avro schema validated by Apache.Avro, with Confluent's canonical string (Avro's Schema.toString form).</summary>
internal sealed class AvroParsedSchema : IParsedSchema, ICompatibilityRules
{
    private AvroParsedSchema(AvroNode root, string canonical, IReadOnlyList<SchemaReference> references,
        IReadOnlyList<AvroParsedSchema> dependencies, IReadOnlyDictionary<string, AvroNamed> allNamed, string text)
    {
        Root = root;
        CanonicalString = canonical;
        References = references;
        Dependencies = dependencies;
        AllNamed = allNamed;
        Text = text;
    }

    public SchemaType Type => SchemaType.Avro;

    public string CanonicalString { get; }

    public IReadOnlyList<SchemaReference> References { get; }

    internal AvroNode Root { get; }

    /// <summary>Referenced schemas, already parsed (their named types are visible to this one).</summary>
    internal IReadOnlyList<AvroParsedSchema> Dependencies { get; }

    /// <summary>Named types this schema defines plus those of every schema it references, by full name.</summary>
    internal IReadOnlyDictionary<string, AvroNamed> AllNamed { get; }

    internal string Text { get; }

    public static AvroParsedSchema Parse(string text, IReadOnlyList<SchemaReference> references, IReadOnlyList<IParsedSchema> resolved)
    {
        var dependencies = new List<AvroParsedSchema>();
        foreach (var dependency in resolved)
        {
            dependencies.Add(dependency as AvroParsedSchema
                ?? throw new InvalidSchemaException($"Invalid schema: an AVRO schema can only reference AVRO schemas, not {dependency.Type}"));
        }
        var known = new Dictionary<string, AvroNamed>(StringComparer.Ordinal);
        foreach (var dependency in dependencies)
        {
            foreach (var (name, named) in dependency.AllNamed)
            {
                known.TryAdd(name, named);
            }
        }
        AvroModelReader.CheckJsonSyntax(text);
        var apacheError = ValidateWithApacheAvro(text, dependencies);
        var reader = new AvroModelReader(known);
        AvroNode root;
        try
        {
            root = reader.Read(text);
        }
        catch (InvalidSchemaException) when (apacheError is not null && !IsVague(apacheError))
        {
            // Apache.Avro's account of the same problem names it better.
            throw new InvalidSchemaException(apacheError);
        }
        catch (Exception e) when (e is not InvalidSchemaException and not OutOfMemoryException)
        {
            throw new InvalidSchemaException(apacheError ?? $"Invalid schema: {e.Message}");
        }
        if (apacheError is not null)
        {
            // Our own reader found nothing more precise to say.
            throw new InvalidSchemaException(apacheError);
        }
        var all = new Dictionary<string, AvroNamed>(known, StringComparer.Ordinal);
        foreach (var named in reader.Defined)
        {
            all[named.FullName] = named;
        }
        var canonical = AvroJsonWriter.Write(root, known.Keys, normalized: false);
        return new AvroParsedSchema(root, canonical, references, dependencies, all, text);
    }

    public IParsedSchema Normalize()
    {
        var external = new HashSet<string>(StringComparer.Ordinal);
        foreach (var dependency in Dependencies)
        {
            external.UnionWith(dependency.AllNamed.Keys);
        }
        var normalized = AvroJsonWriter.Write(Root, external, normalized: true);
        return new AvroParsedSchema(Root, normalized, References, Dependencies, AllNamed, Text);
    }

    public bool IsEquivalentTo(IParsedSchema other) =>
        other is AvroParsedSchema avro
        && avro.CanonicalString == CanonicalString
        && avro.References.SequenceEqual(References);

    public IReadOnlyList<string> ReadIncompatibilities(IParsedSchema writer, string readerLabel, string writerLabel) =>
        writer is AvroParsedSchema avroWriter
            ? AvroCompatibility.Check(Root, avroWriter.Root, readerLabel, writerLabel)
            : [CompatibilityChecker.DifferentTypeMessage];

    public override string ToString() => CanonicalString;

    /// <summary>Apache.Avro's messages about the JSON shape of a bare name say less than ours ("undefined name: X").</summary>
    private static bool IsVague(string message) =>
        message.Contains("JObject", StringComparison.Ordinal) || message.Contains("JToken", StringComparison.Ordinal);

    /// <summary>Apache.Avro is the judge of well-formedness: names, types, duplicates, symbols, sizes.</summary>
    private static string? ValidateWithApacheAvro(string text, IReadOnlyList<AvroParsedSchema> dependencies)
    {
        var names = new global::Avro.SchemaNames();
        var visited = new HashSet<AvroParsedSchema>(ReferenceEqualityComparer.Instance);
        var added = new HashSet<string>(StringComparer.Ordinal);
        void AddDependency(AvroParsedSchema dependency)
        {
            // Dependencies first (their names must be known), each schema once: references form a DAG.
            if (!visited.Add(dependency))
            {
                return;
            }
            foreach (var inner in dependency.Dependencies)
            {
                AddDependency(inner);
            }
            if (added.Add(dependency.CanonicalString))
            {
                global::Avro.Schema.Parse(dependency.Text, names, null);
            }
        }
        try
        {
            foreach (var dependency in dependencies)
            {
                AddDependency(dependency);
            }
            global::Avro.Schema.Parse(text, names, null);
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException and not InsufficientExecutionStackException)
        {
            // Any failure of the parser is a verdict on the text, not a fault of ours.
            return $"Invalid schema: {e.Message}";
        }
    }
}
