using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Tributary.Bench.EndToEnd;

/// <summary>
/// The brokers' own per-step histograms of the produce path (<c>tributary_produce_stage_seconds{stage}</c>: leader append, follower
/// wake-up, follower fetch build / wait / append, follower round trip, high-watermark advance, replicate, respond), summed over the
/// cluster. Read before and after a run; the difference is what that run's messages cost in each step.
/// </summary>
internal sealed partial class StageBreakdown
{
    /// <summary>The order the steps happen in on the acks=all path.</summary>
    private static readonly string[] Order =
        ["append", "follower_wakeup", "follower_fetch_wait", "follower_append", "follower_fetch_build", "follower_round_trip", "hw_advance", "replicate", "respond"];

    private readonly Dictionary<string, Stage> _stages = [];

    public static StageBreakdown Read(BrokerCluster cluster)
    {
        var breakdown = new StageBreakdown();
        foreach (var broker in cluster.Brokers)
        {
            if (broker.HttpGet("/metrics") is { } text)
            {
                breakdown.Add(text);
            }
        }

        return breakdown;
    }

    public static StageBreakdown operator -(StageBreakdown after, StageBreakdown before)
    {
        var diff = new StageBreakdown();
        foreach (var (name, a) in after._stages)
        {
            var b = before._stages.GetValueOrDefault(name) ?? new Stage();
            var d = new Stage { Count = a.Count - b.Count, Sum = a.Sum - b.Sum };
            foreach (var (le, n) in a.Buckets)
            {
                d.Buckets[le] = n - b.Buckets.GetValueOrDefault(le);
            }

            diff._stages[name] = d;
        }

        return diff;
    }

    /// <summary>One line per step with samples: count, mean, p50 and p99 (upper bucket bounds), in milliseconds.</summary>
    public IEnumerable<string> Describe()
    {
        foreach (var name in Order.Concat(_stages.Keys.Except(Order).Order()))
        {
            if (!_stages.TryGetValue(name, out var s) || s.Count <= 0)
            {
                continue;
            }

            yield return string.Create(CultureInfo.InvariantCulture,
                $"{name,-21} n={s.Count,9:N0}  mean {s.Sum / s.Count * 1000,8:0.000} ms  p50 ≤ {s.Quantile(0.5),7} ms  p99 ≤ {s.Quantile(0.99),7} ms");
        }
    }

    private void Add(string metrics)
    {
        foreach (Match m in Line().Matches(metrics))
        {
            var labels = m.Groups["labels"].Value;
            var stageName = Label(labels, "stage");
            if (stageName is null)
            {
                continue;
            }

            var value = double.Parse(m.Groups["v"].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
            if (!_stages.TryGetValue(stageName, out var stage))
            {
                _stages[stageName] = stage = new Stage();
            }

            switch (m.Groups["kind"].Value)
            {
                case "_bucket" when Label(labels, "le") is { } le:
                    var bound = le == "+Inf" ? double.PositiveInfinity : double.Parse(le, NumberStyles.Float, CultureInfo.InvariantCulture);
                    stage.Buckets[bound] = stage.Buckets.GetValueOrDefault(bound) + value;
                    break;
                case "_sum":
                    stage.Sum += value;
                    break;
                case "_count":
                    stage.Count += value;
                    break;
            }
        }
    }

    private static string? Label(string labels, string name)
    {
        var m = Regex.Match(labels, $@"(?:^|,){name}=""(?<v>[^""]*)""", RegexOptions.CultureInvariant);
        return m.Success ? m.Groups["v"].Value : null;
    }

    [GeneratedRegex(@"^tributary_produce_stage_seconds(?<kind>_bucket|_sum|_count)\{(?<labels>[^}]*)\}\s+(?<v>\S+)", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex Line();

    private sealed class Stage
    {
        public SortedDictionary<double, double> Buckets { get; } = [];
        public double Sum { get; set; }
        public double Count { get; set; }

        /// <summary>The upper bound (ms) of the bucket holding quantile <paramref name="q"/> (cumulative buckets, as Prometheus has them).</summary>
        public string Quantile(double q)
        {
            var total = Buckets.Count > 0 ? Buckets.Values.Max() : 0;
            foreach (var (bound, cumulative) in Buckets)
            {
                if (total > 0 && cumulative >= q * total)
                {
                    return double.IsPositiveInfinity(bound) ? "inf" : (bound * 1000).ToString("0.###", CultureInfo.InvariantCulture);
                }
            }

            return "-";
        }
    }

    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (var line in Describe())
        {
            text.AppendLine(line);
        }

        return text.ToString();
    }
}
