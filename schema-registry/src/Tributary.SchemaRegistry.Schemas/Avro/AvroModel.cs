using System.Text.Json.Nodes;

namespace Tributary.SchemaRegistry.Schemas.Avro;

/// <summary>Our read-only view of an Avro schema (built after Apache.Avro has validated the text).</summary>
internal abstract class AvroNode
{
    /// <summary>Avro's type name: null, boolean, int, long, float, double, bytes, string, record, enum, fixed, array, map, union.</summary>
    public abstract string Kind { get; }

    /// <summary>Attributes outside the Avro spec's reserved ones (logicalType, precision, custom metadata), in text order.</summary>
    public List<KeyValuePair<string, JsonNode?>> Props { get; } = [];
}

internal sealed class AvroPrimitive(string kind) : AvroNode
{
    public override string Kind { get; } = kind;
}

/// <summary>A record, enum or fixed: a type with a full name, defined once and referred to by name afterwards.</summary>
internal abstract class AvroNamed(string fullName) : AvroNode
{
    public string FullName { get; } = fullName;

    public string Name => FullName[(FullName.LastIndexOf('.') + 1)..];

    public string? Namespace => FullName.Contains('.') ? FullName[..FullName.LastIndexOf('.')] : null;

    public string? Doc { get; set; }

    /// <summary>Aliases as full names.</summary>
    public List<string> Aliases { get; } = [];
}

internal sealed class AvroRecord(string fullName, bool isError) : AvroNamed(fullName)
{
    public override string Kind => IsError ? "error" : "record";

    public bool IsError { get; } = isError;

    public List<AvroField> Fields { get; } = [];
}

internal sealed class AvroField(string name, int position)
{
    public string Name { get; } = name;
    public int Position { get; } = position;
    public AvroNode Type { get; set; } = null!;
    public string? Doc { get; set; }
    public bool HasDefault { get; set; }
    public JsonNode? Default { get; set; }
    public string? Order { get; set; }
    public List<string> Aliases { get; } = [];
    public List<KeyValuePair<string, JsonNode?>> Props { get; } = [];
}

internal sealed class AvroEnum(string fullName) : AvroNamed(fullName)
{
    public override string Kind => "enum";
    public List<string> Symbols { get; } = [];
    public string? Default { get; set; }
}

internal sealed class AvroFixed(string fullName, int size) : AvroNamed(fullName)
{
    public override string Kind => "fixed";
    public int Size { get; } = size;
}

internal sealed class AvroArray(AvroNode items) : AvroNode
{
    public override string Kind => "array";
    public AvroNode Items { get; } = items;
}

internal sealed class AvroMap(AvroNode values) : AvroNode
{
    public override string Kind => "map";
    public AvroNode Values { get; } = values;
}

internal sealed class AvroUnion(List<AvroNode> branches) : AvroNode
{
    public override string Kind => "union";
    public List<AvroNode> Branches { get; } = branches;
}
