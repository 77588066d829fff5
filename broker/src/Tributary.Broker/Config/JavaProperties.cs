using System.Globalization;
using System.Text;

namespace Tributary.Broker.Config;

/// <summary>Reads Java <c>.properties</c> text the way java.util.Properties does, keeping each key's line number for error messages.</summary>
/// <remarks>
/// Supported: <c>#</c>/<c>!</c> comment lines, <c>key=value</c>, <c>key: value</c> and <c>key value</c>, backslash line
/// continuation, and the escapes <c>\t \n \r \f \uXXXX</c> (any other escaped character stands for itself). Values are
/// trimmed at both ends, which Java only does at the start; a trailing space in a Kafka setting is always a mistake.
/// </remarks>
public static class JavaProperties
{
    /// <summary>Largest properties file we read; a broker config is a few KiB.</summary>
    public const int MaxFileBytes = 4 * 1024 * 1024;

    /// <summary>One key=value from a properties file, with the line it starts on.</summary>
    public readonly record struct Entry(string Key, string Value, int LineNumber);

    public static IReadOnlyList<Entry> ReadFile(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new ConfigException($"Configuration file '{path}' does not exist.");
        }

        if (info.Length > MaxFileBytes)
        {
            throw new ConfigException($"Configuration file '{path}' is {info.Length} bytes; at most {MaxFileBytes} are accepted.");
        }

        try
        {
            return Parse(File.ReadAllText(path, Encoding.UTF8));
        }
        catch (IOException e)
        {
            throw new ConfigException($"Cannot read configuration file '{path}': {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ConfigException($"Cannot read configuration file '{path}': {e.Message}", e);
        }
    }

    /// <summary>Parses properties text; later duplicates of a key win, as in Java.</summary>
    public static IReadOnlyList<Entry> Parse(string text)
    {
        var entries = new List<Entry>();
        var lines = text.Split('\n');
        var logical = new StringBuilder();
        for (var i = 0; i < lines.Length; i++)
        {
            var startLine = i + 1;
            var line = lines[i].TrimEnd('\r').TrimStart(' ', '\t', '\f');
            if (line.Length == 0 || line[0] is '#' or '!')
            {
                continue;
            }

            logical.Clear();
            // A line ending in an odd number of backslashes continues on the next line, whose leading blanks are dropped.
            while (EndsWithContinuation(line) && i + 1 < lines.Length)
            {
                logical.Append(line, 0, line.Length - 1);
                line = lines[++i].TrimEnd('\r').TrimStart(' ', '\t', '\f');
            }

            if (EndsWithContinuation(line))
            {
                line = line[..^1];
            }

            logical.Append(line);
            var (key, value) = SplitKeyValue(logical.ToString(), startLine);
            entries.Add(new Entry(key, value, startLine));
        }

        return entries;
    }

    private static bool EndsWithContinuation(string line)
    {
        var backslashes = 0;
        for (var j = line.Length - 1; j >= 0 && line[j] == '\\'; j--)
        {
            backslashes++;
        }

        return backslashes % 2 == 1;
    }

    private static (string Key, string Value) SplitKeyValue(string line, int lineNumber)
    {
        var keyEnd = 0;
        while (keyEnd < line.Length)
        {
            var c = line[keyEnd];
            if (c == '\\')
            {
                keyEnd += 2;
                continue;
            }

            if (c is '=' or ':' or ' ' or '\t' or '\f')
            {
                break;
            }

            keyEnd++;
        }

        keyEnd = Math.Min(keyEnd, line.Length);
        var valueStart = keyEnd;
        while (valueStart < line.Length && line[valueStart] is ' ' or '\t' or '\f')
        {
            valueStart++;
        }

        if (valueStart < line.Length && line[valueStart] is '=' or ':')
        {
            valueStart++;
        }

        var key = Unescape(line[..keyEnd], lineNumber).Trim();
        var value = Unescape(line[valueStart..], lineNumber).Trim();
        return (key, value);
    }

    private static string Unescape(string text, int lineNumber)
    {
        if (!text.Contains('\\', StringComparison.Ordinal))
        {
            return text;
        }

        var result = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c != '\\' || i + 1 >= text.Length)
            {
                result.Append(c);
                continue;
            }

            var next = text[++i];
            switch (next)
            {
                case 't': result.Append('\t'); break;
                case 'n': result.Append('\n'); break;
                case 'r': result.Append('\r'); break;
                case 'f': result.Append('\f'); break;
                case 'u':
                    if (i + 4 >= text.Length
                        || !ushort.TryParse(text.AsSpan(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                    {
                        throw new ConfigException($"Malformed \\uXXXX escape on line {lineNumber} of the configuration file.");
                    }

                    result.Append((char)code);
                    i += 4;
                    break;
                default: result.Append(next); break;
            }
        }

        return result.ToString();
    }
}
