using System.Globalization;

namespace Tributary.Integration.Tests.Harness;

/// <summary>Reads samples from the broker's Prometheus text endpoint (<c>/metrics</c>) the way a scraper would.</summary>
public static class MetricsScrape
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>The whole exposition text of <c>http://127.0.0.1:<paramref name="httpPort"/>/metrics</c>.</summary>
    public static async Task<string> TextAsync(int httpPort)
    {
        using var response = await Http.GetAsync(new Uri($"http://127.0.0.1:{httpPort}/metrics"));
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>
    /// The value of the sample named <paramref name="name"/> whose labels include all of <paramref name="labels"/>
    /// (extra labels such as the exporter's scope labels are allowed; order does not matter), or null if none.
    /// </summary>
    public static double? FindSample(string exposition, string name, IReadOnlyDictionary<string, string> labels)
    {
        foreach (var rawLine in exposition.Split('\n'))
        {
            var line = rawLine.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#' || !line.StartsWith(name, StringComparison.Ordinal))
            {
                continue;
            }

            var rest = line.AsSpan(name.Length);
            Dictionary<string, string> found = [];
            if (rest.Length > 0 && rest[0] == '{')
            {
                var close = ParseLabels(rest, found);
                if (close < 0)
                {
                    continue;
                }

                rest = rest[(close + 1)..];
            }
            else if (rest.Length == 0 || rest[0] != ' ')
            {
                continue; // a longer metric name that merely starts with this one
            }

            if (!labels.All(l => found.TryGetValue(l.Key, out var v) && v == l.Value))
            {
                continue;
            }

            var valueText = rest.Trim().ToString().Split(' ')[0];
            if (double.TryParse(valueText, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
        }

        return null;
    }

    /// <summary>Parses <c>{a="x",b="y"}</c> from the start of <paramref name="text"/>; returns the index of the closing brace, or -1 if malformed.</summary>
    private static int ParseLabels(ReadOnlySpan<char> text, Dictionary<string, string> into)
    {
        var i = 1;
        while (i < text.Length)
        {
            if (text[i] == '}')
            {
                return i;
            }

            if (text[i] is ',' or ' ')
            {
                i++;
                continue;
            }

            var equals = text[i..].IndexOf('=');
            if (equals < 0 || i + equals + 1 >= text.Length || text[i + equals + 1] != '"')
            {
                return -1;
            }

            var key = text.Slice(i, equals).ToString();
            i += equals + 2;
            var value = new System.Text.StringBuilder();
            while (i < text.Length && text[i] != '"')
            {
                if (text[i] == '\\' && i + 1 < text.Length)
                {
                    i++;
                    value.Append(text[i] switch { 'n' => '\n', var c => c });
                }
                else
                {
                    value.Append(text[i]);
                }

                i++;
            }

            if (i >= text.Length)
            {
                return -1;
            }

            into[key] = value.ToString();
            i++; // closing quote
        }

        return -1;
    }
}
