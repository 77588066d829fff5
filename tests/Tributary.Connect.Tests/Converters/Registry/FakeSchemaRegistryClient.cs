using Tributary.Connect.Converters.Registry;

namespace Tributary.Connect.Tests.Converters.Registry;

/// <summary>
/// An in-memory stand-in for the registry, below the converter under test: ids by exact schema text, versions per subject,
/// no compatibility checks. Tests against the real registry process live in <see cref="RegistryInteropTests"/>.
/// </summary>
internal sealed class FakeSchemaRegistryClient : ISchemaRegistryClient
{
    private readonly Dictionary<int, RegisteredSchema> byId = [];
    private readonly Dictionary<string, List<int>> subjects = new(StringComparer.Ordinal);

    public List<string> Calls { get; } = [];

    public IReadOnlyDictionary<string, List<int>> Subjects => subjects;

    public int Register(string subject, RegisteredSchema schema, bool normalize)
    {
        Calls.Add("register " + subject);
        var id = byId.FirstOrDefault(p => p.Value == schema).Key;
        if (id == 0)
        {
            id = byId.Count + 1;
            byId[id] = schema;
        }

        var versions = subjects.TryGetValue(subject, out var v) ? v : subjects[subject] = [];
        if (!versions.Contains(id))
        {
            versions.Add(id);
        }

        return id;
    }

    public int Lookup(string subject, RegisteredSchema schema, bool normalize)
    {
        Calls.Add("lookup " + subject);
        return subjects.TryGetValue(subject, out var v) && v.FirstOrDefault(i => byId[i] == schema) is var id and > 0
            ? id
            : throw new SchemaRegistryException(404, 40403, "Schema not found");
    }

    public RegisteredSchema GetById(int id)
    {
        Calls.Add("get " + id);
        return byId.TryGetValue(id, out var s) ? s : throw new SchemaRegistryException(404, 40403, "Schema " + id + " not found");
    }

    public (int Id, RegisteredSchema Schema) GetLatest(string subject)
    {
        Calls.Add("latest " + subject);
        return subjects.TryGetValue(subject, out var v) && v.Count > 0 ? (v[^1], byId[v[^1]]) : throw new SchemaRegistryException(404, 40401, $"Subject '{subject}' not found.");
    }
}
