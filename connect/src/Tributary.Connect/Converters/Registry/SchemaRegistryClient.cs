using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tributary.Connect.Api.Connectors;

namespace Tributary.Connect.Converters.Registry;

/// <summary>A schema as the registry holds it: its text and type (<c>AVRO</c>, <c>JSON</c>, <c>PROTOBUF</c>).</summary>
public sealed record RegisteredSchema(string Schema, string SchemaType);

/// <summary>The registry said no (Confluent's error JSON: HTTP status, <c>error_code</c>, <c>message</c>).</summary>
public sealed class SchemaRegistryException(int status, int errorCode, string message)
    : Exception($"{message}; error code: {errorCode} (HTTP {status})")
{
    public int Status { get; } = status;
    public int ErrorCode { get; } = errorCode;
    public string RegistryMessage { get; } = message;
}

/// <summary>The calls the converters make to a Confluent-compatible schema registry.</summary>
public interface ISchemaRegistryClient
{
    /// <summary>POST /subjects/{subject}/versions: the schema's id (an existing one when already registered).</summary>
    int Register(string subject, RegisteredSchema schema, bool normalize);

    /// <summary>POST /subjects/{subject}: the id of this schema under the subject (40401/40403 when it is not there).</summary>
    int Lookup(string subject, RegisteredSchema schema, bool normalize);

    /// <summary>GET /schemas/ids/{id}.</summary>
    RegisteredSchema GetById(int id);

    /// <summary>GET /subjects/{subject}/versions/latest: id and schema.</summary>
    (int Id, RegisteredSchema Schema) GetLatest(string subject);
}

/// <summary>
/// Confluent's REST protocol over HttpClient, synchronous (converters are called synchronously by the task loop), with
/// bounded caches: schema by id, and id by (subject, schema). Several URLs are tried in turn when one cannot be reached.
/// Network failures and 5xx answers surface as <see cref="RetriableException"/> (the task's errors.retry.* applies);
/// 4xx answers as <see cref="SchemaRegistryException"/>.
/// </summary>
public sealed class SchemaRegistryClient : ISchemaRegistryClient, IDisposable
{
    /// <summary>Bounds a registry answer (a schema with its references is far below this).</summary>
    public const int MaxResponseBytes = 8 * 1024 * 1024;

    private const string ContentType = "application/vnd.schemaregistry.v1+json";
    private readonly IReadOnlyList<Uri> baseUrls;
    private readonly HttpClient http;
    private readonly BoundedCache<int, RegisteredSchema> byId;
    private readonly BoundedCache<(string Subject, string Type, string Schema, bool Register), int> idBySubject;

    public SchemaRegistryClient(IReadOnlyList<Uri> baseUrls, int cacheCapacity, TimeSpan requestTimeout, string? userInfo = null)
    {
        if (baseUrls.Count == 0)
        {
            throw new ArgumentException("at least one registry URL", nameof(baseUrls));
        }

        this.baseUrls = baseUrls;
        http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = requestTimeout,
            MaxResponseContentBufferSize = MaxResponseBytes,
        };
        http.DefaultRequestHeaders.Accept.ParseAdd(ContentType);
        http.DefaultRequestHeaders.Accept.ParseAdd("application/json");
        if (!string.IsNullOrEmpty(userInfo))
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(userInfo)));
        }

        byId = new BoundedCache<int, RegisteredSchema>(cacheCapacity);
        idBySubject = new BoundedCache<(string, string, string, bool), int>(cacheCapacity);
    }

    public int Register(string subject, RegisteredSchema schema, bool normalize) =>
        idBySubject.GetOrAdd((subject, schema.SchemaType, schema.Schema, true), _ =>
        {
            var answer = Send(HttpMethod.Post, $"subjects/{Uri.EscapeDataString(subject)}/versions" + (normalize ? "?normalize=true" : ""), Body(schema));
            var id = Int(answer, "id");
            byId.GetOrAdd(id, _ => schema);
            return id;
        });

    public int Lookup(string subject, RegisteredSchema schema, bool normalize) =>
        idBySubject.GetOrAdd((subject, schema.SchemaType, schema.Schema, false), _ =>
        {
            var answer = Send(HttpMethod.Post, $"subjects/{Uri.EscapeDataString(subject)}" + (normalize ? "?normalize=true" : ""), Body(schema));
            return Int(answer, "id");
        });

    public RegisteredSchema GetById(int id) => byId.GetOrAdd(id, _ =>
    {
        var answer = Send(HttpMethod.Get, $"schemas/ids/{id}", null);
        return new RegisteredSchema(Str(answer, "schema"), answer["schemaType"]?.GetValue<string>() ?? "AVRO");
    });

    /// <summary>Not cached: "latest" moves as versions are registered.</summary>
    public (int Id, RegisteredSchema Schema) GetLatest(string subject)
    {
        var answer = Send(HttpMethod.Get, $"subjects/{Uri.EscapeDataString(subject)}/versions/latest", null);
        var schema = new RegisteredSchema(Str(answer, "schema"), answer["schemaType"]?.GetValue<string>() ?? "AVRO");
        var id = Int(answer, "id");
        byId.GetOrAdd(id, _ => schema);
        return (id, schema);
    }

    private static JsonObject Body(RegisteredSchema schema)
    {
        var body = new JsonObject { ["schema"] = schema.Schema };
        if (schema.SchemaType != "AVRO")
        {
            body["schemaType"] = schema.SchemaType;
        }

        return body;
    }

    private JsonObject Send(HttpMethod method, string path, JsonObject? body)
    {
        Exception? unreachable = null;
        foreach (var baseUrl in baseUrls)
        {
            using var request = new HttpRequestMessage(method, new Uri(baseUrl, path));
            if (body is not null)
            {
                request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, ContentType);
            }

            HttpResponseMessage response;
            try
            {
                response = http.Send(request);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                unreachable = e;
                continue;
            }

            using (response)
            {
                string text;
                try
                {
                    using var stream = response.Content.ReadAsStream();
                    using var limited = new MemoryStream();
                    var buffer = new byte[16 * 1024];
                    int n;
                    while ((n = stream.Read(buffer)) > 0)
                    {
                        if (limited.Length + n > MaxResponseBytes)
                        {
                            throw new SchemaRegistryException((int)response.StatusCode, 50001, $"registry answer larger than {MaxResponseBytes} bytes");
                        }

                        limited.Write(buffer, 0, n);
                    }

                    text = Encoding.UTF8.GetString(limited.GetBuffer(), 0, (int)limited.Length);
                }
                catch (Exception e) when (e is HttpRequestException or IOException)
                {
                    unreachable = e;
                    continue;
                }

                JsonNode? json = null;
                try
                {
                    json = text.Length == 0 ? null : JsonNode.Parse(text);
                }
                catch (JsonException)
                {
                }

                if (response.IsSuccessStatusCode && json is JsonObject ok)
                {
                    return ok;
                }

                var code = json is JsonObject err && err["error_code"] is JsonValue c && c.TryGetValue<int>(out var ec) ? ec : (int)response.StatusCode;
                var message = json is JsonObject err2 && err2["message"] is JsonValue m && m.TryGetValue<string>(out var ms) ? ms : text.Length > 500 ? text[..500] : text;
                var failure = new SchemaRegistryException((int)response.StatusCode, code, message);
                if ((int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.RequestTimeout)
                {
                    throw new RetriableException($"Schema registry {baseUrl} answered {(int)response.StatusCode}: {failure.Message}", failure);
                }

                throw failure;
            }
        }

        throw new RetriableException($"Schema registry unreachable at {string.Join(", ", baseUrls)}: {unreachable?.Message}", unreachable!);
    }

    private static int Int(JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue<int>(out var i) ? i : throw new SchemaRegistryException(200, 50001, $"registry answer without '{key}': {o.ToJsonString()}");

    private static string Str(JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new SchemaRegistryException(200, 50001, $"registry answer without '{key}'");

    public void Dispose() => http.Dispose();
}

/// <summary>A thread-safe map that holds at most <c>capacity</c> entries, dropping the least recently used.</summary>
public sealed class BoundedCache<TKey, TValue>(int capacity) where TKey : notnull
{
    private readonly Dictionary<TKey, LinkedListNode<(TKey Key, TValue Value)>> map = [];
    private readonly LinkedList<(TKey Key, TValue Value)> order = new();
    private readonly Lock gate = new();

    public int Count
    {
        get
        {
            lock (gate)
            {
                return map.Count;
            }
        }
    }

    /// <summary>The cached value, or <paramref name="load"/>'s (called outside the lock; a failure caches nothing).</summary>
    public TValue GetOrAdd(TKey key, Func<TKey, TValue> load)
    {
        lock (gate)
        {
            if (map.TryGetValue(key, out var node))
            {
                order.Remove(node);
                order.AddFirst(node);
                return node.Value.Value;
            }
        }

        var value = load(key);
        lock (gate)
        {
            if (!map.ContainsKey(key))
            {
                map[key] = order.AddFirst((key, value));
                while (map.Count > Math.Max(1, capacity))
                {
                    var last = order.Last!;
                    order.RemoveLast();
                    map.Remove(last.Value.Key);
                }
            }
        }

        return value;
    }
}
