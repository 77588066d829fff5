using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tributary.SchemaRegistry.Schemas.Avro;

/// <summary>
/// Writes a schema as compact JSON in the attribute order of Avro's reference implementation (Schema.toString),
/// which is what Confluent stores as the canonical string: type, name, namespace (only where it differs from the
/// enclosing one), doc, fields/symbols/size, custom attributes, aliases. A named type is written in full once; later
/// uses, and types defined by referenced schemas, are written as names. In normalized mode every name is a full
/// name, no namespace attribute is written, and custom attributes and aliases are sorted.
/// </summary>
internal sealed class AvroJsonWriter
{
    private static readonly JsonWriterOptions Options = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
        SkipValidation = false,
    };

    private readonly HashSet<string> _written;
    private readonly bool _normalized;
    private string? _space;

    private AvroJsonWriter(IEnumerable<string> external, bool normalized)
    {
        _written = new HashSet<string>(external, StringComparer.Ordinal);
        _normalized = normalized;
    }

    /// <param name="external">Full names of types defined by referenced schemas: written as names only.</param>
    public static string Write(AvroNode root, IEnumerable<string> external, bool normalized)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            new AvroJsonWriter(external, normalized).WriteNode(writer, root);
        }
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private void WriteNode(Utf8JsonWriter w, AvroNode node)
    {
        switch (node)
        {
            case AvroPrimitive p when p.Props.Count == 0:
                w.WriteStringValue(p.Kind);
                return;
            case AvroPrimitive p:
                w.WriteStartObject();
                w.WriteString("type", p.Kind);
                WriteProps(w, p.Props);
                w.WriteEndObject();
                return;
            case AvroUnion u:
                w.WriteStartArray();
                foreach (var branch in u.Branches)
                {
                    WriteNode(w, branch);
                }
                w.WriteEndArray();
                return;
            case AvroArray a:
                w.WriteStartObject();
                w.WriteString("type", "array");
                w.WritePropertyName("items");
                WriteNode(w, a.Items);
                WriteProps(w, a.Props);
                w.WriteEndObject();
                return;
            case AvroMap m:
                w.WriteStartObject();
                w.WriteString("type", "map");
                w.WritePropertyName("values");
                WriteNode(w, m.Values);
                WriteProps(w, m.Props);
                w.WriteEndObject();
                return;
            case AvroNamed named when _written.Contains(named.FullName):
                w.WriteStringValue(QualifiedName(named.FullName, _space));
                return;
            case AvroNamed named:
                _written.Add(named.FullName);
                WriteNamed(w, named);
                return;
        }
    }

    private void WriteNamed(Utf8JsonWriter w, AvroNamed named)
    {
        w.WriteStartObject();
        w.WriteString("type", named.Kind);
        if (_normalized)
        {
            w.WriteString("name", named.FullName);
        }
        else
        {
            w.WriteString("name", named.Name);
            if (named.Namespace is not null && named.Namespace != _space)
            {
                w.WriteString("namespace", named.Namespace);
            }
            else if (named.Namespace is null && _space is not null)
            {
                w.WriteString("namespace", "");
            }
        }
        if (named.Doc is not null)
        {
            w.WriteString("doc", named.Doc);
        }
        switch (named)
        {
            case AvroRecord r:
                var saved = _space;
                _space = r.Namespace;
                w.WriteStartArray("fields");
                foreach (var f in r.Fields)
                {
                    WriteField(w, f);
                }
                w.WriteEndArray();
                _space = saved;
                break;
            case AvroEnum e:
                w.WriteStartArray("symbols");
                foreach (var s in e.Symbols)
                {
                    w.WriteStringValue(s);
                }
                w.WriteEndArray();
                break;
            case AvroFixed fx:
                w.WriteNumber("size", fx.Size);
                break;
        }
        WriteProps(w, named.Props);
        if (named.Aliases.Count > 0)
        {
            w.WriteStartArray("aliases");
            foreach (var alias in _normalized ? named.Aliases.Order(StringComparer.Ordinal) : named.Aliases.AsEnumerable())
            {
                w.WriteStringValue(_normalized ? alias : QualifiedName(alias, named.Namespace));
            }
            w.WriteEndArray();
        }
        if (named is AvroEnum { Default: { } def })
        {
            w.WriteString("default", def);
        }
        w.WriteEndObject();
    }

    private void WriteField(Utf8JsonWriter w, AvroField f)
    {
        w.WriteStartObject();
        w.WriteString("name", f.Name);
        w.WritePropertyName("type");
        WriteNode(w, f.Type);
        if (f.Doc is not null)
        {
            w.WriteString("doc", f.Doc);
        }
        if (f.HasDefault)
        {
            w.WritePropertyName("default");
            if (f.Default is null)
            {
                w.WriteNullValue();
            }
            else
            {
                f.Default.WriteTo(w);
            }
        }
        if (f.Order is not null && f.Order != "ascending")
        {
            w.WriteString("order", f.Order);
        }
        if (f.Aliases.Count > 0)
        {
            w.WriteStartArray("aliases");
            foreach (var alias in _normalized ? f.Aliases.Order(StringComparer.Ordinal) : f.Aliases.AsEnumerable())
            {
                w.WriteStringValue(alias);
            }
            w.WriteEndArray();
        }
        WriteProps(w, f.Props);
        w.WriteEndObject();
    }

    private void WriteProps(Utf8JsonWriter w, List<KeyValuePair<string, JsonNode?>> props)
    {
        foreach (var (key, value) in _normalized ? props.OrderBy(p => p.Key, StringComparer.Ordinal) : props.AsEnumerable())
        {
            w.WritePropertyName(key);
            if (value is null)
            {
                w.WriteNullValue();
            }
            else
            {
                value.WriteTo(w);
            }
        }
    }

    /// <summary>Like Avro's Name.getQualified: the short name when its namespace is the enclosing one, else the full name.</summary>
    private string QualifiedName(string fullName, string? relativeTo)
    {
        if (_normalized)
        {
            return fullName;
        }
        var dot = fullName.LastIndexOf('.');
        var space = dot < 0 ? null : fullName[..dot];
        var name = fullName[(dot + 1)..];
        return space is not null && space == relativeTo && !AvroModelReader.IsPrimitive(name) ? name : fullName;
    }
}
