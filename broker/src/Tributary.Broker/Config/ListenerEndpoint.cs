using System.Globalization;
using System.Text.RegularExpressions;

namespace Tributary.Broker.Config;

/// <summary>One <c>NAME://host:port</c> listener; an empty host means every interface, port 0 means "any free port".</summary>
public sealed partial record ListenerEndpoint(string Name, string Host, int Port, string SecurityProtocol)
{
    /// <summary>True when the host is empty or a wildcard address, i.e. the socket binds every interface.</summary>
    public bool BindsAllInterfaces => Host is "" or "0.0.0.0" or "::";

    /// <summary>Kafka's own spelling: <c>NAME://host:port</c>, IPv6 hosts in brackets.</summary>
    public override string ToString() => $"{Name}://{FormatHost(Host)}:{Port.ToString(CultureInfo.InvariantCulture)}";

    internal static string FormatHost(string host) => host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;

    /// <summary>Parses a comma-separated listener list; names are upper-cased (Kafka treats them case-insensitively).</summary>
    internal static IReadOnlyList<ListenerEndpoint> ParseList(
        ConfigDefinition key, string value, IReadOnlyDictionary<string, string> securityProtocolMap, string? origin)
    {
        var result = new List<ListenerEndpoint>();
        foreach (var item in ConfigValues.SplitList(value))
        {
            var match = ListenerSyntax().Match(item);
            if (!match.Success)
            {
                throw new ConfigException(key.InvalidValueMessage(value, $"a comma-separated list of NAME://host:port (bad entry '{item}')", origin));
            }

            var name = match.Groups["name"].Value.ToUpperInvariant();
            var host = match.Groups["host"].Value;
            var port = ParsePort(key, value, match.Groups["port"].Value, item, origin);
            if (!securityProtocolMap.TryGetValue(name, out var protocol))
            {
                throw new ConfigException(key.InvalidValueMessage(
                    value, $"listener names that appear in listener.security.protocol.map ('{name}' does not; add e.g. {name}:PLAINTEXT)", origin));
            }

            if (result.Exists(l => l.Name == name))
            {
                throw new ConfigException(key.InvalidValueMessage(value, $"each listener name at most once ('{name}' repeats)", origin));
            }

            if (port != 0 && result.Exists(l => l.Port == port && l.Host == host))
            {
                throw new ConfigException(key.InvalidValueMessage(value, $"distinct host:port pairs ('{FormatHost(host)}:{port}' repeats)", origin));
            }

            result.Add(new ListenerEndpoint(name, host, port, protocol));
        }

        return result;
    }

    /// <summary>Parses <c>http://host:port</c> entries of <c>http.listeners</c>.</summary>
    internal static IReadOnlyList<ListenerEndpoint> ParseHttpList(ConfigDefinition key, string value, string? origin)
    {
        var result = new List<ListenerEndpoint>();
        foreach (var item in ConfigValues.SplitList(value))
        {
            var match = ListenerSyntax().Match(item);
            if (!match.Success || !string.Equals(match.Groups["name"].Value, "http", StringComparison.OrdinalIgnoreCase))
            {
                throw new ConfigException(key.InvalidValueMessage(value, $"a comma-separated list of http://host:port (bad entry '{item}'; https is not supported)", origin));
            }

            var port = ParsePort(key, value, match.Groups["port"].Value, item, origin);
            result.Add(new ListenerEndpoint("HTTP", match.Groups["host"].Value, port, "HTTP"));
        }

        return result;
    }

    internal static int ParsePort(ConfigDefinition key, string value, string portText, string item, string? origin)
    {
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            throw new ConfigException(key.InvalidValueMessage(value, $"ports in [0, 65535] (bad entry '{item}')", origin));
        }

        return port;
    }

    // NAME://host:port with host a name, an IPv4 address, an [IPv6] address, or empty.
    [GeneratedRegex(@"^(?<name>[A-Za-z][A-Za-z0-9_\-]*)://(?:\[(?<host>[0-9A-Fa-f:.%]+)\]|(?<host>[A-Za-z0-9\-._]*)):(?<port>[0-9]+)$", RegexOptions.CultureInvariant)]
    internal static partial Regex ListenerSyntax();
}

/// <summary>One member of <c>controller.quorum.voters</c>: <c>id@host:port</c>.</summary>
public sealed partial record QuorumVoter(int NodeId, string Host, int Port)
{
    public override string ToString() =>
        $"{NodeId.ToString(CultureInfo.InvariantCulture)}@{ListenerEndpoint.FormatHost(Host)}:{Port.ToString(CultureInfo.InvariantCulture)}";

    internal static IReadOnlyList<QuorumVoter> ParseList(ConfigDefinition key, string value, string? origin)
    {
        var result = new List<QuorumVoter>();
        foreach (var item in ConfigValues.SplitList(value))
        {
            var match = VoterSyntax().Match(item);
            if (!match.Success
                || !int.TryParse(match.Groups["id"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                throw new ConfigException(key.InvalidValueMessage(value, $"a comma-separated list of id@host:port (bad entry '{item}')", origin));
            }

            var port = ListenerEndpoint.ParsePort(key, value, match.Groups["port"].Value, item, origin);
            if (port == 0)
            {
                throw new ConfigException(key.InvalidValueMessage(value, $"ports in [1, 65535] (bad entry '{item}')", origin));
            }

            if (result.Exists(v => v.NodeId == id))
            {
                throw new ConfigException(key.InvalidValueMessage(value, $"each voter id at most once ({id} repeats)", origin));
            }

            result.Add(new QuorumVoter(id, match.Groups["host"].Value, port));
        }

        return result;
    }

    [GeneratedRegex(@"^(?<id>[0-9]+)@(?:\[(?<host>[0-9A-Fa-f:.%]+)\]|(?<host>[A-Za-z0-9\-._]+)):(?<port>[0-9]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex VoterSyntax();
}
