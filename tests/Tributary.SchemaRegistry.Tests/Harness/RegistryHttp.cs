using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Tributary.SchemaRegistry.Tests.Harness;

/// <summary>An HTTP answer from the registry: status, content type and body.</summary>
public sealed record RegistryAnswer(int Status, string? ContentType, string Body)
{
    public JsonNode? Json => Body.Length == 0 ? null : JsonNode.Parse(Body);

    /// <summary>Confluent's error_code field, or null for a body that is not an error object.</summary>
    public int? ErrorCode => Json is JsonObject o && o["error_code"] is JsonValue v ? v.GetValue<int>() : null;

    public override string ToString() => $"{Status} {ContentType} {Body}";
}

/// <summary>Raw HTTP against a registry, so tests see exactly the status, headers and bytes Confluent clients would.</summary>
public sealed class RegistryHttp(string baseUrl) : IDisposable
{
    public const string V1Json = "application/vnd.schemaregistry.v1+json";
    private readonly HttpClient _http = new() { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(30) };

    public async Task<RegistryAnswer> SendAsync(string method, string path, string? body = null, string? contentType = V1Json, string? accept = null)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            if (contentType is not null)
            {
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            }
        }

        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        using var response = await _http.SendAsync(request);
        return new RegistryAnswer((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync());
    }

    public Task<RegistryAnswer> GetAsync(string path) => SendAsync("GET", path);
    public Task<RegistryAnswer> PostAsync(string path, string body) => SendAsync("POST", path, body);
    public Task<RegistryAnswer> PutAsync(string path, string body) => SendAsync("PUT", path, body);
    public Task<RegistryAnswer> DeleteAsync(string path) => SendAsync("DELETE", path);

    /// <summary>A register/lookup body for <paramref name="schema"/> (JSON-escaped into the "schema" string).</summary>
    public static string SchemaBody(string schema, string? type = null, string? references = null)
    {
        var node = new JsonObject { ["schema"] = schema };
        if (type is not null)
        {
            node["schemaType"] = type;
        }

        if (references is not null)
        {
            node["references"] = JsonNode.Parse(references);
        }

        return node.ToJsonString();
    }

    public void Dispose() => _http.Dispose();
}
