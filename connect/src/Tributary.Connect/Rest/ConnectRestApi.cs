using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Tributary.Connect.Plugins;
using Tributary.Connect.Runtime;
using Tributary.Connect.Storage;

namespace Tributary.Connect.Rest;

/// <summary>
/// Kafka Connect's REST API (paths, JSON shapes, status codes and <c>{"error_code","message"}</c> errors). Requests that change
/// the cluster's configuration go to the leader: a non-leader worker forwards them, as Connect does.
/// </summary>
public static class ConnectRestApi
{
    private const string ForwardedHeader = "X-Tributary-Connect-Forwarded";

    /// <summary>On an answer a worker forwarded: the leader that handled the request (Connect sends none; clients ignore it).</summary>
    public const string LeaderHeader = "X-Tributary-Connect-Leader";
    private static readonly HttpClient Forwarder = new() { Timeout = TimeSpan.FromSeconds(90) };
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static IResult J(JsonNode node) => Results.Content(node.ToJsonString(Json), "application/json");

    public static void Map(WebApplication app, Herder herder, WorkerConfig config, ILogger logger)
    {
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
                if (context.Response.StatusCode is 404 or 405 && !context.Response.HasStarted && context.Response.ContentLength is null
                    && context.Response.ContentType is null)
                {
                    await Error(context, context.Response.StatusCode, context.Response.StatusCode == 404 ? "HTTP 404 Not Found" : "HTTP 405 Method Not Allowed");
                }
            }
            catch (ConnectRestException e)
            {
                await Error(context, e.Status, e.Message);
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException { Source: "System.Text.Json" } or FormatException)
            {
                await Error(context, 400, "Invalid JSON in request body: " + e.Message);
            }
            catch (KafkaException e)
            {
                await Error(context, 500, e.Message);
            }
        });

        app.MapGet("/", async () => J(new JsonObject
        {
            ["version"] = typeof(ConnectRestApi).Assembly.GetName().Version?.ToString(3) ?? "0.1.0",
            ["commit"] = "tributary",
            ["kafka_cluster_id"] = await ClusterId(config),
        }));

        app.MapGet("/connectors", (HttpRequest request) =>
        {
            var names = herder.ConnectorNames();
            var expand = request.Query["expand"].Select(e => e ?? "").ToHashSet(StringComparer.Ordinal);
            if (expand.Count == 0)
            {
                return J(new JsonArray(names.Select(n => (JsonNode)JsonValue.Create(n)!).ToArray()));
            }

            var result = new JsonObject();
            foreach (var n in names)
            {
                var entry = new JsonObject();
                try
                {
                    if (expand.Contains("status"))
                    {
                        entry["status"] = herder.Status(n);
                    }

                    if (expand.Contains("info"))
                    {
                        entry["info"] = InfoJson(herder.Info(n));
                    }
                }
                catch (ConnectRestException)
                {
                    continue; // deleted meanwhile
                }

                result[n] = entry;
            }

            return J(result);
        });

        app.MapPost("/connectors", async (HttpContext context) =>
        {
            var body = await ReadObject(context.Request);
            if (await ForwardIfNeeded(context, herder, body, logger))
            {
                return;
            }

            var name = body["name"]?.GetValue<string>() ?? throw new ConnectRestException(400, "Connector name must not be null");
            var cfg = ToConfig(body["config"] as JsonObject ?? throw new ConnectRestException(400, "Connector config must not be null"));
            if (cfg.TryGetValue(ConnectorConfig.Name, out var inConfig) && inConfig != name)
            {
                throw new ConnectRestException(400, $"Connector name configuration ({inConfig}) doesn't match connector name in the URL ({name})");
            }

            var (_, info) = await herder.PutConnectorConfigAsync(name, cfg, allowReplace: false);
            context.Response.Headers.Location = "/connectors/" + Uri.EscapeDataString(name);
            await Write(context, 201, InfoJson(info));
        });

        app.MapGet("/connectors/{c}", (string c) => J(InfoJson(herder.Info(c))));

        app.MapGet("/connectors/{c}/config", (string c) => J(ConfigJson(herder.Config(c))));

        app.MapPut("/connectors/{c}/config", async (HttpContext context, string c) =>
        {
            var body = await ReadObject(context.Request);
            if (await ForwardIfNeeded(context, herder, body, logger))
            {
                return;
            }

            var cfg = ToConfig(body);
            if (cfg.TryGetValue(ConnectorConfig.Name, out var inConfig) && inConfig != c)
            {
                throw new ConnectRestException(400, $"Connector name configuration ({inConfig}) doesn't match connector name in the URL ({c})");
            }

            var (created, info) = await herder.PutConnectorConfigAsync(c, cfg, allowReplace: true);
            if (created)
            {
                context.Response.Headers.Location = "/connectors/" + Uri.EscapeDataString(c);
            }

            await Write(context, created ? 201 : 200, InfoJson(info));
        });

        app.MapDelete("/connectors/{c}", async (HttpContext context, string c) =>
        {
            if (await ForwardIfNeeded(context, herder, null, logger))
            {
                return;
            }

            await herder.DeleteConnectorAsync(c);
            context.Response.StatusCode = 204;
        });

        app.MapGet("/connectors/{c}/status", (string c) => J(herder.Status(c)));

        app.MapGet("/connectors/{c}/tasks", (string c) => J(new JsonArray(herder.TaskConfigs(c).Select(t => (JsonNode)new JsonObject
        {
            ["id"] = new JsonObject { ["connector"] = c, ["task"] = t.Id },
            ["config"] = ConfigJson(t.Config),
        }).ToArray())));

        app.MapGet("/connectors/{c}/tasks/{t}/status", (string c, string t) => J(herder.TaskStatus(c, ParseTask(c, t))));

        app.MapPost("/connectors/{c}/restart", async (HttpContext context, string c) =>
        {
            if (await ForwardIfNeeded(context, herder, null, logger))
            {
                return;
            }

            var includeTasks = QueryBool(context.Request, "includeTasks");
            var onlyFailed = QueryBool(context.Request, "onlyFailed");
            var plan = await herder.RestartConnectorAsync(c, includeTasks, onlyFailed);
            if (plan is null)
            {
                context.Response.StatusCode = 204;
            }
            else
            {
                await Write(context, 202, plan);
            }
        });

        app.MapPost("/connectors/{c}/tasks/{t}/restart", async (HttpContext context, string c, string t) =>
        {
            if (await ForwardIfNeeded(context, herder, null, logger))
            {
                return;
            }

            await herder.RestartTaskAsync(c, ParseTask(c, t));
            context.Response.StatusCode = 204;
        });

        app.MapPut("/connectors/{c}/pause", async (string c) =>
        {
            await herder.SetTargetStateAsync(c, TargetState.PAUSED);
            return Results.StatusCode(202);
        });

        app.MapPut("/connectors/{c}/resume", async (string c) =>
        {
            await herder.SetTargetStateAsync(c, TargetState.STARTED);
            return Results.StatusCode(202);
        });

        app.MapPut("/connectors/{c}/stop", async (HttpContext context, string c) =>
        {
            if (await ForwardIfNeeded(context, herder, null, logger))
            {
                return;
            }

            await herder.SetTargetStateAsync(c, TargetState.STOPPED);
            context.Response.StatusCode = 204;
        });

        app.MapGet("/connectors/{c}/offsets", async (string c) => J(await herder.GetOffsetsAsync(c)));

        app.MapMethods("/connectors/{c}/offsets", ["PATCH"], async (HttpContext context, string c) =>
        {
            var body = await ReadObject(context.Request);
            if (await ForwardIfNeeded(context, herder, body, logger))
            {
                return;
            }

            var list = body["offsets"] as JsonArray ?? throw new ConnectRestException(400, "The 'offsets' field is required and must be a list");
            var message = await herder.ModifyOffsetsAsync(c, list);
            await Write(context, 200, new JsonObject { ["message"] = message });
        });

        app.MapDelete("/connectors/{c}/offsets", async (HttpContext context, string c) =>
        {
            if (await ForwardIfNeeded(context, herder, null, logger))
            {
                return;
            }

            var message = await herder.ModifyOffsetsAsync(c, null);
            await Write(context, 200, new JsonObject { ["message"] = message });
        });

        app.MapGet("/connector-plugins", (HttpRequest request) =>
        {
            var connectorsOnly = !request.Query.TryGetValue("connectorsOnly", out var v) || !string.Equals(v.ToString(), "false", StringComparison.OrdinalIgnoreCase);
            var list = herder.Plugins.All
                .Where(p => !connectorsOnly || p.Kind is PluginKind.Source or PluginKind.Sink)
                .Select(p => (JsonNode)new JsonObject { ["class"] = p.ClassName, ["type"] = p.TypeName, ["version"] = p.Version })
                .ToArray();
            return J(new JsonArray(list));
        });

        app.MapPut("/connector-plugins/{p}/config/validate", async (HttpContext context, string p) =>
        {
            var cfg = ToConfig(await ReadObject(context.Request));
            if (cfg.TryGetValue(ConnectorConfig.ConnectorClass, out var cls) && herder.Plugins.Find(cls) is { } d && herder.Plugins.Find(p) is { } byPath && d != byPath)
            {
                throw new ConnectRestException(400, "Connector class in the config does not match the connector type in the URL");
            }

            cfg[ConnectorConfig.ConnectorClass] = cls ?? p;
            ValidationResult result;
            try
            {
                result = ConnectorConfig.Validate(herder.Plugins, p, cfg, config.ExactlyOnceSourceSupport);
            }
            catch (PluginNotFoundException e)
            {
                throw new ConnectRestException(400, e.Message);
            }

            await Write(context, 200, ValidationJson(result));
        });
    }

    private static int ParseTask(string connector, string raw) =>
        int.TryParse(raw, out var id) && id >= 0 ? id : throw new ConnectRestException(404, $"Task {connector}-{raw} not found");

    private static bool QueryBool(HttpRequest request, string name) =>
        request.Query.TryGetValue(name, out var v) && string.Equals(v.ToString(), "true", StringComparison.OrdinalIgnoreCase);

    private static async Task<string> ClusterId(WorkerConfig config)
    {
        try
        {
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = config.BootstrapServers }).Build();
            var cluster = await admin.DescribeClusterAsync(new Confluent.Kafka.Admin.DescribeClusterOptions { RequestTimeout = TimeSpan.FromSeconds(5) });
            return cluster.ClusterId ?? "";
        }
        catch (KafkaException)
        {
            return "";
        }
    }

    /// <summary>Bound on a request body: configs are small; anything bigger is refused before parsing.</summary>
    private const int MaxBodyBytes = 4 * 1024 * 1024;

    private static async Task<JsonObject> ReadObject(HttpRequest request)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            throw new ConnectRestException(413, $"Request body larger than {MaxBodyBytes} bytes");
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await request.Body.ReadAsync(chunk)) > 0)
        {
            buffer.Write(chunk, 0, n);
            if (buffer.Length > MaxBodyBytes)
            {
                throw new ConnectRestException(413, $"Request body larger than {MaxBodyBytes} bytes");
            }
        }

        if (buffer.Length == 0)
        {
            throw new ConnectRestException(400, "Request body is empty");
        }

        try
        {
            return JsonNode.Parse(buffer.ToArray(), documentOptions: new JsonDocumentOptions { MaxDepth = 64 }) as JsonObject
                ?? throw new ConnectRestException(400, "Request body must be a JSON object");
        }
        catch (JsonException e)
        {
            throw new ConnectRestException(400, "Invalid JSON in request body: " + e.Message);
        }
    }

    private static Dictionary<string, string> ToConfig(JsonObject o)
    {
        var cfg = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in o)
        {
            cfg[k] = v switch
            {
                null => throw new ConnectRestException(400, $"Config value for '{k}' must not be null"),
                JsonValue jv when jv.TryGetValue<string>(out var s) => s,
                JsonValue jv => jv.ToJsonString(),
                _ => throw new ConnectRestException(400, $"Config value for '{k}' must be a string, number or boolean"),
            };
        }

        return cfg;
    }

    private static JsonObject ConfigJson(IReadOnlyDictionary<string, string> cfg)
    {
        var o = new JsonObject();
        foreach (var (k, v) in cfg.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            o[k] = v;
        }

        return o;
    }

    private static JsonObject InfoJson(ConnectorInfo info) => new()
    {
        ["name"] = info.Name,
        ["config"] = ConfigJson(info.Config),
        ["tasks"] = new JsonArray(info.Tasks.Select(t => (JsonNode)new JsonObject { ["connector"] = info.Name, ["task"] = t }).ToArray()),
        ["type"] = info.Type,
    };

    private static JsonObject ValidationJson(ValidationResult result)
    {
        var configs = new JsonArray();
        foreach (var (key, value) in result.Configs)
        {
            configs.Add(new JsonObject
            {
                ["definition"] = new JsonObject
                {
                    ["name"] = key.Name,
                    ["type"] = Api.Config.ConfigDef.TypeName(key.Type),
                    ["required"] = !key.HasDefault,
                    ["default_value"] = key.HasDefault && key.DefaultValue is not null ? Api.Config.ConfigDef.Show(key.DefaultValue) : null,
                    ["importance"] = key.Importance.ToString().ToUpperInvariant(),
                    ["documentation"] = key.Documentation,
                    ["group"] = key.Group,
                    ["width"] = "NONE",
                    ["display_name"] = key.DisplayName ?? key.Name,
                    ["dependents"] = new JsonArray(),
                    ["order"] = key.OrderInGroup,
                },
                ["value"] = new JsonObject
                {
                    ["name"] = value.Name,
                    ["value"] = value.Value is null ? null : Api.Config.ConfigDef.Show(value.Value),
                    ["recommended_values"] = new JsonArray(),
                    ["errors"] = new JsonArray(value.ErrorMessages.Select(m => (JsonNode)JsonValue.Create(m)!).ToArray()),
                    ["visible"] = value.Visible,
                },
            });
        }

        return new JsonObject
        {
            ["name"] = result.Name,
            ["error_count"] = result.ErrorCount,
            ["groups"] = new JsonArray(result.Groups.Select(g => (JsonNode)JsonValue.Create(g)!).ToArray()),
            ["configs"] = configs,
        };
    }

    private static async Task Write(HttpContext context, int status, JsonNode body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(Json));
    }

    private static Task Error(HttpContext context, int status, string message) =>
        Write(context, status, new JsonObject { ["error_code"] = status, ["message"] = message });

    /// <summary>
    /// Sends a write request on to the leader when this worker is not it (and answers 409 while no leader is known, as Connect
    /// does during a rebalance). True when the response was written here.
    /// </summary>
    private static async Task<bool> ForwardIfNeeded(HttpContext context, Herder herder, JsonObject? body, ILogger logger)
    {
        // While the worker is (re)joining its group no leader is known; Connect queues such requests until the rebalance ends.
        var leader = herder.LeaderUrl;
        for (var waited = 0; leader is { Length: 0 } && waited < 300; waited++)
        {
            await Task.Delay(100, context.RequestAborted);
            leader = herder.LeaderUrl;
        }

        if (leader is null)
        {
            return false;
        }

        if (leader.Length == 0 || context.Request.Headers.ContainsKey(ForwardedHeader))
        {
            throw new ConnectRestException(409, "Cannot complete request because of a conflicting operation (e.g. worker rebalance)");
        }

        var target = new Uri(new Uri(leader), context.Request.Path + context.Request.QueryString);
        ConnectLog.Forwarding(logger, context.Request.Method, context.Request.Path, leader);
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), target);
        request.Headers.Add(ForwardedHeader, herder.WorkerId);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        }

        HttpResponseMessage response;
        try
        {
            response = await Forwarder.SendAsync(request, context.RequestAborted);
        }
        catch (HttpRequestException e)
        {
            throw new ConnectRestException(409, $"Cannot complete request because of a conflicting operation (e.g. worker rebalance): leader {leader} unreachable: {e.Message}");
        }

        using (response)
        {
            context.Response.StatusCode = (int)response.StatusCode;
            context.Response.Headers[LeaderHeader] = leader;
            if (response.Headers.Location is { } location)
            {
                context.Response.Headers.Location = location.ToString();
            }

            if (response.Content.Headers.ContentType is { } type)
            {
                context.Response.ContentType = type.ToString();
            }

            await response.Content.CopyToAsync(context.Response.Body);
        }

        return true;
    }
}
