using System.Globalization;

namespace Tributary.Broker.Config;

/// <summary>Parsing rules shared by broker and topic configs, matching Kafka's ConfigDef (trimmed values, comma lists, "true"/"false").</summary>
public static class ConfigValues
{
    /// <summary>Kafka's Long.MaxValue defaults (flush intervals, compaction lag) mean "never".</summary>
    public const long Unlimited = long.MaxValue;

    public static bool TryParseBoolean(string text, out bool value)
    {
        // Java's ConfigDef accepts exactly "true"/"false" ignoring case; "1"/"yes" are errors there too.
        if (string.Equals(text.Trim(), "true", StringComparison.OrdinalIgnoreCase))
        {
            value = true;
            return true;
        }

        value = false;
        return string.Equals(text.Trim(), "false", StringComparison.OrdinalIgnoreCase);
    }

    public static bool TryParseDouble(string text, out double value) =>
        double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    /// <summary>Splits a comma-separated value, trimming items and dropping empty ones (an empty string is an empty list).</summary>
    public static IReadOnlyList<string> SplitList(string text) =>
        text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>
    /// IncrementalAlterConfigs' APPEND / SUBTRACT on a list config (KIP-339): appends the operand's items not already present,
    /// or removes every item the operand names, keeping the order of what remains.
    /// </summary>
    public static string AppendOrSubtract(string current, string? operand, bool append)
    {
        var items = SplitList(current).ToList();
        var operandItems = SplitList(operand ?? "");
        if (append)
        {
            items.AddRange(operandItems.Where(v => !items.Contains(v)));
        }
        else
        {
            items.RemoveAll(operandItems.Contains);
        }

        return string.Join(',', items);
    }

    internal static int ParseInt(string text) => int.Parse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    internal static long ParseLong(string text) => long.Parse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    internal static double ParseDouble(string text) => double.Parse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture);

    internal static bool ParseBoolean(string text) => TryParseBoolean(text, out var value) ? value : throw new FormatException(text);

    /// <summary>Returns the allowed value spelled as declared (so "createtime" reads back as "CreateTime").</summary>
    internal static string Canonical(string text, IReadOnlyList<string> allowed)
    {
        var trimmed = text.Trim();
        foreach (var candidate in allowed)
        {
            if (string.Equals(candidate, trimmed, StringComparison.OrdinalIgnoreCase))
            {
                return candidate;
            }
        }

        return trimmed;
    }
}
