namespace Tributary.Broker.Config;

/// <summary>One explicitly given key=value with where it came from, e.g. "server.properties line 12" or "--override".</summary>
public sealed record ConfigSetting(string Key, string Value, BrokerConfigSource Source, string Origin);
