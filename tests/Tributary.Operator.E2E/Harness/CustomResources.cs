using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;

namespace Tributary.Operator.E2E.Harness;

/// <summary>One condition of a Tributary custom resource's status.</summary>
public sealed record ConditionView(string Type, string Status, string? Reason, string? Message, long? ObservedGeneration);

/// <summary>What the tests read of a Broker or Topic: generation, status conditions and a few status fields, from the API as JSON.</summary>
public sealed record ResourceView(JsonElement Json)
{
    public long Generation => Json.GetProperty("metadata").GetProperty("generation").GetInt64();

    public bool Deleting => Json.GetProperty("metadata").TryGetProperty("deletionTimestamp", out _);

    public long? ObservedGeneration => Status is { } s && s.TryGetProperty("observedGeneration", out var g) && g.ValueKind == JsonValueKind.Number ? g.GetInt64() : null;

    public JsonElement? Status => Json.TryGetProperty("status", out var s) ? s : null;

    public IReadOnlyList<ConditionView> Conditions => Status is { } s && s.TryGetProperty("conditions", out var list)
        ? list.EnumerateArray().Select(c => new ConditionView(
            c.GetProperty("type").GetString()!, c.GetProperty("status").GetString()!,
            c.TryGetProperty("reason", out var r) ? r.GetString() : null,
            c.TryGetProperty("message", out var m) ? m.GetString() : null,
            c.TryGetProperty("observedGeneration", out var g) && g.ValueKind == JsonValueKind.Number ? g.GetInt64() : null)).ToList()
        : [];

    public ConditionView? Condition(string type) => Conditions.FirstOrDefault(c => c.Type == type);

    /// <summary>The condition holds for the current generation (the operator has seen this spec).</summary>
    public bool Has(string type, string status = "True") =>
        Condition(type) is { } c && c.Status == status && ObservedGeneration == Generation;

    public int? StatusInt(string name) => Status is { } s && s.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;

    public IReadOnlyList<int> StatusInts(string name) => Status is { } s && s.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
        ? v.EnumerateArray().Select(e => e.GetInt32()).ToList()
        : [];

    public override string ToString() =>
        $"generation {Generation}, observed {ObservedGeneration}: " + string.Join("; ", Conditions.Select(c => $"{c.Type}={c.Status} {c.Reason}: {c.Message}"));
}

public static class CustomResources
{
    public const string Group = "tributary.dev";
    public const string Version = "v1alpha1";

    public static async Task<ResourceView?> GetAsync(Kubernetes client, string plural, string @namespace, string name)
    {
        try
        {
            var json = await client.CustomObjects.GetNamespacedCustomObjectAsync<JsonElement>(Group, Version, @namespace, plural, name);
            return new ResourceView(json);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }
}
