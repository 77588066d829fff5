using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace Tributary.Host.Telemetry;

/// <summary>
/// <c>tributary.log.format=json</c>: one JSON object per line, for log collectors. Fields: <c>timestamp</c> (UTC, ms),
/// <c>level</c>, <c>category</c>, <c>eventId</c> and <c>eventName</c> (stable per event, from the LoggerMessage
/// definitions), <c>message</c>, the event's structured fields under <c>fields</c>, and <c>exception</c> when there is one.
/// </summary>
/// <remarks>Microsoft's JSON console formatter writes the event id but not its name; collectors key alerts and parsers on
/// the name, so this one writes both.</remarks>
public sealed class JsonLineConsoleFormatter : ConsoleFormatter
{
    public const string FormatterName = "tributary-json";

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = false,
        // Log lines are read by collectors, not embedded in HTML: keep quotes and non-ASCII readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly TimeProvider _time;

    public JsonLineConsoleFormatter()
        : this(TimeProvider.System)
    {
    }

    public JsonLineConsoleFormatter(TimeProvider time)
        : base(FormatterName) => _time = time;

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null)
        {
            return;
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("timestamp", _time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            writer.WriteString("level", logEntry.LogLevel.ToString());
            writer.WriteString("category", logEntry.Category);
            writer.WriteNumber("eventId", logEntry.EventId.Id);
            if (!string.IsNullOrEmpty(logEntry.EventId.Name))
            {
                writer.WriteString("eventName", logEntry.EventId.Name);
            }

            writer.WriteString("message", message ?? "");
            if (logEntry.State is IReadOnlyList<KeyValuePair<string, object?>> fields && fields.Count > 0)
            {
                writer.WriteStartObject("fields");
                foreach (var (key, value) in fields)
                {
                    if (key == "{OriginalFormat}")
                    {
                        continue;
                    }

                    WriteValue(writer, key, value);
                }

                writer.WriteEndObject();
            }

            if (logEntry.Exception is { } exception)
            {
                writer.WriteString("exception", exception.ToString());
            }

            writer.WriteEndObject();
        }

        textWriter.Write(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        textWriter.Write('\n');
    }

    private static void WriteValue(Utf8JsonWriter writer, string key, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNull(key);
                break;
            case bool b:
                writer.WriteBoolean(key, b);
                break;
            case int or long or short or byte or uint or ulong or ushort:
                writer.WriteNumber(key, Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case double d when double.IsFinite(d):
                writer.WriteNumber(key, d);
                break;
            default:
                writer.WriteString(key, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
        }
    }
}

/// <summary>Options type the console logger requires for a custom formatter (this formatter has none of its own).</summary>
public sealed class JsonLineConsoleFormatterOptions : ConsoleFormatterOptions;

/// <summary>Registers <see cref="JsonLineConsoleFormatter"/> on the console logger.</summary>
public static class JsonLineConsoleLogging
{
    public static ILoggingBuilder AddJsonLineConsole(this ILoggingBuilder logging)
    {
        logging.AddConsole(options => options.FormatterName = JsonLineConsoleFormatter.FormatterName);
        logging.AddConsoleFormatter<JsonLineConsoleFormatter, JsonLineConsoleFormatterOptions>();
        return logging;
    }
}
