using System.Buffers.Binary;
using Tributary.Connect.Api.Config;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.Converters.Registry;

/// <summary>How a converter names the registry subject of a record's schema (Confluent's subject name strategies).</summary>
public enum SubjectNameStrategy
{
    /// <summary><c>{topic}-key</c> / <c>{topic}-value</c> (the default).</summary>
    TopicName,

    /// <summary>The record's fully-qualified name, whatever the topic.</summary>
    RecordName,

    /// <summary><c>{topic}-{record name}</c>.</summary>
    TopicRecordName,
}

/// <summary>
/// The settings every registry-backed converter shares, under Confluent's key names (a worker passes them without the
/// <c>key.converter.</c>/<c>value.converter.</c> prefix), and the Confluent wire format: magic byte 0, the schema id as a
/// big-endian int32, then the payload.
/// </summary>
public sealed class RegistryConverterConfig
{
    public const string SchemaRegistryUrl = "schema.registry.url";
    public const string AutoRegisterSchemas = "auto.register.schemas";
    public const string UseLatestVersion = "use.latest.version";
    public const string NormalizeSchemas = "normalize.schemas";
    public const string KeySubjectNameStrategy = "key.subject.name.strategy";
    public const string ValueSubjectNameStrategy = "value.subject.name.strategy";
    public const string MaxSchemasPerSubject = "max.schemas.per.subject";
    public const string BasicAuthCredentialsSource = "basic.auth.credentials.source";
    public const string BasicAuthUserInfo = "basic.auth.user.info";
    public const string RequestTimeoutMs = "schema.registry.request.timeout.ms";
    public const string SchemasCacheSize = "schemas.cache.config";
    public const byte MagicByte = 0;
    public const int HeaderSize = 5;

    private static readonly string[] StrategyNames =
    [
        "io.confluent.kafka.serializers.subject.TopicNameStrategy", "io.confluent.kafka.serializers.subject.RecordNameStrategy",
        "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy", "TopicNameStrategy", "RecordNameStrategy", "TopicRecordNameStrategy",
    ];

    public static ConfigDef Definition() => new ConfigDef()
        .Define(SchemaRegistryUrl, ConfigType.List, ConfigDef.NoDefault, Validators.NonEmptyList, Importance.High,
            "Comma-separated list of URLs for Schema Registry instances that can be used to register or look up schemas.")
        .Define(AutoRegisterSchemas, ConfigType.Boolean, true, Importance.Medium, "Specify if the Serializer should attempt to register the Schema with Schema Registry.")
        .Define(UseLatestVersion, ConfigType.Boolean, false, Importance.Low,
            "Use the latest version of the subject's schema for serialization (set auto.register.schemas=false with it).")
        .Define(NormalizeSchemas, ConfigType.Boolean, false, Importance.Low, "Whether to normalize schemas, which generally ignores ordering when it is not significant.")
        .Define(KeySubjectNameStrategy, ConfigType.String, "io.confluent.kafka.serializers.subject.TopicNameStrategy", Validators.In(StrategyNames), Importance.Medium,
            "Determines how to construct the subject name under which the key schema is registered with the schema registry.")
        .Define(ValueSubjectNameStrategy, ConfigType.String, "io.confluent.kafka.serializers.subject.TopicNameStrategy", Validators.In(StrategyNames), Importance.Medium,
            "Determines how to construct the subject name under which the value schema is registered with the schema registry.")
        .Define(MaxSchemasPerSubject, ConfigType.Int, 1000, Validators.AtLeast(1), Importance.Low, "Maximum number of schemas to create or cache locally.")
        .Define(SchemasCacheSize, ConfigType.Int, 1000, Validators.AtLeast(1), Importance.Low, "Size of the converted schemas cache.")
        .Define(BasicAuthCredentialsSource, ConfigType.String, "URL", Validators.In("URL", "USER_INFO"), Importance.Medium,
            "Where the registry's basic auth credentials come from: USER_INFO (basic.auth.user.info) or URL (user:password@ in the URL).")
        .Define(BasicAuthUserInfo, ConfigType.Password, "", Importance.Medium, "user:password for the registry when basic.auth.credentials.source=USER_INFO.")
        .Define(RequestTimeoutMs, ConfigType.Int, 30_000, Validators.AtLeast(1), Importance.Low, "How long one registry request may take.")
        .Define("converter.type", ConfigType.String, "value", Validators.In("key", "value", "header"), Importance.Low, "How this converter will be used.");

    private RegistryConverterConfig()
    {
    }

    public required IReadOnlyList<Uri> Urls { get; init; }
    public bool AutoRegister { get; init; }
    public bool UseLatest { get; init; }
    public bool Normalize { get; init; }
    public SubjectNameStrategy Strategy { get; init; }
    public int CacheCapacity { get; init; }
    public int SchemaCacheSize { get; init; }
    public TimeSpan RequestTimeout { get; init; }
    public string? UserInfo { get; init; }

    public static RegistryConverterConfig Parse(ConfigDef def, IReadOnlyDictionary<string, string> configs, bool isKey)
    {
        var c = ParsedConfig.Of(def, configs);
        var urls = new List<Uri>();
        string? urlUserInfo = null;
        foreach (var raw in c.GetList(SchemaRegistryUrl))
        {
            if (!Uri.TryCreate(raw.Trim().TrimEnd('/') + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new ConfigException(SchemaRegistryUrl, raw, "not an http(s) URL");
            }

            if (uri.UserInfo.Length > 0)
            {
                urlUserInfo = Uri.UnescapeDataString(uri.UserInfo);
                uri = new UriBuilder(uri) { UserName = "", Password = "" }.Uri;
            }

            urls.Add(uri);
        }

        var strategy = c.GetString(isKey ? KeySubjectNameStrategy : ValueSubjectNameStrategy)!;
        return new RegistryConverterConfig
        {
            Urls = urls,
            AutoRegister = c.GetBoolean(AutoRegisterSchemas),
            UseLatest = c.GetBoolean(UseLatestVersion),
            Normalize = c.GetBoolean(NormalizeSchemas),
            Strategy = strategy.EndsWith("TopicRecordNameStrategy", StringComparison.Ordinal) ? SubjectNameStrategy.TopicRecordName
                : strategy.EndsWith("RecordNameStrategy", StringComparison.Ordinal) ? SubjectNameStrategy.RecordName
                : SubjectNameStrategy.TopicName,
            CacheCapacity = c.GetInt(MaxSchemasPerSubject),
            SchemaCacheSize = c.GetInt(SchemasCacheSize),
            RequestTimeout = TimeSpan.FromMilliseconds(c.GetInt(RequestTimeoutMs)),
            UserInfo = c.GetString(BasicAuthCredentialsSource) == "USER_INFO" ? c.GetString(BasicAuthUserInfo) : urlUserInfo,
        };
    }

    /// <summary>The subject a schema goes under, by the configured strategy.</summary>
    public string Subject(string topic, bool isKey, string recordName) => Strategy switch
    {
        SubjectNameStrategy.RecordName => recordName,
        SubjectNameStrategy.TopicRecordName => topic + "-" + recordName,
        _ => topic + (isKey ? "-key" : "-value"),
    };

    /// <summary>Magic byte and schema id in front of <paramref name="payload"/>'s bytes.</summary>
    public static void WriteHeader(Span<byte> destination, int schemaId)
    {
        destination[0] = MagicByte;
        BinaryPrimitives.WriteInt32BigEndian(destination[1..], schemaId);
    }

    /// <summary>The schema id of a Confluent-framed message; a message without the frame is refused with Confluent's words.</summary>
    public static int ReadHeader(ReadOnlySpan<byte> message)
    {
        if (message.Length < HeaderSize)
        {
            throw new DataException($"Unknown magic byte! (message of {message.Length} bytes is shorter than the 5-byte Confluent header)");
        }

        if (message[0] != MagicByte)
        {
            throw new DataException($"Unknown magic byte! (first byte {message[0]}, expected 0: not written by a Confluent-format serializer)");
        }

        var id = BinaryPrimitives.ReadInt32BigEndian(message[1..]);
        return id >= 0 ? id : throw new DataException("Invalid schema id " + id);
    }
}
