using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using Tributary.Broker.Config;
using Tributary.Broker.Metrics;
using Tributary.Host.Telemetry;

namespace Tributary.Broker.Tests.Metrics;

/// <summary>A real Kestrel app on a free loopback port with the host's metrics wiring, scraped over HTTP.</summary>
internal sealed class MetricsEndpointServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _client;

    private MetricsEndpointServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        _client = new HttpClient { BaseAddress = baseAddress };
    }

    public BrokerMetrics Metrics => _app.Services.GetRequiredService<BrokerMetrics>();

    public static async Task<MetricsEndpointServer> StartAsync()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Services.AddRoutingCore();
        builder.Services.AddBrokerMetrics(BrokerConfig.Default);
        // Every scrape must reflect what the test just recorded, not a response cached up to 300 ms ago.
        builder.Services.Configure<PrometheusAspNetCoreOptions>(options => options.ScrapeResponseCacheDurationMilliseconds = 0);
        var app = builder.Build();
        app.MapBrokerMetrics();
        await app.StartAsync();
        return new MetricsEndpointServer(app, new Uri(app.Urls.First()));
    }

    /// <summary>GETs /metrics with the given Accept header and parses the samples.</summary>
    public async Task<IReadOnlyList<Sample>> ScrapeAsync(string accept = "text/plain")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, MetricsExport.Path);
        request.Headers.TryAddWithoutValidation("Accept", accept);
        using var response = await _client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return Sample.ParseAll(await response.Content.ReadAsStringAsync());
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>One exposition-format sample line: <c>name{labels} value</c>.</summary>
internal sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public static IReadOnlyList<Sample> ParseAll(string text) =>
        text.Split('\n')
            .Where(line => line.Length > 0 && line[0] != '#')
            .Select(Parse)
            .ToArray();

    private static Sample Parse(string line)
    {
        var brace = line.IndexOf('{', StringComparison.Ordinal);
        var space = line.LastIndexOf('}') is var close and >= 0 ? line.IndexOf(' ', close) : line.IndexOf(' ', StringComparison.Ordinal);
        var name = brace >= 0 && brace < space ? line[..brace] : line[..space];
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (brace >= 0 && brace < space)
        {
            var body = line[(brace + 1)..line.LastIndexOf('}')];
            foreach (var pair in body.Split("\",", StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                labels[pair[..equals]] = pair[(equals + 1)..].Trim('"');
            }
        }

        var value = line[(space + 1)..].Split(' ')[0];
        return new Sample(name, labels, double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture));
    }
}
