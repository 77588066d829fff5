using System.Text.Json;
using System.Text.Json.Nodes;
using Tributary.Connect.Api.Config;
using Tributary.Connect.Api.Connectors;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.Converters.Registry;

/// <summary>
/// Confluent's JsonSchemaConverter (<c>io.confluent.connect.json.JsonSchemaConverter</c>): Connect data ↔ plain JSON in
/// Confluent's wire format (magic 0, schema id, UTF-8 JSON), the JSON Schema registered as schemaType JSON under the
/// subject the strategy names. Same registry settings and error surfacing as <see cref="AvroConverter"/>.
/// </summary>
public sealed class JsonSchemaConverter : IConverter, IDisposable
{
    /// <summary>Bounds a message's JSON nesting.</summary>
    private static readonly JsonDocumentOptions ReadOptions = new() { MaxDepth = Schema.MaxNestingDepth * 2 };

    private BoundedCache<int, Schema> readers = new(1000);
    private BoundedCache<Schema, string> writers = new(1000);
    private BoundedCache<(string Subject, string Text), int> ids = new(1000);
    private RegistryConverterConfig? settings;
    private ISchemaRegistryClient? registry;
    private bool ownsRegistry;
    private bool isKey;

    public ConfigDef Config { get; } = RegistryConverterConfig.Definition();

    /// <summary>For tests and embedding: use this client instead of one built from <c>schema.registry.url</c>.</summary>
    public ISchemaRegistryClient? RegistryOverride { get; set; }

    public void Configure(IReadOnlyDictionary<string, string> configs, bool isKey)
    {
        this.isKey = isKey;
        settings = RegistryConverterConfig.Parse(Config, configs, isKey);
        readers = new BoundedCache<int, Schema>(settings.SchemaCacheSize);
        writers = new BoundedCache<Schema, string>(settings.SchemaCacheSize);
        ids = new BoundedCache<(string, string), int>(settings.CacheCapacity);
        if (RegistryOverride is { } injected)
        {
            registry = injected;
        }
        else
        {
            registry = new SchemaRegistryClient(settings.Urls, settings.CacheCapacity, settings.RequestTimeout, settings.UserInfo);
            ownsRegistry = true;
        }
    }

    public byte[]? FromConnectData(string topic, Schema? schema, object? value)
    {
        var (s, r) = Ready();
        if (value is null)
        {
            return null;
        }

        schema ??= value is Struct st ? st.Schema : throw new DataException("The JSON Schema converter needs a schema for a " + value.GetType().Name + " value");
        var text = writers.GetOrAdd(schema, sc => JsonSchemaData.FromConnectSchema(sc).ToJsonString());
        var subject = s.Subject(topic, isKey, schema.Name ?? "object");
        int id;
        var writeSchema = schema;
        try
        {
            if (s.UseLatest)
            {
                var latest = r.GetLatest(subject);
                if (latest.Schema.SchemaType != "JSON")
                {
                    throw new DataException($"The latest schema of subject {subject} is {latest.Schema.SchemaType}, not JSON");
                }

                id = latest.Id;
            }
            else
            {
                id = ids.GetOrAdd((subject, text), k => s.AutoRegister
                    ? r.Register(k.Subject, new RegisteredSchema(k.Text, "JSON"), s.Normalize)
                    : r.Lookup(k.Subject, new RegisteredSchema(k.Text, "JSON"), s.Normalize));
            }
        }
        catch (SchemaRegistryException e)
        {
            throw new DataException($"Failed to serialize JSON data from topic {topic}: " + (s.AutoRegister && !s.UseLatest
                ? $"Error registering JSON schema with subject {subject}: {e.Message}" : $"Error retrieving JSON schema of subject {subject}: {e.Message}"), e);
        }

        var json = JsonSchemaData.ValueToJson(writeSchema, value);
        var payload = json is null ? "null"u8.ToArray() : JsonSerializer.SerializeToUtf8Bytes(json);
        var message = new byte[RegistryConverterConfig.HeaderSize + payload.Length];
        RegistryConverterConfig.WriteHeader(message, id);
        payload.CopyTo(message.AsSpan(RegistryConverterConfig.HeaderSize));
        return message;
    }

    public SchemaAndValue ToConnectData(string topic, byte[]? value)
    {
        var (_, r) = Ready();
        if (value is null)
        {
            return SchemaAndValue.Null;
        }

        var id = RegistryConverterConfig.ReadHeader(value);
        Schema schema;
        try
        {
            schema = readers.GetOrAdd(id, i =>
            {
                var registered = r.GetById(i);
                if (registered.SchemaType != "JSON")
                {
                    throw new DataException($"Schema {i} is {registered.SchemaType}, not JSON");
                }

                JsonNode? node;
                try
                {
                    node = JsonNode.Parse(registered.Schema, documentOptions: ReadOptions);
                }
                catch (JsonException e)
                {
                    throw new DataException($"Schema {i} is not valid JSON: {e.Message}", e);
                }

                return JsonSchemaData.ToConnectSchema(node as JsonObject ?? throw new DataException($"Schema {i} is not a JSON object schema"));
            });
        }
        catch (SchemaRegistryException e)
        {
            throw new DataException($"Failed to deserialize data for topic {topic} to JSON: Error retrieving JSON schema for id {id}: {e.Message}", e);
        }

        JsonNode? payload;
        try
        {
            payload = JsonNode.Parse(value.AsSpan(RegistryConverterConfig.HeaderSize), documentOptions: ReadOptions);
        }
        catch (JsonException e)
        {
            throw new DataException($"Converting byte[] to Kafka Connect data failed due to serialization error of topic {topic}: {e.Message}", e);
        }

        return new SchemaAndValue(schema, JsonSchemaData.ValueFromJson(schema, payload));
    }

    private (RegistryConverterConfig, ISchemaRegistryClient) Ready() =>
        settings is not null && registry is not null ? (settings, registry) : throw new InvalidOperationException("JsonSchemaConverter used before Configure");

    public void Dispose()
    {
        if (ownsRegistry && registry is IDisposable d)
        {
            d.Dispose();
        }
    }
}
