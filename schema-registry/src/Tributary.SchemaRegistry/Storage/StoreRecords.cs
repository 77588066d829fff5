using System.Text.Json;
using System.Text.Json.Nodes;
using Tributary.SchemaRegistry.Api;
using Tributary.SchemaRegistry.Schemas;

namespace Tributary.SchemaRegistry.Storage;

/// <summary>Key types of the <c>_schemas</c> topic, spelled as Confluent's registry writes them so the topic is
/// readable by either.</summary>
internal static class KeyTypes
{
    public const string Schema = "SCHEMA";
    public const string Config = "CONFIG";
    public const string Mode = "MODE";
    public const string Noop = "NOOP";
    public const string DeleteSubject = "DELETE_SUBJECT";
    public const string ClearSubject = "CLEAR_SUBJECT";

    /// <summary>Ours, not Confluent's: the highest schema id issued so far, written before a permanent delete so that
    /// compaction removing the deleted version's record and, later, its tombstone cannot lower the id a replay computes
    /// (Confluent's registry can hand out a hard-deleted id again after that; ids here are never reused). One key, so
    /// compaction keeps exactly the newest (highest) value.</summary>
    public const string IdFloor = "TRIBUTARY_ID_FLOOR";
}

/// <summary>A record key of the store: <c>{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}</c> and friends.</summary>
internal sealed record StoreKey(string KeyType, string? Subject, int? Version)
{
    public static StoreKey ForSchema(string subject, int version) => new(KeyTypes.Schema, subject, version);
    public static StoreKey ForConfig(string? subject) => new(KeyTypes.Config, subject, null);
    public static StoreKey ForMode(string? subject) => new(KeyTypes.Mode, subject, null);
    public static StoreKey Noop() => new(KeyTypes.Noop, null, null);
    public static StoreKey IdFloor() => new(KeyTypes.IdFloor, null, null);

    public byte[] ToBytes()
    {
        // Property order as Confluent writes them (keytype first, magic last); SCHEMA keys are magic 1, the others 0.
        var node = new JsonObject { ["keytype"] = KeyType };
        if (KeyType is not (KeyTypes.Noop or KeyTypes.IdFloor))
        {
            node["subject"] = Subject;
        }

        if (Version is int version)
        {
            node["version"] = version;
        }

        node["magic"] = KeyType == KeyTypes.Schema ? 1 : 0;
        return JsonOutput.ToBytes(node);
    }

    /// <summary>Parses a key; null for a key this registry does not understand (skipped, like Confluent skips unknown types).</summary>
    public static StoreKey? Parse(ReadOnlySpan<byte> bytes)
    {
        try
        {
            var node = JsonNode.Parse(bytes) as JsonObject;
            if (node?["keytype"]?.GetValue<string>() is not { } keyType)
            {
                return null;
            }

            string? subject = node["subject"] is JsonValue s ? s.GetValue<string>() : null;
            int? version = node["version"] is JsonValue v ? v.GetValue<int>() : null;
            return new StoreKey(keyType, subject, version);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}

/// <summary>The value of a SCHEMA record.</summary>
internal sealed record SchemaValue(string Subject, int Version, int Id, SchemaType Type, string Schema,
    IReadOnlyList<SchemaReference> References, bool Deleted)
{
    public byte[] ToBytes()
    {
        var node = new JsonObject
        {
            ["subject"] = Subject,
            ["version"] = Version,
            ["id"] = Id,
        };
        if (Type != SchemaType.Avro)
        {
            node["schemaType"] = SchemaTypeNames.ToName(Type);
        }

        if (References.Count > 0)
        {
            node["references"] = ReferencesToJson(References);
        }

        node["schema"] = Schema;
        node["deleted"] = Deleted;
        return JsonOutput.ToBytes(node);
    }

    public static JsonArray ReferencesToJson(IReadOnlyList<SchemaReference> references)
    {
        var array = new JsonArray();
        foreach (var r in references)
        {
            array.Add(new JsonObject { ["name"] = r.Name, ["subject"] = r.Subject, ["version"] = r.Version });
        }

        return array;
    }

    public static SchemaValue? Parse(ReadOnlySpan<byte> bytes)
    {
        try
        {
            if (JsonNode.Parse(bytes) is not JsonObject node)
            {
                return null;
            }

            var type = SchemaTypeNames.TryParse(node["schemaType"]?.GetValue<string>() ?? "AVRO", out SchemaType t) ? t : SchemaType.Avro;
            var references = new List<SchemaReference>();
            if (node["references"] is JsonArray refs)
            {
                foreach (var r in refs.OfType<JsonObject>())
                {
                    references.Add(new SchemaReference(r["name"]!.GetValue<string>(), r["subject"]!.GetValue<string>(), r["version"]!.GetValue<int>()));
                }
            }

            return new SchemaValue(node["subject"]!.GetValue<string>(), node["version"]!.GetValue<int>(), node["id"]!.GetValue<int>(), type,
                node["schema"]!.GetValue<string>(), references, node["deleted"]?.GetValue<bool>() ?? false);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or NullReferenceException)
        {
            return null;
        }
    }
}

/// <summary>REST/storage names of schema types, compatibility levels and modes.</summary>
public static class SchemaTypeNames
{
    public static string ToName(SchemaType type) => type switch
    {
        SchemaType.Avro => "AVRO",
        SchemaType.Json => "JSON",
        SchemaType.Protobuf => "PROTOBUF",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static bool TryParse(string? name, out SchemaType type)
    {
        switch (name?.ToUpperInvariant())
        {
            case "AVRO":
                type = SchemaType.Avro;
                return true;
            case "JSON":
                type = SchemaType.Json;
                return true;
            case "PROTOBUF":
                type = SchemaType.Protobuf;
                return true;
            default:
                type = default;
                return false;
        }
    }

    public static string ToName(CompatibilityLevel level) => level switch
    {
        CompatibilityLevel.None => "NONE",
        CompatibilityLevel.Backward => "BACKWARD",
        CompatibilityLevel.BackwardTransitive => "BACKWARD_TRANSITIVE",
        CompatibilityLevel.Forward => "FORWARD",
        CompatibilityLevel.ForwardTransitive => "FORWARD_TRANSITIVE",
        CompatibilityLevel.Full => "FULL",
        CompatibilityLevel.FullTransitive => "FULL_TRANSITIVE",
        _ => throw new ArgumentOutOfRangeException(nameof(level)),
    };

    public static bool TryParse(string? name, out CompatibilityLevel level)
    {
        foreach (var candidate in Enum.GetValues<CompatibilityLevel>())
        {
            if (string.Equals(ToName(candidate), name, StringComparison.OrdinalIgnoreCase))
            {
                level = candidate;
                return true;
            }
        }

        level = default;
        return false;
    }
}

/// <summary>Registry modes (Confluent's <c>/mode</c>).</summary>
public enum RegistryMode { ReadWrite, ReadOnly, ReadOnlyOverride, Import }

public static class RegistryModeNames
{
    public static string ToName(RegistryMode mode) => mode switch
    {
        RegistryMode.ReadWrite => "READWRITE",
        RegistryMode.ReadOnly => "READONLY",
        RegistryMode.ReadOnlyOverride => "READONLY_OVERRIDE",
        RegistryMode.Import => "IMPORT",
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    public static bool TryParse(string? name, out RegistryMode mode)
    {
        foreach (var candidate in Enum.GetValues<RegistryMode>())
        {
            if (string.Equals(ToName(candidate), name, StringComparison.OrdinalIgnoreCase))
            {
                mode = candidate;
                return true;
            }
        }

        mode = default;
        return false;
    }
}
