using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tributary.SchemaRegistry.Config;
using Tributary.SchemaRegistry.Schemas;
using Tributary.SchemaRegistry.Storage;

namespace Tributary.SchemaRegistry.Api;

/// <summary>The registry's operations with Confluent's rules: reads from the replayed state (any instance), writes
/// through the store (the elected writer only; the REST layer forwards them there).</summary>
internal sealed class RegistryService(RegistryOptions options, RegistryState state, KafkaStore store)
{
    /// <summary>Parsed schemas by id: every version with one id has the same content, so one parse serves them all.</summary>
    private readonly ConcurrentDictionary<int, IParsedSchema> _parsedById = new();

    public RegistryState State => state;

    // ---------- parsing ----------

    private (SchemaType, string, IReadOnlyList<SchemaReference>) Resolve(SchemaReference reference)
    {
        var target = state.Version(reference.Subject, reference.Version)
            ?? throw new InvalidSchemaException($"Reference '{reference.Name}' names subject '{reference.Subject}' version {reference.Version}, which does not exist");
        return (target.Type, target.Schema, target.References);
    }

    public IParsedSchema Parse(SchemaRequest request, bool normalize)
    {
        try
        {
            var parsed = SchemaParsers.Parse(request.Type, request.Schema, request.References, Resolve);
            return normalize ? parsed.Normalize() : parsed;
        }
        catch (InvalidSchemaException e)
        {
            throw RegistryException.InvalidSchema($"Invalid schema {request.Schema}, details: {e.Message}");
        }
    }

    private IParsedSchema ParsedOf(SchemaValue stored) => _parsedById.GetOrAdd(stored.Id, _ =>
    {
        try
        {
            return SchemaParsers.Parse(stored.Type, stored.Schema, stored.References, Resolve);
        }
        catch (InvalidSchemaException e)
        {
            throw RegistryException.StoreError($"Stored schema {stored.Id} no longer parses: {e.Message}");
        }
    });

    // ---------- subjects and versions ----------

    public IReadOnlyList<string> Subjects(bool deleted, string? prefix) =>
        state.Subjects(deleted).Where(s => prefix is null || s.StartsWith(prefix, StringComparison.Ordinal)).ToList();

    public IReadOnlyList<int> Versions(string subject, bool deleted) =>
        (state.Versions(subject, deleted) ?? throw RegistryException.SubjectNotFound(subject)).Select(v => v.Version).ToList();

    /// <summary>Parses a version path segment: a positive number, <c>latest</c> or -1.</summary>
    public static int? ParseVersion(string version)
    {
        if (version == "latest" || version == "-1")
        {
            return null;
        }

        if (int.TryParse(version, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int v) && v > 0)
        {
            return v;
        }

        throw RegistryException.InvalidVersion(version);
    }

    public SchemaValue Version(string subject, string version, bool deleted)
    {
        int? number = ParseVersion(version);
        var versions = state.Versions(subject, includeDeleted: true) ?? throw RegistryException.SubjectNotFound(subject);
        if (number is null)
        {
            var live = versions.Where(v => deleted || !v.Deleted).ToList();
            return live.Count > 0 ? live[^1] : throw RegistryException.SubjectNotFound(subject);
        }

        var found = versions.FirstOrDefault(v => v.Version == number);
        if (found is null || (found.Deleted && !deleted))
        {
            throw RegistryException.VersionNotFound(number.Value);
        }

        return found;
    }

    public IReadOnlyList<int> ReferencedBy(string subject, string version)
    {
        var target = Version(subject, version, deleted: false);
        return state.ReferencedBy(subject, target.Version, includeDeleted: false);
    }

    /// <summary>POST /subjects/{s}: the version of <paramref name="subject"/> holding this schema.</summary>
    public SchemaValue Lookup(string subject, SchemaRequest request, bool normalize, bool deleted)
    {
        var versions = state.Versions(subject, deleted) ?? throw RegistryException.SubjectNotFound(subject);
        var candidate = Parse(request, normalize);
        foreach (var existing in versions.Reverse())
        {
            var parsed = ParsedOf(existing);
            if (candidate.IsEquivalentTo(normalize ? parsed.Normalize() : parsed))
            {
                return existing;
            }
        }

        throw RegistryException.SchemaNotFound();
    }

    // ---------- schemas by id ----------

    public SchemaValue SchemaById(int id) => state.UsersOfId(id).FirstOrDefault() ?? throw RegistryException.SchemaIdNotFound(id);

    public IReadOnlyList<string> SubjectsOfId(int id, bool deleted)
    {
        var users = state.UsersOfId(id);
        if (users.Count == 0)
        {
            throw RegistryException.SchemaIdNotFound(id);
        }

        return users.Where(u => deleted || !u.Deleted).Select(u => u.Subject).Distinct().ToList();
    }

    public IReadOnlyList<SchemaValue> VersionsOfId(int id, bool deleted)
    {
        var users = state.UsersOfId(id);
        if (users.Count == 0)
        {
            throw RegistryException.SchemaIdNotFound(id);
        }

        return users.Where(u => deleted || !u.Deleted).ToList();
    }

    // ---------- config and mode ----------

    public CompatibilityLevel EffectiveCompatibility(string? subject) =>
        (subject is null ? null : state.SubjectConfig(subject)) ?? state.GlobalConfig ?? options.DefaultCompatibility;

    public RegistryMode EffectiveMode(string? subject) =>
        (subject is null ? null : state.SubjectMode(subject)) ?? state.GlobalMode ?? options.DefaultMode;

    public CompatibilityLevel SubjectConfig(string subject, bool defaultToGlobal) =>
        state.SubjectConfig(subject) ?? (defaultToGlobal ? EffectiveCompatibility(null) : throw RegistryException.SubjectConfigNotFound(subject));

    public RegistryMode SubjectMode(string subject, bool defaultToGlobal) =>
        state.SubjectMode(subject) ?? (defaultToGlobal ? EffectiveMode(null) : throw RegistryException.SubjectModeNotFound(subject));

    public async Task<CompatibilityLevel> SetConfigAsync(string? subject, CompatibilityLevel level, CancellationToken cancellationToken)
    {
        CheckWritable(subject);
        await AppendAsync(StoreKey.ForConfig(subject), JsonOutput.ToBytes(new JsonObject
        {
            ["compatibilityLevel"] = SchemaTypeNames.ToName(level),
        }), cancellationToken).ConfigureAwait(false);
        return level;
    }

    /// <summary>DELETE /config[/{s}]: removes the setting, returns what it was (the default for the global one).</summary>
    public async Task<CompatibilityLevel> DeleteConfigAsync(string? subject, CancellationToken cancellationToken)
    {
        CheckWritable(subject);
        CompatibilityLevel previous;
        if (subject is null)
        {
            previous = state.GlobalConfig ?? options.DefaultCompatibility;
        }
        else
        {
            previous = state.SubjectConfig(subject) ?? (state.AllVersions(subject) is null
                ? throw RegistryException.SubjectNotFound(subject)
                : throw RegistryException.SubjectConfigNotFound(subject));
        }

        await AppendAsync(StoreKey.ForConfig(subject), null, cancellationToken).ConfigureAwait(false);
        return previous;
    }

    public async Task<RegistryMode> SetModeAsync(string? subject, RegistryMode mode, bool force, CancellationToken cancellationToken)
    {
        if (!options.ModeMutability)
        {
            throw RegistryException.OperationNotPermitted("Mode changes are not allowed");
        }

        // IMPORT lets clients choose ids; only on an empty registry (or subject) unless forced, as Confluent.
        if (mode == RegistryMode.Import && !force)
        {
            bool hasSchemas = subject is null ? state.Subjects(includeDeleted: false).Count > 0 : state.Versions(subject, false) is not null;
            if (hasSchemas && EffectiveMode(subject) != RegistryMode.Import)
            {
                throw RegistryException.OperationNotPermitted("Cannot import since found existing subjects");
            }
        }

        await AppendAsync(StoreKey.ForMode(subject), JsonOutput.ToBytes(new JsonObject
        {
            ["mode"] = RegistryModeNames.ToName(mode),
        }), cancellationToken).ConfigureAwait(false);
        return mode;
    }

    public async Task<RegistryMode> DeleteModeAsync(string? subject, CancellationToken cancellationToken)
    {
        if (!options.ModeMutability)
        {
            throw RegistryException.OperationNotPermitted("Mode changes are not allowed");
        }

        var previous = subject is null ? state.GlobalMode ?? options.DefaultMode : state.SubjectMode(subject) ?? throw RegistryException.SubjectModeNotFound(subject);
        await AppendAsync(StoreKey.ForMode(subject), null, cancellationToken).ConfigureAwait(false);
        return previous;
    }

    private void CheckWritable(string? subject)
    {
        if (EffectiveMode(subject) is RegistryMode.ReadOnly or RegistryMode.ReadOnlyOverride)
        {
            throw RegistryException.OperationNotPermitted(subject is null ? "The registry is in read-only mode" : $"Subject {subject} is in read-only mode");
        }
    }

    // ---------- compatibility ----------

    /// <summary>Checks <paramref name="candidate"/> against versions of the subject (oldest first) at the subject's level.</summary>
    public IReadOnlyList<string> Check(string subject, IParsedSchema candidate, IReadOnlyList<SchemaValue> against)
    {
        var level = EffectiveCompatibility(subject);
        var previous = against.Select(ParsedOf).ToList();
        return CompatibilityChecker.Check(candidate, previous, level);
    }

    /// <summary>POST /compatibility/subjects/{s}/versions/{v} (one version) or …/versions (all, per the level).</summary>
    public IReadOnlyList<string> TestCompatibility(string subject, string? version, SchemaRequest request, bool normalize)
    {
        var candidate = Parse(request, normalize);
        if (version is null)
        {
            var all = state.Versions(subject, includeDeleted: false) ?? [];
            return Check(subject, candidate, all);
        }

        var target = Version(subject, version, deleted: false);
        return Check(subject, candidate, [target]);
    }

    // ---------- writes ----------

    public async Task<int> RegisterAsync(string subject, SchemaRequest request, bool normalize, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(subject) || subject.Length > 4096 || subject.Any(char.IsControl))
        {
            throw RegistryException.InvalidSubject(subject);
        }

        using var _ = await store.LockWritesAsync(cancellationToken).ConfigureAwait(false);
        var mode = EffectiveMode(subject);
        if (mode is RegistryMode.ReadOnly or RegistryMode.ReadOnlyOverride)
        {
            throw RegistryException.OperationNotPermitted($"Subject {subject} is in read-only mode");
        }

        if (request.Id is not null && mode != RegistryMode.Import)
        {
            throw RegistryException.OperationNotPermitted($"Registering schema id {request.Id} needs IMPORT mode; subject {subject} is in {RegistryModeNames.ToName(mode)} mode");
        }

        var candidate = Parse(request, normalize);
        var all = state.AllVersions(subject) ?? [];
        var live = all.Where(v => !v.Deleted).ToList();
        foreach (var existing in live)
        {
            if (candidate.IsEquivalentTo(ParsedOf(existing)) && (request.Id is null || request.Id == existing.Id))
            {
                return existing.Id;
            }
        }

        int id;
        int version = (all.Count == 0 ? 0 : all.Max(v => v.Version)) + 1;
        if (mode == RegistryMode.Import)
        {
            id = request.Id ?? throw RegistryException.OperationNotPermitted("In IMPORT mode a registration must name the schema id");
            var holders = state.UsersOfId(id);
            if (holders.Count > 0 && !candidate.IsEquivalentTo(ParsedOf(holders[0])))
            {
                throw RegistryException.IdMismatch($"Schema id {id} already holds a different schema");
            }

            if (request.Version is int chosen)
            {
                if (all.Any(v => v.Version == chosen))
                {
                    throw RegistryException.OperationNotPermitted($"Subject {subject} already has version {chosen}");
                }

                version = chosen;
            }
        }
        else
        {
            var messages = Check(subject, candidate, live);
            if (messages.Count > 0)
            {
                throw RegistryException.Incompatible(
                    $"Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{string.Join(", ", messages)}]");
            }

            // The same schema registered under another subject keeps its id.
            var same = state.AllSchemas().FirstOrDefault(s => s.Type == candidate.Type && candidate.IsEquivalentTo(ParsedOf(s)));
            id = same?.Id ?? state.MaxId + 1;
        }

        var value = new SchemaValue(subject, version, id, candidate.Type, candidate.CanonicalString, candidate.References, Deleted: false);
        await AppendAsync(StoreKey.ForSchema(subject, version), value.ToBytes(), cancellationToken).ConfigureAwait(false);
        return id;
    }

    public async Task<IReadOnlyList<int>> DeleteSubjectAsync(string subject, bool permanent, CancellationToken cancellationToken)
    {
        using var _ = await store.LockWritesAsync(cancellationToken).ConfigureAwait(false);
        CheckWritable(subject);
        var all = state.AllVersions(subject) ?? throw RegistryException.SubjectNotFound(subject);
        var live = all.Where(v => !v.Deleted).ToList();
        if (!permanent && live.Count == 0)
        {
            throw RegistryException.SubjectSoftDeleted(subject);
        }

        if (permanent && live.Count > 0)
        {
            throw RegistryException.SubjectNotSoftDeleted(subject);
        }

        foreach (var v in all)
        {
            if (state.ReferencedBy(subject, v.Version, includeDeleted: false).Count > 0)
            {
                throw RegistryException.ReferenceExists(subject, v.Version);
            }
        }

        if (permanent)
        {
            await WriteIdFloorAsync(cancellationToken).ConfigureAwait(false);
        }

        var deleted = new List<int>();
        foreach (var v in permanent ? all : live)
        {
            await AppendAsync(StoreKey.ForSchema(subject, v.Version), permanent ? null : (v with { Deleted = true }).ToBytes(), cancellationToken)
                .ConfigureAwait(false);
            deleted.Add(v.Version);
        }

        if (permanent)
        {
            if (state.SubjectConfig(subject) is not null)
            {
                await AppendAsync(StoreKey.ForConfig(subject), null, cancellationToken).ConfigureAwait(false);
            }

            if (state.SubjectMode(subject) is not null)
            {
                await AppendAsync(StoreKey.ForMode(subject), null, cancellationToken).ConfigureAwait(false);
            }
        }

        return deleted;
    }

    public async Task<int> DeleteVersionAsync(string subject, string version, bool permanent, CancellationToken cancellationToken)
    {
        using var _ = await store.LockWritesAsync(cancellationToken).ConfigureAwait(false);
        CheckWritable(subject);
        int? number = ParseVersion(version);
        var all = state.AllVersions(subject) ?? throw RegistryException.SubjectNotFound(subject);
        SchemaValue target;
        if (number is null)
        {
            // "latest" means the latest live version, or for a permanent delete the latest soft-deleted one.
            target = (permanent ? all.LastOrDefault() : all.LastOrDefault(v => !v.Deleted)) ?? throw RegistryException.SubjectNotFound(subject);
        }
        else
        {
            target = all.FirstOrDefault(v => v.Version == number) ?? throw RegistryException.VersionNotFound(number.Value);
        }

        if (!permanent && target.Deleted)
        {
            throw RegistryException.VersionSoftDeleted(subject, target.Version);
        }

        if (permanent && !target.Deleted)
        {
            throw RegistryException.VersionNotSoftDeleted(subject, target.Version);
        }

        if (state.ReferencedBy(subject, target.Version, includeDeleted: false).Count > 0)
        {
            throw RegistryException.ReferenceExists(subject, target.Version);
        }

        if (permanent)
        {
            await WriteIdFloorAsync(cancellationToken).ConfigureAwait(false);
        }

        await AppendAsync(StoreKey.ForSchema(subject, target.Version), permanent ? null : (target with { Deleted = true }).ToBytes(), cancellationToken)
            .ConfigureAwait(false);
        return target.Version;
    }

    /// <summary>Before a tombstone can take a schema record (and, once compacted, its id) out of the topic, records the
    /// highest id issued so far, so a later replay still continues above it.</summary>
    private Task WriteIdFloorAsync(CancellationToken cancellationToken) =>
        AppendAsync(StoreKey.IdFloor(), state.IdFloorValue(), cancellationToken);

    private async Task AppendAsync(StoreKey key, byte[]? value, CancellationToken cancellationToken)
    {
        try
        {
            await store.AppendAsync(key, value, cancellationToken).ConfigureAwait(false);
        }
        catch (StoreException e)
        {
            throw e.TimedOut ? RegistryException.Timeout(e.Message) : RegistryException.StoreError(e.Message);
        }
    }
}
