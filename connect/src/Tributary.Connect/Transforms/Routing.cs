using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Tributary.Connect.Api.Config;
using Tributary.Connect.Api.Connectors;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.Transforms;

/// <summary>Kafka's RegexRouter: a topic the <c>regex</c> fully matches is renamed to <c>replacement</c> (<c>$1</c> groups).</summary>
public sealed class RegexRouter : ITransform
{
    private Regex? regex;
    private string replacement = "";

    public ConfigDef Config { get; } = new ConfigDef()
        .Define("regex", ConfigType.String, ConfigDef.NoDefault, Validators.Of((name, v) =>
        {
            try
            {
                _ = new Regex((string)v!, RegexOptions.None, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException e)
            {
                throw new ConfigException(name, v, "Invalid regex: " + e.Message);
            }
        }), Importance.High, "Regular expression to use for matching.")
        .Define("replacement", ConfigType.String, ConfigDef.NoDefault, Importance.High, "Replacement string.");

    public void Configure(IReadOnlyDictionary<string, string> configs)
    {
        var c = ParsedConfig.Of(Config, configs);
        regex = new Regex("^(?:" + c.GetString("regex") + ")$", RegexOptions.None, TimeSpan.FromSeconds(1));
        replacement = c.GetString("replacement")!;
    }

    public ConnectRecord? Apply(ConnectRecord record)
    {
        var r = regex ?? throw new InvalidOperationException("RegexRouter is not configured.");
        if (!r.IsMatch(record.Topic))
        {
            return record;
        }

        var topic = r.Replace(record.Topic, replacement, 1);
        return record.NewRecord(topic, record.KafkaPartition, record.KeySchema, record.Key, record.ValueSchema, record.Value, record.Timestamp);
    }

    public void Dispose()
    {
    }
}

/// <summary>Kafka's TimestampRouter: topic becomes <c>topic.format</c> with <c>${topic}</c> and <c>${timestamp}</c> (<c>timestamp.format</c>, Java date pattern, UTC).</summary>
public sealed class TimestampRouter : ITransform
{
    private string topicFormat = "${topic}-${timestamp}";
    private string dotnetFormat = "yyyyMMdd";

    public ConfigDef Config { get; } = new ConfigDef()
        .Define("topic.format", ConfigType.String, "${topic}-${timestamp}", Importance.High, "Format string which can contain ${topic} and ${timestamp} as placeholders for the topic and timestamp, respectively.")
        .Define("timestamp.format", ConfigType.String, "yyyyMMdd", Importance.High, "Format string for the timestamp that is compatible with java.text.SimpleDateFormat.");

    public void Configure(IReadOnlyDictionary<string, string> configs)
    {
        var c = ParsedConfig.Of(Config, configs);
        topicFormat = c.GetString("topic.format")!;
        dotnetFormat = JavaDatePattern.ToDotNet(c.GetString("timestamp.format")!);
    }

    public ConnectRecord? Apply(ConnectRecord record)
    {
        if (record.Timestamp is not { } ms)
        {
            throw new DataException("Timestamp missing on record: " + record);
        }

        var formatted = DateTime.UnixEpoch.AddMilliseconds(ms).ToString(dotnetFormat, CultureInfo.InvariantCulture);
        var topic = topicFormat.Replace("${topic}", record.Topic, StringComparison.Ordinal).Replace("${timestamp}", formatted, StringComparison.Ordinal);
        return record.NewRecord(topic, record.KafkaPartition, record.KeySchema, record.Key, record.ValueSchema, record.Value, record.Timestamp);
    }

    public void Dispose()
    {
    }
}

/// <summary>Translates the common java.text.SimpleDateFormat letters to .NET custom format specifiers.</summary>
internal static class JavaDatePattern
{
    public static string ToDotNet(string java)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < java.Length; i++)
        {
            var ch = java[i];
            if (ch == '\'')
            {
                var end = java.IndexOf('\'', i + 1);
                if (end < 0)
                {
                    throw new ConfigException("timestamp.format", java, "Unterminated quote");
                }

                sb.Append('\'').Append(java, i + 1, end - i - 1).Append('\'');
                i = end;
                continue;
            }

            sb.Append(ch switch
            {
                'S' => 'f',
                'a' => 't',
                'E' => 'd',
                'Y' => 'y',
                'y' or 'M' or 'd' or 'H' or 'h' or 'm' or 's' or 'z' => ch,
                _ when char.IsLetter(ch) => throw new ConfigException("timestamp.format", java, "Unsupported pattern letter " + ch),
                '\\' or '%' or '/' or ':' => '\\',
                _ => ch,
            });
            if (ch is '\\' or '%' or '/' or ':')
            {
                sb.Append(ch);
            }
        }

        return sb.ToString();
    }
}

/// <summary>Kafka's Filter: drops every record it is applied to (used with a predicate).</summary>
public sealed class Filter : ITransform
{
    public ConfigDef Config { get; } = new();

    public void Configure(IReadOnlyDictionary<string, string> configs)
    {
    }

    public ConnectRecord? Apply(ConnectRecord record) => null;

    public void Dispose()
    {
    }
}
