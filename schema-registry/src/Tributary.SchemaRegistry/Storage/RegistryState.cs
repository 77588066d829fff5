using System.Text.Json.Nodes;
using Tributary.SchemaRegistry.Schemas;

namespace Tributary.SchemaRegistry.Storage;

/// <summary>The registry's contents as replayed from the <c>_schemas</c> topic: every instance holds one and serves
/// reads from it. Only the replay thread writes; readers take the lock briefly and get copies.</summary>
internal sealed class RegistryState
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, SortedDictionary<int, SchemaValue>> _subjects = new(StringComparer.Ordinal);
    private readonly Dictionary<int, SortedSet<(string Subject, int Version)>> _usersOfId = new();
    private readonly Dictionary<string, CompatibilityLevel> _subjectConfigs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RegistryMode> _subjectModes = new(StringComparer.Ordinal);
    private CompatibilityLevel? _globalConfig;
    private RegistryMode? _globalMode;

    /// <summary>Highest schema id ever seen in the topic, including ids whose versions were deleted since (ids are never reused).</summary>
    public int MaxId { get; private set; }

    /// <summary>Offset of the next record to apply.</summary>
    public long NextOffset { get; private set; }

    public void Apply(long offset, StoreKey key, byte[]? value)
    {
        lock (_lock)
        {
            NextOffset = offset + 1;
            switch (key.KeyType)
            {
                case KeyTypes.Schema when key.Subject is not null && key.Version is int version:
                    ApplySchema(key.Subject, version, value is null ? null : SchemaValue.Parse(value));
                    break;
                case KeyTypes.Config:
                    ApplyConfig(key.Subject, value);
                    break;
                case KeyTypes.Mode:
                    ApplyMode(key.Subject, value);
                    break;
                case KeyTypes.DeleteSubject or KeyTypes.ClearSubject when key.Subject is not null && value is not null:
                    ApplySubjectDeletion(key.KeyType, key.Subject, value);
                    break;
                case KeyTypes.IdFloor when value is not null:
                    ApplyIdFloor(value);
                    break;
            }
        }
    }

    /// <summary>Moves the replay position past records it skipped (a compacted gap, an unreadable key).</summary>
    public void Skip(long nextOffset)
    {
        lock (_lock)
        {
            NextOffset = Math.Max(NextOffset, nextOffset);
        }
    }

    private void ApplySchema(string subject, int version, SchemaValue? value)
    {
        if (_subjects.TryGetValue(subject, out var versions) && versions.TryGetValue(version, out var previous))
        {
            if (_usersOfId.TryGetValue(previous.Id, out var users))
            {
                users.Remove((subject, version));
                if (users.Count == 0)
                {
                    _usersOfId.Remove(previous.Id);
                }
            }

            versions.Remove(version);
        }

        if (value is null)
        {
            // A tombstone: the permanent delete of that version.
            if (versions is { Count: 0 })
            {
                _subjects.Remove(subject);
            }

            return;
        }

        if (versions is null)
        {
            versions = new SortedDictionary<int, SchemaValue>();
            _subjects[subject] = versions;
        }

        versions[version] = value with { Subject = subject, Version = version };
        if (!_usersOfId.TryGetValue(value.Id, out var idUsers))
        {
            idUsers = new SortedSet<(string, int)>();
            _usersOfId[value.Id] = idUsers;
        }

        idUsers.Add((subject, version));
        MaxId = Math.Max(MaxId, value.Id);
    }

    private void ApplyIdFloor(byte[] value)
    {
        if (JsonNode.Parse(value) is JsonObject node && node["maxId"] is JsonValue maxId)
        {
            MaxId = Math.Max(MaxId, maxId.GetValue<int>());
        }
    }

    /// <summary>The value of an <see cref="KeyTypes.IdFloor"/> record holding the current <see cref="MaxId"/>.</summary>
    public byte[] IdFloorValue()
    {
        lock (_lock)
        {
            return Api.JsonOutput.ToBytes(new JsonObject { ["maxId"] = MaxId });
        }
    }

    private void ApplyConfig(string? subject, byte[]? value)
    {
        CompatibilityLevel? level = null;
        if (value is not null && JsonNode.Parse(value) is JsonObject node
            && SchemaTypeNames.TryParse(node["compatibilityLevel"]?.GetValue<string>(), out CompatibilityLevel parsed))
        {
            level = parsed;
        }

        if (subject is null)
        {
            _globalConfig = level;
        }
        else if (level is { } l)
        {
            _subjectConfigs[subject] = l;
        }
        else
        {
            _subjectConfigs.Remove(subject);
        }
    }

    private void ApplyMode(string? subject, byte[]? value)
    {
        RegistryMode? mode = null;
        if (value is not null && JsonNode.Parse(value) is JsonObject node && RegistryModeNames.TryParse(node["mode"]?.GetValue<string>(), out var parsed))
        {
            mode = parsed;
        }

        if (subject is null)
        {
            _globalMode = mode;
        }
        else if (mode is { } m)
        {
            _subjectModes[subject] = m;
        }
        else
        {
            _subjectModes.Remove(subject);
        }
    }

    private void ApplySubjectDeletion(string keyType, string subject, byte[] value)
    {
        if (JsonNode.Parse(value) is not JsonObject node || node["version"] is not JsonValue v || !_subjects.TryGetValue(subject, out var versions))
        {
            return;
        }

        int upTo = v.GetValue<int>();
        foreach (var entry in versions.Values.Where(e => e.Version <= upTo).ToList())
        {
            ApplySchema(subject, entry.Version, keyType == KeyTypes.DeleteSubject ? entry with { Deleted = true } : null);
        }
    }

    // ---- reads ----

    public IReadOnlyList<string> Subjects(bool includeDeleted)
    {
        lock (_lock)
        {
            return _subjects.Where(s => includeDeleted || s.Value.Values.Any(v => !v.Deleted)).Select(s => s.Key).Order(StringComparer.Ordinal).ToList();
        }
    }

    /// <summary>Versions of a subject, oldest first; null when the subject has none (or only deleted ones and those are not wanted).</summary>
    public IReadOnlyList<SchemaValue>? Versions(string subject, bool includeDeleted)
    {
        lock (_lock)
        {
            if (!_subjects.TryGetValue(subject, out var versions))
            {
                return null;
            }

            var result = versions.Values.Where(v => includeDeleted || !v.Deleted).ToList();
            return result.Count == 0 ? null : result;
        }
    }

    /// <summary>Every version, deleted or not (null when the subject never existed or was permanently deleted).</summary>
    public IReadOnlyList<SchemaValue>? AllVersions(string subject) => Versions(subject, includeDeleted: true);

    public SchemaValue? Version(string subject, int version)
    {
        lock (_lock)
        {
            return _subjects.TryGetValue(subject, out var versions) && versions.TryGetValue(version, out var value) ? value : null;
        }
    }

    /// <summary>The subjects/versions holding schema <paramref name="id"/> (deleted ones included), ordered.</summary>
    public IReadOnlyList<SchemaValue> UsersOfId(int id)
    {
        lock (_lock)
        {
            if (!_usersOfId.TryGetValue(id, out var users))
            {
                return [];
            }

            return users.Select(u => _subjects[u.Subject][u.Version]).ToList();
        }
    }

    /// <summary>Ids of the schemas that reference subject/version (Confluent's <c>/referencedby</c>).</summary>
    public IReadOnlyList<int> ReferencedBy(string subject, int version, bool includeDeleted)
    {
        lock (_lock)
        {
            return _subjects.Values.SelectMany(v => v.Values)
                .Where(s => (includeDeleted || !s.Deleted) && s.References.Any(r => r.Subject == subject && r.Version == version))
                .Select(s => s.Id).Distinct().Order().ToList();
        }
    }

    /// <summary>Every live schema (for finding an existing id of an equivalent schema).</summary>
    public IReadOnlyList<SchemaValue> AllSchemas()
    {
        lock (_lock)
        {
            return _subjects.Values.SelectMany(v => v.Values).ToList();
        }
    }

    public CompatibilityLevel? GlobalConfig
    {
        get
        {
            lock (_lock)
            {
                return _globalConfig;
            }
        }
    }

    public CompatibilityLevel? SubjectConfig(string subject)
    {
        lock (_lock)
        {
            return _subjectConfigs.TryGetValue(subject, out var level) ? level : null;
        }
    }

    public RegistryMode? GlobalMode
    {
        get
        {
            lock (_lock)
            {
                return _globalMode;
            }
        }
    }

    public RegistryMode? SubjectMode(string subject)
    {
        lock (_lock)
        {
            return _subjectModes.TryGetValue(subject, out var mode) ? mode : null;
        }
    }
}
