using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Tributary.Integration.Tests.Harness;

namespace Tributary.Integration.Tests.Monitoring;

/// <summary>One alert as Prometheus' <c>/api/v1/alerts</c> lists it (pending or firing; resolved alerts are not listed).</summary>
public sealed record PrometheusAlert(string Name, string State, IReadOnlyDictionary<string, string> Labels)
{
    public override string ToString() => $"{Name} {State} {{{string.Join(',', Labels.Where(l => l.Key != "alertname").Select(l => $"{l.Key}={l.Value}"))}}}";
}

/// <summary>
/// A real Prometheus server (Debian's <c>prometheus</c> package) on a free loopback port with its own temporary storage,
/// scraping the given targets under job <see cref="Job"/> and evaluating the given rule file. Started and stopped by PID.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    public const string Job = "tributary";
    private const string Binary = "prometheus";

    private readonly Process process;
    private readonly string directory;
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private PrometheusServer(Process process, string directory, int port)
    {
        this.process = process;
        this.directory = directory;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Writes the configuration, starts Prometheus and waits (bounded) until it answers <c>/-/ready</c>.</summary>
    /// <param name="targets">host:port of each /metrics endpoint.</param>
    /// <param name="rules">Rule file contents (Prometheus rule-file format).</param>
    /// <param name="interval">Scrape and rule-evaluation interval.</param>
    public static async Task<PrometheusServer> StartAsync(IReadOnlyList<string> targets, string rules, TimeSpan interval, TestOutputSink log)
    {
        var directory = Path.Combine(Path.GetTempPath(), "tributary-prometheus-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var rulesPath = Path.Combine(directory, "rules.yaml");
        await File.WriteAllTextAsync(rulesPath, rules);
        var seconds = ((int)interval.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s";
        var configPath = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(configPath, $"""
            global:
              scrape_interval: {seconds}
              scrape_timeout: {seconds}
              evaluation_interval: {seconds}
            rule_files:
              - {rulesPath}
            scrape_configs:
              - job_name: {Job}
                static_configs:
                  - targets: [{string.Join(", ", targets.Select(t => $"'{t}'"))}]
            """);

        var port = FreePort.Next();
        var start = new ProcessStartInfo(Binary)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[]
                 {
                     $"--config.file={configPath}",
                     $"--storage.tsdb.path={Path.Combine(directory, "data")}",
                     $"--web.listen-address=127.0.0.1:{port}",
                     "--log.level=warn",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                log.WriteLine("[prometheus] " + e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                log.WriteLine("[prometheus] " + e.Data);
            }
        };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            Directory.Delete(directory, recursive: true);
            throw new InvalidOperationException($"Cannot run {Binary} ({e.Message}); install Debian's package: apt-get install -y prometheus (make deps).", e);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        log.WriteLine($"[harness] prometheus PID {process.Id} on 127.0.0.1:{port}, scraping {string.Join(", ", targets)} every {seconds}");
        var server = new PrometheusServer(process, directory, port);
        try
        {
            await server.WaitReadyAsync(TimeSpan.FromSeconds(30));
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Alerts currently pending or firing.</summary>
    public async Task<IReadOnlyList<PrometheusAlert>> AlertsAsync()
    {
        using var document = await GetAsync("/api/v1/alerts");
        return document.RootElement.GetProperty("data").GetProperty("alerts").EnumerateArray()
            .Select(a =>
            {
                var labels = a.GetProperty("labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
                return new PrometheusAlert(labels["alertname"], a.GetProperty("state").GetString() ?? "", labels);
            })
            .ToList();
    }

    /// <summary>Evaluates <paramref name="expression"/> now; returns how many series the result has (0 = no data).</summary>
    /// <exception cref="InvalidOperationException">Prometheus rejected the expression.</exception>
    public async Task<int> SeriesCountAsync(string expression)
    {
        using var document = await GetAsync("/api/v1/query?query=" + Uri.EscapeDataString(expression));
        var data = document.RootElement.GetProperty("data");
        var result = data.GetProperty("result");
        return data.GetProperty("resultType").GetString() switch
        {
            "vector" or "matrix" => result.GetArrayLength(),
            _ => 1, // scalar or string: always a value
        };
    }

    /// <summary>Scrape targets that are up (by instance).</summary>
    public async Task<int> UpTargetsAsync()
    {
        using var document = await GetAsync("/api/v1/targets?state=active");
        return document.RootElement.GetProperty("data").GetProperty("activeTargets").EnumerateArray()
            .Count(t => t.GetProperty("health").GetString() == "up");
    }

    public async ValueTask DisposeAsync()
    {
        http.Dispose();
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }

        process.Dispose();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // best effort: a temp directory
        }
    }

    private async Task WaitReadyAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"prometheus exited with {process.ExitCode} before it was ready (see [prometheus] lines).");
            }

            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{Port}/-/ready"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"prometheus not ready on 127.0.0.1:{Port} within {timeout}.");
            }

            await Task.Delay(100);
        }
    }

    private async Task<JsonDocument> GetAsync(string pathAndQuery)
    {
        using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{Port}{pathAndQuery}"));
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"prometheus {pathAndQuery}: {(int)response.StatusCode} {body}");
        }

        return JsonDocument.Parse(body);
    }
}
