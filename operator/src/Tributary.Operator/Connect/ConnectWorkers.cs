using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tributary.Operator.Connect;

/// <summary>An answer of a Connect worker's REST API: the status code and the parsed JSON body (null when empty).</summary>
public sealed record ConnectAnswer(HttpStatusCode Status, JsonNode? Body)
{
    public bool Ok => (int)Status is >= 200 and < 300;

    public bool NotFound => Status == HttpStatusCode.NotFound;

    /// <summary>Connect's <c>{"error_code","message"}</c> message, else the status line.</summary>
    public string Message => Body is JsonObject o && o["message"] is JsonValue m && m.TryGetValue<string>(out var text)
        ? text
        : $"HTTP {(int)Status} {Status}";
}

/// <summary>The worker could not be asked (connection refused, timeout, a body that is not JSON or too big).</summary>
public sealed class ConnectWorkerUnreachableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The calls the ConnectorConfig reconciler makes on a Connect worker set's REST API (Kafka Connect's paths and JSON).</summary>
public interface IConnectWorkers
{
    Task<ConnectAnswer> SendAsync(string workerUrl, HttpMethod method, string path, JsonNode? body, CancellationToken cancellationToken);
}

/// <summary>Connect's REST API over one pooled HttpClient; every answer is bounded in size and time.</summary>
public sealed class ConnectWorkers : IConnectWorkers, IDisposable
{
    /// <summary>A connector's status or config is a few KiB; a bigger answer is not a Connect worker's.</summary>
    public const int MaxResponseBytes = 1024 * 1024;

    private readonly HttpClient _http;

    public ConnectWorkers(TimeSpan requestTimeout)
    {
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2), ConnectTimeout = requestTimeout })
        {
            Timeout = requestTimeout,
            MaxResponseContentBufferSize = MaxResponseBytes,
        };
    }

    public async Task<ConnectAnswer> SendAsync(string workerUrl, HttpMethod method, string path, JsonNode? body, CancellationToken cancellationToken)
    {
        var target = new Uri(workerUrl.TrimEnd('/') + path);
        using var request = new HttpRequestMessage(method, target);
        request.Headers.Accept.ParseAdd("application/json");
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        try
        {
            using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            JsonNode? parsed = null;
            if (text.Length > 0)
            {
                try
                {
                    parsed = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 32 });
                }
                catch (JsonException) when ((int)response.StatusCode >= 400)
                {
                    // An error page from a proxy in front of the workers: keep the status, drop the body.
                }
            }

            return new ConnectAnswer(response.StatusCode, parsed);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ConnectWorkerUnreachableException($"{method} {target}: no answer within {_http.Timeout.TotalSeconds:F0} s");
        }
        catch (HttpRequestException e)
        {
            throw new ConnectWorkerUnreachableException($"{method} {target}: {e.Message}", e);
        }
        catch (JsonException e)
        {
            throw new ConnectWorkerUnreachableException($"{method} {target}: the answer is not JSON: {e.Message}", e);
        }
    }

    public void Dispose() => _http.Dispose();
}
