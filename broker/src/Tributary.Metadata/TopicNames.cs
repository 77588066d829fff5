namespace Tributary.Metadata;

/// <summary>Kafka's rules for legal topic names.</summary>
public static class TopicNames
{
    /// <summary>Kafka's limit: a partition directory name (topic + "-" + partition) must fit in 255 bytes.</summary>
    public const int MaxLength = 249;

    /// <summary>Returns null when the name is legal, otherwise why it is not.</summary>
    public static string? Validate(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "Topic name is illegal, it can't be empty";
        }

        if (name is "." or "..")
        {
            return "Topic name cannot be \".\" or \"..\"";
        }

        if (name.Length > MaxLength)
        {
            return $"Topic name is illegal, it can't be longer than {MaxLength} characters, topic name: {name}";
        }

        foreach (var c in name)
        {
            var legal = c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '.' or '_' or '-';
            if (!legal)
            {
                return $"Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'";
            }
        }

        return null;
    }
}
