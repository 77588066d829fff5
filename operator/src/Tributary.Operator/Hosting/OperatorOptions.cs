using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Tributary.Operator.Hosting;

/// <summary>Command line and environment of the operator process.</summary>
public sealed record OperatorOptions
{
    public const string Usage =
        "usage: tributary-operator [--kubeconfig PATH] [--http-port PORT] [--lease-namespace NS] [--lease-name NAME]\n" +
        "                          [--lease-duration-seconds N] [--workers N] [--admin-timeout-seconds N] [--log-level LEVEL]\n" +
        "                          [--connect-url URL] [--connect-timeout-seconds N]\n" +
        "  In a pod the service account is used; elsewhere --kubeconfig, else $KUBECONFIG, else ~/.kube/config.\n" +
        "  The lease namespace defaults to $POD_NAMESPACE, else 'default'; the identity is $POD_NAME, else host name + pid.\n" +
        "  HTTP listens on $POD_IP when set (so replicas sharing a network namespace don't collide), else on every address.\n" +
        "  --connect-url: the Connect workers' REST URL for ConnectorConfigs without spec.workerUrl.";

    public string? Kubeconfig { get; init; }
    public int HttpPort { get; init; } = 8080;

    /// <summary>The address HTTP binds to: $POD_IP when set, else every IPv4 address.</summary>
    public System.Net.IPAddress HttpAddress { get; init; } = System.Net.IPAddress.Any;

    /// <summary>The Kestrel URL for <see cref="HttpAddress"/> and <see cref="HttpPort"/> (IPv6 in brackets).</summary>
    public string HttpUrl => HttpAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
        ? $"http://[{HttpAddress}]:{HttpPort}"
        : $"http://{HttpAddress}:{HttpPort}";
    public string LeaseNamespace { get; init; } = "default";
    public string LeaseName { get; init; } = "tributary-operator";
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);
    public string Identity { get; init; } = "";
    public int Workers { get; init; } = 4;
    public TimeSpan AdminTimeout { get; init; } = TimeSpan.FromSeconds(5);
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>REST URL of the Connect worker set for ConnectorConfigs that name none (spec.workerUrl); null: none.</summary>
    public string? ConnectUrl { get; init; }

    /// <summary>Bound on one call to a Connect worker's REST API.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public string? Error { get; init; }

    public static OperatorOptions Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        var options = new OperatorOptions
        {
            Kubeconfig = environment("KUBECONFIG") is { Length: > 0 } kc ? kc.Split(':')[0] : null,
            LeaseNamespace = environment("POD_NAMESPACE") is { Length: > 0 } ns ? ns : "default",
            Identity = environment("POD_NAME") is { Length: > 0 } pod ? pod : $"{Environment.MachineName}-{Environment.ProcessId}",
        };
        if (environment("POD_IP") is { Length: > 0 } podIp)
        {
            if (!System.Net.IPAddress.TryParse(podIp, out var address))
            {
                return options with { Error = $"POD_IP is not an IP address: {podIp}" };
            }

            options = options with { HttpAddress = address };
        }

        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (i + 1 >= args.Count)
            {
                return options with { Error = $"{arg} needs a value" };
            }

            var value = args[++i];
            switch (arg)
            {
                case "--kubeconfig": options = options with { Kubeconfig = value }; break;
                case "--lease-namespace": options = options with { LeaseNamespace = value }; break;
                case "--lease-name": options = options with { LeaseName = value }; break;
                case "--identity": options = options with { Identity = value }; break;
                case "--http-port" when int.TryParse(value, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536:
                    options = options with { HttpPort = port }; break;
                case "--workers" when int.TryParse(value, CultureInfo.InvariantCulture, out var n) && n is > 0 and <= 64:
                    options = options with { Workers = n }; break;
                case "--lease-duration-seconds" when int.TryParse(value, CultureInfo.InvariantCulture, out var s) && s is >= 3 and <= 600:
                    options = options with { LeaseDuration = TimeSpan.FromSeconds(s) }; break;
                case "--admin-timeout-seconds" when int.TryParse(value, CultureInfo.InvariantCulture, out var t) && t is > 0 and <= 300:
                    options = options with { AdminTimeout = TimeSpan.FromSeconds(t) }; break;
                case "--connect-url" when Uri.TryCreate(value, UriKind.Absolute, out var connectUri) && connectUri.Scheme is "http" or "https":
                    options = options with { ConnectUrl = value.TrimEnd('/') }; break;
                case "--connect-timeout-seconds" when int.TryParse(value, CultureInfo.InvariantCulture, out var ct) && ct is > 0 and <= 300:
                    options = options with { ConnectTimeout = TimeSpan.FromSeconds(ct) }; break;
                case "--log-level" when Enum.TryParse<LogLevel>(value, ignoreCase: true, out var level):
                    options = options with { LogLevel = level }; break;
                default:
                    return options with { Error = $"unknown option or bad value: {arg} {value}" };
            }
        }

        return options;
    }
}

/// <summary>Process-wide state the HTTP endpoints and reconcilers read.</summary>
public sealed class OperatorState
{
    public volatile bool Ready;
    public volatile bool Leading;
    public Model.PdbApi PdbApi { get; set; } = Model.PdbApi.V1;
}
