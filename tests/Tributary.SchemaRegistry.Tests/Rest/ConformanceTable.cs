using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tributary.SchemaRegistry.Tests.Harness;

namespace Tributary.SchemaRegistry.Tests.Rest;

/// <summary>One row of a conformance table: a request and what Confluent's API reference says comes back.</summary>
/// <param name="Body">Exact expected body (compact JSON as Confluent writes it, or a raw schema), or null to skip.</param>
/// <param name="Shape">A check of the body's shape when the exact bytes are not fixed (messages, ids).</param>
public sealed record Row(string Method, string Path, string? Request, int Status, int? ErrorCode = null, string? Body = null,
    Func<JsonNode?, bool>? Shape = null, string? ContentType = RegistryHttp.V1Json, string? Accept = null);

/// <summary>Runs rows in order against one registry and fails on the first row that differs, naming it.</summary>
public static class ConformanceTable
{
    public static async Task RunAsync(RegistryHttp http, IEnumerable<Row> rows)
    {
        int index = 0;
        foreach (var row in rows)
        {
            index++;
            var answer = await http.SendAsync(row.Method, row.Path, row.Request, row.ContentType, row.Accept);
            string where = $"row {index}: {row.Method} {row.Path} {row.Request} → {answer}";
            Assert.True(row.Status == answer.Status, $"status {row.Status} expected; {where}");
            Assert.True(answer.ContentType == RegistryHttp.V1Json, $"content type {RegistryHttp.V1Json} expected; {where}");
            if (row.ErrorCode is int code)
            {
                Assert.True(answer.ErrorCode == code, $"error_code {code} expected; {where}");
                Assert.True(answer.Json?["message"] is JsonValue, $"an error message expected; {where}");
            }

            if (row.Body is not null)
            {
                Assert.True(row.Body == answer.Body, $"body {row.Body} expected; {where}");
            }

            if (row.Shape is not null)
            {
                Assert.True(row.Shape(answer.Json), $"body shape check failed; {where}");
            }
        }
    }
}

/// <summary>Avro schemas the tables register.</summary>
public static class Schemas
{
    public const string UserV1 = """{"type":"record","name":"User","fields":[{"name":"name","type":"string"}]}""";
    public const string UserV2 = """{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"int","default":0}]}""";

    /// <summary>Adds a field without a default: not BACKWARD compatible with <see cref="UserV1"/>.</summary>
    public const string UserNoDefault = """{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"email","type":"string"}]}""";

    public const string Address = """{"type":"record","name":"Address","namespace":"acme","fields":[{"name":"street","type":"string"}]}""";
    public const string Customer = """{"type":"record","name":"Customer","namespace":"acme","fields":[{"name":"home","type":"acme.Address"}]}""";

    /// <summary>Jackson's escaping (what Confluent writes): quotes as \", no HTML-safe \u escapes.</summary>
    public static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Body(string schema, string? type = null, string? references = null) => RegistryHttp.SchemaBody(schema, type, references);

    /// <summary>A subject version as Confluent answers it (AVRO: no schemaType, no references).</summary>
    public static string Version(string subject, int version, int id, string schema) =>
        new JsonObject { ["subject"] = subject, ["version"] = version, ["id"] = id, ["schema"] = schema }.ToJsonString(Relaxed);

    public static string SchemaById(string schema) => new JsonObject { ["schema"] = schema }.ToJsonString(Relaxed);
}
