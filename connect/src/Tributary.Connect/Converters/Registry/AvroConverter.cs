using System.Buffers;
using Tributary.Connect.Api.Config;
using Tributary.Connect.Api.Connectors;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.Converters.Registry;

/// <summary>
/// Confluent's AvroConverter (<c>io.confluent.connect.avro.AvroConverter</c>): Connect data ↔ Avro binary in Confluent's
/// wire format (magic 0, schema id, Avro), the schema registered with (or looked up in) a Confluent-compatible registry
/// under the subject the strategy names. Registry errors fail the conversion as a <see cref="DataException"/> (or a
/// <see cref="RetriableException"/> when the registry is unreachable), so errors.tolerance and the DLQ apply.
/// </summary>
public sealed class AvroConverter : IConverter, IDisposable
{
    private BoundedCache<int, (AvroSchema Avro, Schema Connect)> readers = new(1000);
    private BoundedCache<Schema, (AvroSchema Avro, string Text)> writers = new(1000);
    private BoundedCache<(string Subject, string Text), int> ids = new(1000);
    private RegistryConverterConfig? settings;
    private ISchemaRegistryClient? registry;
    private bool ownsRegistry;
    private bool isKey;

    public ConfigDef Config { get; } = RegistryConverterConfig.Definition()
        .Define("connect.meta.data", ConfigType.Boolean, true, Importance.Low, "Toggle for enabling/disabling connect converter to add its meta data to the output schema or not.")
        .Define("enhanced.avro.schema.support", ConfigType.Boolean, false, Importance.Medium, "Enable enhanced schema support to preserve package information and Enums.");

    /// <summary>For tests and embedding: use this client instead of one built from <c>schema.registry.url</c>.</summary>
    public ISchemaRegistryClient? RegistryOverride { get; set; }

    public void Configure(IReadOnlyDictionary<string, string> configs, bool isKey)
    {
        this.isKey = isKey;
        settings = RegistryConverterConfig.Parse(Config, configs, isKey);
        readers = new BoundedCache<int, (AvroSchema, Schema)>(settings.SchemaCacheSize);
        writers = new BoundedCache<Schema, (AvroSchema, string)>(settings.SchemaCacheSize);
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
            return null; // a tombstone stays a tombstone
        }

        schema ??= InferSchema(value);
        var (avro, text) = writers.GetOrAdd(schema, sc =>
        {
            var a = AvroData.FromConnectSchema(sc);
            return (a, a.ToJson());
        });
        var subject = s.Subject(topic, isKey, avro.IsNamed ? avro.FullName! : AvroSchema.TypeName(avro.Type));
        int id;
        try
        {
            if (s.UseLatest)
            {
                var latest = r.GetLatest(subject);
                if (latest.Schema.SchemaType != "AVRO")
                {
                    throw new DataException($"The latest schema of subject {subject} is {latest.Schema.SchemaType}, not AVRO");
                }

                id = latest.Id;
                avro = readers.GetOrAdd(id, _ => Parse(latest.Schema.Schema)).Avro;
            }
            else
            {
                id = ids.GetOrAdd((subject, text), k => s.AutoRegister
                    ? r.Register(k.Subject, new RegisteredSchema(k.Text, "AVRO"), s.Normalize)
                    : r.Lookup(k.Subject, new RegisteredSchema(k.Text, "AVRO"), s.Normalize));
            }
        }
        catch (SchemaRegistryException e)
        {
            throw new DataException($"Failed to serialize Avro data from topic {topic}: " + (s.AutoRegister && !s.UseLatest
                ? $"Error registering Avro schema with subject {subject}: {e.Message}" : $"Error retrieving Avro schema of subject {subject}: {e.Message}"), e);
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        RegistryConverterConfig.WriteHeader(buffer.GetSpan(RegistryConverterConfig.HeaderSize), id);
        buffer.Advance(RegistryConverterConfig.HeaderSize);
        try
        {
            AvroData.Write(new AvroWriter(buffer), avro, schema, value);
        }
        catch (DataException e)
        {
            throw new DataException($"Converting Kafka Connect data to byte[] failed due to serialization error of topic {topic}: {e.Message}", e);
        }

        return buffer.WrittenSpan.ToArray();
    }

    public SchemaAndValue ToConnectData(string topic, byte[]? value)
    {
        var (_, r) = Ready();
        if (value is null)
        {
            return SchemaAndValue.Null;
        }

        var id = RegistryConverterConfig.ReadHeader(value);
        (AvroSchema Avro, Schema Connect) reader;
        try
        {
            reader = readers.GetOrAdd(id, i =>
            {
                var registered = r.GetById(i);
                return registered.SchemaType == "AVRO" ? Parse(registered.Schema) : throw new DataException($"Schema {i} is {registered.SchemaType}, not AVRO");
            });
        }
        catch (SchemaRegistryException e)
        {
            throw new DataException($"Failed to deserialize data for topic {topic} to Avro: Error retrieving Avro schema for id {id}: {e.Message}", e);
        }

        var avroReader = new AvroReader(value.AsSpan(RegistryConverterConfig.HeaderSize));
        var result = AvroData.Read(ref avroReader, reader.Avro, reader.Connect);
        if (avroReader.Remaining != 0)
        {
            throw new DataException($"Invalid Avro data for schema {id}: {avroReader.Remaining} bytes left after the value");
        }

        return new SchemaAndValue(reader.Connect, result);
    }

    private static (AvroSchema, Schema) Parse(string text)
    {
        var avro = AvroSchema.Parse(text);
        return (avro, AvroData.ToConnectSchema(avro));
    }

    /// <summary>Schemaless values get the schema of their CLR type (primitives only, as Confluent's converter does).</summary>
    private static Schema InferSchema(object value) => value switch
    {
        Struct s => s.Schema,
        bool => Schema.Boolean,
        sbyte => Schema.Int8,
        short => Schema.Int16,
        int => Schema.Int32,
        long => Schema.Int64,
        float => Schema.Float32,
        double => Schema.Float64,
        string => Schema.String,
        byte[] => Schema.Bytes,
        _ => throw new DataException($"The Avro converter needs a schema for a {value.GetType().Name} value"),
    };

    private (RegistryConverterConfig, ISchemaRegistryClient) Ready() =>
        settings is not null && registry is not null ? (settings, registry) : throw new InvalidOperationException("AvroConverter used before Configure");

    public void Dispose()
    {
        if (ownsRegistry && registry is IDisposable d)
        {
            d.Dispose();
        }
    }
}
