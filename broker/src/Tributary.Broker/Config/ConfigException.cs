namespace Tributary.Broker.Config;

/// <summary>A configuration value is missing, malformed or out of range; the message names the key, the value and what is expected.</summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string message) : base(message)
    {
    }

    public ConfigException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public ConfigException()
    {
    }
}
