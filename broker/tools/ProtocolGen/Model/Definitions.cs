namespace Tributary.ProtocolGen.Model;

/// <summary>One API parsed from a <c>.kmsg</c> file: its header line plus the request and response messages.</summary>
public sealed record ApiDefinition(
    string Name,
    short Key,
    VersionRange Versions,
    short FirstFlexibleVersion,
    string SourceFile,
    MessageDefinition Request,
    MessageDefinition Response)
{
    /// <summary>Versions using compact encodings and tagged fields (KIP-482); empty when flexible=none.</summary>
    public VersionRange FlexibleVersions =>
        FirstFlexibleVersion < 0 ? VersionRange.None : Versions.Intersect(VersionRange.From(FirstFlexibleVersion));
}

/// <summary>Whether a message is the request or the response of its API.</summary>
public enum MessageKind
{
    Request,
    Response,
}

/// <summary>A request or response: its top-level fields and every struct defined inside it, in definition order.</summary>
public sealed record MessageDefinition(
    MessageKind Kind,
    string ClassName,
    IReadOnlyList<FieldDefinition> Fields,
    IReadOnlyList<StructDefinition> Structs);

/// <summary>A named struct: becomes a nested class of its message.</summary>
public sealed record StructDefinition(string Name, IReadOnlyList<FieldDefinition> Fields, int Line);

/// <summary>Primitive and composite field types of the definition language.</summary>
public enum TypeKind
{
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    UInt16,
    UInt32,
    Float64,
    String,
    Bytes,
    Records,
    Uuid,
    Struct,
    Array,
}

/// <summary>A field type; arrays carry their element type, structs their name.</summary>
public sealed record FieldType(TypeKind Kind, FieldType? Element = null, string? StructName = null)
{
    public bool IsArray => Kind == TypeKind.Array;

    public bool IsStruct => Kind == TypeKind.Struct;

    public bool IsStructOrStructArray => IsStruct || (IsArray && Element!.IsStruct);

    /// <summary>Types that may carry a null on the wire.</summary>
    public bool CanBeNull => Kind is TypeKind.String or TypeKind.Bytes or TypeKind.Records or TypeKind.Struct or TypeKind.Array;

    /// <summary>Wire size when fixed, else null.</summary>
    public int? FixedSize => Kind switch
    {
        TypeKind.Bool or TypeKind.Int8 => 1,
        TypeKind.Int16 or TypeKind.UInt16 => 2,
        TypeKind.Int32 or TypeKind.UInt32 => 4,
        TypeKind.Int64 or TypeKind.Float64 => 8,
        TypeKind.Uuid => 16,
        _ => null,
    };

    public override string ToString() => Kind switch
    {
        TypeKind.Array => "[]" + Element,
        TypeKind.Struct => StructName!,
        _ => Kind.ToString().ToLowerInvariant(),
    };
}

/// <summary>A literal given with <c>default=</c>.</summary>
public abstract record DefaultValue
{
    public sealed record Integer(long Value) : DefaultValue;

    public sealed record Boolean(bool Value) : DefaultValue;

    public sealed record Text(string Value) : DefaultValue;

    public sealed record Null : DefaultValue;
}

/// <summary>One field with its versions resolved against the message (never outside the API's version range).</summary>
/// <param name="Versions">Versions in which the field is on the wire (for tagged fields: flexible versions only).</param>
/// <param name="NullableVersions">Versions in which null is allowed; a subset of <paramref name="Versions"/>.</param>
/// <param name="Tag">The tag number of a tagged field, else null.</param>
/// <param name="Default">An explicit default, else null (meaning the type's natural default).</param>
public sealed record FieldDefinition(
    string Name,
    FieldType Type,
    VersionRange Versions,
    VersionRange NullableVersions,
    int? Tag,
    DefaultValue? Default,
    int Line)
{
    public bool IsTagged => Tag is not null;

    /// <summary>The C# property type is nullable when the field may be null in any version.</summary>
    public bool IsNullableAnywhere => !NullableVersions.IsEmpty;
}
