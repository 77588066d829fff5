using System.Text.Json;
using System.Text.RegularExpressions;

namespace Tributary.Integration.Tests.Monitoring;

/// <summary>The repository's monitoring sources, as the tests read them: the alert rules and the dashboard.</summary>
public static partial class MonitoringSources
{
    public const string RulesPath = "monitoring/prometheus/tributary-rules.yaml";
    public const string DashboardPath = "charts/tributary/dashboards/tributary.json";

    /// <summary>Every <c>for:</c> of the test copy of the rules.</summary>
    public const string TestForDuration = "5s";

    /// <summary>Every range window (<c>[5m]</c>) of the test copy of the rules.</summary>
    public const string TestRangeWindow = "20s";

    /// <summary>The rules as checked in.</summary>
    public static string Rules() => File.ReadAllText(Path.Combine(RepositoryRoot(), RulesPath));

    /// <summary>
    /// The rules with every <c>for:</c> shortened to <see cref="TestForDuration"/> and every minute range window to
    /// <see cref="TestRangeWindow"/>: the same expressions, on a test's time scale. Fails if the source has neither,
    /// so a change of format can't silently leave the copy on production durations.
    /// </summary>
    public static string TestRules()
    {
        var source = Rules();
        var fors = ForDuration().Count(source);
        var ranges = RangeWindow().Count(source);
        if (fors == 0 || ranges == 0)
        {
            throw new InvalidOperationException($"{RulesPath}: expected `for: <n>m` and `[<n>m]` durations to shorten, found {fors} and {ranges}.");
        }

        var shortened = ForDuration().Replace(source, "for: " + TestForDuration);
        return RangeWindow().Replace(shortened, "[" + TestRangeWindow + "]");
    }

    /// <summary>Every Prometheus expression of the dashboard's panels, with the panel title.</summary>
    public static IReadOnlyList<(string Panel, string Expression)> DashboardQueries()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryRoot(), DashboardPath)));
        var queries = new List<(string, string)>();
        foreach (var panel in document.RootElement.GetProperty("panels").EnumerateArray())
        {
            if (!panel.TryGetProperty("targets", out var targets))
            {
                continue;
            }

            var title = panel.GetProperty("title").GetString() ?? "?";
            foreach (var target in targets.EnumerateArray())
            {
                queries.Add((title, target.GetProperty("expr").GetString() ?? ""));
            }
        }

        return queries;
    }

    /// <summary>A dashboard expression with Grafana's variables filled in as Grafana would for "all clusters".</summary>
    public static string WithGrafanaVariables(string expression, string rateInterval) =>
        expression.Replace("$__rate_interval", rateInterval, StringComparison.Ordinal)
            .Replace("$job", ".*", StringComparison.Ordinal);

    /// <summary>The directory holding Cluster.sln, found upwards from the test assembly.</summary>
    public static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Cluster.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Cluster.sln above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"for: *\d+[smh]")]
    private static partial Regex ForDuration();

    [GeneratedRegex(@"\[\d+m\]")]
    private static partial Regex RangeWindow();
}
